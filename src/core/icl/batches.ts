/**
 * Groups items into batches of at most `maxTokens` padded tokens (batch size x longest item),
 * after sorting by length so that padding stays small. Returns index lists into `lengths`.
 */
export function lengthSortedBatches(lengths: readonly number[], maxTokens: number, maxBatch = 64): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  for (const i of order) {
    const longest = lengths[i];
    if (current.length > 0 && ((current.length + 1) * longest > maxTokens || current.length >= maxBatch)) {
      batches.push(current);
      current = [];
    }
    current.push(i);
  }
  if (current.length) batches.push(current);
  return batches;
}

/** Padded-token budget of one forward call: enough rows for the engine's batched throughput. */
export const BATCH_TOKENS = 2048;
