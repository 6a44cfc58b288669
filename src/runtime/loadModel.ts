import type * as ort from 'onnxruntime-node';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError, type Cancellation } from '../core/errors';
import type { SteerableModel } from '../core/model';

import { ensureEmbeddedModel, EMBEDDED } from './embedded/embeddedModel';
import { ensureGraphs } from './embedded/embeddedGraphs';
import type { DeviceSetting, HubDType } from '../core/modelSettings';
import { createSession, sessionOptions } from './executionProvider';
import { hubCacheDir, isHubId, onnxFileOf, resolveHubModel, type HubProgress } from './hub/hubSource';
import { loadHubModel } from './hub/loadHubModel';
import { checkFile, locateModel, readChecked } from './hub/modelFolder';
import { checkLlama2cFile } from './embedded/checkpoint';
import { OnnxSteerableModel } from './onnxSteerableModel';
import { loadTokenizer, type TextTokenizer, type TokenizerSource } from './tokenizer/loadTokenizer';

export interface LoadOptions {
  /** "default" (the embedded stories15M), a llama2.c checkpoint (.bin), an exported model folder or .onnx file, or a hub id (owner/name[@revision]). */
  model?: string;
  /** Where converted models, instrumented graphs and hub downloads are cached (the extension passes its global storage). */
  cacheDir: string;
  device?: DeviceSetting;
  /** Intra-op threads; unset lets onnxruntime use one per core. */
  threads?: number;
  log?: (message: string) => void;
  /** Exported models: the hub variant to download (fp32, fp16, q8, q4, ...). */
  dtype?: HubDType;
  /** Exported models: use the hub cache only. */
  offline?: boolean;
  /** Exported models: which .onnx file of the folder. */
  file?: string;
  /** Exported models: a tensor-name pattern with {l} naming each layer's attention output. */
  site?: string;
  /** "bytes" for a byte-vocabulary model without tokenizer.json; default: the model's own. */
  tokenizer?: 'auto' | 'bytes';
  cancel?: Cancellation;
}

export interface LoadedModel {
  model: SteerableModel;
  tokenizer: TextTokenizer;
  /** Providers that were asked for but could not run, with the reason (empty when none). */
  fallbacks: string[];
  /** The llama2.c checkpoint the graphs were built from (built-in and llama2.c models only). */
  checkpoint?: string;
  /** How to load the same tokenizer elsewhere (the extension host loads it beside a model worker). */
  tokenizerSource: TokenizerSource;
}

