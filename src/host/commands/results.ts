/**
 * The JSON the commands return and write: the same fields as the CLI's `--json` output (metrics as
 * fractions, intervals as [low, high], the settings), plus where the files went. Pure (no vscode).
 */
import type { SweepRow } from '../../core/experiment/sweep';

export { evalResultJson, type EvalResultJson } from '../../core/experiment/resultJson';

/** JSON with the non-finite numbers a metric may hold (NaN) written as null, so the file parses everywhere. */
export function toJsonText(value: unknown): string {
  return `${JSON.stringify(value, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

/** The sweep's rows as CSV, one configuration per line (prediction shares joined with "/"). */
export function sweepCsv(rows: readonly SweepRow[], best?: SweepRow): string {
  const head = ['shots', 'refreshEvery', 'extStrength', 'evalStrength', 'macroF1', 'accuracy', 'auc', 'predictionShares', 'extractMs', 'evalMs', 'best'];
  const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  const lines = rows.map((r) =>
    [r.shots, r.refreshEvery, r.extStrength, r.evalStrength, r.macroF1, r.accuracy, r.auc, r.predictionShares.join('/'), Math.round(r.extractMs), Math.round(r.evalMs), r === best ? 1 : 0].map(cell).join(','),
  );
  return `${[head.join(','), ...lines].join('\n')}\n`;
}

export const describeRow = (r: SweepRow) => (r.refreshEvery === 0 ? `k=${r.shots} b=0 a2=${r.evalStrength}` : `k=${r.shots} b=${r.refreshEvery} a1=${r.extStrength} a2=${r.evalStrength}`);
