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

/**
 * How each head's indirect effect is measured. `official` (the IV paper's fv.py): 1-shot support in
 * class order, the head's output replaced by its mean at every position of the label-shuffled
 * prompt, the gain measured against the clean (unshuffled, unpatched) prompt. `query-patch`: the
 * head patched at the query's io position only, on shuffled k-shot support, the gain measured
 * against the shuffled prompt unpatched.
 */
export type FunctionVectorVariant = 'official' | 'query-patch';
export const FV_VARIANTS: readonly FunctionVectorVariant[] = ['official', 'query-patch'];

export const FV_DEFAULTS = {
  variant: 'official' as FunctionVectorVariant,
  /** The official runs extract from 1-shot prompts. */
  shots: 1,
  episodes: 200,
  effectEpisodes: 200,
};

/**
 * Heads kept by default: 2% of all heads, at least one. The official runs keep 20 of Llama-2-7B's
 * 1,024 heads (2%), 10 of GPT-J's 448, 25 of Llama-3.1-8B's 1,024 and 50 of Llama-2-13B's 1,600.
 */
export function defaultTopHeads(nLayers: number, nHeads: number): number {
  return Math.max(1, Math.round(0.02 * nLayers * nHeads));
}

export interface FunctionVectorOptions {
  variant: FunctionVectorVariant;
  /** Clean train episodes for the mean head activations. */
  episodes: number;
  /** Episodes on which each head's indirect effect is measured (the first ones of the same seeded stream). */
  effectEpisodes: number;
  shots: number;
  /** Heads whose projected mean activations are summed (default: defaultTopHeads). */
  topHeads?: number;
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
  topHeads: number;
  stats: RunStats;
}

/**
 * Function Vectors (Todd et al. 2024). (1) Mean per-head outputs at the query's io position over
 * clean prompts. (2) On prompts whose demonstration labels are shuffled, each head's output is set
 * to its mean (an additive head edit of mean - current, at the positions the variant patches) and
 * the gain in the probability of the gold label's first token is its indirect effect. (3) The top
 * heads' mean outputs, projected through the output projection, are summed. The projection is
 * measured on the model itself (attention output with minus without a head edit), so no weights
 * are needed.
 */
export async function extractFunctionVector(
  model: SteerableModel,
  verbalizer: Verbalizer,
  train: readonly Example[],
  options: FunctionVectorOptions,
): Promise<FunctionVector> {
  const { nLayers: L, dModel: d, nHeads: H, headDim } = model.info;
  const n = verbalizer.labels.length;
  const official = options.variant === 'official';
  const topHeads = options.topHeads ?? defaultTopHeads(L, H);
  const stats: RunStats = { forwardPasses: 0, tokens: 0, ms: 0 };
  const add = (s: RunStats) => ((stats.forwardPasses += s.forwardPasses), (stats.tokens += s.tokens), (stats.ms += s.ms));
  const order = official ? 'class-order' : 'shuffled';

  const cleanEpisodes = sampleEpisodes(train, n, options.shots, options.episodes, options.seed, order);
  const clean = await buildPrompts(verbalizer, train, cleanEpisodes);
  const mean = Array.from({ length: L }, () => new Float64Array(d));
  add(await tapQueries(model, clean, 'head_out', (l, v) => v.forEach((x, j) => (mean[l][j] += x)), options));
  const meanHeads = mean.map((m) => Float32Array.from(m, (x) => x / clean.length));

  // Corrupted prompts: the same kind of episodes with the demonstrations' labels permuted.
  const rng = new Rng(options.seed + 1);
  const effectEpisodes = official
    ? sampleEpisodes(train, n, options.shots, options.effectEpisodes, options.seed, order)
    : sampleEpisodes(train, n, options.shots, options.effectEpisodes, options.seed + 1, order);
  const corrupted = effectEpisodes.map((e) => {
    const labels = rng.shuffle(e.support.map((i) => train[i].label));
    return verbalizer.build(
      e.support.map((i, k) => ({ ...train[i], label: labels[k] })),
      train[e.query],
    );
  });
  const gold = effectEpisodes.map((e) => verbalizer.labelFirstTokens[train[e.query].label]);
  const patched = (p: Prompt) => (official ? p.tokens.map((_, pos) => pos) : [queryPosition(p)]);
  // The head outputs of each corrupted prompt at the patched positions, per layer: [layer][position] of width d.
  const current = await headOutputs(model, corrupted, patched, stats, options.cancellation);

  const reference = official ? await buildPrompts(verbalizer, train, effectEpisodes) : corrupted;
  const base = await goldProbabilities(model, reference, gold, () => [], stats, options.cancellation);
  const indirectEffect: number[][] = [];
  for (let layer = 0; layer < L; layer++) {
    indirectEffect.push([]);
    for (let head = 0; head < H; head++) {
      const probs = await goldProbabilities(
        model,
        corrupted,
        gold,
        (i, seq, p) =>
          patched(p).map((pos, k) => {
            const vector = new Float32Array(d);
            const now = current[i][layer][k];
            for (let j = head * headDim; j < (head + 1) * headDim; j++) vector[j] = meanHeads[layer][j] - now[j];
            return { site: 'head_out', seq, pos, layer, vector };
          }),
        stats,
        options.cancellation,
      );
      indirectEffect[layer].push(probs.reduce((acc, x, i) => acc + x - base[i], 0) / corrupted.length);
      options.onProgress?.(layer * H + head + 1, L * H);
    }
  }
  const heads = indirectEffect
    .flatMap((row, layer) => row.map((effect, head) => ({ layer, head, effect })))
    .sort((a, b) => b.effect - a.effect || a.layer - b.layer || a.head - b.head)
    .slice(0, topHeads);
  const vector = await projectHeads(model, heads, meanHeads, headDim, stats);
  return { vector, layer: Math.max(0, Math.floor(L / 3) - 1), indirectEffect, heads, topHeads, stats };
}

