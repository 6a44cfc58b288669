/**
 * One parser and validator for every face: an options object (the extension's commands), CLI flags
 * (strings from parseArgs) and typed text (the palette) all go through `parseField`, so a value is
 * accepted or refused the same way everywhere. Errors name the field (or, from the CLI, the flag).
 */
import { UserError } from '../../errors';
import type { SplitName } from '../../datasets/types';
import type { DemoOrder } from '../../icl/episodes';
import type { Tokenization } from '../../icl/prompt';
import type { InjectAt, ZeroShotPosition } from '../../iv/extract';
import type { FunctionVectorVariant } from '../../baselines/functionVectors';
import type { ControlVectorPlacement } from '../../vectors/gguf';
import { sitePatternProblem, type DeviceSetting, type DTypeSetting, type TokenizerSetting } from '../../modelSettings';
import { COMMAND_FIELDS, FIELDS, specFor, type CommandName, type EvalMethod, type FieldName, type FieldSpec, type NumberRange } from './fields';

/** A file given programmatically: a path (absolute, or relative to the workspace folder) or a URI-like object (`vscode.Uri` or its JSON form). */
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

export type RowOption = 'query' | number | string | { positive: number | string; negative: number | string };

/** The options of a command, checked: every field known and of the right type (what FIELDS declares). */
export interface CheckedOptions {
  model?: string;
  device?: DeviceSetting;
  dtype?: DTypeSetting;
  offline?: boolean;
  sitePattern?: string;
  tokenizer?: TokenizerSetting;
  threads?: number;
  cacheDir?: PathValue;
  json?: boolean;
  dataset?: PathValue;
  textField?: string;
  labelField?: string;
  labelWords?: Record<string, string>;
  labelNames?: string[];
  bos?: boolean;
  tokenization?: Tokenization;
  seed?: number;
  method?: EvalMethod;
  extEpisodes?: number;
  extShots?: number;
  batch?: number;
  extStrength?: number;
  zeroShotPosition?: ZeroShotPosition;
  valEpisodes?: number;
  valShots?: number;
  effectEpisodes?: number;
  topHeads?: number;
  fvVariant?: FunctionVectorVariant;
  fvShots?: number;
  tvShotsGrid?: number[];
  demoOrder?: DemoOrder;
  vector?: PathValue;
  strength?: number;
  split?: SplitName;
  episodes?: number;
  shots?: number;
  injectAt?: InjectAt;
  resamples?: number;
  shotsGrid?: number[];
  extGrid?: number[];
  evalGrid?: number[];
  noIterGrid?: number[];
  sweep?: boolean;
  sweepResults?: PathValue;
  out?: PathValue;
  results?: PathValue;
  episodesOut?: PathValue;
  row?: RowOption;
  scale?: number;
  placement?: ControlVectorPlacement;
  modelHint?: string;
  useLayerStrengths?: boolean;
  layerEpisodes?: number;
  inlineVector?: string;
  inlineStrength?: number;
  inlineRow?: string;
  maxNewTokens?: number;
  temperature?: number;
  inlineSeed?: number;
  codeLens?: boolean;
  heatmap?: 'kl' | 'residual';
}

// The interface above and the table name the same fields: adding one to only one of them fails to compile.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const sameFields: Same<keyof CheckedOptions, FieldName> = true;
void sameFields;

/** How errors name a field: the extension's field name, or the CLI's flag. */
export type Naming = 'field' | 'flag';

function fieldError(command: CommandName, field: FieldName, naming: Naming, message: string, subfield = ''): UserError {
  const flag = specFor(command, field).flag;
  if (naming === 'flag' && flag) return new UserError(`--${flag}${subfield} ${message}`);
  return new UserError(message, { field: `${field}${subfield}` });
}

/** Plain decimal notation only: no hex, binary or octal forms, no empty strings. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * A number given as a JS number or as text: its value, or why it is not one. `reason` is set only
 * where Number() would have silently read something else than what was written (`0x10` as 16,
 * `2e-324` as 0, `1e309` as Infinity, `""` as 0).
 */
