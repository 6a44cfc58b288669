import { checkDatasetShots, type SplitName } from '../datasets';
import type { Cancellation } from '../errors';
import type { SteerableModel } from '../model';
import { applyBias, calibrationBias, evaluateMetrics, type Metrics, type ScoredPrediction } from '../metrics';
import { sampleEpisodes, type DemoOrder } from '../icl/episodes';
import { scoreEpisodes, type RunStats, type Steering } from '../icl/scoring';
import { ivEdits, scaledRows, type InjectAt } from '../iv/extract';
import { functionVectorSteering } from '../baselines/functionVectors';
import { taskVectorSteering } from '../baselines/taskVectors';
import { splitRows, type Task } from './task';

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
}

export function steeringFor(spec: MethodSpec, task: Task, model: SteerableModel): Steering | undefined {
  const { nLayers: L, dModel: d } = model.info;
  switch (spec.method) {
    case 'icl':
    case 'icl-calibrated':
      return undefined;
    case 'iv': {
      const rows = scaledRows(spec.vectors, spec.strength, d, spec.envelope);
      return (p, seq) => ({ edits: ivEdits(p, seq, rows, L, task.labels.length, spec.injectAt) });
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
  return { metrics: evaluateMetrics(predictions, task.labels.length, { seed: options.seed, resamples: options.resamples }), predictions, stats: scored.stats };
}

/** Contextual calibration: the per-class bias fitted on ICL predictions of the validation split. */
export async function fitCalibration(model: SteerableModel, task: Task, options: EvalOptions): Promise<number[]> {
  const { predictions } = await evaluateMethod(model, task, { method: 'icl' }, { ...options, split: 'validation', resamples: 0 });
  return calibrationBias(predictions);
}

/** Task Vectors' layer: the one with the best validation macro-F1 (ties: the earlier layer). */
export async function chooseTaskVectorLayer(model: SteerableModel, task: Task, vectors: Float32Array[], options: EvalOptions): Promise<{ layer: number; macroF1: number[] }> {
  const macroF1: number[] = [];
  for (let layer = 0; layer < vectors.length; layer++) {
    const r = await evaluateMethod(model, task, { method: 'tv', layer, vector: vectors[layer] }, { ...options, split: 'validation', resamples: 0 });
    macroF1.push(r.metrics.macroF1);
  }
  return { layer: macroF1.indexOf(Math.max(...macroF1)), macroF1 };
}
