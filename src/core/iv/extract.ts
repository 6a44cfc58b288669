import { throwIfCancelled, type Cancellation } from '../errors';
import type { Example } from '../datasets';
import type { Edit, SteerableModel } from '../model';
import { BATCH_TOKENS, lengthSortedBatches } from '../icl/batches';
import { sampleEpisodes } from '../icl/episodes';
import { cutStats, type CutStats, type Prompt, type Verbalizer } from '../icl/prompt';
import type { Episode } from '../icl/episodes';
import type { RunStats } from '../icl/scoring';

/** Episodes per forward call inside a refresh window (k-shot prompts are long: about 16 fill the token budget). */
const WINDOW_CHUNK = 16;

export const ZERO_SHOT_POSITIONS = ['separator', 'before-separator'] as const;
export type ZeroShotPosition = (typeof ZERO_SHOT_POSITIONS)[number];

export interface ExtractOptions {
  /** E: extraction episodes (default 200). */
  episodes: number;
  /** k: demonstrations per class (default 4). */
  shots: number;
  /** b: refresh the vectors every b episodes; 0 disables iteration (default 10). */
  refreshEvery: number;
  /** a1: strength of the current vectors injected while extracting (default 0.3). */
  strength: number;
  seed: number;
  /** Where B is read in the zero-shot prompt: the paper's figure (separator) or the official code (one before). */
  zeroShotPosition: ZeroShotPosition;
  cancellation?: Cancellation;
  onProgress?: (done: number, total: number) => void;
}

export const EXTRACT_DEFAULTS: Omit<ExtractOptions, 'cancellation' | 'onProgress'> = {
  episodes: 200,
  shots: 4,
  refreshEvery: 10,
  strength: 0.3,
  seed: 42,
  zeroShotPosition: 'separator',
};

export interface Extraction {
  /** Per layer, (n + 1) x d row-major: class rows in label order, then the query row. */
  vectors: Float32Array[];
  /** At each refresh: the episode after which it happened and ||new - old|| / ||new|| over all vectors (null at the first). */
  refreshes: { episode: number; relativeChange: number | null }[];
  stats: RunStats;
  /** Demonstrations and queries whose input was cut to fit the context, and the tokens kept. */
  cut: CutStats;
  /** The episodes, their few-shot prompts, and the zero-shot prompts B was read from (at `readPosition`). */
  episodes: Episode[];
  prompts: { fewShot: Prompt; zeroShot: Prompt; readPosition: number }[];
}

/** Episodes after which the vectors are refreshed: e % b == 0, and the last (the official code's schedule). */
export function refreshPoints(episodes: number, refreshEvery: number): number[] {
  const points: number[] = [];
  for (let e = 0; e < episodes; e++) if ((refreshEvery > 0 && e % refreshEvery === 0) || e === episodes - 1) points.push(e);
  return points;
}

/**
 * Algorithm 1. Each refresh window's episodes share one value of the vectors and are independent,
 * so they run as one batch. The zero-shot passes do not depend on the vectors and run first, in
 * length-sorted batches. Sums are accumulated in float64 in episode order: the same seed and inputs
 * give the same bytes.
 */
