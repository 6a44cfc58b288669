import { existsSync } from 'node:fs';
import { throwIfCancelled } from '../core/errors';
import { datasetRequest, optionsFromArtifact, type CheckedOptions } from '../core/experiment/spec';
import type { Task } from '../core/experiment/task';
import { checkDataNeeds, dataNeeds, taskOf, type DataCommand, type ModelHandle, type RunPorts } from '../core/experiment/useCases';
import type { VectorArtifact } from '../core/vectors/artifact';
import { loadDataset } from '../node/datasets';
import { checkWritableOutputs } from '../node/files';
import { keepOnInterrupt, pollInterruption } from '../node/interrupt';
import { loadModel, type LoadedModel, type LoadOptions } from '../runtime/loadModel';

/** The use cases' model handle of a loaded model. */
export const handleOf = (loaded: LoadedModel): ModelHandle => ({ model: loaded.model, tokenizerSha256: loaded.tokenizer.sha256 });

/** Options seeded from a vector file (its dataset, words, BOS, tokenization, seed) under the given flags. */
export function seededByArtifact(given: CheckedOptions, artifact: VectorArtifact | undefined): CheckedOptions {
  return artifact ? optionsFromArtifact(artifact.metadata, given, existsSync) : given;
}

/**
 * Runs `work` for `command` (the one that resolved `r`) on the task made ready for the loaded model
 * (a vector file's per-sample cap kept), and disposes of the model whatever happens. Before any model
 * work: the cache folder is checked, the dataset loaded and checked for what the run draws from it
 * (data problems are reported first). Ctrl-C stops the run at its next check (`ports.cancellation`,
 * also of a hub download), and what it keeps on purpose is said when it stops (`ports.kept`).
 */
export async function runOnTask<T>(
  command: DataCommand,
  r: CheckedOptions,
  load: LoadOptions,
  ports: RunPorts,
  artifact: VectorArtifact | undefined,
  work: (loaded: LoadedModel, task: Task) => Promise<T>,
): Promise<T> {
  const cancellation = (ports.cancellation ??= pollInterruption());
  ports.kept ??= keepOnInterrupt;
  checkWritableOutputs({ '--cache-dir': load.cacheDir }, { folder: true });
  const req = datasetRequest(r);
  const dataset = await loadDataset(req.source as string, req.load);
  checkDataNeeds(dataset, dataNeeds(command, r, artifact));
  throwIfCancelled(cancellation);
  const loaded = await loadModel({ ...load, cancel: load.cancel ?? cancellation });
  try {
    throwIfCancelled(cancellation);
    return await work(loaded, taskOf(dataset, loaded.tokenizer, loaded.model.info, req, ports, artifact));
  } finally {
    await loaded.model.dispose();
  }
}
