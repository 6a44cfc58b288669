/**
 * The vector editor's page: provenance, per-layer row norms and class-row cosines of an artifact,
 * as HTML tables themed with the `--vscode-*` colours, under a strict CSP (nonce-only script and
 * style). Pure (no vscode): the provider in vectorEditor.ts supplies the CSP source and nonce.
 */
import { layerNorms, rowCosines, type VectorArtifact } from '../core/vectors/artifact';
import { COMMAND_IDS } from './commandIds';

export const VECTOR_EDITOR_VIEW_TYPE = 'iterativeVectors.vectorEditor';

/** Buttons on the page and the commands they run with the file: its URI as the argument, or `{ vector: uri }` (steerPrompt's options). */
export const EDITOR_ACTIONS = {
  evaluate: { label: 'Evaluate', command: COMMAND_IDS.evaluate, title: 'Evaluate these vectors on their dataset', arg: 'uri' },
  steer: {
    label: 'Steer a prompt',
    command: COMMAND_IDS.steerPrompt,
    title: 'Run a prompt steered by these vectors: the unsteered and steered completions open side by side',
    arg: 'vector',
  },
  export: { label: 'Export GGUF (approximate)', command: COMMAND_IDS.exportGguf, title: 'Write a llama.cpp control vector next to this file', arg: 'uri' },
  showLayers: { label: 'Show layers', command: COMMAND_IDS.showLayers, title: 'Per-layer steering effects in the panel', arg: 'uri' },
  rerun: { label: 'Re-run', command: COMMAND_IDS.rerun, title: 'Rebuild these vectors from their recipe and check they are byte-identical', arg: 'uri' },
} as const satisfies Record<string, { label: string; command: string; title: string; arg: 'uri' | 'vector' }>;
export type EditorAction = keyof typeof EDITOR_ACTIONS;

export function isEditorAction(x: unknown): x is EditorAction {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(EDITOR_ACTIONS, x);
}

/** A message from the page: `{ type: 'run', action }`. */
export function actionOfMessage(msg: unknown): EditorAction | undefined {
  if (typeof msg !== 'object' || msg === null) return undefined;
  const m = msg as { type?: unknown; action?: unknown };
  return m.type === 'run' && isEditorAction(m.action) ? m.action : undefined;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

function valueText(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  return JSON.stringify(v, (_, x) => (typeof x === 'number' && !Number.isInteger(x) ? Number(x.toPrecision(6)) : x));
}

function kvTable(rows: [string, unknown][]): string {
  const body = rows
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(valueText(v))}</td></tr>`)
    .join('');
  return `<table class="kv">${body}</table>`;
}

/** A cell's background: the theme's chart colour, opacity scaled by |value| / max. */
function shade(value: number, max: number): string {
  if (!Number.isFinite(value) || max <= 0) return '';
  const pct = Math.round(Math.min(1, Math.abs(value) / max) * 45);
  const colour = value < 0 ? 'var(--vscode-charts-red)' : 'var(--vscode-charts-blue)';
  return ` style="background: color-mix(in srgb, ${colour} ${pct}%, transparent)"`;
}

export interface PageOptions {
  /** `webview.cspSource`. */
  cspSource: string;
  nonce: string;
  fileName: string;
  /** Commands that exist now (buttons for the others are disabled). */
  available?: ReadonlySet<string>;
}

function page(o: PageOptions, title: string, body: string, script: boolean): string {
  const csp = [`default-src 'none'`, `img-src ${o.cspSource}`, `style-src 'nonce-${o.nonce}'`, script ? `script-src 'nonce-${o.nonce}'` : '']
    .filter(Boolean)
    .join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(title)}</title>
<style nonce="${o.nonce}">
  body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 0 20px 20px; }
  h1 { font-size: 1.3em; font-weight: 600; }
  h2 { font-size: 1.1em; font-weight: 600; margin-top: 1.6em; border-bottom: 1px solid var(--vscode-panel-border); padding-bottom: 4px; }
  table { border-collapse: collapse; margin: 6px 0; font-variant-numeric: tabular-nums; }
  th, td { border: 1px solid var(--vscode-editorWidget-border, var(--vscode-panel-border)); padding: 2px 8px; text-align: right; }
  th { background: var(--vscode-editorWidget-background); font-weight: 600; }
  table.kv th { text-align: left; white-space: nowrap; }
  table.kv td { text-align: left; font-family: var(--vscode-editor-font-family); word-break: break-all; }
  .note { color: var(--vscode-descriptionForeground); }
  .error { color: var(--vscode-errorForeground); }
  .actions { display: flex; gap: 8px; flex-wrap: wrap; margin: 10px 0; }
  button { background: var(--vscode-button-background); color: var(--vscode-button-foreground); border: 1px solid var(--vscode-button-border, transparent); padding: 4px 12px; cursor: pointer; font-family: inherit; }
  button:hover { background: var(--vscode-button-hoverBackground); }
  button.secondary { background: var(--vscode-button-secondaryBackground); color: var(--vscode-button-secondaryForeground); }
  button:disabled { opacity: 0.5; cursor: default; }
  button:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: 2px; }
</style>
</head>
<body>
${body}
${
  script
    ? `<script nonce="${o.nonce}">
  const vscode = acquireVsCodeApi();
  for (const b of document.querySelectorAll('button[data-action]')) {
    b.addEventListener('click', () => vscode.postMessage({ type: 'run', action: b.dataset.action }));
  }
</script>`
    : ''
}
</body>
</html>`;
}

