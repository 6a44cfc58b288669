/**
 * What each use case draws from the dataset, so that a face checks the data right after loading it,
 * before any model work (the README's promise): a split missing, or a class with fewer rows than the
 * shots asked for, is reported before the model loads instead of after it.
 */
import { checkDatasetShots, type Dataset, type SplitName } from '../../datasets';
import type { VectorArtifact } from '../../vectors/artifact';
import type { ExtractMethod } from '../extraction';
import type { CheckedOptions } from '../spec/parse';
import { METHOD_OF_ARTIFACT } from '../spec/requests';

/** A split a run reads, with the demonstrations per class it draws from it at once (0: the split only). */
export interface DataNeed {
  split: SplitName;
  shots: number;
}

/** The use cases by the command that resolved their options (re-running is extracting). */
export type DataCommand = 'extract' | 'evaluate' | 'sweep' | 'compare';

/**
 * The needs of a run of `command` on resolved options `r` (evaluating: with the vector file, whose
 * method is the run's when `r` names none). Mirrors what extractArtifact, evaluateMethod, runSweep and
 * compareUseCase check as they go.
 */
export function dataNeeds(command: DataCommand, r: CheckedOptions, artifact?: VectorArtifact): DataNeed[] {
  const evaluation: DataNeed = { split: r.split!, shots: r.shots! };
  const validation: DataNeed = { split: 'validation', shots: r.shots! };
  switch (command) {
    case 'extract':
      return extractionNeeds((r.method ?? 'iv') as ExtractMethod, r);
    case 'evaluate': {
      const method = r.method ?? (artifact && METHOD_OF_ARTIFACT[artifact.metadata.method]);
      if (method === 'icl-calibrated') return [evaluation, validation];
      const extraction = !artifact && (method === 'iv' || method === 'tv' || method === 'fv') ? extractionNeeds(method, r) : [];
      return [evaluation, ...extraction];
    }
    case 'sweep':
      return [...r.shotsGrid!.map((shots) => ({ split: 'train' as const, shots })), validation, evaluation];
    case 'compare': {
      const sweep = r.sweep ? r.shotsGrid!.map((shots) => ({ split: 'train' as const, shots })) : [];
      const icl = [0, r.shots!, r.extShots!].map((shots) => ({ split: r.split!, shots }));
      return [...(['iv', 'tv', 'fv'] as const).flatMap((m) => extractionNeeds(m, r)), ...sweep, validation, ...icl];
    }
  }
}

function extractionNeeds(method: ExtractMethod, r: CheckedOptions): DataNeed[] {
  switch (method) {
    case 'iv':
      return [{ split: 'train', shots: r.extShots! }];
    case 'tv':
      // Each number of shots tried on train, each choice scored on validation.
      return [...r.tvShotsGrid!.map((shots) => ({ split: 'train' as const, shots })), { split: 'validation', shots: r.valShots ?? r.shots! }];
    case 'fv':
      return [{ split: 'train', shots: r.fvShots! }];
    default:
      return []; // Not an extraction method: refused where the method is read.
  }
}

/** Throws the UserError of the first need the dataset does not meet (see checkDatasetShots). */
export function checkDataNeeds(dataset: Dataset, needs: readonly DataNeed[]): void {
  for (const { split, shots } of needs) checkDatasetShots(dataset, split, shots);
}