function readNumber(raw: unknown): { value: number } | { reason?: string } {
  if (typeof raw === 'number') return Number.isFinite(raw) ? { value: raw === 0 ? 0 : raw } : {};
  if (typeof raw !== 'string') return {};
  const t = raw.trim();
  if (t === '') return { reason: 'empty' };
  if (!DECIMAL.test(t)) return /^[+-]?0[box]/i.test(t) ? { reason: 'write numbers in decimal, not in hexadecimal, octal or binary' } : {};
  const n = Number(t);
  if (!Number.isFinite(n)) return { reason: 'too large to represent' };
  if (n === 0 && /[1-9]/.test(t.replace(/e.*$/i, ''))) return { reason: 'too small to represent: it would be read as 0' };
  return { value: n === 0 ? 0 : n }; // -0 is 0
}

const inRange = (n: number, r: NumberRange) => n >= r.min && n <= r.max && (!r.integer || Number.isInteger(n));

/**
 * The one number reader for values from users (spec fields, grids, the CLI's other numeric flags):
 * the value in `range`, or the message saying why it is refused (to follow the field's or flag's name).
 */
export function checkNumber(raw: unknown, range: NumberRange): { value: number } | { error: string } {
  const r = readNumber(raw);
  if ('value' in r && inRange(r.value, range)) return r;
  const why = 'reason' in r && r.reason ? ` (${r.reason})` : '';
  // JSON.stringify writes Infinity and NaN as null.
  const shown = typeof raw === 'number' ? String(raw) : JSON.stringify(raw);
  return { error: `must be ${range.integer ? 'an integer' : 'a number'} in [${range.min}, ${range.max}], got ${shown}${why}` };
}

function parseMapping(raw: unknown): Record<string, string> | string {
  const out: Record<string, string> = {};
  if (typeof raw === 'string') {
    for (const pair of raw.split(',')) {
      const eq = pair.indexOf('=');
      if (eq <= 0 || pair.slice(0, eq).trim() === '') return `takes label=word pairs separated by commas, e.g. female=she,male=he; got "${pair}"`;
      out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
    return out;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return `must be an object of label -> word, e.g. { "female": "she", "male": "he" }, got ${JSON.stringify(raw)}`;
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string' || k.trim() === '') return `must map each label to a word (a string); "${k}" maps to ${JSON.stringify(v)}`;
    out[k] = v;
  }
  return out;
}

function parseList(raw: unknown): string[] | string {
  const list = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()) : raw;
  if (!Array.isArray(list) || !list.every((s) => typeof s === 'string' && s.trim() !== ''))
    return `must be a list of non-empty strings (or one string separated by commas), got ${JSON.stringify(raw)}`;
  return list.map((s: string) => s.trim());
}

function parseNumbers(raw: unknown, spec: Extract<FieldSpec, { kind: 'numbers' }>): number[] | string {
  const list = typeof raw === 'string' ? (raw.trim() === '' ? [] : raw.split(',').map((s) => s.trim())) : raw;
  if (!Array.isArray(list)) return `must be a list of numbers (or one string separated by commas), got ${JSON.stringify(raw)}`;
  const values: number[] = [];
  for (const x of list) {
    const r = readNumber(x);
    if (!('value' in r))
      return `must be a list of numbers separated by commas, got ${JSON.stringify(raw)}${r.reason ? ` (${JSON.stringify(x)}: ${r.reason})` : ''}`;
    values.push(r.value);
  }
  if (values.length === 0 && !spec.allowEmpty) return 'needs at least one value';
  const r = spec.range;
  if (!values.every((v) => inRange(v, r))) return `takes ${r.integer ? 'whole numbers' : 'numbers'} from ${r.min} to ${r.max}, got ${JSON.stringify(raw)}`;
  return values;
}

function parseRow(raw: unknown): RowOption | { error: string; subfield?: string } {
  if (typeof raw === 'number') return Number.isInteger(raw) && raw >= 0 ? raw : { error: `a row index must be a non-negative integer, got ${raw}` };
  if (typeof raw === 'string' && raw.trim() !== '') return /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw.trim();
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const extra = Object.keys(raw).filter((k) => k !== 'positive' && k !== 'negative');
    if (extra.length) return { error: 'a class difference takes only "positive" and "negative"', subfield: `.${extra[0]}` };
    const out: Record<string, number | string> = {};
    for (const k of ['positive', 'negative'] as const) {
      const v = (raw as Record<string, unknown>)[k];
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) out[k] = v;
      else if (typeof v === 'string' && v.trim() !== '') out[k] = v.trim();
      else return { error: `must be a class label or a row index, got ${JSON.stringify(v)}`, subfield: `.${k}` };
    }
    return out as RowOption;
  }
  return { error: `must be "query", a class label, a row index or { positive, negative }, got ${JSON.stringify(raw)}` };
}

