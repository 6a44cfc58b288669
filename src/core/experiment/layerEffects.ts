/**
 * Per-layer effects of an Iterative Vectors artifact, for the layer-effects panel (and anyone else):
 *  (a) the L2 norm of every row of every layer (class rows, then the query row);
 *  (b) the effect of steering one layer alone (envelope zero everywhere else) and of steering every
 *      layer but one (envelope zero at that layer), measured on the same seeded episodes as plain ICL
 *      and as IV on all layers: accuracy, macro-F1 and the mean gold-label logit margin;
 *  (c) the convergence of the extraction (relative change of the estimate at each refresh);
 *  (d) the confusion matrices of ICL and of IV on all layers;
 *  (e) validation sweep results as a1 x a2 grids, one per (k, b).
 * Results stream through `onUpdate` as each part finishes, so a view can draw while it runs.
 */
import { throwIfCancelled, UserError, type Cancellation } from '../errors';
import type { SplitName } from '../datasets';
import type { DemoOrder } from '../icl/episodes';
import type { InjectAt } from '../iv/extract';
import type { ScoredPrediction } from '../metrics';
import type { SteerableModel } from '../model';
import { checkModelMatch, type RefreshRecord, type VectorArtifact } from '../vectors/artifact';
import { specFromArtifact } from './artifacts';
import { evaluateMethod, type EvalOptions, type MethodSpec } from './methods';
import type { SweepRow } from './sweep';
import type { Task } from './task';
import type { ModelHandle } from './useCases/ports';

/** What one evaluation of a method scored on the episodes. */
export interface EffectScore {
  accuracy: number;
  macroF1: number;
  /** Mean over episodes of (gold label logit - the largest other label logit); > 0 means correct. */
  meanMargin: number;
}

export interface LayerEffect {
  layer: number;
  /** Steering this layer only (the base envelope's value at this layer, zero elsewhere). */
  only: EffectScore;
  /** Steering every layer but this one (the base envelope with zero at this layer). */
  allBut: EffectScore;
}

export interface ConvergencePoint {
  /** Episode after which the estimate was refreshed. */
  episode: number;
  /** ||IV_new - IV_old|| / ||IV_new||; null at the first refresh. */
  relativeChange: number | null;
}

/** Validation results of one (k, b) group of a sweep: rows are a1 values, columns a2 values. */
export interface SweepHeatmap {
  shots: number;
  refreshEvery: number;
  extStrengths: number[];
  evalStrengths: number[];
  /** [a1 index][a2 index]; null where the sweep has no row (yet). */
  macroF1: (number | null)[][];
  accuracy: (number | null)[][];
}

export interface LayerEffectsInput {
  /** Per layer, (n + 1) x d row-major: class rows in label order, then the query row. */
  vectors: readonly Float32Array[];
  /** The extraction's refresh records (artifact metadata.history). */
  history?: readonly RefreshRecord[];
  /** Sweep rows (e.g. parseSweepResults(text).rows of a sweep results file, sweepResults.ts). */
  sweepRows?: readonly SweepRow[];
}

export interface LayerEffectsOptions {
  /** Split the episodes come from (default validation). */
  split?: SplitName;
  /** Demonstrations per class at evaluation (default 1, as Algorithm 2). */
  shots?: number;
  /** N: episodes per evaluation. */
  episodes: number;
  seed: number;
  demoOrder?: DemoOrder;
  /** a2: evaluation strength. */
  strength: number;
  injectAt?: InjectAt;
  /** Base per-layer multipliers (default all 1); the ablations are derived from it. */
  envelope?: readonly number[];
  /** Layers to ablate, in order (default all). */
  layers?: readonly number[];
  cancellation?: Cancellation;
  /** Episodes scored so far over every evaluation of the run. */
  onProgress?: (done: number, total: number) => void;
  onUpdate?: (update: LayerEffectsUpdate) => void;
}

/** Partial results, in the order they are produced. */
export type LayerEffectsUpdate =
  | { kind: 'norms'; rowLabels: string[]; norms: number[][] }
  | { kind: 'convergence'; points: ConvergencePoint[] }
  | { kind: 'heatmap'; grids: SweepHeatmap[] }
  | { kind: 'reference'; labels: string[]; icl: EffectScore; iv: EffectScore; confusion: { icl: number[][]; iv: number[][] } }
  | { kind: 'layer'; effect: LayerEffect; done: number; total: number };

