import { MarginAuc } from './auc';
import { chanceLevel } from './chance';
import { itemBootstrapWeights, percentileInterval } from './bootstrap';
import { confusionMatrix, scoresFromConfusion } from './counts';
import type { Interval, Metrics, MetricsOptions, ScoredPrediction } from './types';

/**
 * Every classification metric of a set of evaluation episodes, with item-bootstrap percentile
 * intervals (see bootstrap.ts) for accuracy, macro-F1, weighted-F1, AUC and majority accuracy, and
 * the chance levels of random guessing with the episodes' own prediction and gold shares (chance.ts).
 * Resamples whose AUC is undefined (a class drawn with no positives or no negatives) are left out
 * of the AUC interval only.
 */
export function evaluateMetrics(preds: readonly ScoredPrediction[], nClasses: number, options: MetricsOptions = {}): Metrics {
  const { seed = 42, resamples = 1000, confidence = 0.95 } = options;
  if (!Number.isInteger(nClasses) || nClasses < 2) throw new RangeError(`nClasses must be an integer >= 2, got ${nClasses}`);
  if (preds.length === 0) throw new RangeError('metrics need at least one episode');
  if (!Number.isInteger(resamples) || resamples < 0) throw new RangeError(`resamples must be an integer >= 0, got ${resamples}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  preds.forEach(validate(nClasses));

  const gold = Int32Array.from(preds, (p) => p.gold);
  const predicted = Int32Array.from(preds, (p) => p.predicted);
  const items = Float64Array.from(preds, (p) => p.item);
  const auc = new MarginAuc(
    preds.map((p) => p.labelLogits),
    gold,
    nClasses,
  );

  const confusion = confusionMatrix(gold, predicted, nClasses);
  const scores = scoresFromConfusion(confusion);
  const metrics: Metrics = {
    n: preds.length,
    nItems: new Set(items).size,
    ...scores,
    confusion,
    chance: {
      predictedShares: chanceLevel(scores.goldShares, scores.predictionShares),
      goldShares: chanceLevel(scores.goldShares, scores.goldShares),
    },
    auc: auc.value(),
    ci: null,
  };
  if (resamples === 0) return metrics;

  const acc: number[] = [];
  const macro: number[] = [];
  const weighted: number[] = [];
  const aucs: number[] = [];
  const majority: number[] = [];
  for (const w of itemBootstrapWeights(items, resamples, seed)) {
    const s = scoresFromConfusion(confusionMatrix(gold, predicted, nClasses, w));
    acc.push(s.accuracy);
    macro.push(s.macroF1);
    weighted.push(s.weightedF1);
    majority.push(s.majorityAccuracy);
    const a = auc.value(w);
    if (a !== null) aucs.push(a);
  }
  // Non-empty inputs give non-empty resamples, so only the AUC interval can be missing.
  const interval = (values: number[]) => percentileInterval(values, confidence) as Interval;
  metrics.ci = {
    accuracy: interval(acc),
    macroF1: interval(macro),
    weightedF1: interval(weighted),
    auc: percentileInterval(aucs, confidence),
    majorityAccuracy: interval(majority),
    confidence,
    resamples,
  };
  return metrics;
}

function validate(nClasses: number) {
  const isClass = (c: number) => Number.isInteger(c) && c >= 0 && c < nClasses;
  return (p: ScoredPrediction, e: number) => {
    if (!isClass(p.gold)) throw new RangeError(`episode ${e}: gold ${p.gold} is not a class index in 0..${nClasses - 1}`);
    if (!isClass(p.predicted)) throw new RangeError(`episode ${e}: predicted ${p.predicted} is not a class index in 0..${nClasses - 1}`);
    if (p.labelLogits.length !== nClasses) throw new RangeError(`episode ${e}: ${p.labelLogits.length} label logits for ${nClasses} classes`);
    for (let c = 0; c < nClasses; c++) if (!Number.isFinite(p.labelLogits[c])) throw new RangeError(`episode ${e}: label logit ${c} is ${p.labelLogits[c]}`);
  };
}
