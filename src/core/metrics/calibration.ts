import { argmax } from '../sampling';
import type { ScoredPrediction } from './types';

/**
 * Per-class additive bias for contextual-calibration-style correction, fitted on validation episodes.
 *
 * Choice: b_c = -mean_e log_softmax(labelLogits_e)[c], i.e. the label log-probabilities (softmax over
 * the n label logits only) are mean-centred per class. This is contextual calibration (Zhao et al.,
 * 2021) with the validation queries standing in for the content-free input, in log space: after the
 * correction every class has the same mean log-probability, so a prompt that pushes all queries
 * towards one label loses that prior while the ordering of queries within a class is untouched. It is
 * closed-form (no fitting loop, no hyperparameter) and uses no gold labels, so it cannot overfit them.
 * Working on log-softmax rather than raw logits makes the bias independent of the logits' overall
 * level, which varies between prompts and models.
 */
export function calibrationBias(preds: readonly ScoredPrediction[]): number[] {
  if (preds.length === 0) throw new RangeError('calibrationBias needs at least one prediction');
  const n = preds[0].labelLogits.length;
  const mean = new Array<number>(n).fill(0);
  for (const p of preds) {
    if (p.labelLogits.length !== n) throw new RangeError(`calibrationBias: expected ${n} label logits, got ${p.labelLogits.length} (item ${p.item})`);
    const lp = logSoftmax(p.labelLogits);
    for (let c = 0; c < n; c++) mean[c] += lp[c] / preds.length;
  }
  return mean.map((m) => -m);
}

/**
 * Re-predicts with a bias from `calibrationBias`: the new label scores are log_softmax(labelLogits) + b
 * (returned as `labelLogits`, so metrics such as AUC see the calibrated scores) and the new prediction
 * is their argmax (lowest index on ties).
 */
export function applyBias(preds: readonly ScoredPrediction[], bias: readonly number[]): ScoredPrediction[] {
  return preds.map((p) => {
    if (p.labelLogits.length !== bias.length)
      throw new RangeError(`applyBias: ${p.labelLogits.length} label logits but ${bias.length} biases (item ${p.item})`);
    const scores = logSoftmax(p.labelLogits).map((v, c) => v + bias[c]);
    return { ...p, labelLogits: scores, predicted: argmax(scores) };
  });
}

/** log_softmax, shifted by the max so large logits do not overflow. */
export function logSoftmax(logits: ArrayLike<number>): number[] {
  const values = Array.from(logits);
  const max = Math.max(...values);
  const logSum = max + Math.log(values.reduce((a, v) => a + Math.exp(v - max), 0));
  return values.map((v) => v - logSum);
}
