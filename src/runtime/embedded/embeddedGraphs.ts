import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic } from '../../node/files';
import type { ModelInfo } from '../../core/model';
import { parseLlama2cCheckpoint, type Llama2cConfig } from './checkpoint';
import { buildDecodeGraph } from './decodeGraph';
import { buildForwardGraph } from './forwardGraph';
import { toGraphWeights } from './llamaWeights';

/** Bump when the graphs change: cached graphs of another version are rebuilt. */
export const GRAPH_VERSION = 3;

export interface EmbeddedGraphs {
  info: ModelInfo;
  forward: string;
  decode: string;
}

/**
 * Converts a llama2.c checkpoint into the instrumented forward and decode graphs, cached in
 * `dir` (a folder keyed by the checkpoint's hash) so that later loads skip the conversion.
 */
export function ensureGraphs(checkpoint: string, sha256: string, dir: string, name: string): EmbeddedGraphs {
  const graphDir = join(dir, `graphs-v${GRAPH_VERSION}`);
  const forward = join(graphDir, 'forward.onnx');
  const decode = join(graphDir, 'decode.onnx');
  const configPath = join(graphDir, 'config.json');
  if (!existsSync(forward) || !existsSync(decode) || !existsSync(configPath)) {
    const weights = parseLlama2cCheckpoint(readFileSync(checkpoint), checkpoint);
    const gw = toGraphWeights(weights);
    mkdirSync(graphDir, { recursive: true });
    writeAtomic(forward, buildForwardGraph(weights, gw));
    writeAtomic(decode, buildDecodeGraph(weights, gw, weights.config.seqLen));
    writeAtomic(configPath, JSON.stringify(weights.config));
  }
  const c = JSON.parse(readFileSync(configPath, 'utf8')) as Llama2cConfig;
  const info: ModelInfo = {
    name,
    sha256,
    nLayers: c.nLayers,
    dModel: c.dim,
    nHeads: c.nHeads,
    nKvHeads: c.nKvHeads,
    headDim: c.dim / c.nHeads,
    vocabSize: c.vocabSize,
    maxSeqLen: c.seqLen,
    bosId: 1,
    eosId: 2,
  };
  return { info, forward, decode };
}
