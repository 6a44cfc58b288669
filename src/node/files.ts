import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DatasetFiles } from '../core/ports';

/** Writes via a temporary file and rename, so readers never see a half-written file. */
export function writeAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
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
    fileNames: async (folder) => (await readdir(folder, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name),
    readFile: (path) => readFile(path),
  };
}
