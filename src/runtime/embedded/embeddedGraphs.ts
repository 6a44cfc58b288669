import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors';
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
    // The folder first: an unwritable cache fails before the conversion's work.
    writeInCache(graphDir, () => mkdirSync(graphDir, { recursive: true }));
    const gw = toGraphWeights(weights);
    const graphs = [buildForwardGraph(weights, gw), buildDecodeGraph(weights, gw, weights.config.seqLen)];
    writeInCache(graphDir, () => {
      writeAtomic(forward, graphs[0]);
      writeAtomic(decode, graphs[1]);
      writeAtomic(configPath, JSON.stringify(weights.config));
    });
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

/** A write into the cache folder; a failure (read-only, not a folder, disk full) is a UserError naming the folder. */
function writeInCache(dir: string, write: () => void): void {
  try {
    write();
  } catch (e) {
    throw new UserError(
      `cannot write the model's ONNX graphs into the cache folder ${dir}: ${(e as Error).message}. Choose a writable cache folder (--cache-dir, or IV_CACHE_DIR)`,
      { file: dir },
    );
  }
}
