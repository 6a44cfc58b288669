/** Re-run: rebuild an artifact's vectors from its recipe and check that the tensors are byte-identical. */
import { UserError } from '../../errors';
import { checkModelMatch, type VectorArtifact } from '../../vectors/artifact';
import { recipeOf, tensorDifference } from '../recipe';
import type { Task } from '../task';
import type { Defaults } from '../spec/requests';
import { extractUseCase } from './extract';
import type { ModelHandle, RunPorts } from './ports';

export interface RerunOutcome {
  /** The artifact the recipe rebuilt. */
  artifact: VectorArtifact;
  identical: boolean;
  /** Where the tensors first differ, when they do. */
  difference?: string;
  ms: number;
}

/**
 * The stored artifact's model and dataset must be the ones loaded (same sha256): a recipe whose
 * data or weights changed cannot reproduce it, and says which.
 */
export async function rerunUseCase(m: ModelHandle, task: Task, stored: VectorArtifact, file: string, d: Defaults, ports: RunPorts): Promise<RerunOutcome> {
  const meta = stored.metadata;
  if (meta.dataset.sha256 !== task.dataset.sha256) {
    throw new UserError(
      `cannot be re-run: the dataset ${task.dataset.source} changed since the extraction (sha256 ${task.dataset.sha256.slice(0, 12)}…, the recipe has ${meta.dataset.sha256.slice(0, 12)}…)`,
      { file },
    );
  }
  if (meta.model.sha256 !== m.model.info.sha256) {
    throw new UserError(
      `cannot be re-run on ${m.model.info.name}: the vectors were extracted from ${meta.model.name} (sha256 ${meta.model.sha256.slice(0, 12)}…), this model is ${m.model.info.sha256.slice(0, 12)}…`,
      { file },
    );
  }
  checkModelMatch(stored, m.model.info, file, { tokenizerSha256: m.tokenizerSha256 });
  const x = await extractUseCase(m, task, recipeOf(meta, file), d, ports);
  const difference = tensorDifference(stored, x.artifact);
  return { artifact: x.artifact, identical: difference === undefined, difference, ms: x.ms };
}
