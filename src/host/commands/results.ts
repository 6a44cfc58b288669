/**
 * The JSON the commands return and write: the same fields as the CLI's `--json` output (metrics as
 * fractions, intervals as [low, high], the settings), plus where the files went. Pure (no vscode).
 */
import type { EvalResult, MethodSpec } from '../../core/experiment/methods';
import type { SweepRow } from '../../core/experiment/sweep';
import type { EvalOptionsBody } from './options';

/** One evaluation, as `iv eval --json` prints it. */
export function evalResultJson(name: string, spec: MethodSpec, opts: EvalOptionsBody, r: EvalResult) {
  const { metrics: m, stats } = r;
  const settings: Record<string, unknown> = { method: spec.method, ...opts };
  if (spec.method === 'iv') Object.assign(settings, { strength: spec.strength, injectAt: spec.injectAt, envelope: spec.envelope });
  if (spec.method === 'tv') settings.layer = spec.layer;
  if (spec.method === 'fv') Object.assign(settings, { layer: spec.layer, strength: spec.strength });
  if (spec.method === 'icl-calibrated') settings.bias = spec.bias;
  return {
    name,
    settings,
    n: m.n,
    items: m.nItems,
    accuracy: m.accuracy,
    macroF1: m.macroF1,
    weightedF1: m.weightedF1,
    auc: m.auc,
    majorityAccuracy: m.majorityAccuracy,
    predictionShares: m.predictionShares,
    goldShares: m.goldShares,
    confusion: m.confusion,
    perClass: m.perClass,
    ci: m.ci && { accuracy: m.ci.accuracy, macroF1: m.ci.macroF1, weightedF1: m.ci.weightedF1, auc: m.ci.auc, majorityAccuracy: m.ci.majorityAccuracy, confidence: m.ci.confidence },
    timings: {
      forwardMs: stats.ms,
      forwardPasses: stats.forwardPasses,
      tokens: stats.tokens,
      forwardPassesPerSecond: stats.ms > 0 ? (stats.forwardPasses / stats.ms) * 1000 : 0,
      tokensPerSecond: stats.ms > 0 ? (stats.tokens / stats.ms) * 1000 : 0,
    },
  };
}

export type EvalResultJson = ReturnType<typeof evalResultJson>;

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