export async function loadModel(options: LoadOptions): Promise<LoadedModel> {
  const spec = options.model ?? 'default';
  if (spec !== 'default' && !(existsSync(spec) && statSync(spec).isFile() && spec.endsWith('.bin'))) {
    if (existsSync(spec)) return loadExported(resolve(spec), undefined, options);
    if (isHubId(spec)) {
      const log = options.log ?? (() => {});
      const hub = await resolveHubModel(spec, {
        dtype: options.dtype,
        cacheDir: hubCacheDir(options.cacheDir),
        offline: options.offline,
        log,
        progress: downloadProgress(log),
        cancel: options.cancel,
      });
      return loadExported(hub.onnxFile, spec, options);
    }
    throw new UserError(
      `model not found: ${spec} (give "default", a llama2.c checkpoint .bin, an exported model folder or .onnx file, or a hub id owner/name)`,
      { file: spec },
    );
  }
  const log = options.log ?? (() => {});
  const { checkpoint, tokenizerBin, sha256, dir, name } = await resolveCheckpoint(spec, options.cacheDir, log);
  const graphs = ensureGraphs(checkpoint, sha256, dir, name);
  const device = options.device ?? 'cpu';
  const opts = sessionOptions(options.threads);
  const { session, provider, fallbacks } = await createSession(graphs.forward, device, opts);
  for (const f of fallbacks) log(`Execution provider ${f}; falling back.`);
  log(`Model ${name} runs on ${provider}.`);
  // The decode graph is only needed for generation: create it on first use, on the same provider.
  let decode: Promise<ort.InferenceSession> | undefined;
  const decodeSession = () => (decode ??= createSession(graphs.decode, provider as DeviceSetting, opts).then((c) => c.session));
  const tokenizerSource: TokenizerSource = { kind: 'llama2c', bin: tokenizerBin, cacheDir: dir };
  const tokenizer = await loadTokenizer(tokenizerSource);
  if (tokenizer.vocabSize !== graphs.info.vocabSize) {
    throw new UserError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary has ${graphs.info.vocabSize}`, { file: tokenizerBin });
  }
  return { model: new OnnxSteerableModel(graphs.info, provider, session, decodeSession), tokenizer, fallbacks, checkpoint, tokenizerSource };
}

/** An exported decoder (Transformers.js / Optimum or onnxruntime-genai folder), instrumented and run as exported. */
async function loadExported(path: string, name: string | undefined, options: LoadOptions): Promise<LoadedModel> {
  const log = options.log ?? (() => {});
  // In a local Transformers.js folder, --dtype picks the variant's file as it does for a hub id.
  const file = options.file ?? (options.dtype && !name && statSync(path).isDirectory() ? onnxFileOf(options.dtype) : undefined);
  const { folder } = locateModel(path, file);
  const tokenizerSource: TokenizerSource =
    options.tokenizer === 'bytes'
      ? { kind: 'bytes' }
      : existsSync(join(folder, 'tokenizer.json'))
        ? { kind: 'hub', folder }
        : { kind: 'none', model: name ?? folder };
  const tokenizer = await loadTokenizer(tokenizerSource);
  const { model, fallbacks } = await loadHubModel({
    path,
    name,
    file,
    site: options.site,
    cacheDir: options.cacheDir,
    device: options.device ?? 'cpu',
    threads: options.threads,
    log,
    special: { bos: tokenizer.bosId, eos: tokenizer.eosId },
  });
  if (tokenizer.vocabSize > model.info.vocabSize) {
    log(`note: the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${model.info.vocabSize}; texts with higher token ids are rejected.`);
  }
  return { model, tokenizer, fallbacks, tokenizerSource };
}

/** The llama2.c files of "default" (the embedded model) or of a checkpoint path, with their cache folder. */
/** Download progress as log lines: each file at every tenth of its size (the log is the CLI's stderr and the extension's output channel). */
function downloadProgress(log: (m: string) => void): (p: HubProgress) => void {
  const logged = new Map<string, number>();
  return ({ file, loaded, total }) => {
    if (!total) return;
    const tenth = Math.floor((10 * loaded) / total);
    if (tenth === (logged.get(file) ?? -1)) return;
    logged.set(file, tenth);
    log(`hub: ${file} ${(loaded / 2 ** 20).toFixed(1)} / ${(total / 2 ** 20).toFixed(1)} MB`);
  };
}

export async function resolveCheckpoint(spec: string, cacheDir: string, log: (m: string) => void) {
  if (spec === 'default') {
    const files = await ensureEmbeddedModel(cacheDir, log);
    return { checkpoint: files.modelBin, tokenizerBin: files.tokenizerBin, sha256: files.modelSha256, dir: files.dir, name: EMBEDDED.name };
  }
  const checkpoint = resolve(spec);
  // The header and size first: a file that cannot become graphs is refused before it is read whole.
  checkLlama2cFile(checkpoint);
  const sha256 = createHash('sha256')
    .update(readChecked(checkpoint, { what: 'the checkpoint' }))
    .digest('hex');
  // llama2.c checkpoints share the Llama-2 vocabulary: use a tokenizer.bin beside the checkpoint, else the embedded one.
  const beside = join(dirname(checkpoint), 'tokenizer.bin');
  if (existsSync(beside)) checkFile(beside, { what: 'the tokenizer.bin beside the checkpoint' });
  const tokenizerBin = existsSync(beside) ? beside : (await ensureEmbeddedModel(cacheDir, log)).tokenizerBin;
  const name = checkpoint
    .split(/[\\/]/)
    .pop()!
    .replace(/\.bin$/, '');
  return { checkpoint, tokenizerBin, sha256, dir: join(cacheDir, `llama2c-${sha256.slice(0, 16)}`), name };
}
