import { basename, dirname, join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { UserError } from '../../core/errors';
import type { ModelInfo } from '../../core/model';
import type { DeviceSetting } from '../../core/modelSettings';
import { createSession, sessionOptions } from '../executionProvider';
import { DecoderIO } from './decoderIO';
import { ensureInstrumented, modelSha256, type InstrumentedModel } from './hubGraphCache';
import { HubSteerableModel } from './hubModel';

export interface HubLoadOptions {
  /** A model folder or .onnx file. */
  path: string;
  /** The name shown and recorded (a hub id; default the folder's name). */
  name?: string;
  file?: string;
  site?: string;
  cacheDir: string;
  device: DeviceSetting;
  threads?: number;
  log: (message: string) => void;
  /** BOS/EOS ids from the tokenizer, used where config.json names none. */
  special?: { bos?: number; eos?: number };
}

export interface LoadedHubModel {
  model: HubSteerableModel;
  fallbacks: string[];
  instrumented: InstrumentedModel;
}

/** Loads an exported decoder folder: instrumented (cached), on the requested execution provider. */
export async function loadHubModel(options: HubLoadOptions): Promise<LoadedHubModel> {
  const instrumented = ensureInstrumented({
    path: resolve(options.path),
    file: options.file,
    site: options.site,
    cacheDir: options.cacheDir,
    log: options.log,
  });
  const { summary } = instrumented;
  const io = new DecoderIO(summary, genaiDecoder(instrumented).inputs as Record<string, unknown> | undefined);
  const dataFiles = summary.externalDataFiles.map((f) => join(dirname(summary.onnxFile), f));
  const sha256 = await modelSha256([summary.onnxFile, ...dataFiles], options.cacheDir);
  const info = modelInfo(instrumented, io, options, sha256);

  const opts = sessionOptions(options.threads);
  // External data stays in the model's folder: the instrumented graph is loaded from bytes with that folder named.
  const source = dataFiles.length ? readFileSync(instrumented.graphFile) : instrumented.graphFile;
  if (dataFiles.length) opts.extra = { session: { model_external_initializers_file_folder_path: dirname(summary.onnxFile) } };
  const { session, provider, fallbacks } = await createSession(source, options.device, opts).catch((e: unknown) => {
    throw sessionError(e, summary.onnxFile);
  });
  for (const f of fallbacks) options.log(`Execution provider ${f}; falling back.`);
  options.log(`Model ${info.name} (${summary.architecture}, ${summary.dtype}, ${info.nLayers} layers) runs on ${provider}.`);
  return { model: new HubSteerableModel(info, provider, session, io, instrumented.manifest, summary.onnxFile), fallbacks, instrumented };
}

/**
 * ONNX Runtime's refusal of a graph (an operator it does not have, a type it cannot run, ...) as a
 * UserError on the model's file, quoting ORT: the graph it was given is the cached instrumented copy,
 * whose path would only mislead.
 */
function sessionError(e: unknown, onnxFile: string): UserError {
  const raw = e instanceof Error ? e.message : String(e);
  const message = raw
    .replace(/^Load model from .*? failed:/s, '')
    .replace(/^\/onnxruntime_src\/\S+:\d+ .*?\) (?=\S)/, '')
    .trim()
    .split('\n')[0];
  const quoted = message.length > 1200 ? `${message.slice(0, 1200)}...` : message;
  return new UserError(`ONNX Runtime cannot load this model: ${quoted}`, { file: onnxFile });
}

function genaiDecoder(m: InstrumentedModel): Record<string, unknown> {
  const model = m.genaiConfig?.model as Record<string, unknown> | undefined;
  return (model?.decoder as Record<string, unknown> | undefined) ?? {};
}

const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);
/** A config's token id: a number, or the first of a list (eos_token_id is often a list). */
const tokenId = (v: unknown) => int(Array.isArray(v) ? v[0] : v);

function modelInfo(m: InstrumentedModel, io: DecoderIO, options: HubLoadOptions, sha256: string): ModelInfo {
  const { summary } = m;
  const c = m.config ?? {};
  const genai = (m.genaiConfig?.model as Record<string, unknown> | undefined) ?? {};
  const logitsDim = summary.outputs.find((o) => o.name === 'logits')?.shape?.at(-1);
  const vocabSize = int(c.vocab_size) ?? int(genai.vocab_size) ?? int(logitsDim);
  const maxSeqLen = [io.staticCache?.capacity, int(genai.context_length), int(c.max_position_embeddings), int(c.n_positions), int(c.n_ctx)].find(
    (v) => v !== undefined,
  );
  const where = { file: summary.onnxFile };
  if (vocabSize === undefined)
    throw new UserError('the vocabulary size is unknown: config.json has no vocab_size and the logits output has no fixed last dimension', where);
  if (maxSeqLen === undefined)
    throw new UserError(
      'the context length is unknown: config.json has no max_position_embeddings / n_positions and genai_config.json no context_length',
      where,
    );
  const heads = summary.heads ?? 1;
  // The model's config.json first, then the tokenizer (genai_config.json's ids are often the builder's defaults).
  const eos = tokenId(c.eos_token_id) ?? options.special?.eos ?? tokenId(genai.eos_token_id);
  const bos = tokenId(c.bos_token_id) ?? options.special?.bos ?? tokenId(genai.bos_token_id) ?? eos;
  if (bos === undefined || eos === undefined)
    throw new UserError('the model names no BOS/EOS token ids (tokenizer_config.json, config.json or genai_config.json)', where);
  return {
    name: options.name ?? basename(summary.folder),
    sha256,
    nLayers: m.sites.length,
    dModel: summary.hiddenSize!,
    nHeads: heads,
    nKvHeads: summary.kvHeads ?? heads,
    headDim: summary.headSize ?? summary.hiddenSize! / heads,
    vocabSize,
    maxSeqLen,
    bosId: bos,
    eosId: eos,
  };
}
