/** Extract: one method's vectors on the train split, stamped with the recipe that re-runs them. */
import { UserError } from '../../errors';
import { extractArtifact, type ExtractMethod, type ExtractResult } from '../extraction';
import type { Task } from '../task';
import { extractRequestOf, resolveOptions, storedDatasetOptions, type Defaults } from '../spec/requests';
import type { CheckedOptions } from '../spec/parse';
import type { ModelHandle, RunPorts } from './ports';

export async function extractUseCase(
  m: ModelHandle,
  task: Task,
  given: CheckedOptions,
  d: Defaults,
  ports: RunPorts,
): Promise<ExtractResult & { method: ExtractMethod }> {
  const r = resolveOptions('extract', given, d);
  const method = (r.method ?? 'iv') as ExtractMethod;
  if (given.episodesOut !== undefined && method !== 'iv')
    throw new UserError('writes the episodes of an Iterative Vectors extraction (method iv)', { field: 'episodesOut' });
  const body = extractRequestOf(r, method);
  ports.log(
    `Extracting ${method} on ${task.dataset.id} with ${JSON.stringify(method === 'iv' ? body.iv : method === 'tv' ? { ...body.tv, episodes: body.iv.episodes } : { ...body.fv, episodes: body.iv.episodes })}`,
  );
  ports.phase?.(`extracting ${method}`);
  const result = await extractArtifact(m.model, task, {
    ...body,
    tokenizerSha256: m.tokenizerSha256,
    cancellation: ports.cancellation,
    onProgress: ports.progress,
  });
  result.artifact.metadata.options = { ...result.artifact.metadata.options, datasetOptions: storedDatasetOptions(task.dataset, given) };
  return { ...result, method };
}
