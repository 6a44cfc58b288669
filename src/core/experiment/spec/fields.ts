/**
 * The one table of every setting an experiment takes: its name (camelCase, what an options object
 * and a recipe use), type and range, default, CLI flag, settings key (under `iterativeVectors.`)
 * and help. The CLI's flags and help, the palette's wizard, the settings' defaults, the panel and
 * inline steering all read it; package.json's settings are checked against it by a test.
 */
import { FV_DEFAULTS, FV_VARIANTS } from '../../baselines/functionVectors';
import { DEFAULT_TOKENIZATION, TOKENIZATIONS } from '../../icl/prompt';
import { EXTRACT_DEFAULTS, INJECT_AT, ZERO_SHOT_POSITIONS } from '../../iv/extract';
import { DEMO_ORDERS } from '../../icl/episodes';
import { DEVICE_SETTINGS, DTYPE_SETTINGS, TOKENIZER_SETTINGS } from '../../modelSettings';
import { CONTROL_VECTOR_PLACEMENTS } from '../../vectors/gguf';
import { DEFAULT_EVAL_STRENGTH, TV_SHOTS_GRID } from '../methods';
import { PAPER_GRID } from '../sweep';

export const EXTRACT_METHODS = ['iv', 'tv', 'fv'] as const;
export const EVAL_METHODS = ['icl', 'icl-calibrated', 'iv', 'tv', 'fv'] as const;
export type EvalMethod = (typeof EVAL_METHODS)[number];
export const SPLITS = ['train', 'validation', 'test'] as const;
export const HEATMAP_METRICS = ['kl', 'residual'] as const;

export const METHOD_DESCRIPTIONS: Record<EvalMethod, string> = {
  iv: 'Iterative Vectors (Algorithm 1/2)',
  tv: 'Task Vectors (Hendel et al. 2023), shots and layer chosen on validation',
  fv: 'Function Vectors (Todd et al. 2024)',
  icl: 'plain in-context learning, no steering',
  'icl-calibrated': 'in-context learning with contextual calibration fitted on validation',
};

/** What a number must be: between min and max (inclusive), and whole where `integer`. */
export interface NumberRange {
  min: number;
  max: number;
  integer?: boolean;
}

/** Seeds are unsigned 32-bit (the generator keeps the low 32 bits): a larger one would repeat a smaller one's stream. */
export const SEED_RANGE: NumberRange = { min: 0, max: 2 ** 32 - 1, integer: true };

export type Kind =
  | { kind: 'int'; min: number; max: number }
  | { kind: 'number'; min: number; max: number }
  | { kind: 'string' }
  | { kind: 'boolean' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'mapping' }
  | { kind: 'list' }
  | { kind: 'numbers'; allowEmpty?: boolean; range: NumberRange }
  | { kind: 'path' }
  | { kind: 'row' }
  /** A site pattern: a regex with {l} for the layer index, or "" for the runtime's site table. */
  | { kind: 'pattern' };

export type FieldSpec = Kind & {
  /** The CLI flag (without `--`); undefined for fields only the extension takes. */
  flag?: string;
  /** The setting (under `iterativeVectors.`) that seeds the default in the extension. */
  setting?: string;
  /** The built-in default; undefined: required, or decided at run time (the title says how). */
  default?: unknown;
  /** One line for the CLI help, the QuickPick and error messages. */
  title: string;
};

const int = (min: number, max: number, rest: Omit<FieldSpec, 'kind' | 'min' | 'max'>): FieldSpec => ({ kind: 'int', min, max, ...rest });
const num = (min: number, max: number, rest: Omit<FieldSpec, 'kind' | 'min' | 'max'>): FieldSpec => ({ kind: 'number', min, max, ...rest });
const oneOf = (values: readonly string[], rest: Omit<FieldSpec, 'kind' | 'values'>): FieldSpec => ({ kind: 'enum', values, ...rest });
const shotsList = { kind: 'numbers', range: { min: 1, max: 64, integer: true } } as const;

