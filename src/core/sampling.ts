import { Rng } from './random';

export interface SamplingOptions {
  /** 0 (default) is greedy decoding. */
  temperature?: number;
  /** Nucleus sampling: keep the smallest set of tokens whose probability reaches topP (1 = all). */
  topP?: number;
  seed?: number;
}

/** Index of the largest value; the lowest index wins ties, so greedy decoding is deterministic. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Returns a function that picks the next token from logits, seeded for reproducibility. */
export function makeSampler({ temperature = 0, topP = 1, seed = 42 }: SamplingOptions = {}): (logits: Float32Array) => number {
  if (!(temperature >= 0)) throw new RangeError(`temperature must be >= 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`top-p must be in (0, 1], got ${topP}`);
  if (temperature === 0) return argmax;
  const rng = new Rng(seed);
  return (logits) => {
    const max = logits[argmax(logits)];
    const probs = new Float64Array(logits.length);
    let sum = 0;
    for (let i = 0; i < logits.length; i++) sum += probs[i] = Math.exp((logits[i] - max) / temperature);
    const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
    let kept = 0;
    let mass = 0;
    while (kept < order.length && mass < topP * sum) mass += probs[order[kept++]];
    let r = rng.next() * mass;
    for (let i = 0; i < kept; i++) {
      r -= probs[order[i]];
      if (r < 0) return order[i];
    }
    return order[kept - 1];
  };
}
