/**
 * Drawing: chart.js charts and HTML grids from the specs (specs.ts), themed from the VS Code theme.
 * No messaging here: `render` draws and returns what it drew; main.ts reports it to the host.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartConfiguration,
  type ChartDataset,
} from 'chart.js';
import type { ChartReport } from '../src/protocol';
import { SECTIONS, chartSpecs, gridSpecs, sectionNotes, type ChartSpec, type GridSpec, type SectionId, type SeriesSpec } from './specs';
import type { ViewState } from './state';
import { mix, type Theme } from './theme';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, LogarithmicScale, Legend, Tooltip);

type Config = ChartConfiguration<'bar' | 'line', (number | null)[], string>;

function seriesColor(s: SeriesSpec, theme: Theme): string {
  switch (s.role) {
    case 'only':
      return theme.only;
    case 'allBut':
      return theme.allBut;
    case 'icl':
      return theme.icl;
    case 'iv':
      return theme.iv;
    case 'series':
      return theme.series[s.index % theme.series.length];
  }
}

/** The chart.js configuration of a spec (pure apart from the theme). */
export function chartConfig(spec: ChartSpec, theme: Theme): Config {
  const datasets = spec.series.map((s): ChartDataset<'bar' | 'line', (number | null)[]> => {
    const color = seriesColor(s, theme);
    const reference = spec.kind === 'bar' && s.type === 'line';
    return {
      type: s.type,
      label: s.label,
      data: s.data,
      borderColor: color,
      backgroundColor: s.type === 'bar' ? mix(color, 0.7) : color,
      borderWidth: s.type === 'bar' ? 1 : 2,
      pointRadius: reference ? 0 : 3,
      borderDash: reference ? [6, 4] : undefined,
      pointStyle: s.type === 'bar' ? 'rect' : reference ? 'line' : 'circle',
      spanGaps: !reference,
      order: reference ? 0 : 1,
    } as ChartDataset<'bar' | 'line', (number | null)[]>;
  });
  const axis = (title: string) => ({
    ticks: { color: theme.foreground, font: { family: theme.fontFamily } },
    grid: { color: theme.gridLines },
    title: { display: true, text: title, color: theme.muted, font: { family: theme.fontFamily } },
  });
  return {
    type: spec.kind,
    data: { labels: spec.labels, datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      plugins: {
        legend: { labels: { color: theme.foreground, font: { family: theme.fontFamily }, boxWidth: 12, usePointStyle: true } },
        tooltip: {
          callbacks: { label: (ctx) => `${ctx.dataset.label}: ${ctx.parsed.y === null ? 'n/a' : Number(ctx.parsed.y).toPrecision(4)}` },
        },
      },
      scales: {
        x: axis(spec.xTitle),
        y: { ...axis(spec.yTitle), type: spec.yScale, min: spec.yMin, max: spec.yMax },
      },
    },
  } as Config;
}

const isPoint = (x: unknown) => typeof x === 'number' && Number.isFinite(x);

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Draws a grid as an HTML table coloured by cell value. */
export function drawGrid(container: HTMLElement, spec: GridSpec, theme: Theme): void {
  container.replaceChildren();
  container.append(el('h4', 'chart-title', spec.title));
  const table = el('table', 'grid');
  table.dataset.chartId = spec.id;
  const head = el('tr');
  head.append(el('th', 'corner', `${spec.rowTitle} \\ ${spec.colTitle}`));
  for (const c of spec.colLabels) head.append(el('th', 'col', c));
  table.append(head);
  spec.rowLabels.forEach((rowLabel, i) => {
    const tr = el('tr');
    tr.dataset.row = rowLabel;
    tr.append(el('th', 'row', rowLabel));
    spec.colLabels.forEach((_, j) => {
      const v = spec.values[i]?.[j] ?? null;
      const td = el('td', v === null ? 'cell empty' : 'cell', v === null ? '' : v.toFixed(spec.decimals));
      const shade = spec.shade[i]?.[j];
      if (v !== null) {
        td.dataset.value = String(v);
        // CSSOM assignments are allowed by the CSP (no inline style attributes in markup).
        if (shade !== null && shade !== undefined) td.style.backgroundColor = mix(theme.heat, shade * 0.85);
      }
      if (spec.highlight && spec.highlight[0] === i && spec.highlight[1] === j) td.classList.add('best');
      td.title = `${spec.rowTitle} ${rowLabel}, ${spec.colTitle} ${spec.colLabels[j]}: ${v === null ? 'no value' : v}`;
      tr.append(td);
    });
    table.append(tr);
  });
  container.append(table);
}

