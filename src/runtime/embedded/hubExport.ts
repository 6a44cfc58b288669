import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../../core/errors';
import { staleTemporaries } from '../../node/files';
import type { Llama2cConfig, Llama2cWeights } from './checkpoint';
import { buildHubDecoder } from './hubGraph';
import { HUB_VARIANTS, quantizeModelBytes, type HubVariant } from './quantize';
import { BOS_ID, EOS_ID } from '../tokenizer/tokenizerJson';

/** The files of a Transformers.js / Optimum model folder, relative to it. */
export const HUB_FILES = {
  config: 'config.json',
  generationConfig: 'generation_config.json',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  model: 'onnx/model.onnx',
} as const;

/** A Hugging Face LlamaConfig for a llama2.c model (llama2.c uses RMSNorm eps 1e-5 and RoPE theta 10000). */
export function hubConfig(c: Llama2cConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: c.dim / c.nHeads,
    max_position_embeddings: c.seqLen,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    rope_scaling: null,
    vocab_size: c.vocabSize,
    bos_token_id: BOS_ID,
    eos_token_id: EOS_ID,
    tie_word_embeddings: c.sharedClassifier,
    attention_bias: false,
    mlp_bias: false,
    hidden_act: 'silu',
    torch_dtype: 'float32',
    use_cache: true,
    'transformers.js_config': {},
  };
}

export function hubTokenizerConfig(c: Llama2cConfig): Record<string, unknown> {
  return {
    tokenizer_class: 'LlamaTokenizer',
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: null,
    add_bos_token: true,
    add_eos_token: false,
    model_max_length: c.seqLen,
    clean_up_tokenization_spaces: false,
    legacy: true,
  };
}

export interface HubExportOptions {
  /** Quantized variants written beside onnx/model.onnx (see HUB_VARIANTS): q4 onnx/model_q4.onnx, q8 onnx/model_quantized.onnx. */
  variants?: readonly HubVariant[];
}

/** The files an export with `variants` writes, relative to the folder. */
export function hubExportFiles(variants: readonly HubVariant[] = []): string[] {
  return [...Object.values(HUB_FILES), ...variants.map((v) => HUB_VARIANTS[v])];
}

/**
 * Writes `outDir` as a Transformers.js / Optimum model folder: config.json, generation_config.json,
 * tokenizer.json (`tokenizerJsonText`, as tokenizerJsonFromLlama2cBin derives it), tokenizer_config.json
 * and onnx/model.onnx (see buildHubDecoder), plus the quantized `variants` of that graph as ONNX
 * Runtime's quantizers write them (see quantize.ts). Everything is written into a sibling temporary
 * folder that replaces `outDir` at the end, so an error never leaves a half-written model folder behind.
 * An existing `outDir` is replaced only when it is empty or holds nothing but these files (an earlier export).
 * The work is synchronous, so a signal handler (the CLI's Ctrl-C) runs only after it; what an export
 * killed outright (SIGKILL) left beside `outDir` is cleaned up first (see cleanUpAfterKilledExport).
 */
export function exportHubFolder(weights: Llama2cWeights, tokenizerJsonText: string, outDir: string, options: HubExportOptions = {}): void {
  const variants = [...new Set(options.variants ?? [])];
  for (const v of variants) if (!Object.hasOwn(HUB_VARIANTS, v)) throw new UserError(`unknown variant ${v} (${Object.keys(HUB_VARIANTS).join(', ')})`);
  const out = resolve(outDir);
  cleanUpAfterKilledExport(out);
  checkReplaceable(out);
  try {
    JSON.parse(tokenizerJsonText);
  } catch (e) {
    throw new UserError(`the tokenizer JSON is not valid JSON: ${(e as Error).message}`);
  }
  mkdirSync(dirname(out), { recursive: true });
  const stamp = `${process.pid}-${Date.now()}`;
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${stamp}`);
  const old = join(dirname(out), `.${basename(out)}.old-${stamp}`);
  try {
    mkdirSync(join(tmp, dirname(HUB_FILES.model)), { recursive: true });
    const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
    writeFileSync(join(tmp, HUB_FILES.tokenizer), tokenizerJsonText);
    writeFileSync(join(tmp, HUB_FILES.tokenizerConfig), json(hubTokenizerConfig(weights.config)));
    writeFileSync(join(tmp, HUB_FILES.generationConfig), json({ bos_token_id: BOS_ID, eos_token_id: EOS_ID }));
    const fp32 = buildHubDecoder(weights);
    writeFileSync(join(tmp, HUB_FILES.model), fp32);
    for (const v of variants) writeFileSync(join(tmp, HUB_VARIANTS[v]), quantizeModelBytes(fp32, v));
    writeFileSync(join(tmp, HUB_FILES.config), json(hubConfig(weights.config)));
    if (existsSync(out)) renameSync(out, old);
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    // Put the earlier export back if the swap itself failed.
    if (existsSync(old) && !existsSync(out)) renameSync(old, out);
    throw e;
  }
  rmSync(old, { recursive: true, force: true });
}

/**
 * Removes the temporary folders of exports to `out` whose process is gone (killed by SIGKILL); an
 * earlier export that a killed one had moved aside to swap in its own goes back when `out` is missing.
 */
function cleanUpAfterKilledExport(out: string): void {
  const dir = dirname(out);
  const name = basename(out);
  for (const tmp of staleTemporaries(dir, `.${name}.tmp-`)) rmSync(tmp, { recursive: true, force: true });
  for (const old of staleTemporaries(dir, `.${name}.old-`)) {
    if (existsSync(out)) rmSync(old, { recursive: true, force: true });
    else renameSync(old, out);
  }
}

/** Refuses to replace a folder that holds anything an export does not write (it would be deleted). */
function checkReplaceable(out: string): void {
  if (!existsSync(out)) return;
  let entries: string[];
  try {
    entries = readdirSync(out);
  } catch {
    throw new UserError(`${out} exists and is not a folder`, { file: out });
  }
  const files = hubExportFiles(Object.keys(HUB_VARIANTS) as HubVariant[]);
  const ours = new Set(files.map((f) => f.split('/')[0]));
  const onnxDir = join(out, dirname(HUB_FILES.model));
  const onnxFiles = new Set(files.filter((f) => f.startsWith(`${dirname(HUB_FILES.model)}/`)).map((f) => basename(f)));
  const foreignOnnx = (e: string) => e === 'onnx' && (!statSync(onnxDir).isDirectory() || readdirSync(onnxDir).some((f) => !onnxFiles.has(f)));
  const foreign = entries.filter((e) => !ours.has(e) || foreignOnnx(e));
  if (foreign.length > 0) {
    throw new UserError(
      `${out} already holds other files (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); export into a new or empty folder, or an earlier export`,
      { file: out },
    );
  }
}