const TABLE = {
  // model (the machine settings, overridden for one run)
  model: {
    kind: 'string',
    flag: 'model',
    default: 'default',
    title: 'model: "default" (embedded stories15M), a llama2.c checkpoint (.bin), an exported model folder or .onnx file, or a hub id owner/name[@revision]',
  },
  device: oneOf(DEVICE_SETTINGS, { flag: 'device', default: 'cpu', title: 'execution provider; falls back to cpu with a note when unavailable' }),
  dtype: oneOf(DTYPE_SETTINGS, { flag: 'dtype', title: "hub models: the ONNX variant downloaded (auto: the repo's default)" }),
  offline: {
    kind: 'boolean',
    flag: 'offline',
    default: false,
    title: 'hub models: use the download cache only (also HF_HUB_OFFLINE=1); says which files are missing',
  },
  sitePattern: { kind: 'pattern', flag: 'site', title: "exported models: a regex with {l} naming each layer's attention output (empty: the site table)" },
  tokenizer: oneOf(TOKENIZER_SETTINGS, {
    flag: 'tokenizer',
    default: 'auto',
    title: "exported models: the tokenizer (auto: the model's own; bytes: token id = byte)",
  }),
  threads: int(1, 256, { flag: 'threads', title: 'intra-op threads (default: one per core)' }),
  cacheDir: {
    kind: 'path',
    flag: 'cache-dir',
    title: 'where converted models, instrumented graphs and hub downloads are cached (default $IV_CACHE_DIR or ~/.cache/iterative-vectors)',
  },
  json: { kind: 'boolean', flag: 'json', default: false, title: 'print one JSON object on stdout; progress goes to stderr' },
  // data and prompts
  dataset: { kind: 'path', flag: 'dataset', title: 'dataset: a folder with train/validation/test files, a .jsonl/.csv/.tsv/.parquet file, or stdlib:<name>' },
  textField: { kind: 'string', flag: 'text-field', title: 'text column (default: the first of text, sentence, question, ...)' },
  labelField: { kind: 'string', flag: 'label-field', title: 'label column (default: label)' },
  labelWords: { kind: 'mapping', flag: 'label-words', title: 'label words the prompt prints, label=word pairs (e.g. female=she,male=he)' },
  labelNames: { kind: 'list', flag: 'label-names', title: 'names of numeric labels, in class order (e.g. negative,positive)' },
  bos: { kind: 'boolean', flag: 'bos', setting: 'bos', default: false, title: 'start prompts with BOS (the official code does not)' },
  tokenization: oneOf(TOKENIZATIONS, {
    flag: 'tokenization',
    setting: 'tokenization',
    default: DEFAULT_TOKENIZATION,
    title: 'how prompt pieces become tokens (segments: each piece on its own, as the official code)',
  }),
  seed: int(SEED_RANGE.min, SEED_RANGE.max, { flag: 'seed', setting: 'seed', default: EXTRACT_DEFAULTS.seed, title: 'seed of the splits and episodes' }),
  // extraction
  method: oneOf(EVAL_METHODS, { flag: 'method', title: `method: ${EVAL_METHODS.join(', ')}` }),
  extEpisodes: int(1, 1e6, { flag: 'ext-episodes', setting: 'episodes', default: EXTRACT_DEFAULTS.episodes, title: 'extraction episodes (E)' }),
  extShots: int(1, 64, { flag: 'ext-shots', setting: 'shots', default: EXTRACT_DEFAULTS.shots, title: 'extraction demonstrations per class (k)' }),
  batch: int(0, 1e6, {
    flag: 'batch',
    setting: 'batch',
    default: EXTRACT_DEFAULTS.refreshEvery,
    title: 'refresh the vectors every b episodes (0: no iteration)',
  }),
  extStrength: num(0, 100, { flag: 'ext-strength', setting: 'extStrength', default: EXTRACT_DEFAULTS.strength, title: 'extraction strength (a1)' }),
  zeroShotPosition: oneOf(ZERO_SHOT_POSITIONS, {
    flag: 'zero-shot-position',
    setting: 'zeroShotPosition',
    default: EXTRACT_DEFAULTS.zeroShotPosition,
    title: 'where the zero-shot activation B is read',
  }),
  valEpisodes: int(1, 1e6, { flag: 'val-episodes', default: 200, title: 'validation episodes (Task Vectors, calibration, the sweep)' }),
  valShots: int(0, 64, {
    flag: 'val-shots',
    title: 'validation demonstrations per class when choosing the Task Vectors (default: the evaluation shots setting)',
  }),
  effectEpisodes: int(1, 1e5, { flag: 'effect-episodes', default: FV_DEFAULTS.effectEpisodes, title: 'Function Vectors: episodes for the indirect effects' }),
  topHeads: int(1, 1e4, { flag: 'top-heads', title: 'Function Vectors: heads kept (default: 2% of all heads, at least one)' }),
  fvVariant: oneOf(FV_VARIANTS, {
    flag: 'fv-variant',
    default: FV_DEFAULTS.variant,
    title: 'Function Vectors: how the indirect effects are measured (official: fv.py of the IV paper)',
  }),
  fvShots: int(1, 64, { flag: 'fv-shots', default: FV_DEFAULTS.shots, title: 'Function Vectors: demonstrations per class' }),
  tvShotsGrid: { ...shotsList, flag: 'tv-shots-grid', default: TV_SHOTS_GRID, title: 'Task Vectors: extraction shots tried on validation' },
  demoOrder: oneOf(DEMO_ORDERS, { flag: 'demo-order', default: 'shuffled', title: 'order of the demonstrations' }),
  // evaluation
  vector: { kind: 'path', flag: 'vector', title: 'vector artifact (.ivec.safetensors)' },
  strength: num(-100, 100, {
    flag: 'strength',
    setting: 'evalStrength',
    default: DEFAULT_EVAL_STRENGTH.iv,
    title: `steering strength at evaluation (a2; default: the vector file's chosen one, else ${DEFAULT_EVAL_STRENGTH.iv} for IV, ${DEFAULT_EVAL_STRENGTH.fv} for FV)`,
  }),
  split: oneOf(SPLITS, { flag: 'split', default: 'test', title: 'split evaluated' }),
  episodes: int(1, 1e7, { flag: 'episodes', setting: 'evalEpisodes', default: 1000, title: 'evaluation episodes (the paper uses 10,000 on test)' }),
  shots: int(0, 64, { flag: 'shots', setting: 'evalShots', default: 1, title: 'evaluation demonstrations per class (0: zero-shot)' }),
  injectAt: oneOf(INJECT_AT, { flag: 'inject-at', default: 'all', title: 'io positions that receive the vectors' }),
  resamples: int(0, 1e6, { flag: 'resamples', default: 1000, title: 'bootstrap resamples for the confidence intervals' }),
  // sweep and compare
  shotsGrid: { ...shotsList, flag: 'shots-grid', default: PAPER_GRID.shots, title: 'grid of extraction shots (k)' },
  extGrid: { kind: 'numbers', range: { min: 0, max: 100 }, flag: 'ext-grid', default: PAPER_GRID.extStrengths, title: 'grid of extraction strengths (a1)' },
  evalGrid: {
    kind: 'numbers',
    range: { min: -100, max: 100 },
    flag: 'eval-grid',
    default: PAPER_GRID.evalStrengths,
    title: 'grid of evaluation strengths (a2)',
  },
  noIterGrid: {
    kind: 'numbers',
    range: { min: -100, max: 100 },
    allowEmpty: true,
    flag: 'no-iter-grid',
    default: PAPER_GRID.noIterationStrengths,
    title: 'evaluation strengths of non-iterative vectors (b = 0); empty: none',
  },
  sweep: { kind: 'boolean', flag: 'sweep', default: false, title: 'compare: choose the IV configuration by a sweep on validation first' },
  sweepResults: { kind: 'path', flag: 'sweep-results', title: 'compare: the sweep rows file (JSON Lines; resumes a stopped sweep)' },
  // outputs
  out: { kind: 'path', flag: 'out', title: 'output file' },
  results: { kind: 'path', flag: 'results', title: 'results file' },
  episodesOut: { kind: 'path', flag: 'episodes-out', title: 'also write every episode (ids, labels, prompt tokens, scores) as JSON' },
  // GGUF export
  row: { kind: 'row', flag: 'row', title: 'row: "query", a class label or row index (extension: or { positive, negative } for a class difference)' },
  scale: num(-1e6, 1e6, { flag: 'scale', default: 1, title: 'multiplies every exported vector' }),
  placement: oneOf(CONTROL_VECTOR_PLACEMENTS, {
    flag: 'placement',
    default: 'after-block',
    title: 'where llama.cpp adds the vector: after-block (direction.l) or before-block (direction.l-1)',
  }),
  modelHint: { kind: 'string', flag: 'model-hint', title: "controlvector.model_hint (llama.cpp architecture; default: the model's)" },
  useLayerStrengths: { kind: 'boolean', flag: 'use-layer-strengths', default: false, title: "multiply by the artifact's per-layer strength envelope" },
  // layer-effects panel
  layerEpisodes: int(1, 1e6, {
    setting: 'layerEffects.episodes',
    default: 50,
    title: 'validation episodes per evaluation in the layer-effects panel (2 + 2 x layers evaluations per run)',
  }),
  // inline prompt steering
  inlineVector: {
    kind: 'string',
    setting: 'inline.vector',
    default: '',
    title: 'vector artifact (*.ivec.safetensors, workspace-relative) used by inline prompt steering; empty: pick one',
  },
  inlineStrength: num(-100, 100, {
    setting: 'inline.strength',
    default: 0.3,
    title:
      'strength of inline prompt steering: the vector is added at every new token, so free text needs less than evaluation (0.5 makes stories15M repetitive)',
  }),
  inlineRow: {
    kind: 'string',
    setting: 'inline.row',
    default: 'query',
    title: 'which row of the vectors steers a free prompt: "query" (the query row) or a class label or row index',
  },
  maxNewTokens: int(1, 4096, { setting: 'inline.maxNewTokens', default: 48, title: 'new tokens generated for each completion' }),
  temperature: num(0, 100, { setting: 'inline.temperature', default: 0, title: 'sampling temperature of inline completions (0: greedy)' }),
  inlineSeed: int(SEED_RANGE.min, SEED_RANGE.max, { setting: 'inline.seed', default: 42, title: 'seed of inline sampling' }),
  codeLens: { kind: 'boolean', setting: 'inline.codeLens', default: true, title: 'show "Run steered / Compare / Show layers" above prompt blocks' },
  heatmap: oneOf(HEATMAP_METRICS, {
    setting: 'inline.heatmap',
    default: 'kl',
    title: 'what the per-token heatmap shows: KL divergence of the next-token distribution, or the norm of the change of the residual stream',
  }),
} satisfies Record<string, FieldSpec>;

