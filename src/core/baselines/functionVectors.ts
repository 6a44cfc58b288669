import type { Example } from '../datasets';
import type { Cancellation } from '../errors';
import { throwIfCancelled } from '../errors';
import type { Edit, SteerableModel } from '../model';
import { Rng } from '../random';
import { sampleEpisodes } from '../icl/episodes';
import { buildPrompts, type RunStats, type Steering } from '../icl/scoring';
import type { Prompt, Verbalizer } from '../icl/prompt';
import { BATCH_TOKENS, lengthSortedBatches } from '../icl/batches';
import { tapQueries } from './taskVectors';

export interface FunctionVectorOptions {
  /** Clean train episodes for the mean head activations. */
  episodes: number;
  /** Label-shuffled episodes on which each head's indirect effect is measured. */
  effectEpisodes: number;
  shots: number;
  /** Heads whose projected mean activations are summed. */
  topHeads: number;
  seed: number;
  cancellation?: Cancellation;
  onProgress?: (done: number, total: number) => void;
}

export interface FunctionVector {
  vector: Float32Array;
  /** Where it is added: floor(L/3) - 1 (Todd et al.), at the query's io position. */
  layer: number;
  /** Indirect effect per layer and head: mean gain in the gold label's probability when the head is patched. */
  indirectEffect: number[][];
  heads: { layer: number; head: number; effect: number }[];
  stats: RunStats;
}

/**
 * Function Vectors (Todd et al. 2024). (1) Mean per-head outputs at the query's io position over
 * clean k-shot prompts. (2) On prompts whose demonstration labels are shuffled, each head's output
 * at the query position is set to its mean (an additive head edit of mean - current) and the gain
 * in the probability of the gold label's first token is its indirect effect. (3) The top heads'
 * mean outputs, projected through the output projection, are summed. The projection is measured on
 * the model itself (attention output with minus without a head edit), so no weights are needed.
 */
export async function extractFunctionVector(model: SteerableModel, verbalizer: Verbalizer, train: readonly Example[], options: FunctionVectorOptions): Promise<FunctionVector> {
  const { nLayers: L, dModel: d, nHeads: H, headDim } = model.info;
  const n = verbalizer.labels.length;
  const stats: RunStats = { forwardPasses: 0, tokens: 0, ms: 0 };
  const add = (s: RunStats) => ((stats.forwardPasses += s.forwardPasses), (stats.tokens += s.tokens), (stats.ms += s.ms));

  const clean = await buildPrompts(verbalizer, train, sampleEpisodes(train, n, options.shots, options.episodes, options.seed));
  const mean = Array.from({ length: L }, () => new Float64Array(d));
  add(await tapQueries(model, clean, 'head_out', (l, v) => v.forEach((x, j) => (mean[l][j] += x)), options));
  const meanHeads = mean.map((m) => Float32Array.from(m, (x) => x / clean.length));

  // Corrupted prompts: the same kind of episodes with the demonstrations' labels permuted.
  const rng = new Rng(options.seed + 1);
  const effectEpisodes = sampleEpisodes(train, n, options.shots, options.effectEpisodes, options.seed + 1);
  const corrupted = effectEpisodes.map((e) => {
    const labels = rng.shuffle(e.support.map((i) => train[i].label));
    return verbalizer.build(e.support.map((i, k) => ({ ...train[i], label: labels[k] })), train[e.query]);
  });
  const gold = effectEpisodes.map((e) => verbalizer.labelFirstTokens[train[e.query].label]);
  const current: Float32Array[][] = corrupted.map(() => []);
  add(await tapQueries(model, corrupted, 'head_out', (l, v, i) => (current[i][l] = Float32Array.from(v)), options));

  const base = await goldProbabilities(model, corrupted, gold, () => [], stats, options.cancellation);
  const indirectEffect: number[][] = [];
  for (let layer = 0; layer < L; layer++) {
    indirectEffect.push([]);
    for (let head = 0; head < H; head++) {
      const patched = await goldProbabilities(model, corrupted, gold, (i, seq, p) => {
        const vector = new Float32Array(d);
        for (let j = head * headDim; j < (head + 1) * headDim; j++) vector[j] = meanHeads[layer][j] - current[i][layer][j];
        return [{ seq, pos: p.ioPositions[p.ioPositions.length - 1], layer, vector }];
      }, stats, options.cancellation);
      indirectEffect[layer].push(patched.reduce((acc, x, i) => acc + x - base[i], 0) / corrupted.length);
      options.onProgress?.(layer * H + head + 1, L * H);
    }
  }
  const heads = indirectEffect
    .flatMap((row, layer) => row.map((effect, head) => ({ layer, head, effect })))
    .sort((a, b) => b.effect - a.effect || a.layer - b.layer || a.head - b.head)
    .slice(0, options.topHeads);
  const vector = await projectHeads(model, heads, meanHeads, headDim, stats);
  return { vector, layer: Math.max(0, Math.floor(L / 3) - 1), indirectEffect, heads, stats };
}

