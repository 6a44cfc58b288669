import { existsSync } from 'node:fs';
import { promptOptionsOf } from '../core/experiment/artifacts';
import { datasetRequest, optionsFromArtifact, type CheckedOptions } from '../core/experiment/spec';
import type { Task } from '../core/experiment/task';
import { taskOf, type ModelHandle, type RunPorts } from '../core/experiment/useCases';
import type { VectorArtifact } from '../core/vectors/artifact';
import { loadDataset } from '../node/datasets';
import type { LoadedModel } from '../runtime/loadModel';

/** The use cases' model handle of a loaded model. */
export const handleOf = (loaded: LoadedModel): ModelHandle => ({ model: loaded.model, tokenizerSha256: loaded.tokenizer.sha256 });

/** Options seeded from a vector file (its dataset, words, BOS, tokenization, seed) under the given flags. */
export function seededByArtifact(given: CheckedOptions, artifact: VectorArtifact | undefined): CheckedOptions {
  return artifact ? optionsFromArtifact(artifact.metadata, given, existsSync) : given;
}

/** The resolved options' dataset, loaded and made ready for the model (a vector file's per-sample cap kept). */
export async function loadTask(r: CheckedOptions, loaded: LoadedModel, ports: RunPorts, artifact?: VectorArtifact): Promise<Task> {
  const req = datasetRequest(r);
  const dataset = await loadDataset(req.source as string, req.load);
  const maxSampleTokens = artifact && promptOptionsOf(artifact.metadata.options).maxSampleTokens;
  return taskOf(dataset, loaded.tokenizer, loaded.model.info, { bos: req.bos, tokenization: req.tokenization, maxSampleTokens }, ports);
}
