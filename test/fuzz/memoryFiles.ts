/** An in-memory DatasetFiles port: generated folders of dataset files without touching the disk. */
import type { DatasetFiles } from '../../src/core/ports';

/** Files by absolute path (`/mem/...`); folders are implied by the paths below them, or listed as 'folder'. */
export type MemoryTree = Map<string, Uint8Array | 'folder'>;

const ioError = (code: string, path: string) => Object.assign(new Error(`${code}: ${path}`), { code });

export function memoryFiles(tree: MemoryTree, base = '/mem'): DatasetFiles {
  const isFolder = (path: string) => tree.get(path) === 'folder' || [...tree.keys()].some((k) => k.startsWith(`${path}/`));
  return {
    resolve: (path) => (path.startsWith('/') ? path : `${base}/${path}`),
    join: (folder, name) => `${folder.replace(/\/+$/, '')}/${name}`,
    async kind(path) {
      const v = tree.get(path);
      if (v instanceof Uint8Array) return 'file';
      return isFolder(path) ? 'folder' : undefined;
    },
    async fileNames(folder) {
      if (!isFolder(folder)) throw ioError('ENOENT', folder);
      const prefix = `${folder.replace(/\/+$/, '')}/`;
      return [...tree.entries()]
        .filter(([k, v]) => v instanceof Uint8Array && k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
        .map(([k]) => k.slice(prefix.length));
    },
    async readFile(path) {
      const v = tree.get(path);
      if (v instanceof Uint8Array) return Uint8Array.from(v);
      throw ioError(isFolder(path) ? 'EISDIR' : 'ENOENT', path);
    },
  };
}
