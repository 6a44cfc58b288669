/**
 * The layer-effects panel app: receives host notifications, keeps the view state (persisted with
 * setState so a reloaded webview draws at once), draws through ChartBoard, posts commands, and after
 * each render reports what it drew (dataReport). Messaging lives here; drawing in charts.ts.
 */
import {
  CancelCommand,
  DataReportCommand,
  HOST_TO_WEBVIEW,
  ReadyCommand,
  RerunCommand,
  SaveEnvelopeCommand,
  SetEnvelopeCommand,
  rejection,
  type IpcMessage,
  type PanelRuntime,
} from '../src/protocol';
import { ChartBoard } from './charts';
import { EnvelopeEditor } from './envelope';
import { reduce, restoreState, sameEnvelope, withEnvelope, type ViewState } from './state';
import { readTheme } from './theme';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const post = (msg: IpcMessage) => vscode.postMessage(msg);

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { id?: string; className?: string; text?: string } = {}): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.id) e.id = props.id;
  if (props.className) e.className = props.className;
  if (props.text !== undefined) e.textContent = props.text;
  return e;
}

// ---------------------------------------------------------------------------------------------
// Layout

const app = document.getElementById('app') ?? document.body;
const title = el('h1', { id: 'title', text: 'Layer effects' });
const subtitle = el('p', { id: 'subtitle', className: 'subtitle' });
/** Where the model of the last run runs: its execution provider, and the providers that fell back. */
const runtimeLine = el('p', { id: 'runtime', className: 'subtitle' });
runtimeLine.hidden = true;
const rerun = el('button', { id: 'rerun', text: 'Rerun' });
const cancel = el('button', { id: 'cancel', text: 'Cancel', className: 'secondary' });
const status = el('span', { id: 'status', className: 'status' });
status.setAttribute('role', 'status');
const bar = el('progress', { id: 'progress' });
bar.max = 1;
bar.value = 0;
const header = el('header');
const toolbar = el('div', { className: 'toolbar' });
toolbar.append(rerun, cancel, status, bar);
header.append(title, subtitle, runtimeLine, toolbar);

const error = el('div', { id: 'error', className: 'error' });
error.setAttribute('role', 'alert');
error.hidden = true;

const envelopeSection = el('section', { id: 'section-envelope', className: 'board-section' });
const envelopeRows = el('div', { id: 'envelope', className: 'envelope' });
const ones = el('button', { id: 'envelope-ones', text: 'All 1', className: 'secondary' });
const revert = el('button', { id: 'envelope-revert', text: 'Revert to saved', className: 'secondary' });
const save = el('button', { id: 'save-envelope', text: 'Save envelope with the vector' });
const envelopeState = el('span', { id: 'envelope-state', className: 'status' });
const envelopeTools = el('div', { className: 'toolbar' });
envelopeTools.append(ones, revert, save, envelopeState);
envelopeSection.append(
  el('h2', { text: 'Layer envelope' }),
  el('p', {
    className: 'help',
    text: 'Per-layer multipliers of the evaluation strength a2 (0 turns a layer off). Changing a value reruns the analysis with it; saving writes it into the vector file (metadata.layerStrengths).',
  }),
  envelopeRows,
  envelopeTools,
);

const boardRoot = el('div', { id: 'board' });
app.append(header, error, envelopeSection, boardRoot);

// ---------------------------------------------------------------------------------------------
// State, drawing, reporting

let view: ViewState = restoreState(vscode.getState());
let theme = readTheme();
const board = new ChartBoard(boardRoot);
let sequence = 0;
let scheduled: ReturnType<typeof setTimeout> | undefined;

const editor = new EnvelopeEditor(envelopeRows, (values) => {
  update(withEnvelope(view, values));
  scheduleEnvelope(values);
});

let envelopeTimer: ReturnType<typeof setTimeout> | undefined;
function scheduleEnvelope(values: number[]): void {
  clearTimeout(envelopeTimer);
  envelopeTimer = setTimeout(() => post(SetEnvelopeCommand.create({ values })), 300);
}

function update(next: ViewState): void {
  view = next;
  vscode.setState(view);
  if (scheduled === undefined) scheduled = setTimeout(render, 16);
}

