/**
 * Checked options + defaults -> the core's requests. Every face resolves a run the same way: the
 * options given, else the defaults (the extension's settings, else the table's built-ins).
 */
import { UserError } from '../../errors';
import type { LoadDatasetOptions } from '../../datasets/types';
import type { Tokenization } from '../../icl/prompt';
import type { VectorArtifact, VectorMethod } from '../../vectors/artifact';
import { promptOptionsOf, resolveStrength, type StrengthSource } from '../artifacts';
import type { ExtractMethod, ExtractRequest } from '../extraction';
import { DEFAULT_EVAL_STRENGTH, type EvalOptions } from '../methods';
import type { SweepGrid } from '../sweep';
import { canonicalField, COMMAND_FIELDS, FIELDS, type CommandName, type EvalMethod, type FieldName } from './fields';
import { parseSetting, type CheckedOptions, type PathValue } from './parse';

/** The defaults a run falls back on: every field's value when the options leave it unset. */
export type Defaults = Readonly<CheckedOptions>;

/** The table's built-in defaults (the CLI's). */
export const BUILTIN_DEFAULTS: Defaults = Object.fromEntries(
  Object.entries(FIELDS).flatMap(([name, spec]) =>
    'default' in spec && spec.default !== undefined ? [[name, Array.isArray(spec.default) ? [...spec.default] : spec.default]] : [],
  ),
) as Defaults;

/** The fields a setting seeds, with its key under `iterativeVectors.`. */
export const SETTING_FIELDS: readonly { field: FieldName; key: string }[] = Object.entries(FIELDS).flatMap(([field, spec]) =>
  'setting' in spec && spec.setting ? [{ field: field as FieldName, key: spec.setting }] : [],
);

/**
 * Settings as read (any JSON a user may have typed) -> Defaults: each value is checked like the
 * field it seeds; a bad one falls back to the built-in default and is reported in `problems`.
 */
export function defaultsFromSettings(read: (key: string) => unknown): { defaults: Defaults; problems: string[] } {
  const defaults: Record<string, unknown> = { ...BUILTIN_DEFAULTS };
  const problems: string[] = [];
  for (const { field, key } of SETTING_FIELDS) {
    const raw = read(key);
    if (raw === undefined || raw === null) continue;
    const r = parseSetting(field, raw);
    if ('error' in r) problems.push(`setting iterativeVectors.${key}: ${r.error}; using ${JSON.stringify(BUILTIN_DEFAULTS[field as keyof Defaults])}`);
    else defaults[field] = r.value;
  }
  return { defaults: defaults as Defaults, problems };
}

/**
 * The run's options with the defaults filled in, under the names the requests read: extract's
 * episodes and shots become extEpisodes and extShots; its evaluation fields keep their defaults.
 */
export function resolveOptions(command: CommandName, o: CheckedOptions, d: Defaults = BUILTIN_DEFAULTS): CheckedOptions {
  const given: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) given[canonicalField(command, k as FieldName)] = v;
  return { ...d, ...given };
}

/** The value a field takes for a command: given, else the default; undefined: decided at run time. */
export function effectiveValue(command: CommandName, field: FieldName, o: CheckedOptions, d: Defaults): unknown {
  if (!COMMAND_FIELDS[command].includes(field)) return undefined;
  return resolveOptions(command, o, d)[canonicalField(command, field)];
}

export interface DatasetRequest {
  source: PathValue;
  load: LoadDatasetOptions;
  bos: boolean;
  tokenization: Tokenization;
}

/** What loads the data: the source (required), the columns, label words and names, and the split seed. */
export function datasetRequest(r: CheckedOptions): DatasetRequest {
  if (r.dataset === undefined)
    throw new UserError('required: a folder with train/validation/test files, a .jsonl/.csv/.tsv/.parquet file, or stdlib:<name>', { field: 'dataset' });
  return {
    source: r.dataset,
    load: { textField: r.textField, labelField: r.labelField, labelWords: r.labelWords, labelNames: r.labelNames, seed: r.seed! },
    bos: r.bos!,
    tokenization: r.tokenization!,
  };
}

export type ExtractRequestBody = Omit<ExtractRequest, 'tokenizerSha256' | 'cancellation' | 'onProgress'>;

