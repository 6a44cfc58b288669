/**
 * What a layer panel knows of its runs (progress, error, results) and how the run messages change
 * it. One reducer for both sides: the host applies it to what it posts (its snapshot is what a
 * (re)loading webview gets in its state message), the webview to what it receives.
 */
import {
  ConfusionsNotification,
  ConvergenceNotification,
  ErrorNotification,
  HeatmapNotification,
  LayerEffectNotification,
  NormsNotification,
  ProgressNotification,
  type ProgressParams,
  type ResultsSnapshot,
} from './layers';
import type { IpcMessage } from './ipc';

export interface RunSnapshot {
  /** The latest run's progress (null: nothing heard yet). */
  progress: ProgressParams | null;
  error: string | null;
  /** The latest run's results (null: none). */
  results: ResultsSnapshot | null;
}

export const emptyResults = (runId: number): ResultsSnapshot => ({ runId, norms: null, convergence: null, heatmap: null, confusions: null, effects: [] });

/**
 * Applies one host -> webview run message (others leave the state as is). A run newer than the
 * results starts afresh (no results, no error); messages of an older run, which a newer one
 * replaced, are dropped.
 */
export function reduceSnapshot<S extends RunSnapshot>(state: S, msg: IpcMessage): S {
  if (ProgressNotification.is(msg)) {
    const p = msg.params;
    const current = state.results?.runId ?? -1;
    if (p.runId < current) return state;
    if (p.status === 'running' && p.runId > current) return { ...state, progress: p, error: null, results: emptyResults(p.runId) };
    return { ...state, progress: p };
  }
  if (NormsNotification.is(msg)) return withResults(state, msg.params.runId, (r) => ({ ...r, norms: msg.params }));
  if (ConvergenceNotification.is(msg)) return withResults(state, msg.params.runId, (r) => ({ ...r, convergence: msg.params }));
  if (HeatmapNotification.is(msg)) return withResults(state, msg.params.runId, (r) => ({ ...r, heatmap: msg.params }));
  if (ConfusionsNotification.is(msg)) return withResults(state, msg.params.runId, (r) => ({ ...r, confusions: msg.params }));
  if (LayerEffectNotification.is(msg)) {
    const e = msg.params.effect;
    return withResults(state, msg.params.runId, (r) => ({
      ...r,
      effects: [...r.effects.filter((x) => x.layer !== e.layer), e].sort((a, b) => a.layer - b.layer),
    }));
  }
  if (ErrorNotification.is(msg)) {
    const { runId, message } = msg.params;
    // An error of no run (a failed save) always shows.
    if (runId !== null && state.results && runId < state.results.runId) return state;
    return { ...state, error: message };
  }
  return state;
}

function withResults<S extends RunSnapshot>(state: S, runId: number, change: (r: ResultsSnapshot) => ResultsSnapshot): S {
  const current = state.results;
  if (current && runId < current.runId) return state;
  return { ...state, results: change(current && current.runId === runId ? current : emptyResults(runId)) };
}