/** The value or the reason it is refused. */
function parseValue(spec: FieldSpec, raw: unknown): { value: unknown } | { error: string; subfield?: string } {
  const wrap = (v: unknown) => (typeof v === 'string' ? { error: v } : { value: v });
  switch (spec.kind) {
    case 'int':
    case 'number':
      return checkNumber(raw, { min: spec.min, max: spec.max, integer: spec.kind === 'int' });
    case 'string':
      return typeof raw === 'string' && raw.trim() !== '' ? { value: raw.trim() } : { error: `must be a non-empty string, got ${JSON.stringify(raw)}` };
    case 'boolean':
      if (raw === true || raw === 'true') return { value: true };
      if (raw === false || raw === 'false') return { value: false };
      return { error: `must be true or false, got ${JSON.stringify(raw)}` };
    case 'enum':
      return typeof raw === 'string' && spec.values.includes(raw)
        ? { value: raw }
        : { error: `must be one of ${spec.values.join(', ')}, got ${JSON.stringify(raw)}` };
    case 'mapping':
      return wrap(parseMapping(raw));
    case 'list':
      return wrap(parseList(raw));
    case 'numbers':
      return wrap(parseNumbers(raw, spec));
    case 'path':
      if (typeof raw === 'string' && raw.trim() !== '') return { value: raw.trim() };
      return isUriLike(raw) ? { value: raw } : { error: `must be a path or a URI, got ${JSON.stringify(raw)}` };
    case 'row': {
      const r = parseRow(raw);
      return typeof r === 'object' && r !== null && 'error' in r ? r : { value: r };
    }
    case 'pattern': {
      if (typeof raw !== 'string')
        return { error: `must be a regular expression with {l} for the layer index, or "" for the site table; got ${JSON.stringify(raw)}` };
      const problem = sitePatternProblem(raw.trim());
      return problem ? { error: problem } : { value: raw.trim() };
    }
  }
}

/** One field's value, checked and normalised; a UserError names the field (or its flag). */
export function parseField(command: CommandName, field: FieldName, raw: unknown, naming: Naming = 'field'): unknown {
  const r = parseValue(specFor(command, field), raw);
  if ('error' in r) throw fieldError(command, field, naming, r.error, r.subfield);
  return r.value;
}

/**
 * A programmatic options object, checked: a plain object whose fields are all known to the command
 * (an unknown field is an error naming it and listing the known ones) and well-typed. Fields set to
 * `undefined` are dropped.
 */
export function checkOptions(
  command: CommandName,
  raw: unknown,
  where: string = command,
  allowed: readonly FieldName[] = COMMAND_FIELDS[command],
): CheckedOptions {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${where} takes an options object, got ${JSON.stringify(raw)}`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!(allowed as readonly string[]).includes(key))
      throw new UserError(`unknown option "${key}" for ${where}; it takes ${allowed.join(', ')}`, { field: key });
    if (value === undefined) continue;
    out[key] = parseField(command, key as FieldName, value);
  }
  return out as CheckedOptions;
}

/** Text typed in the palette's input box -> the field's value (empty: back to the default). */
export function parseFieldText(command: CommandName, field: FieldName, text: string): unknown {
  const spec = specFor(command, field);
  if (text.trim() === '' && !(spec.kind === 'numbers' && spec.allowEmpty)) return undefined;
  return parseField(command, field, text);
}

/** The field's settings value (any JSON a user typed), or the reason it is refused. */
export function parseSetting(field: FieldName, raw: unknown): { value: unknown } | { error: string } {
  // The built-in default is always a valid setting (inline.vector's "" means "pick one"; VS Code returns it for an unset setting).
  if (raw === FIELDS[field].default) return { value: raw };
  const r = parseValue(FIELDS[field], raw);
  return 'error' in r ? { error: r.error } : r;
}
