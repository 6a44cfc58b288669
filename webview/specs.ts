/**
 * What to draw, computed from the view state: chart and grid specifications with their data.
 * Pure (no DOM, no chart.js), so it can be checked without a browser.
 */
import type { EffectScore, HeatmapGrid, LayerEffect } from '../src/protocol';
import type { ViewState } from './state';

export type SectionId = 'effects' | 'norms' | 'convergence' | 'confusion' | 'heatmap';

export const SECTIONS: readonly { id: SectionId; title: string; help: string }[] = [
  {
    id: 'effects',
    title: 'Steering effect per layer',
    help: 'Each layer steered alone (envelope zero elsewhere) and all layers but one (envelope zero at that layer), on the same validation episodes as ICL and as IV on all layers.',
  },
  { id: 'norms', title: 'Vector norms', help: 'L2 norm of each class row and of the query row, per layer (before strength and envelope).' },
  { id: 'convergence', title: 'Extraction convergence', help: 'Relative change of the running estimate at each refresh: ||IV_new - IV_old|| / ||IV_new||.' },
  { id: 'confusion', title: 'Confusion: ICL vs IV', help: 'Rows: gold label; columns: predicted label; shade: share of the row.' },
  {
    id: 'heatmap',
    title: 'Sweep (validation macro-F1)',
    help: 'One grid per number of shots k and refresh batch b: rows a1 (extraction strength), columns a2 (evaluation strength); the best cell is outlined.',
  },
];

export type SeriesRole = 'only' | 'allBut' | 'icl' | 'iv' | 'series';

export interface SeriesSpec {
  label: string;
  data: (number | null)[];
  role: SeriesRole;
  /** Drawn as bars or as a line (a reference drawn across a bar chart is a line). */
  type: 'bar' | 'line';
  /** Index into the theme's series colours (role 'series'). */
  index: number;
}

export interface ChartSpec {
  id: string;
  section: SectionId;
  title: string;
  kind: 'bar' | 'line';
  labels: string[];
  series: SeriesSpec[];
  xTitle: string;
  yTitle: string;
  yScale: 'linear' | 'logarithmic';
  yMin?: number;
  yMax?: number;
}

export interface GridSpec {
  id: string;
  section: SectionId;
  title: string;
  rowTitle: string;
  colTitle: string;
  rowLabels: string[];
  colLabels: string[];
  values: (number | null)[][];
  /** Cell intensity in [0, 1] (null: no value). */
  shade: (number | null)[][];
  /** Decimals shown. */
  decimals: number;
  /** The outlined cell (row, column), e.g. the best configuration. */
  highlight: [number, number] | null;
}

export const layerLabel = (l: number) => `L${l}`;

const fmt = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? 'n/a' : x.toFixed(digits));

function effectChart(
  view: ViewState,
  id: string,
  title: string,
  pick: (s: EffectScore) => number | null,
  yTitle: string,
  range?: [number, number],
): ChartSpec | undefined {
  const n = view.info?.nLayers ?? 0;
  if (n === 0) return undefined;
  const byLayer = new Map<number, LayerEffect>((view.results?.effects ?? []).map((e) => [e.layer, e]));
  const per = (f: (e: LayerEffect) => EffectScore) =>
    Array.from({ length: n }, (_, l) => {
      const e = byLayer.get(l);
      return e ? pick(f(e)) : null;
    });
  const c = view.results?.confusions;
  const constant = (s: EffectScore | undefined) => Array.from({ length: n }, () => (s ? pick(s) : null));
  return {
    id,
    section: 'effects',
    title,
    kind: 'bar',
    labels: Array.from({ length: n }, (_, l) => layerLabel(l)),
    series: [
      { label: 'this layer alone', data: per((e) => e.only), role: 'only', type: 'bar', index: 0 },
      { label: 'all layers but this', data: per((e) => e.allBut), role: 'allBut', type: 'bar', index: 1 },
      { label: 'ICL (no steering)', data: constant(c?.icl.score), role: 'icl', type: 'line', index: 2 },
      { label: 'IV, all layers', data: constant(c?.iv.score), role: 'iv', type: 'line', index: 3 },
    ],
    xTitle: 'layer',
    yTitle,
    yScale: 'linear',
    ...(range ? { yMin: range[0], yMax: range[1] } : {}),
  };
}