export interface LayerEffectsResult {
  rowLabels: string[];
  norms: number[][];
  convergence: ConvergencePoint[];
  heatmaps: SweepHeatmap[];
  icl: EffectScore;
  iv: EffectScore;
  confusion: { icl: number[][]; iv: number[][] };
  layers: LayerEffect[];
  envelope: number[];
  episodes: number;
}

// ---------------------------------------------------------------------------------------------
// Pure parts

/** The mean gold-label margin: gold logit minus the largest other label logit, averaged over episodes. */
export function meanGoldMargin(predictions: readonly ScoredPrediction[]): number {
  if (predictions.length === 0) return NaN;
  let sum = 0;
  for (const p of predictions) {
    let other = -Infinity;
    for (let c = 0; c < p.labelLogits.length; c++) if (c !== p.gold && p.labelLogits[c] > other) other = p.labelLogits[c];
    sum += p.labelLogits[p.gold] - other;
  }
  return sum / predictions.length;
}

/** L2 norm of each row of each layer's (rows x d) matrix: result[layer][row]. */
export function vectorNorms(vectors: readonly Float32Array[], rows: number): number[][] {
  return vectors.map((v) => {
    const d = v.length / rows;
    return Array.from({ length: rows }, (_, r) => {
      let s = 0;
      for (let j = r * d; j < (r + 1) * d; j++) s += v[j] * v[j];
      return Math.sqrt(s);
    });
  });
}

/** The base envelope with every layer but `layer` set to zero. */
export function onlyLayerEnvelope(base: readonly number[], layer: number): number[] {
  return base.map((x, l) => (l === layer ? x : 0));
}

/** The base envelope with `layer` set to zero. */
export function withoutLayerEnvelope(base: readonly number[], layer: number): number[] {
  return base.map((x, l) => (l === layer ? 0 : x));
}

export function convergencePoints(history: readonly RefreshRecord[] | undefined): ConvergencePoint[] {
  return (history ?? []).map((r) => ({
    episode: r.episode,
    relativeChange: typeof r.relativeChange === 'number' && Number.isFinite(r.relativeChange) ? r.relativeChange : null,
  }));
}

