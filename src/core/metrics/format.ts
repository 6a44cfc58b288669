import type { ChanceLevel, Interval, Metrics } from './types';

/**
 * Plain-text comparison table for the CLI: one row per method. Values are fractions with 3 decimals;
 * intervals are the item-bootstrap CIs when computed. The chance columns give, as "own / gold", the
 * expected accuracy and macro-F1 of guessing at random with the method's own prediction shares and
 * with the gold shares (a line under the table says so). `labelNames[c]` names class c in the
 * prediction shares (falls back to the index).
 */
export function formatMetricsTable(rows: readonly { name: string; metrics: Metrics }[], labelNames: readonly string[] = []): string {
  const header = ['method', 'n', 'accuracy', 'macro-F1', 'weighted-F1', 'AUC', 'majority acc', 'chance acc', 'chance F1', 'prediction shares'];
  const body = rows.map(({ name, metrics: m }) => [
    name,
    String(m.n),
    withCi(m.accuracy, m.ci?.accuracy),
    withCi(m.macroF1, m.ci?.macroF1),
    fmt(m.weightedF1),
    m.auc === null ? 'n/a' : withCi(m.auc, m.ci?.auc ?? undefined),
    fmt(m.majorityAccuracy),
    chance(m, (c) => c.accuracy),
    chance(m, (c) => c.macroF1),
    m.predictionShares.map((s, c) => `${labelNames[c] ?? String(c)} ${s.toFixed(2)}`).join(' / '),
  ]);
  const table = [header, ...body];
  const widths = header.map((_, j) => Math.max(...table.map((r) => r[j].length)));
  const line = (r: string[]) =>
    r
      .map((cell, j) => (j === 1 ? cell.padStart(widths[j]) : cell.padEnd(widths[j])))
      .join('  ')
      .trimEnd();
  return [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
    "chance: the expected score of guessing at random, ignoring the input; own / gold = with the method's own prediction shares / with the gold shares",
  ].join('\n');
}

const fmt = (x: number) => x.toFixed(3);

const chance = (m: Metrics, value: (c: ChanceLevel) => number) => `${fmt(value(m.chance.predictedShares))} / ${fmt(value(m.chance.goldShares))}`;

function withCi(x: number, ci: Interval | undefined): string {
  return ci ? `${fmt(x)} [${fmt(ci[0])}, ${fmt(ci[1])}]` : fmt(x);
}
