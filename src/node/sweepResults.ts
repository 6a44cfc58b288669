import { appendFile, readFile } from 'node:fs/promises';
import type { ResultsStore } from '../core/ports';

/** A sweep's rows in a local JSON Lines file (created at the first row), appended as they finish. */
export function resultsFile(path: string): ResultsStore {
  return {
    name: path,
    async read() {
      try {
        return await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    append: (text) => appendFile(path, text),
  };
}
