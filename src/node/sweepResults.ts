import { appendFile, readFile } from 'node:fs/promises';
import { UserError } from '../core/errors';
import { ioReason, type ResultsStore } from '../core/ports';
import { writeAtomic } from './files';

/** A sweep's rows in a local JSON Lines file (created at the first row), appended as they finish. */
export function resultsFile(path: string): ResultsStore {
  // What the user can fix (a folder in the file's place, a missing folder, no permission): a UserError naming the file.
  const refused = (e: unknown, verb: 'read' | 'write') => {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EISDIR' ? 'it is a folder' : code === 'ENOENT' ? 'its folder does not exist' : ioReason(e);
    return new UserError(`cannot ${verb} the sweep results file: ${why}`, { file: path });
  };
  return {
    name: path,
    async read() {
      try {
        return await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw refused(e, 'read');
      }
    },
    async append(text) {
      try {
        await appendFile(path, text);
      } catch (e) {
        throw refused(e, 'write');
      }
    },
    async replace(text) {
      try {
        writeAtomic(path, text);
      } catch (e) {
        throw refused(e, 'write');
      }
    },
  };
}
