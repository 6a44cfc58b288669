import type { RunStats } from '../icl/scoring';
import type { StrengthSource } from './artifacts';
import type { EvalOptions, EvalResult, MethodSpec } from './methods';

/** One evaluation as scripts read it (`iv eval --json`, the extension's results): metrics as fractions, intervals as [low, high], the settings. */
export function evalResultJson(
  name: string,
  spec: MethodSpec,
  opts: Omit<EvalOptions, 'cancellation' | 'onProgress'>,
  r: EvalResult,
  strengthSource?: StrengthSource,
) {
  const { metrics: m, stats } = r;
  const settings: Record<string, unknown> = { method: spec.method, ...opts };
  if (spec.method === 'iv') Object.assign(settings, { strength: spec.strength, injectAt: spec.injectAt, envelope: spec.envelope });
  if (strengthSource && (spec.method === 'iv' || spec.method === 'fv')) settings.strengthSource = strengthSource;
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
    /** Expected accuracy and macro-F1 of random guessing with the method's prediction shares and with the gold shares. */
    chance: m.chance,
    predictionShares: m.predictionShares,
    goldShares: m.goldShares,
    confusion: m.confusion,
    perClass: m.perClass,
    ci: m.ci && {
      accuracy: m.ci.accuracy,
      macroF1: m.ci.macroF1,
      weightedF1: m.ci.weightedF1,
      auc: m.ci.auc,
      majorityAccuracy: m.ci.majorityAccuracy,
      confidence: m.ci.confidence,
    },
    cut: r.cut,
    timings: forwardRates(stats),
  };
}

/** The speed of a run, per second of forward time (the one definition every face reports). */
export function forwardRates(stats: RunStats) {
  const rate = (n: number) => (stats.ms > 0 ? (n / stats.ms) * 1000 : 0);
  return {
    forwardMs: stats.ms,
    forwardPasses: stats.forwardPasses,
    tokens: stats.tokens,
    forwardPassesPerSecond: rate(stats.forwardPasses),
    tokensPerSecond: rate(stats.tokens),
  };
}

export type EvalResultJson = ReturnType<typeof evalResultJson>;