const queryPosition = (p: Prompt) => p.ioPositions[p.ioPositions.length - 1];

/** Each prompt's head outputs (the input of the output projection) at the given positions: [prompt][layer][k]. */
async function headOutputs(
  model: SteerableModel,
  prompts: readonly Prompt[],
  positions: (p: Prompt) => number[],
  stats: RunStats,
  cancellation?: Cancellation,
): Promise<Float32Array[][][]> {
  const out: Float32Array[][][] = new Array(prompts.length);
  for (const batch of lengthSortedBatches(
    prompts.map((p) => p.tokens.length),
    BATCH_TOKENS,
  )) {
    throwIfCancelled(cancellation);
    const taps = batch.flatMap((i, seq) => positions(prompts[i]).map((pos) => ({ seq, pos })));
    const start = performance.now();
    const run = await model.forward({ tokens: batch.map((i) => prompts[i].tokens), taps, tapSites: ['head_out'] });
    stats.ms += performance.now() - start;
    stats.forwardPasses += batch.length;
    stats.tokens += batch.reduce((acc, i) => acc + prompts[i].tokens.length, 0);
    const values = run.taps.head_out!;
    let k = 0;
    for (const i of batch) {
      const count = positions(prompts[i]).length;
      out[i] = Array.from({ length: model.info.nLayers }, (_, l) => Array.from({ length: count }, (_, j) => Float32Array.from(values.at(l, k + j))));
      k += count;
    }
  }
  return out;
}

/** Function Vectors at test time: the vector is added to the attention output at `layer`, query io position. */
export function functionVectorSteering(layer: number, vector: Float32Array, strength = 1): Steering {
  const scaled = vector.map((x) => strength * x);
  return (p, seq) => [{ site: 'attn_out', seq, pos: p.ioPositions[p.ioPositions.length - 1], layer, vector: scaled }];
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
  for (const batch of lengthSortedBatches(
    prompts.map((p) => p.tokens.length),
    BATCH_TOKENS,
  )) {
    throwIfCancelled(cancellation);
    const start = performance.now();
    const out = await model.forward({
      tokens: batch.map((i) => prompts[i].tokens),
      logits: batch.map((i, seq) => ({ seq, pos: prompts[i].ioPositions[prompts[i].ioPositions.length - 1] })),
      edits: batch.flatMap((i, seq) => headEdits(i, seq, prompts[i])),
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
async function projectHeads(
  model: SteerableModel,
  heads: readonly { layer: number; head: number }[],
  meanHeads: readonly Float32Array[],
  headDim: number,
  stats: RunStats,
): Promise<Float32Array> {
  const d = model.info.dModel;
  const probe = [model.info.bosId, model.info.bosId];
  const tokens = [probe, ...heads.map(() => probe)];
  const headEdits: Edit[] = heads.map(({ layer, head }, k) => {
    const vector = new Float32Array(d);
    vector.set(meanHeads[layer].subarray(head * headDim, (head + 1) * headDim), head * headDim);
    return { site: 'head_out', seq: k + 1, pos: 1, layer, vector };
  });
  const start = performance.now();
  const out = await model.forward({ tokens, edits: headEdits, taps: tokens.map((_, seq) => ({ seq, pos: 1 })), tapSites: ['attn_out'] });
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
