import { existsSync } from 'node:fs';
import { datasetRequest, optionsFromArtifact, type CheckedOptions } from '../core/experiment/spec';
import type { Task } from '../core/experiment/task';
import { taskOf, type ModelHandle, type RunPorts } from '../core/experiment/useCases';
import type { VectorArtifact } from '../core/vectors/artifact';
import { loadDataset } from '../node/datasets';
import { loadModel, type LoadedModel, type LoadOptions } from '../runtime/loadModel';

/** The use cases' model handle of a loaded model. */
export const handleOf = (loaded: LoadedModel): ModelHandle => ({ model: loaded.model, tokenizerSha256: loaded.tokenizer.sha256 });

/** Options seeded from a vector file (its dataset, words, BOS, tokenization, seed) under the given flags. */
export function seededByArtifact(given: CheckedOptions, artifact: VectorArtifact | undefined): CheckedOptions {
  return artifact ? optionsFromArtifact(artifact.metadata, given, existsSync) : given;
}

/**
 * Loads the resolved options' dataset first (data problems are reported before any model work), then
 * the model; runs `work` on the task made ready for it (a vector file's per-sample cap kept) and
 * disposes of the model whatever happens.
 */
export async function runOnTask<T>(
  r: CheckedOptions,
  load: LoadOptions,
  ports: RunPorts,
  artifact: VectorArtifact | undefined,
  work: (loaded: LoadedModel, task: Task) => Promise<T>,
): Promise<T> {
  const req = datasetRequest(r);
  const dataset = await loadDataset(req.source as string, req.load);
  const loaded = await loadModel(load);
  try {
    return await work(loaded, taskOf(dataset, loaded.tokenizer, loaded.model.info, req, ports, artifact));
  } finally {
    await loaded.model.dispose();
  }
}