/** The page for an artifact. */
export function renderVectorPage(artifact: VectorArtifact, o: PageOptions): string {
  const m = artifact.metadata;
  const isIv = m.method === 'iterative-vectors';
  const rowNames = isIv ? [...m.labels, 'query'] : ['vector'];

  const buttons = (Object.keys(EDITOR_ACTIONS) as EditorAction[])
    .map((k, i) => {
      const a = EDITOR_ACTIONS[k];
      const disabled = o.available && !o.available.has(a.command);
      return `<button data-action="${k}" title="${escapeHtml(disabled ? `${a.title} (not available in this version)` : a.title)}"${i > 0 ? ' class="secondary"' : ''}${disabled ? ' disabled' : ''}>${escapeHtml(a.label)}</button>`;
    })
    .join('');

  const provenance = kvTable([
    ['method', m.method],
    ['site', m.site],
    ['labels (row order)', m.labels.join(', ')],
    ['model', `${m.model.name} (${m.model.nLayers} layers, d=${m.model.dModel}, vocabulary ${m.model.vocabSize})`],
    ['model sha256', m.model.sha256],
    ['tokenizer sha256', m.tokenizerSha256],
    ['dataset', `${m.dataset.id} (${m.dataset.source})`],
    ['dataset sha256', m.dataset.sha256],
    [
      'dataset counts',
      Object.entries(m.dataset.counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
    ['created', m.createdAt],
    ['creator', `${m.creator.name} ${m.creator.version}`],
    ['format version', m.formatVersion],
    ['layer strengths', m.layerStrengths],
  ]);
  const options = kvTable(
    Object.keys(m.options)
      .sort()
      .map((k) => [k, m.options[k]]),
  );
  const metrics = m.metrics
    ? `<h2>Metrics</h2>${kvTable(
        Object.keys(m.metrics)
          .sort()
          .map((k) => [k, m.metrics![k]]),
      )}`
    : '';
  const timings = m.timings
    ? `<h2>Timings</h2>${kvTable(
        Object.keys(m.timings)
          .sort()
          .map((k) => [k, m.timings![k]]),
      )}`
    : '';
  const history = m.history?.length
    ? `<h2>Convergence</h2><p class="note">Relative change ||IV<sub>new</sub> − IV<sub>old</sub>|| / ||IV<sub>new</sub>|| at each refresh.</p><table><tr><th>after episode</th>${m.history.map((h) => `<td>${h.episode}</td>`).join('')}</tr><tr><th>relative change</th>${m.history.map((h) => `<td>${h.relativeChange === null ? '–' : fmt(h.relativeChange)}</td>`).join('')}</tr></table>`
    : '';

  const norms = layerNorms(artifact);
  const maxNorm = Math.max(0, ...norms.flat().filter(Number.isFinite));
  const normRows = norms
    .map((row, l) => (row.length ? `<tr><th scope="row">${l}</th>${row.map((x) => `<td${shade(x, maxNorm)}>${fmt(x)}</td>`).join('')}</tr>` : ''))
    .join('');
  const normTable = `<h2>Per-layer norms</h2><p class="note">L2 norm of each row, per layer (${escapeHtml(m.site)}).</p><table><tr><th>layer</th>${rowNames.map((r) => `<th>${escapeHtml(r)}</th>`).join('')}</tr>${normRows}</table>`;

  let cosTable = '';
  if (isIv && m.labels.length >= 2) {
    const pairs: [number, number][] = [];
    for (let i = 0; i < m.labels.length; i++) for (let j = i + 1; j < m.labels.length; j++) pairs.push([i, j]);
    const rows = norms
      .map((row, l) => {
        if (!row.length) return '';
        const cos = rowCosines(artifact, l);
        return `<tr><th scope="row">${l}</th>${pairs.map(([i, j]) => `<td${shade(cos[i][j], 1)}>${fmt(cos[i][j])}</td>`).join('')}</tr>`;
      })
      .join('');
    cosTable = `<h2>Cosine similarity between class rows</h2><p class="note">Per layer; 1 means the class vectors point the same way (they then steer every class alike).</p><table><tr><th>layer</th>${pairs.map(([i, j]) => `<th>${escapeHtml(m.labels[i])} · ${escapeHtml(m.labels[j])}</th>`).join('')}</tr>${rows}</table>`;
  }

  const body = `<h1>${escapeHtml(o.fileName)}</h1>
<div class="actions">${buttons}</div>
<h2>Provenance</h2>${provenance}
<h2>Options</h2>${options}
${metrics}${timings}${history}${normTable}${cosTable}`;
  return page(o, o.fileName, body, true);
}

/** The page for a file that cannot be read as an artifact: what is wrong, nothing else. */
export function renderErrorPage(message: string, o: PageOptions): string {
  return page(o, o.fileName, `<h1>${escapeHtml(o.fileName)}</h1><p class="error">${escapeHtml(message)}</p>`, false);
}
