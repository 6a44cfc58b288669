/**
 * The sweep results file (JSON Lines): line 1 is a header naming the format and the settings that
 * determine every row's numbers, the rows follow, one SweepRow per line, appended as they finish:
 *
 *   {"format":"iv-sweep/1","settings":{"model":{...},"dataset":{...},"verbalizer":{...},"extract":{...},"eval":{...},"injectAt":"all"}}
 *   {"shots":1,"refreshEvery":10,"extStrength":0.3,"evalStrength":0.5,"accuracy":0.61,"macroF1":0.6,...}
 *
 * Pure (no file access): runSweep, the sweep commands and the layer-effects panel all read a file's
 * text through parseSweepResults.
 */
import { UserError } from '../errors';
import { parseJson } from '../json';
import type { SweepRow } from './sweep';

export const SWEEP_FORMAT = 'iv-sweep/1';

/** What the rows' numbers depend on, as JSON (see sweepSettings in sweep.ts). */
export type SweepSettings = Record<string, unknown>;

export interface SweepResults {
  /** The header's settings; null only for a file with no lines at all (a new file). */
  settings: SweepSettings | null;
  rows: SweepRow[];
  /** The 1-based line of an unfinished last line that was skipped (see ParseSweepOptions); absent when none was. */
  partialLine?: number;
}

export interface ParseSweepOptions {
  /**
   * A last line without its newline that is not valid JSON (what a sweep killed while appending a
   * row leaves): 'error' (default) refuses it like any bad line; 'skip' leaves it out and says so in
   * `partialLine`, for a sweep that resumes and for a reader of a file a sweep may still be writing.
   */
  partialLastLine?: 'error' | 'skip';
}

/** The header line (with its newline) of a results file for these settings. */
export function sweepHeaderLine(settings: SweepSettings): string {
  return `${JSON.stringify({ format: SWEEP_FORMAT, settings })}\n`;
}

/**
 * The settings and rows of a results file's text. Blank lines are skipped. A missing header (a file
 * written before results files carried their settings, or not a sweep file), a header of another
 * format, a line that is not JSON (or names a key twice) or not a row is a UserError naming the
 * file and the 1-based line.
 */
export function parseSweepResults(text: string, file?: string, options: ParseSweepOptions = {}): SweepResults {
  const lines = text.split('\n');
  const rows: SweepRow[] = [];
  let settings: SweepSettings | null = null;
  const fix = 'Use another results file, or delete this one to start the sweep over.';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line.trim()) continue;
    const last = i === lines.length - 1;
    let value: unknown;
    try {
      value = parseJson(line);
    } catch (e) {
      if (last && options.partialLastLine === 'skip') return { settings, rows, partialLine: i + 1 };
      const cut = last ? ' (the last line, without its newline: a sweep stopped while writing it?)' : '';
      // Each line is a JSON text of its own: parseJson's "line 1" is the file's line i + 1, its field the key named twice.
      const field = e instanceof UserError ? e.location.field : undefined;
      const reason = (e as Error).message.replace(/^field "[^"]*": /, '').replace(/\bline 1, (column \d+)/, '$1');
      throw new UserError(`${reason}${cut}. ${fix}`, { file, line: i + 1, field });
    }
    if (settings === null) {
      settings = headerSettings(value, file, i + 1, fix);
      continue;
    }
    const problem = sweepRowProblem(value);
    if (problem) throw new UserError(`not a sweep row: ${problem}. ${fix}`, { file, line: i + 1 });
    rows.push(value as SweepRow);
  }
  return { settings, rows };
}

function headerSettings(value: unknown, file: string | undefined, line: number, fix: string): SweepSettings {
  const h = isObject(value) ? value : undefined;
  if (h && typeof h.format === 'string' && h.format !== SWEEP_FORMAT) {
    throw new UserError(`the results file is in format "${h.format}"; this version reads "${SWEEP_FORMAT}". ${fix}`, { file, line });
  }
  if (!h || h.format !== SWEEP_FORMAT || !isObject(h.settings)) {
    const old = h && sweepRowProblem(h) === undefined;
    const what = old
      ? 'has no header: it was written by an older version, before results files recorded the settings of their rows, so its rows cannot be checked against this run'
      : `does not start with a "${SWEEP_FORMAT}" header, so it is not a sweep results file`;
    throw new UserError(`the results file ${what}. ${fix}`, { file, line });
  }
  return h.settings;
}

function sweepRowProblem(x: unknown): string | undefined {
  if (!isObject(x)) return 'not an object';
  for (const k of ['shots', 'refreshEvery', 'extStrength', 'evalStrength', 'accuracy', 'macroF1']) if (!isFiniteNumber(x[k])) return `${k} must be a number`;
  if (!Array.isArray(x.predictionShares)) return 'predictionShares must be an array';
  return undefined;
}

/** One setting that differs: its dotted path, the value in the file and this run's (undefined: absent). */
export interface SettingDifference {
  field: string;
  recorded: unknown;
  current: unknown;
}

/** The leaves (dotted paths; arrays compared whole) that differ between two settings objects. */
export function settingsDifferences(recorded: SweepSettings, current: SweepSettings): SettingDifference[] {
  const out: SettingDifference[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (isObject(a) && isObject(b)) {
      const keys = [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))];
      for (const k of keys) walk(a[k], b[k], path ? `${path}.${k}` : k);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      out.push({ field: path, recorded: a, current: b });
    }
  };
  walk(recorded, current, '');
  return out;
}

/** Throws a UserError listing every difference when the file's settings are not this run's. */
export function checkSweepSettings(recorded: SweepSettings, current: SweepSettings, file: string): void {
  const diffs = settingsDifferences(recorded, current);
  if (diffs.length === 0) return;
  const show = (v: unknown) => {
    if (v === undefined) return '(absent)';
    const s = JSON.stringify(v);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  };
  const list = diffs.map((d) => `${d.field} is ${show(d.recorded)} there, ${show(d.current)} now`).join('; ');
  throw new UserError(
    `the rows in this results file were computed with other settings than this run's, so they cannot be reused: ${list}. Use another results file for these settings, or delete this one to start the sweep over.`,
    { file },
  );
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
