import { UserError } from '../errors';
import { Rng } from '../random';

export interface SeededSplit<T> {
  train: T[];
  validation: T[];
  test: T[];
}

/**
 * Seeded three-way split of one list: shuffle the row indices with `Rng(seed)`, the first
 * round(n * testFraction) shuffled rows become test, then round(rest * validationFraction) become
 * validation, the remainder train. Each split is then put back in source order, so a split is a
 * deterministic subset (same seed + same rows = same split) that reads in file order.
 */
export function seededSplit<T>(rows: readonly T[], seed: number, testFraction: number, validationFraction: number): SeededSplit<T> {
  checkFraction(testFraction, 'testFraction');
  checkFraction(validationFraction, 'validationFraction');
  const n = rows.length;
  const order = new Rng(seed).shuffle(Array.from({ length: n }, (_, i) => i));
  const nTest = Math.round(n * testFraction);
  const nValidation = Math.round((n - nTest) * validationFraction);
  const pick = (from: number, to: number) =>
    order
      .slice(from, to)
      .sort((a, b) => a - b)
      .map((i) => rows[i]);
  return {
    test: pick(0, nTest),
    validation: pick(nTest, nTest + nValidation),
    train: pick(nTest + nValidation, n),
  };
}

/**
 * The paper's fallback when a dataset has no validation split: validation = the last
 * `fraction` of train in file order (Hugging Face `train[80%:]`, boundary rounded to nearest),
 * train = the rest.
 */
export function tailSplit<T>(rows: readonly T[], fraction: number): { train: T[]; validation: T[] } {
  checkFraction(fraction, 'validationFraction');
  const cut = Math.round(rows.length * (1 - fraction));
  return { train: rows.slice(0, cut), validation: rows.slice(cut) };
}

function checkFraction(value: number, field: string): void {
  if (!(typeof value === 'number' && value >= 0 && value < 1)) {
    throw new UserError(`must be a number in [0, 1), got ${value}`, { field });
  }
}
