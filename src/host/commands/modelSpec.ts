/**
 * The model settings as values: what a `model` string names (the embedded default, a local path, a
 * Hugging Face hub id), how the machine-scoped settings (`iterativeVectors.model`, `device`,
 * `hub.dtype`, `hub.offline`, `sitePattern`, `tokenizer`) are checked and turned into the runtime's
 * load options, and what makes a folder an exported model. Pure: no `vscode`, no onnxruntime, so it
 * is unit-tested directly (test/unit/hostOptions.test.ts).
 *
 * Hub ids are checked with the runtime's own `parseHubId` (Transformers.js' model-id rule): it pulls
 * only Transformers.js' small hub modules into the extension bundle (about 24 kB), not ONNX Runtime.
 */
import {
  DEVICE_SETTINGS,
  DTYPE_SETTINGS,
  sitePatternProblem,
  TOKENIZER_SETTINGS,
  type DeviceSetting,
  type DTypeSetting,
  type TokenizerSetting,
} from '../../core/modelSettings';
import { parseHubId } from '../../runtime/hub/hubSource';
import type { LoadOptions } from '../../runtime/loadModel';

/** The machine-scoped model settings, checked. */
export interface ModelSettings {
  /** "default", a path (llama2.c .bin, exported model folder, .onnx), or a hub id owner/name[@revision]. */
  model: string;
  device: DeviceSetting;
  dtype: DTypeSetting;
  offline: boolean;
  /** A regex with {l} naming each layer's attention output; "" = the runtime's site table. */
  sitePattern: string;
  tokenizer: TokenizerSetting;
}

export const DEFAULT_MODEL_SETTINGS: Readonly<ModelSettings> = {
  model: 'default',
  device: 'cpu',
  dtype: 'auto',
  offline: false,
  sitePattern: '',
  tokenizer: 'auto',
};

/** The setting keys (under `iterativeVectors.`) of each field; a change of any of them reloads the model. */
export const MODEL_SETTING_KEYS: Record<keyof ModelSettings, string> = {
  model: 'model',
  device: 'device',
  dtype: 'hub.dtype',
  offline: 'hub.offline',
  sitePattern: 'sitePattern',
  tokenizer: 'tokenizer',
};

export type ModelKind = 'default' | 'hub' | 'path';

const looksLikePath = (s: string) =>
  s.startsWith('/') ||
  s.startsWith('\\') ||
  /^[A-Za-z]:[\\/]/.test(s) ||
  s.startsWith('.') ||
  s.startsWith('~') ||
  s.includes('\\') ||
  /\.(bin|onnx)$/i.test(s);

/**
 * What a model string names: "default"; a hub id (`owner/name`, `owner/name@revision`) unless it
 * looks like a path (absolute, `./`, `~`, backslashes, `.bin` / `.onnx`); else a path. A relative
 * `dir/name` that exists on disk is a path too: the caller checks that (see selectModel).
 */
export function modelKind(model: string): ModelKind {
  const m = model.trim();
  if (m === 'default' || m === '') return 'default';
  if (!looksLikePath(m) && parseHubId(m)) return 'hub';
  return 'path';
}

/** Why `text` is not a hub id (for the InputBox), or undefined when it is one. */
export function hubIdProblem(text: string): string | undefined {
  const t = text.trim();
  if (t === '') return 'give a model id: owner/name or owner/name@revision (e.g. onnx-community/SmolLM2-135M-Instruct)';
  if (looksLikePath(t)) return `"${t}" looks like a file path, not a hub id (owner/name or owner/name@revision)`;
  if (!parseHubId(t)) return `"${t}" is not a hub model id: owner/name or owner/name@revision, letters, digits, "-", "_" and "." only`;
  return undefined;
}

/**
 * Why a folder is not an exported model, or undefined when it looks like one: an onnxruntime-genai
 * folder (genai_config.json), a Transformers.js / Optimum folder (config.json + onnx/*.onnx), or a
 * folder of .onnx files. `entries`: the folder's file names; `onnxEntries`: those of its onnx/
 * subfolder (undefined when there is none).
 */
export function modelFolderProblem(folder: string, entries: readonly string[], onnxEntries: readonly string[] | undefined): string | undefined {
  const isOnnx = (f: string) => f.toLowerCase().endsWith('.onnx');
  if (entries.includes('genai_config.json') || entries.some(isOnnx) || (onnxEntries ?? []).some(isOnnx)) return undefined;
  const found = entries.includes('config.json')
    ? onnxEntries
      ? ' (it has config.json, but onnx/ holds no .onnx file)'
      : ' (it has config.json, but no onnx/ folder)'
    : '';
  return `no exported model in ${folder}${found}: looked for genai_config.json (onnxruntime-genai layout), config.json with onnx/*.onnx (Transformers.js / Optimum layout) and *.onnx files`;
}

