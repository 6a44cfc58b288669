/**
 * The layer-effects panel's messages (viewType `iterativeVectors.layers`).
 *
 * host -> webview (notifications): state (a full snapshot, sent on ready and after reloads), then
 * partial results as they are computed: norms, layerEffect (one per finished layer), convergence,
 * confusions (ICL vs IV on all layers, with their scores), heatmap (sweep grids), progress, error,
 * envelopeSaved.
 * webview -> host (commands): ready, setEnvelope, saveEnvelope, rerun, cancel, and dataReport (what
 * the webview actually rendered: chart ids with their labels and data lengths; tests assert on it).
 *
 * Every partial result carries the runId of the run that produced it; reduceSnapshot (snapshot.ts)
 * drops results of a run that a newer one replaced. Numbers are finite (NaN and infinities travel as null).
 */
import type { SweepHeatmap } from '../core/experiment/layerEffects';
import {
  and,
  arrayOf,
  isBoolean,
  isInteger,
  isNonNegativeInteger,
  isNumber,
  isString,
  literal,
  matrixOf,
  nullable,
  object,
  optional,
  squareOf,
  type Guard,
} from './guards';
import { IpcCommand, IpcNotification, type IpcMessageType } from './ipc';

export const LAYERS_VIEW_TYPE = 'iterativeVectors.layers';

/** Envelope values the editor offers (the host accepts any finite numbers). */
export const ENVELOPE_MIN = 0;
export const ENVELOPE_MAX = 2;

export type RunStatus = 'idle' | 'running' | 'done' | 'cancelled' | 'failed';
export const isRunStatus: Guard<RunStatus> = literal('idle', 'running', 'done', 'cancelled', 'failed');

// ---------------------------------------------------------------------------------------------
// Data

export interface EffectScore {
  accuracy: number;
  macroF1: number;
  /** Mean gold-label logit margin (gold minus the best other label); null when undefined. */
  meanMargin: number | null;
}
export const isEffectScore: Guard<EffectScore> = object({ accuracy: isNumber, macroF1: isNumber, meanMargin: nullable(isNumber) });

export interface LayerEffect {
  layer: number;
  /** Steering this layer alone. */
  only: EffectScore;
  /** Steering every layer but this one. */
  allBut: EffectScore;
}
export const isLayerEffect: Guard<LayerEffect> = object({ layer: isNonNegativeInteger, only: isEffectScore, allBut: isEffectScore });

export interface ConvergencePoint {
  episode: number;
  relativeChange: number | null;
}
export const isConvergencePoint: Guard<ConvergencePoint> = object({ episode: isNonNegativeInteger, relativeChange: nullable(isNumber) });

/** One (k, b) group of a sweep: rows a1 (extStrengths), columns a2 (evalStrengths). */
export type HeatmapGrid = SweepHeatmap;
const gridFits = (g: { extStrengths: number[]; evalStrengths: number[]; macroF1: unknown[][]; accuracy: unknown[][] }) =>
  [g.macroF1, g.accuracy].every((m) => m.length === g.extStrengths.length && m.every((row) => row.length === g.evalStrengths.length));
export const isHeatmapGrid: Guard<HeatmapGrid> = and(
  object({
    shots: isNonNegativeInteger,
    refreshEvery: isNonNegativeInteger,
    extStrengths: arrayOf(isNumber),
    evalStrengths: arrayOf(isNumber),
    macroF1: matrixOf(nullable(isNumber)),
    accuracy: matrixOf(nullable(isNumber)),
  }),
  gridFits,
);

/** The model a run actually loaded: its name, the execution provider it runs on, and the providers that fell back (with why). */
export interface PanelRuntime {
  model: string;
  executionProvider: string;
  /** e.g. "cuda: libcudart.so.12: cannot open shared object file"; empty when the first choice ran. */
  fallbacks: string[];
}
export const isPanelRuntime: Guard<PanelRuntime> = object({ model: isString, executionProvider: isString, fallbacks: arrayOf(isString) });

/** What the panel shows and how its numbers were obtained. */
export interface PanelInfo {
  /** The artifact: its path for display (fsPath for local files), its URI (restores the panel after a reload) and file name. */
  file: string;
  uri: string;
  name: string;
  labels: string[];
  nLayers: number;
  model: string;
  /** Dataset id or path the episodes come from (null until one is chosen). */
  dataset: string | null;
  /** a2 and where it is injected. */
  strength: number;
  injectAt: string;
  split: string;
  shots: number;
  episodes: number;
  seed: number;
  /** The sweep results file the heatmap comes from, if any. */
  sweepResults: string | null;
  /** Where the last run's model runs (absent or null until a run has loaded it). */
  runtime?: PanelRuntime | null;
}
export const isPanelInfo: Guard<PanelInfo> = object({
  file: isString,
  uri: isString,
  name: isString,
  labels: arrayOf(isString),
  nLayers: isNonNegativeInteger,
  model: isString,
  dataset: nullable(isString),
  strength: isNumber,
  injectAt: isString,
  split: isString,
  shots: isNonNegativeInteger,
  episodes: isNonNegativeInteger,
  seed: isNonNegativeInteger,
  sweepResults: nullable(isString),
  runtime: optional(nullable(isPanelRuntime)),
});

