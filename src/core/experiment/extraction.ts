import { checkDatasetShots } from '../datasets';
import type { Cancellation } from '../errors';
import type { SteerableModel } from '../model';
import type { VectorArtifact } from '../vectors/artifact';
import { extractIterativeVectors, type ExtractOptions } from '../iv/extract';
import { extractTaskVectors } from '../baselines/taskVectors';
import { extractFunctionVector } from '../baselines/functionVectors';
import type { RunStats } from '../icl/scoring';
import { makeArtifact } from './artifacts';
import { chooseTaskVectorLayer, type EvalOptions } from './methods';
import { splitRows, type Task } from './task';

export type ExtractMethod = 'iv' | 'tv' | 'fv';

export interface ExtractRequest {
  method: ExtractMethod;
  /** Algorithm 1's options; TV and FV use its episodes, shots and seed. */
  iv: Omit<ExtractOptions, 'cancellation' | 'onProgress'>;
  /** Validation runs that choose the Task Vectors layer. */
  validation: Omit<EvalOptions, 'split' | 'cancellation' | 'onProgress'>;
  /** Function Vectors: label-shuffled episodes for the indirect effects, and heads kept. */
  fv: { effectEpisodes: number; topHeads: number };
  tokenizerSha256: string;
  cancellation?: Cancellation;
  onProgress?: (done: number, total: number) => void;
}

export interface ExtractResult {
  artifact: VectorArtifact;
  stats: RunStats;
  ms: number;
}

/** Runs one extraction method on the train split and packs the result with its provenance. */
export async function extractArtifact(model: SteerableModel, task: Task, req: ExtractRequest): Promise<ExtractResult> {
  const start = performance.now();
  const train = splitRows(task, 'train');
  checkDatasetShots(task.dataset, 'train', req.iv.shots);
  const { episodes, shots, seed } = req.iv;
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
      return { artifact, stats: x.stats, ms: performance.now() - start };
    }
    case 'tv': {
      const x = await extractTaskVectors(model, task.verbalizer, train, { episodes, shots, seed, cancellation: req.cancellation, onProgress: req.onProgress });
      const choice = await chooseTaskVectorLayer(model, task, x.vectors, { ...req.validation, cancellation: req.cancellation, split: 'validation' });
      const layers = new Map(x.vectors.map((v, l) => [l, v]));
      const artifact = makeArtifact('task-vector', 'resid_post', layers, 1, {
        ...common,
        options: { episodes, shots, seed, layer: choice.layer, layerChosenOn: 'validation macro-F1', validation: req.validation },
        metrics: { validationMacroF1ByLayer: choice.macroF1 },
        timings: timings(x.stats),
      });
      return { artifact, stats: x.stats, ms: performance.now() - start };
    }
    case 'fv': {
      const x = await extractFunctionVector(model, task.verbalizer, train, { episodes, shots, seed, ...req.fv, cancellation: req.cancellation, onProgress: req.onProgress });
      const artifact = makeArtifact('function-vector', 'attn_out', new Map([[x.layer, x.vector]]), 1, {
        ...common,
        options: { episodes, shots, seed, ...req.fv, layer: x.layer, heads: x.heads },
        metrics: { indirectEffect: x.indirectEffect },
        timings: timings(x.stats),
      });
      return { artifact, stats: x.stats, ms: performance.now() - start };
    }
  }
}