export async function extractIterativeVectors(
  model: SteerableModel,
  verbalizer: Verbalizer,
  train: readonly Example[],
  options: ExtractOptions,
): Promise<Extraction> {
  const { nLayers: L, dModel: d } = model.info;
  const n = verbalizer.labels.length;
  const rows = n + 1;
  const { episodes: E, strength: a1 } = options;
  const episodes = sampleEpisodes(train, n, options.shots, E, options.seed);
  const stats: RunStats = { forwardPasses: 0, tokens: 0, ms: 0 };
  const run = async (req: Parameters<SteerableModel['forward']>[0]) => {
    const start = performance.now();
    const result = await model.forward(req);
    stats.ms += performance.now() - start;
    stats.forwardPasses += req.tokens.length;
    stats.tokens += req.tokens.reduce((acc, t) => acc + t.length, 0);
    return result;
  };
  const total = 2 * E;
  let done = 0;
  const progress = (k: number) => options.onProgress?.((done += k), total);

  // The few-shot prompts do not depend on the vectors: build them first, so that B reads exactly their query tokens.
  const fewShot = episodes.map((e) =>
    verbalizer.build(
      e.support.map((i) => train[i]),
      train[e.query],
    ),
  );
  // B: the zero-shot attention output at the query's io position (or one before), per episode and layer.
  const zeroShot = fewShot.map((p) => verbalizer.zeroShot(p));
  const readAt = (p: Prompt) => p.ioPositions[0] - (options.zeroShotPosition === 'before-separator' ? 1 : 0);
  const B: Float32Array[] = new Array(E);
  for (const batch of lengthSortedBatches(
    zeroShot.map((p) => p.tokens.length),
    BATCH_TOKENS,
  )) {
    throwIfCancelled(options.cancellation);
    const out = await run({
      tokens: batch.map((i) => zeroShot[i].tokens),
      taps: batch.map((i, seq) => ({ seq, pos: readAt(zeroShot[i]) })),
      tapSites: ['attn_out'],
    });
    const taps = out.taps.attn_out!;
    batch.forEach((i, k) => {
      B[i] = new Float32Array(L * d);
      for (let l = 0; l < L; l++) B[i].set(taps.at(l, k), l * d);
    });
    progress(batch.length);
  }

  const sum = Array.from({ length: L }, () => new Float64Array(rows * d));
  let vectors: Float32Array[] | undefined;
  const refreshes: Extraction['refreshes'] = [];
  let start = 0;
  for (const end of refreshPoints(E, options.refreshEvery)) {
    const rows = vectors && scaledRows(vectors, a1, d);
    // With b = 0 the single window holds every episode: split it to keep batches small.
    for (let from = 0; start + from <= end; from += WINDOW_CHUNK) {
      throwIfCancelled(options.cancellation);
      const prompts = fewShot.slice(start + from, Math.min(start + from + WINDOW_CHUNK, end + 1));
      const taps = prompts.flatMap((p, seq) => p.ioPositions.map((pos) => ({ seq, pos })));
      const out = await run({
        tokens: prompts.map((p) => p.tokens),
        taps,
        tapSites: ['attn_out'],
        edits: rows ? prompts.flatMap((p, seq) => ivEdits(p, seq, rows, L, n)) : [],
      });
      const A = out.taps.attn_out!;
      let k = 0;
      prompts.forEach((p, j) => {
        const b = B[start + from + j];
        accumulateEpisode(sum, p, (l, i) => A.at(l, k + i), b, L, d, n);
        k += p.ioPositions.length;
      });
      progress(prompts.length);
    }
    const count = end + 1;
    const next = sum.map((s) => Float32Array.from(s, (v) => v / count));
    refreshes.push({ episode: end, relativeChange: vectors ? relativeChange(vectors, next) : null });
    vectors = next;
    start = end + 1;
  }
  const prompts = fewShot.map((p, i) => ({ fewShot: p, zeroShot: zeroShot[i], readPosition: readAt(zeroShot[i]) }));
  return { vectors: vectors!, refreshes, stats, cut: cutStats(fewShot), episodes, prompts };
}

/** Which io positions receive the vectors at evaluation: all (the paper), the query's only, the demonstrations' only. */
export type InjectAt = 'all' | 'query' | 'demos';
export const INJECT_AT = ['all', 'query', 'demos'] as const satisfies readonly InjectAt[];

/**
 * Scales the vectors once: per layer, strength x envelope[l] x IV_l. Returns a row accessor for
 * ivEdits (row r of layer l: class r, or the query row when r = n).
 */
export function scaledRows(
  vectors: readonly Float32Array[],
  strength: number,
  d: number,
  envelope?: readonly number[],
): (layer: number, row: number) => Float32Array {
  const scaled = vectors.map((v, l) => {
    const s = strength * (envelope?.[l] ?? 1);
    return v.map((x) => s * x);
  });
  return (l, r) => scaled[l].subarray(r * d, (r + 1) * d);
}

/** IV_l[y_i] at each demonstration's io position and IV_l[n] at the query's, at every layer (as selected by `at`). */
export function ivEdits(p: Prompt, seq: number, rows: (layer: number, row: number) => Float32Array, L: number, n: number, at: InjectAt = 'all'): Edit[] {
  const edits: Edit[] = [];
  p.ioPositions.forEach((pos, i) => {
    const isQuery = i === p.demoLabels.length;
    if ((at === 'query' && !isQuery) || (at === 'demos' && isQuery)) return;
    const r = isQuery ? n : p.demoLabels[i];
    for (let layer = 0; layer < L; layer++) edits.push({ site: 'attn_out', seq, pos, layer, vector: rows(layer, r) });
  });
  return edits;
}

/**
 * Adds one episode's V to the running sum: per layer, D = A - B (every io row minus the zero-shot
 * row), then the mean of D over the demonstrations of each class, and D at the query.
 */
function accumulateEpisode(
  sum: Float64Array[],
  p: Prompt,
  a: (layer: number, i: number) => Float32Array,
  b: Float32Array,
  L: number,
  d: number,
  n: number,
): void {
  const counts = new Array<number>(n).fill(0);
  for (const y of p.demoLabels) counts[y]++;
  for (let l = 0; l < L; l++) {
    const s = sum[l];
    const bl = b.subarray(l * d, (l + 1) * d);
    p.ioPositions.forEach((_, i) => {
      const isQuery = i === p.demoLabels.length;
      const r = isQuery ? n : p.demoLabels[i];
      const weight = isQuery ? 1 : 1 / counts[r];
      const al = a(l, i);
      for (let j = 0; j < d; j++) s[r * d + j] += weight * (al[j] - bl[j]);
    });
  }
}

function relativeChange(prev: readonly Float32Array[], next: readonly Float32Array[]): number {
  let diff = 0;
  let norm = 0;
  next.forEach((v, l) =>
    v.forEach((x, j) => {
      diff += (x - prev[l][j]) ** 2;
      norm += x * x;
    }),
  );
  return norm > 0 ? Math.sqrt(diff / norm) : 0;
}
