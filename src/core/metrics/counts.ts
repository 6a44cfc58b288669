import type { ClassMetrics } from './types';

/**
 * Confusion matrix (rows gold, columns predicted). `weights[e]` is how many times episode e counts,
 * so a bootstrap resample is just a weight vector over the original episodes (no copying).
 */
export function confusionMatrix(gold: ArrayLike<number>, predicted: ArrayLike<number>, nClasses: number, weights?: ArrayLike<number>): number[][] {
  const m = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let e = 0; e < gold.length; e++) {
    const w = weights ? weights[e] : 1;
    if (w !== 0) m[gold[e]][predicted[e]] += w;
  }
  return m;
}

export interface ConfusionScores {
  accuracy: number;
  macroF1: number;
  weightedF1: number;
  perClass: ClassMetrics[];
  predictionShares: number[];
  goldShares: number[];
  majorityAccuracy: number;
}

/**
 * Every count-based metric from a confusion matrix, as scikit-learn's precision_recall_fscore_support
 * with zero_division=0 and labels=None: a precision, recall or F1 whose denominator is 0 is 0, and
 * macro-F1 averages the per-class F1 over the classes present, those with gold support or
 * predictions (sklearn's sorted union of y_true and y_pred). A class never predicted but with gold
 * episodes counts with F1 0, and so does one predicted but never gold; a class that is neither is
 * left out (its F1, reported in perClass as 0, is not part of the mean). Weighted-F1 weighs by gold
 * support, so absent classes have no weight in it either way.
 */
export function scoresFromConfusion(confusion: number[][]): ConfusionScores {
  const n = confusion.length;
  const goldTotals = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const predTotals = Array.from({ length: n }, (_, c) => confusion.reduce((a, row) => a + row[c], 0));
  const total = goldTotals.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new RangeError('metrics need at least one episode');
  let correct = 0;
  let present = 0;
  let f1Present = 0;
  const perClass: ClassMetrics[] = [];
  for (let c = 0; c < n; c++) {
    const tp = confusion[c][c];
    correct += tp;
    const precision = predTotals[c] > 0 ? tp / predTotals[c] : 0;
    const recall = goldTotals[c] > 0 ? tp / goldTotals[c] : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ precision, recall, f1, support: goldTotals[c] });
    if (goldTotals[c] > 0 || predTotals[c] > 0) {
      present++;
      f1Present += f1;
    }
  }
  return {
    accuracy: correct / total,
    macroF1: f1Present / present,
    weightedF1: perClass.reduce((a, k) => a + k.f1 * k.support, 0) / total,
    perClass,
    predictionShares: predTotals.map((t) => t / total),
    goldShares: goldTotals.map((t) => t / total),
    majorityAccuracy: Math.max(...goldTotals) / total,
  };
}
