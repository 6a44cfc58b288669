/**
 * The names a user may give for how a model is loaded: execution providers, hub dtypes, tokenizer
 * modes, site patterns. Pure vocabulary: src/runtime implements them, every face checks against them.
 */

/** `auto` tries the accelerators this platform ships, then the CPU. */
export const DEVICE_SETTINGS = ['cpu', 'cuda', 'dml', 'coreml', 'webgpu', 'auto'] as const;
export type DeviceSetting = (typeof DEVICE_SETTINGS)[number];

/** The ONNX variants of a hub repo (Transformers.js' dtype names). */
export const HUB_DTYPES = ['fp32', 'fp16', 'q8', 'q4', 'q4f16', 'int8', 'uint8', 'bnb4'] as const;
export type HubDType = (typeof HUB_DTYPES)[number];
/** "auto": the repo's default variant. */
export const DTYPE_SETTINGS = ['auto', ...HUB_DTYPES] as const;
export type DTypeSetting = (typeof DTYPE_SETTINGS)[number];

/** The model's own tokenizer (tokenizer.json, tokenizer.bin) or a byte vocabulary. */
export const TOKENIZER_SETTINGS = ['auto', 'bytes'] as const;
export type TokenizerSetting = (typeof TOKENIZER_SETTINGS)[number];

/** Why a site pattern (a regex with {l} for the layer index; "" = the runtime's site table) is unusable, or undefined. */
export function sitePatternProblem(pattern: string): string | undefined {
  if (pattern === '') return undefined;
  if (!pattern.includes('{l}')) return `must contain {l} for the layer index (e.g. "^/model/layers\\.{l}/attn/o_proj/MatMul$"), got "${pattern}"`;
  try {
    new RegExp(pattern.split('{l}').join('0'));
  } catch (e) {
    return `is not a valid regular expression: ${(e as Error).message}`;
  }
  return undefined;
}
