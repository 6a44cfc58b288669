import { Rng } from '../random';
import type { Interval } from './types';

/**
 * Item-level bootstrap. Episodes reuse query items (the same query with different demonstrations),
 * so episodes of one item are correlated; resampling episodes independently would treat them as
 * independent evidence and give intervals that are too narrow. Each resample instead draws as many
 * items as there are, with replacement, and every episode of a drawn item comes along once per draw.
 *
 * Yields, per resample, the multiplicity of each original episode (the buffer is reused between
 * yields, so copy it to keep it).
 */
export function* itemBootstrapWeights(items: ArrayLike<number>, resamples: number, seed: number): Generator<Float64Array> {
  const groups = new Map<number, number[]>();
  for (let e = 0; e < items.length; e++) {
    const g = groups.get(items[e]);
    if (g) g.push(e);
    else groups.set(items[e], [e]);
  }
  // Map iteration follows first appearance, so the draw order depends only on the input and the seed.
  const episodesOf = [...groups.values()];
  const rng = new Rng(seed);
  const weights = new Float64Array(items.length);
  for (let r = 0; r < resamples; r++) {
    weights.fill(0);
    for (let k = 0; k < episodesOf.length; k++) for (const e of episodesOf[rng.int(episodesOf.length)]) weights[e]++;
    yield weights;
  }
}

/**
 * Two-sided percentile interval of bootstrap values (linear interpolation between order statistics,
 * as numpy.percentile's default), or null when there are none.
 */
export function percentileInterval(values: readonly number[], confidence: number): Interval | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const alpha = (1 - confidence) / 2;
  return [quantile(sorted, alpha), quantile(sorted, 1 - alpha)];
}

function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}