/** Every chart.js chart the state has data (or a frame) for, in display order. */
export function chartSpecs(view: ViewState): ChartSpec[] {
  const specs: ChartSpec[] = [];
  const push = (s: ChartSpec | undefined) => s && specs.push(s);
  push(effectChart(view, 'effect-accuracy', 'Accuracy', (s) => s.accuracy, 'accuracy', [0, 1]));
  push(effectChart(view, 'effect-macroF1', 'Macro-F1', (s) => s.macroF1, 'macro-F1', [0, 1]));
  push(effectChart(view, 'effect-margin', 'Mean gold-label logit margin', (s) => s.meanMargin, 'gold logit - best other logit'));
  const norms = view.results?.norms;
  if (norms && norms.norms.length) {
    specs.push({
      id: 'norms',
      section: 'norms',
      title: 'Row norms per layer',
      kind: 'line',
      labels: norms.norms.map((_, l) => layerLabel(l)),
      series: norms.rowLabels.map((label, r) => ({ label, data: norms.norms.map((row) => row[r]), role: 'series', type: 'line', index: r })),
      xTitle: 'layer',
      yTitle: 'L2 norm',
      yScale: 'linear',
      yMin: 0,
    });
  }
  const conv = view.results?.convergence;
  if (conv && conv.points.length) {
    const data = conv.points.map((p) => p.relativeChange);
    const positive = data.filter((x): x is number => x !== null && x > 0);
    specs.push({
      id: 'convergence',
      section: 'convergence',
      title: 'Relative change per refresh',
      kind: 'line',
      labels: conv.points.map((p) => String(p.episode)),
      series: [{ label: 'relative change', data, role: 'series', type: 'line', index: 0 }],
      xTitle: 'episode',
      yTitle: '||ΔIV|| / ||IV||',
      yScale: positive.length >= 2 && positive.length === data.filter((x) => x !== null).length ? 'logarithmic' : 'linear',
    });
  }
  return specs;
}

function confusionGrid(id: string, title: string, labels: string[], m: number[][]): GridSpec {
  return {
    id,
    section: 'confusion',
    title,
    rowTitle: 'gold',
    colTitle: 'predicted',
    rowLabels: labels,
    colLabels: labels,
    values: m,
    shade: m.map((row) => {
      const total = row.reduce((a, b) => a + b, 0);
      return row.map((v) => (total > 0 ? v / total : 0));
    }),
    decimals: 0,
    highlight: null,
  };
}

export function heatmapId(g: Pick<HeatmapGrid, 'shots' | 'refreshEvery'>): string {
  return `heatmap-k${g.shots}-b${g.refreshEvery}`;
}

function heatmapGrid(g: HeatmapGrid): GridSpec {
  const values = g.macroF1;
  const all = values.flat().filter((x): x is number => x !== null);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  let highlight: [number, number] | null = null;
  values.forEach((row, i) =>
    row.forEach((v, j) => {
      if (v !== null && v === hi && highlight === null) highlight = [i, j];
    }),
  );
  return {
    id: heatmapId(g),
    section: 'heatmap',
    title: g.refreshEvery === 0 ? `k=${g.shots}, no iteration (b=0)` : `k=${g.shots}, b=${g.refreshEvery}`,
    rowTitle: 'a1',
    colTitle: 'a2',
    rowLabels: g.refreshEvery === 0 ? ['—'] : g.extStrengths.map((a) => String(a)),
    colLabels: g.evalStrengths.map((a) => String(a)),
    values,
    shade: values.map((row) => row.map((v) => (v === null ? null : hi > lo ? 0.1 + (0.9 * (v - lo)) / (hi - lo) : 0.5))),
    decimals: 3,
    highlight,
  };
}

/** Every grid (confusion matrices, sweep heatmaps) the state has data for, in display order. */
export function gridSpecs(view: ViewState): GridSpec[] {
  const grids: GridSpec[] = [];
  const c = view.results?.confusions;
  if (c) {
    grids.push(confusionGrid('confusion-icl', `ICL — accuracy ${fmt(c.icl.score.accuracy)}, macro-F1 ${fmt(c.icl.score.macroF1)}`, c.labels, c.icl.confusion));
    grids.push(
      confusionGrid('confusion-iv', `IV, all layers — accuracy ${fmt(c.iv.score.accuracy)}, macro-F1 ${fmt(c.iv.score.macroF1)}`, c.labels, c.iv.confusion),
    );
  }
  for (const g of view.results?.heatmap?.grids ?? []) if (g.extStrengths.length && g.evalStrengths.length) grids.push(heatmapGrid(g));
  return grids;
}

/** How to make a sweep whose rows the panel finds: the palette command and its CLI equivalent. */
export const SWEEP_HINT = '"Iterative Vectors: Sweep Hyperparameters…" from the Command Palette (CLI: iv sweep --dataset <data> --out <name>.ivec.safetensors)';

/** A line under a section's heading when it has nothing (yet) to draw, or says where the data came from. */
export function sectionNotes(view: ViewState): Partial<Record<SectionId, string>> {
  const notes: Partial<Record<SectionId, string>> = {};
  const r = view.results;
  const running = view.progress?.status === 'running';
  if (!r?.effects.length) notes.effects = running ? 'Evaluating…' : 'No results yet: run the analysis.';
  if (!r?.norms) notes.norms = running ? 'Reading the vectors…' : 'No vectors read yet.';
  if (r?.convergence && r.convergence.points.length === 0) notes.convergence = 'This artifact has no refresh history (metadata.history).';
  else if (!r?.convergence) notes.convergence = 'No history read yet.';
  if (!r?.confusions) notes.confusion = running ? 'Evaluating ICL and IV…' : 'No results yet.';
  const h = r?.heatmap;
  if (!h || h.grids.length === 0)
    notes.heatmap = h?.source
      ? `${h.source} has no sweep rows.`
      : `No sweep results for these vectors. Run ${SWEEP_HINT}, then show the layers of the vectors it writes: they record where its rows are.`;
  else notes.heatmap = `From ${h.source}.`;
  if (view.restored) notes.effects = `Restored from the last session${view.info ? ` (${view.info.episodes} episodes)` : ''}: rerun to refresh.`;
  return notes;
}
