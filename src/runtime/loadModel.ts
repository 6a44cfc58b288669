import type * as ort from 'onnxruntime-node';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../core/errors';
import type { SteerableModel } from '../core/model';

import { ensureEmbeddedModel, EMBEDDED } from './embedded/embeddedModel';
import { ensureGraphs } from './embedded/embeddedGraphs';
import { createSession, sessionOptions, type DeviceSetting } from './executionProvider';
import { OnnxSteerableModel } from './onnxSteerableModel';
import { loadLlama2cTokenizer, type LlamaTokenizer } from './tokenizer/tokenizer';

export interface LoadOptions {
  /** "default" (the embedded stories15M) or a path to a llama2.c checkpoint (.bin). */
  model?: string;
  /** Where converted models are cached (the extension passes its global storage). */
  cacheDir: string;
  device?: DeviceSetting;
  /** Intra-op threads; unset lets onnxruntime use one per core. */
  threads?: number;
  log?: (message: string) => void;
}

export interface LoadedModel {
  model: SteerableModel;
  tokenizer: LlamaTokenizer;
  /** Providers that were asked for but could not run, with the reason (empty when none). */
  fallbacks: string[];
  /** The llama2.c checkpoint the graphs were built from. */
  checkpoint: string;
  /** The tokenizer.bin and the folder its derived tokenizer.json is cached in (to load it elsewhere). */
  tokenizerFiles: { bin: string; cacheDir: string };
}

export async function loadModel(options: LoadOptions): Promise<LoadedModel> {
  const log = options.log ?? (() => {});
  const { checkpoint, tokenizerBin, sha256, dir, name } = await resolveCheckpoint(options, log);
  const graphs = ensureGraphs(checkpoint, sha256, dir, name);
  const device = options.device ?? 'cpu';
  const opts = sessionOptions(options.threads);
  const { session, provider, fallbacks } = await createSession(graphs.forward, device, opts);
  for (const f of fallbacks) log(`Execution provider ${f}; falling back.`);
  log(`Model ${name} runs on ${provider}.`);
  // The decode graph is only needed for generation: create it on first use, on the same provider.
  let decode: Promise<ort.InferenceSession> | undefined;
  const decodeSession = () => (decode ??= createSession(graphs.decode, provider as DeviceSetting, opts).then((c) => c.session));
  const tokenizer = await loadLlama2cTokenizer(tokenizerBin, dir);
  if (tokenizer.vocabSize !== graphs.info.vocabSize) {
    throw new UserError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary has ${graphs.info.vocabSize}`, { file: tokenizerBin });
  }
  return { model: new OnnxSteerableModel(graphs.info, provider, session, decodeSession), tokenizer, fallbacks, checkpoint, tokenizerFiles: { bin: tokenizerBin, cacheDir: dir } };
}

async function resolveCheckpoint(options: LoadOptions, log: (m: string) => void) {
  const spec = options.model ?? 'default';
  if (spec === 'default') {
    const files = await ensureEmbeddedModel(options.cacheDir, log);
    return { checkpoint: files.modelBin, tokenizerBin: files.tokenizerBin, sha256: files.modelSha256, dir: files.dir, name: EMBEDDED.name };
  }
  const checkpoint = resolve(spec);
  if (!existsSync(checkpoint) || !statSync(checkpoint).isFile()) {
    throw new UserError(`model not found: ${spec} (give "default" or the path of a llama2.c checkpoint .bin)`, { file: spec });
  }
  const sha256 = createHash('sha256').update(readFileSync(checkpoint)).digest('hex');
  // llama2.c checkpoints share the Llama-2 vocabulary: use a tokenizer.bin beside the checkpoint, else the embedded one.
  const beside = join(dirname(checkpoint), 'tokenizer.bin');
  const tokenizerBin = existsSync(beside) ? beside : (await ensureEmbeddedModel(options.cacheDir, log)).tokenizerBin;
  const name = checkpoint.split(/[\\/]/).pop()!.replace(/\.bin$/, '');
  return { checkpoint, tokenizerBin, sha256, dir: join(options.cacheDir, `llama2c-${sha256.slice(0, 16)}`), name };
}