function describeStatus(v: ViewState): string {
  const p = v.progress;
  if (!p) return v.restored ? 'restored' : 'waiting for the host…';
  const pct = p.total > 0 ? ` ${Math.round((100 * p.done) / p.total)}%` : '';
  switch (p.status) {
    case 'running':
      return `running${pct}${p.message ? ` — ${p.message}` : ''}`;
    case 'done':
      return `done (run ${p.runId})`;
    case 'cancelled':
      return 'cancelled';
    case 'failed':
      return 'failed';
    case 'idle':
      return v.restored ? 'restored from the last session' : 'idle';
  }
}

/** The execution-provider line, e.g. "Model stories15M runs on cpu" (+ the fallbacks); null before a run loaded a model. */
function runtimeText(runtime: PanelRuntime | null | undefined): string | null {
  if (!runtime) return null;
  const fallbacks = runtime.fallbacks.length ? ` ⚠ fell back from ${runtime.fallbacks.join('; ')}` : '';
  return `Model ${runtime.model} runs on ${runtime.executionProvider}${fallbacks}`;
}

function render(): void {
  scheduled = undefined;
  const info = view.info;
  title.textContent = info ? `Layer effects — ${info.name}` : 'Layer effects';
  subtitle.textContent = info
    ? `${info.model} · ${info.dataset ?? 'no dataset'} · ${info.split}, ${info.episodes} episodes, ${info.shots}-shot, seed ${info.seed} · a2 = ${info.strength}, inject at ${info.injectAt} · labels: ${info.labels.join(', ')}`
    : '';
  const runtime = runtimeText(info?.runtime);
  runtimeLine.textContent = runtime ?? '';
  runtimeLine.hidden = runtime === null;
  runtimeLine.title = runtime ?? '';
  const running = view.progress?.status === 'running';
  status.textContent = describeStatus(view);
  bar.hidden = !running;
  bar.value = view.progress && view.progress.total > 0 ? view.progress.done / view.progress.total : 0;
  cancel.disabled = !running;
  rerun.disabled = !info;
  error.textContent = view.error ?? '';
  error.hidden = !view.error;

  if (view.envelope.length) editor.set(view.envelope);
  const saved = view.savedEnvelope;
  const isSaved = sameEnvelope(view.envelope, saved) || (saved === null && view.envelope.every((x) => x === 1));
  envelopeState.textContent = isSaved ? 'saved with the vector' : 'not saved';
  save.disabled = !info || isSaved;
  revert.disabled = !info || isSaved;
  ones.disabled = !info;

  const charts = board.render(view, theme);
  post(
    DataReportCommand.create({
      runId: view.results?.runId ?? null,
      status: view.progress?.status ?? 'idle',
      file: info?.file ?? null,
      envelope: view.envelope,
      charts,
      error: view.error,
      restored: view.restored,
      sequence: ++sequence,
      runtime,
      ...(view.results?.heatmap ? { sweepResults: view.results.heatmap.source } : {}),
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Events

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const msg = event.data;
  const why = rejection(msg, HOST_TO_WEBVIEW);
  if (why) {
    console.warn(`layer-effects panel: ignored a message: ${why}`);
    return;
  }
  update(reduce(view, msg as IpcMessage));
});

rerun.addEventListener('click', () => post(RerunCommand.create({})));
cancel.addEventListener('click', () => post(CancelCommand.create({})));
save.addEventListener('click', () => post(SaveEnvelopeCommand.create({ values: editor.current })));
ones.addEventListener('click', () => {
  const values = view.envelope.map(() => 1);
  update(withEnvelope(view, values));
  scheduleEnvelope(values);
});
revert.addEventListener('click', () => {
  const values = view.savedEnvelope ?? view.envelope.map(() => 1);
  update(withEnvelope(view, values));
  scheduleEnvelope(values);
});

// VS Code changes the body's class and the root's CSS variables when the theme changes.
const observer = new MutationObserver(() => {
  theme = readTheme();
  board.reset();
  update(view);
});
observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });

if (view.info) render();
post(ReadyCommand.create({}));
