import type { ChanceLevel } from './types';

/**
 * Expected scores, over infinitely many episodes with gold shares p, of a guesser that ignores the
 * input and predicts class c with probability q_c. Gold and guess are then independent, so
 * P(gold c, predicted c) = p_c q_c and
 *   accuracy = sum_c p_c q_c,   precision_c = p_c,   recall_c = q_c,
 *   F1_c = 2 p_c q_c / (p_c + q_c)   (0 when p_c = q_c = 0),
 * and macro-F1 is the mean of F1_c over the classes with p_c > 0 or q_c > 0: the same class set as
 * the macro-F1 of scoresFromConfusion (counts.ts), so the two are comparable.
 */
export function chanceLevel(goldShares: readonly number[], guessShares: readonly number[]): ChanceLevel {
  if (goldShares.length !== guessShares.length) throw new RangeError(`${goldShares.length} gold shares for ${guessShares.length} guess shares`);
  let accuracy = 0;
  let f1 = 0;
  let present = 0;
  goldShares.forEach((p, c) => {
    const q = guessShares[c];
    accuracy += p * q;
    if (p > 0 || q > 0) {
      present++;
      f1 += (2 * p * q) / (p + q);
    }
  });
  if (present === 0) throw new RangeError('chance levels need at least one class with a share');
  return { accuracy, macroF1: f1 / present };
}
