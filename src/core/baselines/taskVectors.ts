import { throwIfCancelled, type Cancellation } from '../errors';
import type { Example } from '../datasets';
import type { Site, SteerableModel } from '../model';
import { sampleEpisodes } from '../icl/episodes';
import { buildPrompts, type RunStats, type Steering } from '../icl/scoring';
import type { Verbalizer } from '../icl/prompt';
import { BATCH_TOKENS, lengthSortedBatches } from '../icl/batches';

export interface TaskVectorOptions {
  episodes: number;
  shots: number;
  seed: number;
  cancellation?: Cancellation;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Task Vectors (Hendel et al. 2023): the mean residual stream after each block at the query's io
 * position of k-shot train prompts. One vector per layer; the layer is chosen later on validation.
 */
export async function extractTaskVectors(
  model: SteerableModel,
  verbalizer: Verbalizer,
  train: readonly Example[],
  options: TaskVectorOptions,
): Promise<{ vectors: Float32Array[]; stats: RunStats }> {
  const { nLayers: L, dModel: d } = model.info;
  const episodes = sampleEpisodes(train, verbalizer.labels.length, options.shots, options.episodes, options.seed);
  const prompts = await buildPrompts(verbalizer, train, episodes);
  const sum = Array.from({ length: L }, () => new Float64Array(d));
  const stats = await tapQueries(model, prompts, 'resid_post', (l, v) => v.forEach((x, j) => (sum[l][j] += x)), options);
  return { vectors: sum.map((s) => Float32Array.from(s, (x) => x / prompts.length)), stats };
}

/** Task Vectors at test time: the residual stream at `layer`, query io position, is replaced by the vector. */
export function taskVectorSteering(layer: number, vector: Float32Array): Steering {
  return (p, seq) => [{ site: 'resid_post', seq, pos: p.ioPositions[p.ioPositions.length - 1], layer, vector }];
}

/**
 * Runs prompts in length-sorted batches and hands each prompt's `site` value at the query's io
 * position, layer by layer, to `visit` (in prompt order within a batch; sums are order-independent
 * only up to rounding, so batches are visited in a fixed order).
 */
export async function tapQueries(
  model: SteerableModel,
  prompts: readonly { tokens: number[]; ioPositions: number[] }[],
  site: Site,
  visit: (layer: number, value: Float32Array, prompt: number) => void,
  options: { cancellation?: Cancellation; onProgress?: (done: number, total: number) => void },
): Promise<RunStats> {
  const stats: RunStats = { forwardPasses: 0, tokens: 0, ms: 0 };
  let done = 0;
  for (const batch of lengthSortedBatches(
    prompts.map((p) => p.tokens.length),
    BATCH_TOKENS,
  )) {
    throwIfCancelled(options.cancellation);
    const start = performance.now();
    const out = await model.forward({
      tokens: batch.map((i) => prompts[i].tokens),
      taps: batch.map((i, seq) => ({ seq, pos: prompts[i].ioPositions[prompts[i].ioPositions.length - 1] })),
      tapSites: [site],
    });
    stats.ms += performance.now() - start;
    stats.forwardPasses += batch.length;
    stats.tokens += batch.reduce((acc, i) => acc + prompts[i].tokens.length, 0);
    const taps = out.taps[site]!;
    batch.forEach((i, k) => {
      for (let l = 0; l < model.info.nLayers; l++) visit(l, taps.at(l, k), i);
    });
    options.onProgress?.((done += batch.length), prompts.length);
  }
  return stats;
}
