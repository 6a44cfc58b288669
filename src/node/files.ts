import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readlinkSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../core/errors';
import type { DatasetFiles } from '../core/ports';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * The most bytes each kind of user file is read up to: generous, but bounded, so that a path that
 * points at something endless (a symlink to /dev/zero) or huge fails at once instead of eating memory.
 * JSON files stay below the longest string JavaScript holds (about 512 MiB), which they are decoded into.
 */
export const READ_LIMITS = {
  /** One dataset file (a folder's train, validation and test files are each read up to it). */
  dataset: { maxBytes: 2 * GiB, what: 'dataset file', remedy: 'split it into train / validation / test files in one folder (each is read up to this)' },
  /** A vector artifact (`*.ivec.safetensors`): a few MB for most models, some hundreds for the largest. */
  vector: { maxBytes: 1 * GiB, what: 'vector artifact', remedy: 'no vector artifact is this large; is it the right file?' },
  /** A JSON file read whole (a vector artifact's `.ivec.json` sidecar). */
  json: { maxBytes: 256 * MiB, what: 'JSON file', remedy: 'no sidecar is this large; is it the right file?' },
} as const;

export interface ReadLimit {
  maxBytes: number;
  /** What the file is, for messages ("dataset file"). */
  what: string;
  /** What to do about a file above the cap. */
  remedy: string;
}

/**
 * Reads a user's file whole, refusing (with a UserError naming it) anything but a regular file:
 * a folder, a named pipe (opened non-blocking, so it never waits for a writer), a device or socket,
 * symlinks followed; and a file above `limit.maxBytes`. Reads in chunks, as one read tops out at 2 GiB.
 */
export function readUserFile(path: string, limit: ReadLimit): Buffer {
  // stat first: opening some devices does something (rewinds a tape); fstat again on the open file, which is what is read.
  refuseIrregular(statOf(path, limit.what), path, limit);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw fileError(e, path, 'read', limit.what);
  }
  try {
    const st = fstatSync(fd);
    refuseIrregular(st, path, limit);
    const bytes = Buffer.allocUnsafe(st.size);
    let filled = 0;
    while (filled < bytes.length) {
      const n = readSync(fd, bytes, filled, Math.min(bytes.length - filled, 256 * MiB), null);
      if (n === 0) break; // The file shrank while it was read.
      filled += n;
    }
    return filled === bytes.length ? bytes : bytes.subarray(0, filled);
  } catch (e) {
    throw e instanceof UserError ? e : fileError(e, path, 'read', limit.what);
  } finally {
    closeSync(fd);
  }
}

function statOf(path: string, what: string): Stats {
  try {
    return statSync(path);
  } catch (e) {
    const why = reasonOf(e, 'read');
    throw why ? new UserError(`cannot read the ${what}: ${why}${linkNote(path)}`, { file: path }) : e;
  }
}

function refuseIrregular(st: Stats, path: string, limit: ReadLimit): void {
  if (!st.isFile()) throw new UserError(`the ${limit.what} is ${kindOf(st)}, not a regular file${linkNote(path)}`, { file: path });
  if (st.size > limit.maxBytes) {
    throw new UserError(`the ${limit.what} is ${formatBytes(st.size)}, above the ${formatBytes(limit.maxBytes)} it is read up to: ${limit.remedy}`, {
      file: path,
    });
  }
}

/** ` (a link to <target>)` when `path` is a symbolic link: what is wrong is at the target. */
function linkNote(path: string): string {
  try {
    return lstatSync(path).isSymbolicLink() ? ` (a link to ${readlinkSync(path)})` : '';
  } catch {
    return '';
  }
}

/** What is at a path, for messages. */
function kindOf(st: Stats): string {
  if (st.isFile()) return 'a file';
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}

function formatBytes(n: number): string {
  if (n >= GiB) return `${+(n / GiB).toFixed(1)} GiB`;
  if (n >= MiB) return `${+(n / MiB).toFixed(1)} MiB`;
  return `${n} bytes`;
}

/** Why a file operation failed, in words, for the errors a user can fix; undefined for the others. */
const REASONS: Record<string, (verb: 'read' | 'write') => string> = {
  ENOENT: (verb) => (verb === 'read' ? 'no such file' : 'its folder does not exist'),
  EISDIR: () => 'it is a folder',
  EACCES: () => 'permission denied',
  EPERM: () => 'permission denied',
  ENOSPC: () => 'no space left on the device',
  EROFS: () => 'the file system is read-only',
  ENOTDIR: () => 'a part of the path is not a folder',
  ELOOP: () => 'too many symbolic links (a loop?)',
  ENAMETOOLONG: () => 'the path is too long',
};

function reasonOf(e: unknown, verb: 'read' | 'write'): string | undefined {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code !== undefined ? REASONS[code]?.(verb) : undefined;
}

/** A UserError saying why, for the file system errors a user can fix (see REASONS); anything else as it is. */
export function fileError(e: unknown, path: string, verb: 'read' | 'write', what: string): unknown {
  const why = reasonOf(e, verb);
  return why ? new UserError(`cannot ${verb} the ${what}: ${why}`, { file: path }) : e;
}