/** Function Vectors at test time: the vector is added to the attention output at `layer`, query io position. */
export function functionVectorSteering(layer: number, vector: Float32Array, strength = 1): Steering {
  const scaled = vector.map((x) => strength * x);
  return (p, seq) => ({ edits: [{ seq, pos: p.ioPositions[p.ioPositions.length - 1], layer, vector: scaled }] });
}

/** Softmax probability of each prompt's gold token at its query position, under the given head edits. */
async function goldProbabilities(
  model: SteerableModel,
  prompts: readonly Prompt[],
  gold: readonly number[],
  headEdits: (prompt: number, seq: number, p: Prompt) => Edit[],
  stats: RunStats,
  cancellation?: Cancellation,
): Promise<number[]> {
  const probs = new Array<number>(prompts.length);
  for (const batch of lengthSortedBatches(prompts.map((p) => p.tokens.length), BATCH_TOKENS)) {
    throwIfCancelled(cancellation);
    const start = performance.now();
    const out = await model.forward({
      tokens: batch.map((i) => prompts[i].tokens),
      logits: batch.map((i, seq) => ({ seq, pos: prompts[i].ioPositions[prompts[i].ioPositions.length - 1] })),
      headEdits: batch.flatMap((i, seq) => headEdits(i, seq, prompts[i])),
    });
    stats.ms += performance.now() - start;
    stats.forwardPasses += batch.length;
    stats.tokens += batch.reduce((acc, i) => acc + prompts[i].tokens.length, 0);
    batch.forEach((i, seq) => (probs[i] = softmaxAt(out.logits[seq], gold[i])));
  }
  return probs;
}

function softmaxAt(logits: Float32Array, index: number): number {
  let max = -Infinity;
  for (const x of logits) if (x > max) max = x;
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  return Math.exp(logits[index] - max) / sum;
}

/** Sum over heads of W_o[:, head] @ mean_head, measured as attn_out(with head edit) - attn_out(without). */
async function projectHeads(model: SteerableModel, heads: readonly { layer: number; head: number }[], meanHeads: readonly Float32Array[], headDim: number, stats: RunStats): Promise<Float32Array> {
  const d = model.info.dModel;
  const probe = [model.info.bosId, model.info.bosId];
  const tokens = [probe, ...heads.map(() => probe)];
  const headEdits: Edit[] = heads.map(({ layer, head }, k) => {
    const vector = new Float32Array(d);
    vector.set(meanHeads[layer].subarray(head * headDim, (head + 1) * headDim), head * headDim);
    return { seq: k + 1, pos: 1, layer, vector };
  });
  const start = performance.now();
  const out = await model.forward({ tokens, headEdits, taps: tokens.map((_, seq) => ({ seq, pos: 1 })), tapSites: ['attn_out'] });
  stats.ms += performance.now() - start;
  stats.forwardPasses += tokens.length;
  stats.tokens += 2 * tokens.length;
  const taps = out.taps.attn_out!;
  const sum = new Float32Array(d);
  heads.forEach(({ layer }, k) => {
    const with_ = taps.at(layer, k + 1);
    const without = taps.at(layer, 0);
    for (let j = 0; j < d; j++) sum[j] += with_[j] - without[j];
  });
  return sum;
}