const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Sweep rows as a1 x a2 grids, one per (k, b), sorted by k then b (b = 0 last); a later row for the same config wins. */
export function sweepHeatmaps(rows: readonly SweepRow[]): SweepHeatmap[] {
  const groups = new Map<string, SweepRow[]>();
  for (const r of rows) {
    const key = `${r.shots}/${r.refreshEvery}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const sorted = (xs: Iterable<number>) => [...new Set(xs)].sort((a, b) => a - b);
  const grids = [...groups.values()].map((g) => {
    const extStrengths = sorted(g.map((r) => r.extStrength));
    const evalStrengths = sorted(g.map((r) => r.evalStrength));
    const empty = () => extStrengths.map(() => evalStrengths.map((): number | null => null));
    const macroF1 = empty();
    const accuracy = empty();
    for (const r of g) {
      const i = extStrengths.indexOf(r.extStrength);
      const j = evalStrengths.indexOf(r.evalStrength);
      macroF1[i][j] = r.macroF1;
      accuracy[i][j] = r.accuracy;
    }
    return { shots: g[0].shots, refreshEvery: g[0].refreshEvery, extStrengths, evalStrengths, macroF1, accuracy };
  });
  const bOrder = (b: number) => (b === 0 ? Number.MAX_SAFE_INTEGER : b);
  return grids.sort((a, b) => a.shots - b.shots || bOrder(a.refreshEvery) - bOrder(b.refreshEvery));
}

// ---------------------------------------------------------------------------------------------
// The vectors of an artifact

/**
 * Whether the vectors in `file` may run on the loaded model: extracted with this model and this
 * tokenizer (other token ids make other prompts), checked as the evaluate use case checks a vector
 * file. A UserError naming what differs; call it before loading anything else.
 */
export function checkLayerVectors(artifact: VectorArtifact, file: string, m: ModelHandle): void {
  checkModelMatch(artifact, m.model.info, file, { tokenizerSha256: m.tokenizerSha256 });
}

/**
 * The layer-effects input of an Iterative Vectors artifact on the loaded model and task: checked
 * against the model and its tokenizer (checkLayerVectors) and the task's labels (specFromArtifact),
 * with the artifact's refresh history. Sweep rows are the caller's to add.
 */
export function layerEffectsInputOf(
  artifact: VectorArtifact,
  file: string,
  m: ModelHandle,
  task: Task,
  strength: number,
  injectAt: InjectAt,
): LayerEffectsInput {
  checkLayerVectors(artifact, file, m);
  const spec = specFromArtifact(artifact, file, m.model.info, task, strength, injectAt);
  if (spec.method !== 'iv') throw new UserError(`layer effects read Iterative Vectors artifacts only; this file holds a ${artifact.metadata.method}`, { file });
  return { vectors: spec.vectors, history: artifact.metadata.history };
}

// ---------------------------------------------------------------------------------------------
// The run

/**
 * Runs the layer-effects analysis. Evaluations, all on the same seeded episodes: ICL, IV with the
 * base envelope on every layer, then for each layer l the base envelope at l only and the base
 * envelope without l. 2 + 2 x layers evaluations of N episodes each.
 */
export async function layerEffects(model: SteerableModel, task: Task, input: LayerEffectsInput, options: LayerEffectsOptions): Promise<LayerEffectsResult> {
  const L = model.info.nLayers;
  const n = task.labels.length;
  if (input.vectors.length !== L || input.vectors.some((v) => !v || v.length !== (n + 1) * model.info.dModel)) {
    throw new UserError(`layer effects need one (${n + 1} x ${model.info.dModel}) matrix per layer for ${L} layers`);
  }
  const envelope = [...(options.envelope ?? new Array<number>(L).fill(1))];
  if (envelope.length !== L || !envelope.every(isFiniteNumber))
    throw new UserError(`the envelope must have ${L} finite numbers (one per layer), got [${envelope.join(', ')}]`, { field: 'envelope' });
  const layers = [...(options.layers ?? Array.from({ length: L }, (_, l) => l))];
  for (const l of layers) if (!Number.isInteger(l) || l < 0 || l >= L) throw new RangeError(`layer ${l} is outside 0..${L - 1}`);
  if (!Number.isInteger(options.episodes) || options.episodes < 1)
    throw new UserError(`episodes must be a positive integer, got ${options.episodes}`, { field: 'episodes' });
  const emit = options.onUpdate ?? (() => {});
  throwIfCancelled(options.cancellation);

  const rowLabels = [...task.labels, '(query)'];
  const norms = vectorNorms(input.vectors, n + 1);
  emit({ kind: 'norms', rowLabels, norms });
  const convergence = convergencePoints(input.history);
  emit({ kind: 'convergence', points: convergence });
  const heatmaps = input.sweepRows ? sweepHeatmaps(input.sweepRows) : [];
  if (input.sweepRows) emit({ kind: 'heatmap', grids: heatmaps });

  const N = options.episodes;
  const total = (2 + 2 * layers.length) * N;
  let finished = 0;
  const evalOptions: EvalOptions = {
    split: options.split ?? 'validation',
    shots: options.shots ?? 1,
    episodes: N,
    seed: options.seed,
    demoOrder: options.demoOrder ?? 'shuffled',
    resamples: 0,
    cancellation: options.cancellation,
    onProgress: (done) => options.onProgress?.(finished + done, total),
  };
  const evaluate = async (spec: MethodSpec) => {
    throwIfCancelled(options.cancellation);
    const r = await evaluateMethod(model, task, spec, evalOptions);
    finished += N;
    options.onProgress?.(finished, total);
    return r;
  };
  const iv = (env: number[]): MethodSpec => ({
    method: 'iv',
    vectors: [...input.vectors],
    strength: options.strength,
    injectAt: options.injectAt ?? 'all',
    envelope: env,
  });
  const score = (r: Awaited<ReturnType<typeof evaluate>>): EffectScore => ({
    accuracy: r.metrics.accuracy,
    macroF1: r.metrics.macroF1,
    meanMargin: meanGoldMargin(r.predictions),
  });

  const iclRun = await evaluate({ method: 'icl' });
  const ivRun = await evaluate(iv(envelope));
  const icl = score(iclRun);
  const all = score(ivRun);
  const confusion = { icl: iclRun.metrics.confusion, iv: ivRun.metrics.confusion };
  emit({ kind: 'reference', labels: [...task.labels], icl, iv: all, confusion });

  const effects: LayerEffect[] = [];
  for (const layer of layers) {
    const only = score(await evaluate(iv(onlyLayerEnvelope(envelope, layer))));
    const allBut = score(await evaluate(iv(withoutLayerEnvelope(envelope, layer))));
    const effect = { layer, only, allBut };
    effects.push(effect);
    emit({ kind: 'layer', effect, done: effects.length, total: layers.length });
  }
  return { rowLabels, norms, convergence, heatmaps, icl, iv: all, confusion, layers: effects, envelope, episodes: N };
}