/** The extraction request of resolved options. Task Vectors' shots and layer are chosen on validation with the evaluation's shots. */
export function extractRequestOf(r: CheckedOptions, method: ExtractMethod): ExtractRequestBody {
  return {
    method,
    iv: {
      episodes: r.extEpisodes!,
      shots: r.extShots!,
      refreshEvery: r.batch!,
      strength: r.extStrength!,
      seed: r.seed!,
      zeroShotPosition: r.zeroShotPosition!,
    },
    validation: { shots: r.valShots ?? r.shots!, episodes: r.valEpisodes!, seed: r.seed!, demoOrder: r.demoOrder!, resamples: 0 },
    tv: { shotsGrid: r.tvShotsGrid! },
    fv: { variant: r.fvVariant!, shots: r.fvShots!, effectEpisodes: r.effectEpisodes!, topHeads: r.topHeads },
  };
}

export type EvalOptionsBody = Omit<EvalOptions, 'cancellation' | 'onProgress'>;

/** The evaluation's episodes. */
export function evalOptionsOf(r: CheckedOptions): EvalOptionsBody {
  return { split: r.split!, shots: r.shots!, episodes: r.episodes!, seed: r.seed!, demoOrder: r.demoOrder!, resamples: r.resamples! };
}

/** Validation runs (calibration, Task Vectors, the sweep) with the evaluation's shots and order. */
export function validationOptionsOf(r: CheckedOptions): EvalOptionsBody {
  return { ...evalOptionsOf(r), split: 'validation', episodes: r.valEpisodes!, resamples: 0 };
}

/**
 * Steering strength at evaluation: the option, else the strength the vector file's sweep chose, else
 * the default (the evalStrength setting for Iterative Vectors, 1 for Function Vectors).
 */
export function evalStrengthOf(method: EvalMethod, o: CheckedOptions, d: Defaults, artifact?: VectorArtifact): { strength: number; source: StrengthSource } {
  return resolveStrength(artifact, o.strength, method === 'fv' ? DEFAULT_EVAL_STRENGTH.fv : d.strength!);
}

export function sweepGridOf(r: CheckedOptions): SweepGrid {
  return { shots: r.shotsGrid!, extStrengths: r.extGrid!, evalStrengths: r.evalGrid!, noIterationStrengths: r.noIterGrid! };
}

export const METHOD_OF_ARTIFACT: Record<VectorMethod, ExtractMethod> = { 'iterative-vectors': 'iv', 'task-vector': 'tv', 'function-vector': 'fv' };

/** Evaluate's method: the option, else the vector file's; a vector of another method is an error. Undefined when neither says. */
export function evaluateMethodOf(o: CheckedOptions, artifactMethod: VectorMethod | undefined): EvalMethod | undefined {
  const fromVector = artifactMethod && METHOD_OF_ARTIFACT[artifactMethod];
  if (o.method && fromVector && o.method !== fromVector)
    throw new UserError(`the vector file holds a ${fromVector} artifact, not ${o.method}`, { field: 'method' });
  if (o.method && !fromVector && o.vector !== undefined) throw new UserError(`method ${o.method} takes no vector file`, { field: 'vector' });
  return o.method ?? fromVector;
}

/** The dataset options an artifact stores, so that evaluating or re-running it loads the same data with the same label words. */
export interface StoredDatasetOptions {
  textField?: string;
  labelField?: string;
  labelWords?: Record<string, string>;
  labelNames?: string[];
}

/** The dataset options of a loaded dataset, as stored in the artifact (label words only where they differ from the labels). */
export function storedDatasetOptions(
  dataset: { textField: string; labelField: string; labels: readonly string[]; sourceLabels: readonly string[] },
  given: CheckedOptions,
): StoredDatasetOptions {
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
 * still exists, as `exists` says), columns, label words, BOS, tokenization and seed. Given options win.
 */
export function optionsFromArtifact(
  meta: { dataset: { source: string }; options: Record<string, unknown> },
  given: CheckedOptions,
  exists: (path: string) => boolean,
): CheckedOptions {
  const seeded: CheckedOptions = {};
  const source = meta.dataset.source;
  if (source.startsWith('stdlib:') || (source !== '' && exists(source))) seeded.dataset = source;
  const s = meta.options.datasetOptions;
  if (typeof s === 'object' && s !== null) {
    const stored = s as Record<string, unknown>;
    for (const f of ['textField', 'labelField', 'labelWords', 'labelNames'] as const) {
      // A hand-edited artifact's bad value is left to the user.
      if (stored[f] !== undefined && !('error' in parseSetting(f, stored[f])))
        (seeded as Record<string, unknown>)[f] = (parseSetting(f, stored[f]) as { value: unknown }).value;
    }
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
