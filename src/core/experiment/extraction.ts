import { checkDatasetShots } from '../datasets';
import type { Cancellation } from '../errors';
import type { SteerableModel } from '../model';
import type { VectorArtifact } from '../vectors/artifact';
import { extractIterativeVectors, type Extraction, type ExtractOptions } from '../iv/extract';
import { extractFunctionVector, type FunctionVectorVariant } from '../baselines/functionVectors';
import type { RunStats } from '../icl/scoring';
import { makeArtifact } from './artifacts';
import { chooseTaskVector, type EvalOptions } from './methods';
import { splitRows, type Task } from './task';

export type ExtractMethod = 'iv' | 'tv' | 'fv';

export interface ExtractRequest {
  method: ExtractMethod;
  /** Algorithm 1's options; TV and FV use its episodes and seed. */
  iv: Omit<ExtractOptions, 'cancellation' | 'onProgress'>;
  /** Validation runs that choose the Task Vectors' shots and layer, with the evaluation's shots. */
  validation: Omit<EvalOptions, 'split' | 'cancellation' | 'onProgress'>;
  /** Task Vectors: the extraction shots tried on validation (the official script: 1..4). */
  tv: { shotsGrid: readonly number[] };
  /** Function Vectors: the variant, its shots, the episodes for the indirect effects, and heads kept (default: by model size). */
  fv: { variant: FunctionVectorVariant; shots: number; effectEpisodes: number; topHeads?: number };
  tokenizerSha256: string;
  cancellation?: Cancellation;
  onProgress?: (done: number, total: number) => void;
}

export interface ExtractResult {
  artifact: VectorArtifact;
  /** Iterative Vectors: the episodes and the prompts of both passes. */
  episodes?: Pick<Extraction, 'episodes' | 'prompts'>;
  stats: RunStats;
  ms: number;
}

/** Runs one extraction method on the train split and packs the result with its provenance. */
export async function extractArtifact(model: SteerableModel, task: Task, req: ExtractRequest): Promise<ExtractResult> {
  const start = performance.now();
  const train = splitRows(task, 'train');
  const { episodes, shots, seed } = req.iv;
  const trainShots = req.method === 'iv' ? [shots] : req.method === 'tv' ? req.tv.shotsGrid : [req.fv.shots];
  for (const k of trainShots) checkDatasetShots(task.dataset, 'train', k);
  const common = { task, model: model.info, tokenizerSha256: req.tokenizerSha256 };
  const timings = (stats: RunStats) => ({ ms: performance.now() - start, forwardPasses: stats.forwardPasses, tokens: stats.tokens, forwardMs: stats.ms });
  switch (req.method) {
    case 'iv': {
      const x = await extractIterativeVectors(model, task.verbalizer, train, { ...req.iv, cancellation: req.cancellation, onProgress: req.onProgress });
      const layers = new Map(x.vectors.map((v, l) => [l, v]));
      const artifact = makeArtifact('iterative-vectors', 'attn_out', layers, task.labels.length + 1, {
        ...common,
        options: { ...req.iv, cut: x.cut },
        timings: timings(x.stats),
        history: x.refreshes,
      });
      return { artifact, stats: x.stats, ms: performance.now() - start, episodes: x };
    }
    case 'tv': {
      const x = await chooseTaskVector(
        model,
        task,
        train,
        req.tv.shotsGrid,
        { episodes, seed },
        { ...req.validation, cancellation: req.cancellation, split: 'validation' },
        req.onProgress,
      );
      const layers = new Map(x.vectors.map((v, l) => [l, v]));
      const artifact = makeArtifact('task-vector', 'resid_post', layers, 1, {
        ...common,
        options: {
          episodes,
          shots: x.shots,
          seed,
          layer: x.layer,
          shotsTried: req.tv.shotsGrid,
          chosenOn: 'validation macro-F1 (shots and layer)',
          validation: req.validation,
        },
        metrics: { validationMacroF1ByShotsAndLayer: x.macroF1 },
        timings: timings(x.stats),
      });
      return { artifact, stats: x.stats, ms: performance.now() - start };
    }
    case 'fv': {
      const x = await extractFunctionVector(model, task.verbalizer, train, {
        episodes,
        seed,
        ...req.fv,
        cancellation: req.cancellation,
        onProgress: req.onProgress,
      });
      const artifact = makeArtifact('function-vector', 'attn_out', new Map([[x.layer, x.vector]]), 1, {
        ...common,
        options: { episodes, seed, ...req.fv, topHeads: x.topHeads, layer: x.layer, heads: x.heads },
        metrics: { indirectEffect: x.indirectEffect },
        timings: timings(x.stats),
      });
      return { artifact, stats: x.stats, ms: performance.now() - start };
    }
  }
}