/** An output as a command has it: a local path, or (the extension) a URI, checked when it is a local file. */
export type OutputPath = string | { scheme: string; fsPath: string } | undefined;

/**
 * Refuses, before any work, the outputs (by flag: `{ '--out': path }`; undefined: not given) that
 * the write at the end of a run would fail on: a folder or a special file in a file's place, a file
 * in a folder's, a missing folder (a file's folder must exist unless `makeFolders`; a `folder` output
 * is made), a part of the path that is a file, a folder this process cannot create files in (tried
 * with a probe file, made and removed at once: this also catches read-only mounts and /sys).
 */
export function checkWritableOutputs(outputs: Readonly<Record<string, OutputPath>>, options: { folder?: boolean; makeFolders?: boolean } = {}): void {
  for (const [flag, output] of Object.entries(outputs)) {
    const path = typeof output === 'string' ? output : output?.scheme === 'file' ? output.fsPath : undefined;
    if (path !== undefined) checkWritableOutput(resolve(path), flag, options);
  }
}

function checkWritableOutput(path: string, flag: string, { folder = false, makeFolders = folder }: { folder?: boolean; makeFolders?: boolean }): void {
  const refuse = (message: string) => new UserError(`${flag} ${message}`, { file: path });
  const st = statOrUndefined(path, refuse);
  if (st && folder && !st.isDirectory()) throw refuse(`names ${kindOf(st)}, not a folder`);
  if (st && !folder && !st.isFile()) throw refuse(`names ${kindOf(st)}; give the path of a file${st.isDirectory() ? ' (one inside that folder, say)' : ''}`);
  // Where files get created: beside a file (a temporary file, then a rename), inside a folder.
  let dir = folder && st ? path : dirname(path);
  while (!statOrUndefined(dir, refuse)) {
    if (!makeFolders) throw refuse(`is in a folder that does not exist: ${dir}`);
    dir = dirname(dir);
  }
  const prefix = '.iv-write-probe-';
  for (const stale of staleTemporaries(dir, prefix)) rmSync(stale, { force: true });
  const probe = join(dir, `${prefix}${process.pid}-${Date.now()}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    throw refuse(`cannot be written: no file can be created in ${dir} (${reasonOf(e, 'write') ?? (e as Error).message})`);
  }
}

/** What is at `path` (symlinks followed); undefined when nothing is. */
function statOrUndefined(path: string, refuse: (message: string) => UserError): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw refuse(`cannot be written: ${reasonOf(e, 'write') ?? (e as Error).message}`);
  }
}

/**
 * Writes via a temporary file `<name>.tmp-<pid>-<time>` and rename, so readers never see a
 * half-written file. The writing is synchronous, so no signal handler runs in the middle of it; the
 * temporary files a killed (SIGKILL) writer left beside `path` are removed first.
 */
export function writeAtomic(path: string, bytes: Uint8Array | string): void {
  const prefix = `${basename(path)}.tmp-`;
  for (const stale of staleTemporaries(dirname(path), prefix)) rmSync(stale, { force: true });
  const tmp = join(dirname(path), `${prefix}${process.pid}-${Date.now()}`);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * The names `<prefix><pid>-…` in `dir` whose process has ended: what a writer killed by SIGKILL left
 * (its temporary files or folders). The paths, for the caller to remove; none when `dir` cannot be listed.
 */
export function staleTemporaries(dir: string, prefix: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((name) => {
      if (!name.startsWith(prefix)) return false;
      const pid = /^(\d+)-/.exec(name.slice(prefix.length))?.[1];
      return pid !== undefined && !processAlive(Number(pid));
    })
    .map((name) => join(dir, name));
}

function processAlive(pid: number): boolean {
  // This process's own names are in use (its writes are synchronous, but a caller may hold one).
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Dataset files on the local disk; relative paths are resolved against `baseDir` (default: the working directory). */
export function nodeFiles(baseDir = process.cwd()): DatasetFiles {
  return {
    resolve: (path) => resolve(baseDir, path),
    join: (folder, name) => join(folder, name),
    async kind(path) {
      try {
        return (await stat(path)).isDirectory() ? 'folder' : 'file';
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    // Everything but folders, symlinks followed: a split file may be a link, and a named pipe or a
    // dangling link called train.jsonl is better refused by name (readUserFile) than left out unseen.
    async fileNames(folder) {
      const entries = await readdir(folder, { withFileTypes: true });
      return entries.filter((e) => !(e.isSymbolicLink() ? linksToFolder(join(folder, e.name)) : e.isDirectory())).map((e) => e.name);
    },
    readFile: async (path) => readUserFile(path, READ_LIMITS.dataset),
  };
}

/** Whether a symlink leads to a folder (a dangling one does not). */
function linksToFolder(link: string): boolean {
  try {
    return statSync(link).isDirectory();
  } catch {
    return false;
  }
}