export type FieldName = keyof typeof TABLE;
export const FIELDS: Readonly<Record<FieldName, FieldSpec>> = TABLE;

export type CommandName = 'model' | 'extract' | 'evaluate' | 'sweep' | 'compare' | 'rerun' | 'selectModel' | 'exportGguf' | 'layerEffects' | 'steer';

const MODEL: FieldName[] = ['model', 'device', 'dtype', 'offline', 'sitePattern', 'tokenizer', 'threads'];
const TASK: FieldName[] = ['dataset', 'textField', 'labelField', 'labelWords', 'labelNames', 'bos', 'tokenization', 'seed'];
const CHOICE: FieldName[] = ['valEpisodes', 'demoOrder', 'effectEpisodes', 'topHeads', 'fvVariant', 'fvShots', 'tvShotsGrid'];
const IV: FieldName[] = ['batch', 'extStrength', 'zeroShotPosition'];
const EVAL: FieldName[] = ['split', 'episodes', 'shots', 'injectAt', 'resamples'];
const GRID: FieldName[] = ['shotsGrid', 'extGrid', 'evalGrid', 'noIterGrid'];

/** The fields each command takes (the CLI adds cacheDir and json to the model commands). */
export const COMMAND_FIELDS: Record<CommandName, readonly FieldName[]> = {
  // Every command that runs a model (the CLI's generate, bench, inspect, ...).
  model: MODEL,
  extract: [...MODEL, ...TASK, 'method', 'episodes', 'shots', ...IV, ...CHOICE, 'valShots', 'out', 'episodesOut'],
  evaluate: [...MODEL, ...TASK, 'method', 'vector', 'strength', ...EVAL, 'extEpisodes', 'extShots', ...IV, ...CHOICE, 'results', 'episodesOut'],
  sweep: [...MODEL, ...TASK, ...EVAL, 'extEpisodes', ...IV, 'valEpisodes', 'demoOrder', ...GRID, 'results', 'out'],
  compare: [
    ...MODEL,
    ...TASK,
    'strength',
    ...EVAL.filter((f) => f !== 'injectAt'),
    'extEpisodes',
    'extShots',
    ...IV,
    ...CHOICE,
    'sweep',
    ...GRID,
    'sweepResults',
    'results',
    'out',
  ],
  rerun: [...MODEL, 'vector', 'dataset', 'out'],
  selectModel: ['model', 'device', 'dtype', 'offline', 'sitePattern', 'tokenizer'],
  exportGguf: ['vector', 'row', 'out', 'scale', 'placement', 'modelHint', 'useLayerStrengths'],
  layerEffects: ['vector', 'dataset', 'episodes', 'seed', 'shots', 'strength', 'split', 'injectAt', 'sweepResults'],
  steer: ['inlineVector', 'inlineStrength', 'inlineRow', 'maxNewTokens', 'temperature', 'inlineSeed', 'codeLens', 'heatmap'],
};

/** Where extraction is the command, --episodes and --shots are the extraction's (E and k), as in the paper's scripts. */
const ALIASES: Partial<Record<CommandName, Partial<Record<FieldName, FieldName>>>> = {
  extract: { episodes: 'extEpisodes', shots: 'extShots' },
  // The panel's episodes are those of each of its 2 + 2L evaluations.
  layerEffects: { episodes: 'layerEpisodes' },
};

/** A field as a command reads it: extract's episodes and shots are E and k (range, default, setting). */
export function specFor(command: CommandName, field: FieldName): FieldSpec {
  const alias = ALIASES[command]?.[field];
  // Extraction makes vectors: only the methods that have them.
  if (command === 'extract' && field === 'method')
    return { ...FIELDS.method, kind: 'enum', values: EXTRACT_METHODS, default: 'iv', title: `method: ${EXTRACT_METHODS.join(', ')}` };
  if (alias) return { ...FIELDS[alias], flag: FIELDS[field].flag };
  return FIELDS[field];
}

/** The field a command reads for an aliased one (extract's `episodes` -> `extEpisodes`), else the field itself. */
export function canonicalField(command: CommandName, field: FieldName): FieldName {
  return ALIASES[command]?.[field] ?? field;
}