/** Why a model file cannot be loaded, or undefined: llama2.c checkpoints are .bin, exported decoders .onnx. */
export function modelFileProblem(path: string): string | undefined {
  if (/\.(bin|onnx)$/i.test(path)) return undefined;
  return `${path} is neither a llama2.c checkpoint (.bin) nor an ONNX decoder (.onnx); give "default", a .bin, an .onnx, an exported model folder or a hub id`;
}

/**
 * Settings as read (any JSON a user may have typed) -> ModelSettings: a bad value falls back to the
 * default and is reported in `problems` (the engine logs them).
 */
export function sanitizeModelSettings(raw: Partial<Record<keyof ModelSettings, unknown>>): { settings: ModelSettings; problems: string[] } {
  const s: ModelSettings = { ...DEFAULT_MODEL_SETTINGS };
  const problems: string[] = [];
  const bad = (key: keyof ModelSettings, why: string) =>
    problems.push(`setting iterativeVectors.${MODEL_SETTING_KEYS[key]}: ${why}; using ${JSON.stringify(DEFAULT_MODEL_SETTINGS[key])}`);
  const oneOf = <T extends string>(key: keyof ModelSettings, values: readonly T[]): T | undefined => {
    const v = raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    bad(key, `${JSON.stringify(v)} is not one of ${values.join(', ')}`);
    return undefined;
  };
  if (typeof raw.model === 'string' && raw.model.trim() !== '') s.model = raw.model.trim();
  else if (raw.model !== undefined && raw.model !== null && raw.model !== '') bad('model', `${JSON.stringify(raw.model)} is not a string`);
  s.device = oneOf('device', DEVICE_SETTINGS) ?? s.device;
  s.dtype = oneOf('dtype', DTYPE_SETTINGS) ?? s.dtype;
  s.tokenizer = oneOf('tokenizer', TOKENIZER_SETTINGS) ?? s.tokenizer;
  if (typeof raw.offline === 'boolean') s.offline = raw.offline;
  else if (raw.offline !== undefined && raw.offline !== null) bad('offline', `${JSON.stringify(raw.offline)} is not true or false`);
  if (typeof raw.sitePattern === 'string') {
    const p = raw.sitePattern.trim();
    const problem = sitePatternProblem(p);
    if (problem) bad('sitePattern', problem);
    else s.sitePattern = p;
  } else if (raw.sitePattern !== undefined && raw.sitePattern !== null) bad('sitePattern', `${JSON.stringify(raw.sitePattern)} is not a string`);
  return { settings: s, problems };
}

export type ModelLoadOptions = Required<Pick<LoadOptions, 'model' | 'device' | 'offline' | 'tokenizer'>> & Pick<LoadOptions, 'dtype' | 'site'>;

/**
 * The runtime's load options for model settings: dtype "auto" and an empty site pattern are left to
 * the runtime (undefined); `HF_HUB_OFFLINE=1` in the environment makes hub loads offline, as in the CLI.
 */
export function loadOptionsOf(s: ModelSettings, env: { HF_HUB_OFFLINE?: string } = {}): ModelLoadOptions {
  return {
    model: s.model,
    device: s.device,
    dtype: s.dtype === 'auto' ? undefined : s.dtype,
    offline: s.offline || env.HF_HUB_OFFLINE === '1',
    site: s.sitePattern === '' ? undefined : s.sitePattern,
    tokenizer: s.tokenizer,
  };
}

/** A model string for titles and messages: the default by name, a path by its last part, a hub id as is. */
export function modelLabel(model: string): string {
  if (modelKind(model) === 'default') return 'stories15M (embedded default)';
  if (modelKind(model) === 'hub') return model.trim();
  const parts = model
    .trim()
    .split(/[\\/]+/)
    .filter(Boolean);
  return parts.at(-1) ?? model;
}

/** One line on where a loaded model runs: "cpu", or "cpu (cuda failed: ...)" when a provider fell back. */
export function providerSummary(executionProvider: string, fallbacks: readonly string[]): string {
  return fallbacks.length ? `${executionProvider} (fallback: ${fallbacks.join('; ')})` : executionProvider;
}
