import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import { generate } from '../../core/generate';
import type { Edit, ForwardRequest, Position } from '../../core/model';
import { Rng } from '../../core/random';
import { f16ToF32 } from '../../core/vectors/safetensors';
import type { HubSteerableModel } from '../hub/hubModel';
import type { PastState } from '../hub/decoderIO';
import { sessionOptions } from '../executionProvider';
import { alternate } from './timing';
import { machineInfo, type MachineInfo } from './machine';

export interface HubBenchResult {
  machine: MachineInfo;
  model: string;
  /** The export's graph file. */
  file: string;
  runs: number;
  /** One batched prompt pass: the export as published (its own logits output) against the instrumented graph. */
  prefill: {
    batch: number;
    length: number;
    exportMs: number;
    /** No edits, last-position logits only. */
    zeroEditMs: number;
    /** Edits at 20 positions on every layer, taps of every site there, last-position logits. */
    instrumentedMs: number;
    /** Zero edits again, timed alternately with instrumentedMs (the machine drifts between the two pairs). */
    zeroEditAgainMs: number;
    /** instrumentedMs / zeroEditAgainMs - 1: the cost of the interventions themselves. */
    overhead: number;
    positions: number;
  };
  /** Greedy decoding: a plain loop over the export (presents fed back as pasts) against the product's loop. */
  generation: { newTokens: number; exportTokensPerSecond: number; tokensPerSecond: number };
}

/**
 * The cost of steering an exported decoder: the instrumented graph against the export itself, on
 * the same batch and timed alternately, and KV-cached generation through the product's loop against
 * a bare loop over the export's own session.
 */
export async function runHubBench(model: HubSteerableModel, runs: number, threads: number | undefined, log: (m: string) => void): Promise<HubBenchResult> {
  const { info, io } = model;
  const exported = await ort.InferenceSession.create(model.sourceFile, sessionOptions(threads));
  try {
    const batch = 10;
    const length = Math.min(128, info.maxSeqLen);
    const rng = new Rng(7);
    const tokens = Array.from({ length: batch }, () => Array.from({ length }, () => 3 + rng.int(Math.min(info.vocabSize, 1000) - 3)));
    const logits = tokens.map((_, seq) => ({ seq, pos: length - 1 }));
    const exportFeeds = io.feeds(BigInt64Array.from(tokens.flat(), BigInt), batch, length);
    const exportLogits = exported.outputNames.filter((n) => !io.presents.includes(n));
    log(`prefill B=${batch} T=${length}: export vs zero edits...`);
    const [zeroEditMs, exportMs] = await alternate(
      runs,
      () => model.forward({ tokens, logits }),
      () => exported.run(exportFeeds, exportLogits),
    );
    const positions: Position[] = Array.from({ length: 20 }, (_, i) => ({ seq: i % batch, pos: (i * 37) % length }));
    const edits: Edit[] = positions.flatMap((p) =>
      Array.from({ length: info.nLayers }, (_, layer) => ({
        ...p,
        site: 'attn_out' as const,
        layer,
        vector: Float32Array.from({ length: info.dModel }, () => rng.next() * 0.01),
      })),
    );
    const steered: ForwardRequest = { tokens, logits, edits, taps: positions, tapSites: model.sites };
    log('prefill: edits and taps vs zero edits...');
    const [instrumentedMs, zeroAgainMs] = await alternate(
      runs,
      () => model.forward(steered),
      () => model.forward({ tokens, logits }),
    );

    log('generation...');
    const newTokens = Math.min(64, info.maxSeqLen - 2);
    const prompt = [info.bosId, 3];
    const product = await generate(model, prompt, { maxNewTokens: newTokens, stopAtEos: false });
    const bare = await bareLoop(exported, model, prompt, newTokens);
    return {
      machine: machineInfo(model.executionProvider, threads),
      model: info.name,
      file: basename(model.sourceFile),
      runs,
      prefill: {
        batch,
        length,
        exportMs,
        zeroEditMs,
        instrumentedMs,
        zeroEditAgainMs: zeroAgainMs,
        overhead: instrumentedMs / zeroAgainMs - 1,
        positions: positions.length,
      },
      generation: { newTokens, exportTokensPerSecond: bare, tokensPerSecond: product.timings.decodeTokensPerSecond },
    };
  } finally {
    await exported.release();
  }
}

/** Greedy decoding with the export alone: what a plain ONNX Runtime loop achieves (tokens/s after the prompt). */
async function bareLoop(session: ort.InferenceSession, model: HubSteerableModel, prompt: number[], newTokens: number): Promise<number> {
  const { io, info } = model;
  const logitsName = session.outputNames.find((n) => !io.presents.includes(n))!;
  let past: PastState | undefined;
  let ids = prompt;
  let start = 0;
  for (let i = 0; i <= newTokens; i++) {
    if (i === 1) start = performance.now();
    const out = await session.run(io.feeds(BigInt64Array.from(ids, BigInt), 1, ids.length, past), [logitsName, ...io.presents]);
    const all = out[logitsName];
    const V = info.vocabSize;
    const raw = (all.data as Float32Array | Uint16Array).subarray((ids.length - 1) * V, ids.length * V);
    const row = raw instanceof Uint16Array ? Float32Array.from(raw, f16ToF32) : raw;
    let best = 0;
    for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
    past = io.nextPast(out, (past?.length ?? 0) + ids.length);
    ids = [best];
  }
  return (newTokens * 1000) / (performance.now() - start);
}
