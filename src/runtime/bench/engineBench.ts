import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { generate } from '../../core/generate';
import { SITES, type Edit, type ForwardRequest, type ModelInfo, type Position, type SteerableModel } from '../../core/model';
import { Rng } from '../../core/random';
import { UserError } from '../../core/errors';
import { parseLlama2cCheckpoint } from '../embedded/checkpoint';
import { buildForwardGraph, FWD } from '../embedded/forwardGraph';
import { toGraphWeights } from '../embedded/llamaWeights';
import { sessionOptions } from '../executionProvider';
import { indexTensor, packTokens } from '../forwardFeeds';
import type { LoadedModel } from '../loadModel';
import { machineInfo, type MachineInfo } from './machine';
import { matmulPeak } from './matmulPeak';
import { alternate, median } from './timing';

export interface BenchResult {
  machine: MachineInfo;
  model: string;
  runs: number;
  /** The reference MatMul [m, k, n]; its GFLOP/s is given per prefill row, measured alternately with it. */
  matmulPeakShape: number[];
  prefill: { batch: number; length: number; ms: number; tokensPerSecond: number; gflops: number; matmulPeakGflops: number; ratioToMatmulPeak: number }[];
  generation: { promptTokens: number; newTokens: number; decodeSteps: number; tokensPerSecond: number; prefillMs: number };
  instrumentation: { batch: number; length: number; positions: number; plainMs: number; instrumentedMs: number; overhead: number };
}

/** Model FLOPs of a forward pass: weight MatMuls per token, causal attention, classifier rows. */
export function forwardFlops(info: ModelInfo, hiddenDim: number, batch: number, length: number, logitRows: number): number {
  const d = info.dModel;
  const kvDim = info.nKvHeads * info.headDim;
  const perTokenPerLayer = 2 * (d * (d + 2 * kvDim) + d * d + 3 * d * hiddenDim);
  const attentionPerLayer = 4 * d * ((length * (length + 1)) / 2);
  return batch * info.nLayers * (length * perTokenPerLayer + attentionPerLayer) + logitRows * 2 * info.vocabSize * d;
}

/** A batch of random token sequences (ids past the special tokens), seeded. */
function randomBatch(info: ModelInfo, batch: number, length: number, seed: number): ForwardRequest {
  const rng = new Rng(seed);
  const tokens = Array.from({ length: batch }, () => Array.from({ length }, () => 3 + rng.int(info.vocabSize - 3)));
  return { tokens, logits: tokens.map((_, seq) => ({ seq, pos: length - 1 })) };
}

/**
 * The engine's batched prefill throughput (B = 10, T = 128, last-position logits), the reference
 * that the algorithm's workloads are compared with in the same process.
 */
export async function runEngineBaseline(model: SteerableModel, runs = 5): Promise<{ batch: number; length: number; ms: number; tokensPerSecond: number }> {
  const req = randomBatch(model.info, 10, 128, 7);
  const ms = await median(runs, () => model.forward(req));
  return { batch: 10, length: 128, ms, tokensPerSecond: (10 * 128 * 1000) / ms };
}

/**
 * The engine benchmark: prefill throughput against the MatMul peak of the same process, KV-cached
 * generation speed, and the cost of the instrumentation over the plain graph on identical inputs.
 */
export async function runEngineBench(loaded: LoadedModel, runs: number, threads: number | undefined, log: (m: string) => void): Promise<BenchResult> {
  const { model } = loaded;
  const info = model.info;
  const opts = sessionOptions(threads);

  log('MatMul peak...');
  const peak = await matmulPeak(opts, 3);
  if (!loaded.checkpoint)
    throw new UserError(`the engine benchmark compares against the llama2.c graphs: run it on "default" or a llama2.c checkpoint, not ${info.name}`);
  const weights = parseLlama2cCheckpoint(readFileSync(loaded.checkpoint), loaded.checkpoint);

  // The peak MatMul runs alternately with each prefill, so that both see the same machine.
  const prefill: BenchResult['prefill'] = [];
  for (const batch of [1, 10]) {
    log(`prefill batch ${batch}...`);
    const length = 128;
    const req = randomBatch(info, batch, length, 7);
    const [ms, refMs] = await alternate(runs, () => model.forward(req), peak.run);
    const peakGflops = peak.flops / refMs / 1e6;
    const gflops = forwardFlops(info, weights.config.hiddenDim, batch, length, batch) / ms / 1e6;
    prefill.push({
      batch,
      length,
      ms,
      tokensPerSecond: (batch * length * 1000) / ms,
      gflops,
      matmulPeakGflops: peakGflops,
      ratioToMatmulPeak: gflops / peakGflops,
    });
  }
  await peak.release();

  log('generation...');
  const genTimes: { tokensPerSecond: number; prefillMs: number; newTokens: number }[] = [];
  for (let i = 0; i < Math.max(3, Math.ceil(runs / 3)); i++) {
    const g = await generate(model, [info.bosId], { maxNewTokens: info.maxSeqLen - 1, stopAtEos: false });
    genTimes.push({ tokensPerSecond: g.timings.decodeTokensPerSecond, prefillMs: g.timings.prefillMs, newTokens: g.tokens.length });
  }
  genTimes.sort((a, b) => a.tokensPerSecond - b.tokensPerSecond);
  const gen = genTimes[genTimes.length >> 1];

  log('instrumentation overhead...');
  const instrumentation = await measureOverhead(loaded, weights, opts, randomBatch(info, 10, 128, 8).tokens as number[][], runs);
  return {
    machine: machineInfo(model.executionProvider, threads),
    model: info.name,
    runs,
    matmulPeakShape: peak.shape,
    prefill,
    generation: { promptTokens: 1, newTokens: gen.newTokens, decodeSteps: gen.newTokens - 1, tokensPerSecond: gen.tokensPerSecond, prefillMs: gen.prefillMs },
    instrumentation,
  };
}

/**
 * Edits at 20 positions on every layer plus taps of all three sites there, against the plain
 * graph (no intervention nodes) on the same batch; timed alternately so that drift hits both.
 */
async function measureOverhead(
  loaded: LoadedModel,
  weights: ReturnType<typeof parseLlama2cCheckpoint>,
  opts: ort.InferenceSession.SessionOptions,
  tokens: number[][],
  runs: number,
) {
  const { model } = loaded;
  const info = model.info;
  const plain = await ort.InferenceSession.create(buildForwardGraph(weights, toGraphWeights(weights), false), opts);
  const { ids, length } = packTokens(tokens);
  const logits = tokens.map((_, seq) => ({ seq, pos: length - 1 }));
  const plainFeeds = { [FWD.ids]: ids, [FWD.logitIndex]: indexTensor(logits, length) };
  const positions: Position[] = Array.from({ length: 20 }, (_, i) => ({ seq: i % tokens.length, pos: (i * 37) % length }));
  const rng = new Rng(3);
  const edits: Edit[] = positions.flatMap((p) =>
    Array.from({ length: info.nLayers }, (_, layer) => ({
      ...p,
      site: 'attn_out' as const,
      layer,
      vector: Float32Array.from({ length: info.dModel }, () => rng.next() * 0.01),
    })),
  );
  const req: ForwardRequest = { tokens, edits, taps: positions, tapSites: SITES, logits };
  const [instrumentedMs, plainMs] = await alternate(
    runs,
    () => model.forward(req),
    () => plain.run(plainFeeds, [FWD.logits]),
  );
  await plain.release();
  return { batch: tokens.length, length, positions: positions.length, plainMs, instrumentedMs, overhead: instrumentedMs / plainMs - 1 };
}