/** What a drawn grid table holds, read back from the DOM. */
function gridReport(id: string, container: HTMLElement): ChartReport {
  const table = container.querySelector('table.grid');
  const labels = Array.from(table?.querySelectorAll('th.col') ?? [], (th) => th.textContent ?? '');
  const datasets = Array.from(table?.querySelectorAll('tr[data-row]') ?? [], (tr) => ({
    label: (tr as HTMLElement).dataset.row ?? '',
    length: tr.querySelectorAll('td').length,
    points: tr.querySelectorAll('td[data-value]').length,
  }));
  return { id, kind: 'grid', labels, datasets };
}

/** The charts and grids of the panel, kept across renders (charts are updated in place). */
export class ChartBoard {
  private readonly charts = new Map<string, { chart: Chart<'bar' | 'line', (number | null)[], string>; box: HTMLElement; kind: ChartSpec['kind'] }>();
  private readonly grids = new Map<string, HTMLElement>();
  private readonly sections = new Map<SectionId, { body: HTMLElement; note: HTMLElement }>();

  constructor(root: HTMLElement) {
    for (const s of SECTIONS) {
      const section = el('section', 'board-section');
      section.id = `section-${s.id}`;
      const h = el('h2', undefined, s.title);
      h.title = s.help;
      const note = el('p', 'note');
      const body = el('div', `section-body section-${s.id}`);
      section.append(h, el('p', 'help', s.help), note, body);
      root.append(section);
      this.sections.set(s.id, { body, note });
    }
  }

  /** Draws the state; returns what is on screen, chart by chart. */
  render(view: ViewState, theme: Theme): ChartReport[] {
    const notes = sectionNotes(view);
    for (const [id, s] of this.sections) {
      s.note.textContent = notes[id] ?? '';
      s.note.hidden = !notes[id];
    }
    const specs = chartSpecs(view);
    const grids = gridSpecs(view);
    const keep = new Set([...specs.map((s) => s.id), ...grids.map((g) => g.id)]);
    for (const [id, c] of this.charts) {
      if (keep.has(id)) continue;
      c.chart.destroy();
      c.box.remove();
      this.charts.delete(id);
    }
    for (const [id, box] of this.grids) {
      if (keep.has(id)) continue;
      box.remove();
      this.grids.delete(id);
    }

    const reports: ChartReport[] = [];
    for (const spec of specs) {
      const config = chartConfig(spec, theme);
      let entry = this.charts.get(spec.id);
      if (entry && entry.kind !== spec.kind) {
        entry.chart.destroy();
        entry.box.remove();
        this.charts.delete(spec.id);
        entry = undefined;
      }
      if (!entry) {
        const box = el('div', 'chart-box');
        box.dataset.chartId = spec.id;
        const title = el('h4', 'chart-title', spec.title);
        const frame = el('div', 'chart-frame');
        const canvas = el('canvas');
        canvas.id = `chart-${spec.id}`;
        canvas.setAttribute('role', 'img');
        canvas.setAttribute('aria-label', spec.title);
        frame.append(canvas);
        box.append(title, frame);
        this.sections.get(spec.section)!.body.append(box);
        entry = { chart: new Chart(canvas, config), box, kind: spec.kind };
        this.charts.set(spec.id, entry);
      } else {
        entry.chart.data = config.data;
        entry.chart.options = config.options!;
        entry.chart.update('none');
      }
      const data = entry.chart.data;
      reports.push({
        id: spec.id,
        kind: spec.kind,
        labels: (data.labels ?? []).map(String),
        datasets: data.datasets.map((d) => ({ label: d.label ?? '', length: d.data.length, points: d.data.filter(isPoint).length })),
      });
    }
    for (const spec of grids) {
      let box = this.grids.get(spec.id);
      if (!box) {
        box = el('div', 'grid-box');
        box.dataset.chartId = spec.id;
        this.sections.get(spec.section)!.body.append(box);
        this.grids.set(spec.id, box);
      }
      drawGrid(box, spec, theme);
      reports.push(gridReport(spec.id, box));
    }
    return reports;
  }

  /** Drops every chart so the next render rebuilds them (e.g. after a theme change). */
  reset(): void {
    for (const { chart, box } of this.charts.values()) {
      chart.destroy();
      box.remove();
    }
    this.charts.clear();
  }
}