const isRunId = isNonNegativeInteger;
const isEnvelope: Guard<number[]> = and(arrayOf(isNumber), (v) => v.length > 0);

// ---------------------------------------------------------------------------------------------
// Notifications (host -> webview)

export interface NormsParams {
  runId: number;
  /** Class labels, then "(query)". */
  rowLabels: string[];
  /** [layer][row] L2 norms. */
  norms: number[][];
}
export const isNormsParams: Guard<NormsParams> = and(object({ runId: isRunId, rowLabels: arrayOf(isString), norms: matrixOf(isNumber) }), (p) =>
  p.norms.every((row) => row.length === p.rowLabels.length),
);

export interface LayerEffectParams {
  runId: number;
  effect: LayerEffect;
  /** Layers finished so far in this run, of `total`. */
  done: number;
  total: number;
}
export const isLayerEffectParams: Guard<LayerEffectParams> = object({
  runId: isRunId,
  effect: isLayerEffect,
  done: isNonNegativeInteger,
  total: isNonNegativeInteger,
});

export interface ConvergenceParams {
  runId: number;
  points: ConvergencePoint[];
}
export const isConvergenceParams: Guard<ConvergenceParams> = object({ runId: isRunId, points: arrayOf(isConvergencePoint) });

export interface MethodOutcome {
  /** Rows gold, columns predicted (counts). */
  confusion: number[][];
  score: EffectScore;
}
const isMethodOutcome: Guard<MethodOutcome> = object({ confusion: squareOf(isNumber), score: isEffectScore });

export interface ConfusionsParams {
  runId: number;
  labels: string[];
  /** Plain ICL on the run's episodes. */
  icl: MethodOutcome;
  /** IV on every layer (with the run's envelope), same episodes. */
  iv: MethodOutcome;
}
export const isConfusionsParams: Guard<ConfusionsParams> = and(
  object({ runId: isRunId, labels: arrayOf(isString), icl: isMethodOutcome, iv: isMethodOutcome }),
  (p) => p.icl.confusion.length === p.labels.length && p.iv.confusion.length === p.labels.length,
);

export interface HeatmapParams {
  runId: number;
  /** The sweep results file (null: none found). */
  source: string | null;
  grids: HeatmapGrid[];
}
export const isHeatmapParams: Guard<HeatmapParams> = object({ runId: isRunId, source: nullable(isString), grids: arrayOf(isHeatmapGrid) });

export interface ProgressParams {
  runId: number;
  status: RunStatus;
  /** Episodes scored so far, of `total`, over every evaluation of the run. */
  done: number;
  total: number;
  message?: string;
}
export const isProgressParams: Guard<ProgressParams> = object({
  runId: isRunId,
  status: isRunStatus,
  done: isNonNegativeInteger,
  total: isNonNegativeInteger,
  message: optional(isString),
});

export interface ErrorParams {
  /** The run that failed (null: not about a run, e.g. a failed save). */
  runId: number | null;
  message: string;
}
export const isErrorParams: Guard<ErrorParams> = object({ runId: nullable(isRunId), message: isString });

export interface EnvelopeSavedParams {
  file: string;
  envelope: number[];
}
export const isEnvelopeSavedParams: Guard<EnvelopeSavedParams> = object({ file: isString, envelope: isEnvelope });

/** Everything the host has for the current run. */
export interface ResultsSnapshot {
  runId: number;
  norms: NormsParams | null;
  convergence: ConvergenceParams | null;
  heatmap: HeatmapParams | null;
  confusions: ConfusionsParams | null;
  effects: LayerEffect[];
}
export const isResultsSnapshot: Guard<ResultsSnapshot> = object({
  runId: isRunId,
  norms: nullable(isNormsParams),
  convergence: nullable(isConvergenceParams),
  heatmap: nullable(isHeatmapParams),
  confusions: nullable(isConfusionsParams),
  effects: arrayOf(isLayerEffect),
});

export interface StateParams {
  info: PanelInfo;
  /** The envelope the current (or next) run uses. */
  envelope: number[];
  /** The envelope stored in the artifact (metadata.layerStrengths), null when it has none. */
  savedEnvelope: number[] | null;
  progress: ProgressParams;
  error: string | null;
  /**
   * The host's results; null when it has none (a panel restored after a reload, before any run):
   * the webview then keeps what it restored from its own state for the same file.
   */
  results: ResultsSnapshot | null;
}
export const isStateParams: Guard<StateParams> = object({
  info: isPanelInfo,
  envelope: isEnvelope,
  savedEnvelope: nullable(isEnvelope),
  progress: isProgressParams,
  error: nullable(isString),
  results: nullable(isResultsSnapshot),
});

