import type { EvalOptions, EvalResult, MethodSpec } from './methods';

/** One evaluation as scripts read it (`iv eval --json`, the extension's results): metrics as fractions, intervals as [low, high], the settings. */
export function evalResultJson(name: string, spec: MethodSpec, opts: Omit<EvalOptions, 'cancellation' | 'onProgress'>, r: EvalResult) {
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
