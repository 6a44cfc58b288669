/** How a sweep's rows read: one line per configuration, as CSV, and as a table with the best marked. */
import type { SweepRow } from './sweep';

export const describeRow = (r: SweepRow) =>
  r.refreshEvery === 0 ? `k=${r.shots} b=0 a2=${r.evalStrength}` : `k=${r.shots} b=${r.refreshEvery} a1=${r.extStrength} a2=${r.evalStrength}`;

/** The sweep's rows as CSV, one configuration per line (prediction shares joined with "/"). */
export function sweepCsv(rows: readonly SweepRow[], best?: SweepRow): string {
  const head = ['shots', 'refreshEvery', 'extStrength', 'evalStrength', 'macroF1', 'accuracy', 'auc', 'predictionShares', 'extractMs', 'evalMs', 'best'];
  const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  const lines = rows.map((r) =>
    [
      r.shots,
      r.refreshEvery,
      r.extStrength,
      r.evalStrength,
      r.macroF1,
      r.accuracy,
      r.auc,
      r.predictionShares.join('/'),
      Math.round(r.extractMs),
      Math.round(r.evalMs),
      r === best ? 1 : 0,
    ]
      .map(cell)
      .join(','),
  );
  return `${[head.join(','), ...lines].join('\n')}\n`;
}

/** One line per configuration, the best marked. */
export function sweepTable(rows: readonly SweepRow[], best: SweepRow): string {
  const head = ['config', 'macro-F1', 'accuracy', 'AUC', 'shares'];
  const body = rows.map((r) => [
    `${r === best ? '* ' : '  '}${describeRow(r)}`,
    r.macroF1.toFixed(3),
    r.accuracy.toFixed(3),
    r.auc === null ? 'n/a' : r.auc.toFixed(3),
    r.predictionShares.map((s) => s.toFixed(2)).join('/'),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  return [head, ...body].map((cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n');
}

/** JSON with the non-finite numbers a metric may hold (NaN) written as null, so the file parses everywhere. */
export function toJsonText(value: unknown): string {
  return `${JSON.stringify(value, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}
