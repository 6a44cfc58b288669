/**
 * The panel's view state and how messages change it: pure functions, no DOM, no postMessage. The
 * state is what `setState` persists, so a reloaded webview draws its last results at once.
 */
import {
  ConfusionsNotification,
  ConvergenceNotification,
  EnvelopeSavedNotification,
  ErrorNotification,
  HeatmapNotification,
  LayerEffectNotification,
  NormsNotification,
  ProgressNotification,
  StateNotification,
  arrayOf,
  isBoolean,
  isNumber,
  isPanelInfo,
  isProgressParams,
  isResultsSnapshot,
  isString,
  literal,
  nullable,
  object,
  type Guard,
  type IpcMessage,
  type PanelInfo,
  type ProgressParams,
  type ResultsSnapshot,
} from '../src/protocol';

export const VIEW_STATE_VERSION = 1;

export interface ViewState {
  version: typeof VIEW_STATE_VERSION;
  info: PanelInfo | null;
  /** The envelope shown in the editor (the host's, or the user's edit not yet acknowledged). */
  envelope: number[];
  savedEnvelope: number[] | null;
  progress: ProgressParams | null;
  error: string | null;
  results: ResultsSnapshot | null;
  /** The results were restored from saved state (a reload), not received from the host. */
  restored: boolean;
}

export const INITIAL_STATE: ViewState = { version: VIEW_STATE_VERSION, info: null, envelope: [], savedEnvelope: null, progress: null, error: null, results: null, restored: false };

export const isViewState: Guard<ViewState> = object({
  version: literal(VIEW_STATE_VERSION),
  info: nullable(isPanelInfo),
  envelope: arrayOf(isNumber),
  savedEnvelope: nullable(arrayOf(isNumber)),
  progress: nullable(isProgressParams),
  error: nullable(isString),
  results: nullable(isResultsSnapshot),
  restored: isBoolean,
});

/** The state saved by a previous instance of the webview (marked restored), or the initial state. */
export function restoreState(saved: unknown): ViewState {
  if (!isViewState(saved)) return INITIAL_STATE;
  // A run that was going on when the webview went away is not going on in this instance's view of it.
  const progress = saved.progress && saved.progress.status === 'running' ? { ...saved.progress, status: 'idle' as const } : saved.progress;
  return { ...saved, progress, restored: saved.results !== null };
}

const emptyResults = (runId: number): ResultsSnapshot => ({ runId, norms: null, convergence: null, heatmap: null, confusions: null, effects: [] });

/** The results of run `runId`: the current ones, fresh ones for a newer run, undefined for an older run. */
function resultsFor(state: ViewState, runId: number): ResultsSnapshot | undefined {
  const current = state.results;
  if (current && !state.restored && current.runId === runId) return current;
  if (!current || state.restored || runId > current.runId) return emptyResults(runId);
  return undefined;
}

function withResults(state: ViewState, runId: number, change: (r: ResultsSnapshot) => ResultsSnapshot): ViewState {
  const r = resultsFor(state, runId);
  return r ? { ...state, results: change(r), restored: false } : state;
}

/** Applies one host -> webview message (already checked by a guard; others leave the state as is). */
export function reduce(state: ViewState, msg: IpcMessage): ViewState {
  if (StateNotification.is(msg)) {
    const p = msg.params;
    const keep = p.results === null && state.results !== null && state.info?.file === p.info.file;
    return {
      ...state,
      info: p.info,
      envelope: p.envelope,
      savedEnvelope: p.savedEnvelope,
      progress: p.progress,
      error: p.error,
      results: keep ? state.results : p.results,
      restored: keep ? state.restored : false,
    };
  }
  if (ProgressNotification.is(msg)) {
    const p = msg.params;
    const current = state.results?.runId ?? -1;
    if (p.runId < current && !state.restored) return state;
    const next = { ...state, progress: p };
    if (p.status === 'running' && (p.runId > current || state.restored)) return { ...next, error: null, results: emptyResults(p.runId), restored: false };
    return next;
  }
  if (NormsNotification.is(msg)) return withResults(state, msg.params.runId, (r) => ({ ...r, norms: msg.params }));
  if (ConvergenceNotification.is(msg)) return withResults(state, msg.params.runId, (r) => ({ ...r, convergence: msg.params }));
  if (HeatmapNotification.is(msg)) return withResults(state, msg.params.runId, (r) => ({ ...r, heatmap: msg.params }));
  if (ConfusionsNotification.is(msg)) return withResults(state, msg.params.runId, (r) => ({ ...r, confusions: msg.params }));
  if (LayerEffectNotification.is(msg)) {
    const e = msg.params.effect;
    return withResults(state, msg.params.runId, (r) => ({ ...r, effects: [...r.effects.filter((x) => x.layer !== e.layer), e].sort((a, b) => a.layer - b.layer) }));
  }
  if (ErrorNotification.is(msg)) {
    const { runId, message } = msg.params;
    if (runId !== null && state.results && !state.restored && runId < state.results.runId) return state;
    return { ...state, error: message };
  }
  if (EnvelopeSavedNotification.is(msg)) return { ...state, savedEnvelope: msg.params.envelope };
  return state;
}

/** The user's edit of the envelope (sent to the host separately). */
export function withEnvelope(state: ViewState, values: readonly number[]): ViewState {
  return { ...state, envelope: [...values] };
}

export function sameEnvelope(a: readonly number[] | null, b: readonly number[] | null): boolean {
  return a !== null && b !== null && a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) < 1e-9);
}