export const StateNotification = new IpcNotification<StateParams>('layers/state', isStateParams);
export const NormsNotification = new IpcNotification<NormsParams>('layers/norms', isNormsParams);
export const LayerEffectNotification = new IpcNotification<LayerEffectParams>('layers/layerEffect', isLayerEffectParams);
export const ConvergenceNotification = new IpcNotification<ConvergenceParams>('layers/convergence', isConvergenceParams);
export const ConfusionsNotification = new IpcNotification<ConfusionsParams>('layers/confusions', isConfusionsParams);
export const HeatmapNotification = new IpcNotification<HeatmapParams>('layers/heatmap', isHeatmapParams);
export const ProgressNotification = new IpcNotification<ProgressParams>('layers/progress', isProgressParams);
export const ErrorNotification = new IpcNotification<ErrorParams>('layers/error', isErrorParams);
export const EnvelopeSavedNotification = new IpcNotification<EnvelopeSavedParams>('layers/envelopeSaved', isEnvelopeSavedParams);

export const HOST_TO_WEBVIEW: readonly IpcMessageType<unknown>[] = [
  StateNotification,
  NormsNotification,
  LayerEffectNotification,
  ConvergenceNotification,
  ConfusionsNotification,
  HeatmapNotification,
  ProgressNotification,
  ErrorNotification,
  EnvelopeSavedNotification,
] as IpcMessageType<unknown>[];

// ---------------------------------------------------------------------------------------------
// Commands (webview -> host)

export type Empty = Record<string, never>;
const isEmpty: Guard<Empty> = object({}) as Guard<Empty>;

export interface SetEnvelopeParams {
  /** One multiplier per layer. */
  values: number[];
}
export const isSetEnvelopeParams: Guard<SetEnvelopeParams> = object({ values: isEnvelope });

export interface SaveEnvelopeParams {
  /** The envelope to save (default: the host's current one). */
  values?: number[];
}
export const isSaveEnvelopeParams: Guard<SaveEnvelopeParams> = object({ values: optional(isEnvelope) });

export type ChartKind = 'bar' | 'line' | 'grid';

export interface ChartDatasetReport {
  label: string;
  /** Entries in the dataset (for a grid row: its cells). */
  length: number;
  /** Entries that hold a number (not null / missing). */
  points: number;
}

export interface ChartReport {
  /** Stable id, e.g. "norms", "effect-accuracy", "effect-macroF1", "effect-margin", "convergence", "confusion-icl", "confusion-iv", "heatmap-k4-b10". */
  id: string;
  kind: ChartKind;
  /** x-axis labels (a grid: its column labels). */
  labels: string[];
  /** Datasets (a grid: one per row). */
  datasets: ChartDatasetReport[];
}
export const isChartReport: Guard<ChartReport> = object({
  id: isString,
  kind: literal('bar', 'line', 'grid'),
  labels: arrayOf(isString),
  datasets: arrayOf(object({ label: isString, length: isNonNegativeInteger, points: isNonNegativeInteger })),
});

/** What the webview rendered, posted after each render. */
export interface DataReport {
  /** The run whose results are drawn (null: none yet). */
  runId: number | null;
  status: RunStatus;
  /** The artifact shown (null before the first state). */
  file: string | null;
  envelope: number[];
  charts: ChartReport[];
  error: string | null;
  /** Whether the drawn results were restored from the webview's saved state (not from the host). */
  restored: boolean;
  /** Increments with each report of this webview instance. */
  sequence: number;
  /** The execution-provider line as shown (null: no run has loaded a model yet). */
  runtime?: string | null;
  /** The sweep results file the heatmap shows (null: none found; absent: nothing read yet). */
  sweepResults?: string | null;
}
export const isDataReport: Guard<DataReport> = object({
  runId: nullable(isRunId),
  status: isRunStatus,
  file: nullable(isString),
  envelope: arrayOf(isNumber),
  charts: arrayOf(isChartReport),
  error: nullable(isString),
  restored: isBoolean,
  sequence: isInteger,
  runtime: optional(nullable(isString)),
  sweepResults: optional(nullable(isString)),
});

export const ReadyCommand = new IpcCommand<Empty>('layers/ready', isEmpty);
export const SetEnvelopeCommand = new IpcCommand<SetEnvelopeParams>('layers/setEnvelope', isSetEnvelopeParams);
export const SaveEnvelopeCommand = new IpcCommand<SaveEnvelopeParams>('layers/saveEnvelope', isSaveEnvelopeParams);
export const RerunCommand = new IpcCommand<Empty>('layers/rerun', isEmpty);
export const CancelCommand = new IpcCommand<Empty>('layers/cancel', isEmpty);
export const DataReportCommand = new IpcCommand<DataReport>('layers/dataReport', isDataReport);

export const WEBVIEW_TO_HOST: readonly IpcMessageType<unknown>[] = [
  ReadyCommand,
  SetEnvelopeCommand,
  SaveEnvelopeCommand,
  RerunCommand,
  CancelCommand,
  DataReportCommand,
] as IpcMessageType<unknown>[];
