/** The file-name rules of runs: artifact names, the files written next to them, numbered copies. */
import { UserError } from '../errors';
import { ARTIFACT_EXTENSION } from '../vectors/artifact';

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
  return `${safeStem(datasetId)}.${method}${ARTIFACT_EXTENSION}`;
}

/** `x.ivec.safetensors` -> `x` (the base of the files written next to it). */
export function artifactBase(fileName: string): string {
  return fileName.endsWith(ARTIFACT_EXTENSION) ? fileName.slice(0, -ARTIFACT_EXTENSION.length) : fileName.replace(/\.[^.]*$/, '');
}

/** `name.ext` -> `name-2.ext` (n >= 2), keeping compound extensions such as `.ivec.safetensors` and `.eval.json`. */
export function numberedName(fileName: string, n: number): string {
  const m = /^(.*?)((?:\.ivec)?\.[A-Za-z0-9]+)$/.exec(fileName);
  if (!m || m[1] === '') return `${fileName}-${n}`;
  return `${m[1]}-${n}${m[2]}`;
}

/** An artifact name must end with the artifact extension; `naming` says how the error names the field. */
export function checkArtifactName(name: string, naming: 'field' | 'flag' = 'field'): void {
  if (name.endsWith(ARTIFACT_EXTENSION)) return;
  if (naming === 'flag') throw new UserError(`--out must end with ${ARTIFACT_EXTENSION}, got "${name}"`, { file: name });
  throw new UserError(`must end with ${ARTIFACT_EXTENSION}, got "${name}"`, { field: 'out' });
}

// ---------------------------------------------------------------------------------------------
// A sweep's files: every writer (the CLI, the palette command) and every reader (the layer-effects
// panel) names them with these functions.

/** What a sweep's best vectors carry before the artifact extension: `<stem>.iv-sweep.ivec.safetensors`. */
const SWEEP_VECTORS_TAG = '.iv-sweep';
/** A sweep's rows (JSON Lines, appended as they finish): `<stem>.sweep.jsonl`. */
const SWEEP_ROWS_SUFFIX = '.sweep.jsonl';

/**
 * The key of the vectors' metadata.options under which a sweep writer records its rows file: a
 * path relative to the vectors' folder with `/` separators (a URI, or an absolute path, when there
 * is none), so that the layer-effects panel finds the sweep whatever the files are called.
 */
export const SWEEP_RESULTS_OPTION = 'sweepResults';

export interface SweepFileNames {
  /** The best configuration's vectors. */
  vectors: string;
  /** The rows, one per configuration (pass it as `results` to resume). */
  rows: string;
  /** The summary JSON and the rows as CSV (written next to the rows). */
  summary: string;
  csv: string;
}

/** The files of one sweep, all named from one stem (e.g. the dataset's safeStem). */
export function sweepFileNames(stem: string): SweepFileNames {
  const rows = `${stem}${SWEEP_ROWS_SUFFIX}`;
  return { vectors: `${stem}${SWEEP_VECTORS_TAG}${ARTIFACT_EXTENSION}`, rows, ...sweepReportNames(rows) };
}

/** The summary and CSV next to a rows file: `x.sweep.jsonl` -> `x.sweep.json`, `x.sweep.csv` (any `y.jsonl` -> `y.json`, `y.csv`). */
export function sweepReportNames(rowsName: string): { summary: string; csv: string } {
  const base = rowsName.endsWith('.jsonl') ? rowsName.slice(0, -'.jsonl'.length) : rowsName;
  return { summary: `${base}.json`, csv: `${base}.csv` };
}

/** The stem of a sweep's vectors file: `x.iv-sweep.ivec.safetensors` -> `x`; any other `y.ivec.safetensors` -> `y`. */
export function sweepStem(vectorsName: string): string {
  const base = artifactBase(vectorsName);
  return base.endsWith(SWEEP_VECTORS_TAG) && base.length > SWEEP_VECTORS_TAG.length ? base.slice(0, -SWEEP_VECTORS_TAG.length) : base;
}

/** The rows file a sweep writes for the vectors `vectorsName` when it is given no rows file: `x.iv-sweep.ivec.safetensors` and `x.ivec.safetensors` -> `x.sweep.jsonl`. */
export function sweepRowsName(vectorsName: string): string {
  return sweepFileNames(sweepStem(vectorsName)).rows;
}

/**
 * Files next to the vectors `vectorsName` that may hold its sweep rows, in the order a reader tries
 * them (after any file recorded under SWEEP_RESULTS_OPTION): the sweep's own rows
 * (sweepRowsName), then the names earlier versions looked for.
 */
export function sweepRowsCandidates(vectorsName: string): string[] {
  const base = artifactBase(vectorsName);
  return [...new Set([sweepRowsName(vectorsName), `${base}${SWEEP_ROWS_SUFFIX}`, `${base}.sweep-results.jsonl`, 'sweep.jsonl', 'sweep-results.jsonl'])];
}

/**
 * `to` relative to the folder `fromDir`, both `/`-separated absolute paths (URI paths, POSIX
 * paths): `relativePath('/w/.iv', '/w/.iv/x.sweep.jsonl')` = `x.sweep.jsonl`, `('/w/a', '/w/b/y')` = `../b/y`.
 */
export function relativePath(fromDir: string, to: string): string {
  const from = fromDir.split('/').filter(Boolean);
  const target = to.split('/').filter(Boolean);
  let common = 0;
  while (common < from.length && common < target.length - 1 && from[common] === target[common]) common++;
  return [...new Array<string>(from.length - common).fill('..'), ...target.slice(common)].join('/');
}

/** The vectors' metadata.options with the sweep's rows file recorded (`rows`: see SWEEP_RESULTS_OPTION). */
export function withSweepResults(options: Record<string, unknown>, rows: string): Record<string, unknown> {
  return { ...options, [SWEEP_RESULTS_OPTION]: rows };
}

/** The rows file recorded in the vectors' metadata.options, if any (see SWEEP_RESULTS_OPTION). */
export function recordedSweepResults(options: Record<string, unknown>): string | undefined {
  const v = options[SWEEP_RESULTS_OPTION];
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}
