import { checkDatasetShots, type Example, type SplitName } from '../datasets';
import type { Cancellation } from '../errors';
import type { SteerableModel } from '../model';
import { applyBias, calibrationBias, evaluateMetrics, type Metrics, type ScoredPrediction } from '../metrics';
import { sampleEpisodes, type DemoOrder, type Episode } from '../icl/episodes';
import { cutStats, type CutStats, type Prompt } from '../icl/prompt';
import { scoreEpisodes, type RunStats, type Steering } from '../icl/scoring';
import { ivEdits, scaledRows, type InjectAt } from '../iv/extract';
import { functionVectorSteering } from '../baselines/functionVectors';
import { extractTaskVectors, taskVectorSteering } from '../baselines/taskVectors';
import { splitRows, type Task } from './task';

/** The evaluation strength when neither the caller nor the vector file gives one (Task Vectors replace, they have none). */
export const DEFAULT_EVAL_STRENGTH = { iv: 0.5, fv: 1 } as const;

/** What is evaluated: a method and its vectors. All methods run on the same seeded episodes. */
export type MethodSpec =
  | { method: 'icl' }
  | { method: 'icl-calibrated'; bias: number[] }
  | { method: 'iv'; vectors: Float32Array[]; strength: number; injectAt: InjectAt; envelope?: number[] }
  | { method: 'tv'; layer: number; vector: Float32Array }
  | { method: 'fv'; layer: number; vector: Float32Array; strength: number };

export interface EvalOptions {
  split: SplitName;
  shots: number;
  episodes: number;
  seed: number;
  demoOrder: DemoOrder;
  /** Bootstrap resamples for the confidence intervals (0: none). */
  resamples: number;
  cancellation?: Cancellation;
  onProgress?: (done: number, total: number) => void;
}

export interface EvalResult {
  metrics: Metrics;
  predictions: ScoredPrediction[];
  stats: RunStats;
  /** How much of the samples' inputs the prompts kept (the context caps long episodes). */
  cut: CutStats;
  episodes: Episode[];
  prompts: Prompt[];
}

export function steeringFor(spec: MethodSpec, task: Task, model: SteerableModel): Steering | undefined {
  const { nLayers: L, dModel: d } = model.info;
  switch (spec.method) {
    case 'icl':
    case 'icl-calibrated':
      return undefined;
    case 'iv': {
      const rows = scaledRows(spec.vectors, spec.strength, d, spec.envelope);
      return (p, seq) => ivEdits(p, seq, rows, L, task.labels.length, spec.injectAt);
    }
    case 'tv':
      return taskVectorSteering(spec.layer, spec.vector);
    case 'fv':
      return functionVectorSteering(spec.layer, spec.vector, spec.strength);
  }
}

/** Algorithm 2 for any method: score the episodes, then the metrics with item-resampled intervals. */
export async function evaluateMethod(model: SteerableModel, task: Task, spec: MethodSpec, options: EvalOptions): Promise<EvalResult> {
  const rows = splitRows(task, options.split);
  checkDatasetShots(task.dataset, options.split, options.shots);
  const episodes = sampleEpisodes(rows, task.labels.length, options.shots, options.episodes, options.seed, options.demoOrder);
  const scored = await scoreEpisodes(model, task.verbalizer, rows, episodes, {
    steering: steeringFor(spec, task, model),
    cancellation: options.cancellation,
    onProgress: options.onProgress,
  });
  const predictions = spec.method === 'icl-calibrated' ? applyBias(scored.predictions, spec.bias) : scored.predictions;
  const metrics = evaluateMetrics(predictions, task.labels.length, { seed: options.seed, resamples: options.resamples });
  return { metrics, predictions, stats: scored.stats, cut: cutStats(scored.prompts), episodes, prompts: scored.prompts };
}

/** Contextual calibration: the per-class bias fitted on ICL predictions of the validation split. */
export async function fitCalibration(model: SteerableModel, task: Task, options: EvalOptions): Promise<number[]> {
  const { predictions } = await evaluateMethod(model, task, { method: 'icl' }, { ...options, split: 'validation', resamples: 0 });
  return calibrationBias(predictions);
}

/** Task Vectors' layer: the one with the best validation macro-F1 (ties: the earlier layer). */
export async function chooseTaskVectorLayer(
  model: SteerableModel,
  task: Task,
  vectors: Float32Array[],
  options: EvalOptions,
): Promise<{ layer: number; macroF1: number[] }> {
  const macroF1: number[] = [];
  for (let layer = 0; layer < vectors.length; layer++) {
    const r = await evaluateMethod(model, task, { method: 'tv', layer, vector: vectors[layer] }, { ...options, split: 'validation', resamples: 0 });
    macroF1.push(r.metrics.macroF1);
  }
  return { layer: macroF1.indexOf(Math.max(...macroF1)), macroF1 };
}

/** The extraction shots Task Vectors are tuned over (the official script's 1..4). */
export const TV_SHOTS_GRID: readonly number[] = [1, 2, 3, 4];

/**
 * Task Vectors as the official script tunes them: extracted with each number of shots in `shotsGrid`,
 * each layer evaluated on validation with the evaluation's shots; the best (shots, layer) by
 * validation macro-F1 wins (ties: fewer shots, then the earlier layer).
 */
export async function chooseTaskVector(
  model: SteerableModel,
  task: Task,
  train: readonly Example[],
  shotsGrid: readonly number[],
  extraction: { episodes: number; seed: number },
  validation: EvalOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<{ shots: number; layer: number; vectors: Float32Array[]; macroF1: Record<string, number[]>; stats: RunStats }> {
  const stats: RunStats = { forwardPasses: 0, tokens: 0, ms: 0 };
  const macroF1: Record<string, number[]> = {};
  let best: { shots: number; layer: number; score: number; vectors: Float32Array[] } | undefined;
  for (const [i, shots] of shotsGrid.entries()) {
    const x = await extractTaskVectors(model, task.verbalizer, train, { ...extraction, shots, cancellation: validation.cancellation });
    Object.entries(x.stats).forEach(([k, v]) => (stats[k as keyof RunStats] += v));
    const choice = await chooseTaskVectorLayer(model, task, x.vectors, validation);
    macroF1[`k=${shots}`] = choice.macroF1;
    const score = choice.macroF1[choice.layer];
    if (!best || score > best.score) best = { shots, layer: choice.layer, score, vectors: x.vectors };
    onProgress?.(i + 1, shotsGrid.length);
  }
  if (!best) throw new RangeError('Task Vectors need at least one number of shots to try');
  return { shots: best.shots, layer: best.layer, vectors: best.vectors, macroF1, stats };
}
