/**
 * The panel's view state and how messages change it: pure functions, no DOM, no postMessage. The
 * state is what `setState` persists, so a reloaded webview draws its last results at once.
 */
import {
  EnvelopeSavedNotification,
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
  reduceSnapshot,
  type Guard,
  type IpcMessage,
  type PanelInfo,
  type RunSnapshot,
} from '../src/protocol';

export const VIEW_STATE_VERSION = 1;

export interface ViewState extends RunSnapshot {
  version: typeof VIEW_STATE_VERSION;
  info: PanelInfo | null;
  /** The envelope shown in the editor (the host's, or the user's edit not yet acknowledged). */
  envelope: number[];
  savedEnvelope: number[] | null;
  /** The results were restored from saved state (a reload), not received from the host. */
  restored: boolean;
}

export const INITIAL_STATE: ViewState = {
  version: VIEW_STATE_VERSION,
  info: null,
  envelope: [],
  savedEnvelope: null,
  progress: null,
  error: null,
  results: null,
  restored: false,
};

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
  if (EnvelopeSavedNotification.is(msg)) return { ...state, savedEnvelope: msg.params.envelope };
  if (!state.restored) return reduceSnapshot(state, msg);
  // Restored results picture an earlier session: results of any run replace them, whatever its run id.
  const next = reduceSnapshot({ ...state, results: null }, msg);
  return next.results === null ? { ...next, results: state.results } : { ...next, restored: false };
}

/** The user's edit of the envelope (sent to the host separately). */
export function withEnvelope(state: ViewState, values: readonly number[]): ViewState {
  return { ...state, envelope: [...values] };
}

export function sameEnvelope(a: readonly number[] | null, b: readonly number[] | null): boolean {
  return a !== null && b !== null && a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) < 1e-9);
}
