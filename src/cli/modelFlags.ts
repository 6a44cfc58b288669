/** Flags of the CLI commands outside the experiment spec (generate, bench, inspect, ...): the spec's model flags plus their own. */
import { parseArgs } from 'node:util';
import { UserError } from '../core/errors';
import { checkNumber, cliFields, cliParseOptions, optionsFromFlags, specFor, type NumberRange } from '../core/experiment/spec';
import { checkWritableOutputs } from '../node/files';
import { interruption } from '../node/interrupt';
import type { LoadOptions } from '../runtime/loadModel';
import { loadOptionsOf } from './options';

/** The model flags, from the spec's table. */
// `json` named again only so that TypeScript types it as a boolean in these commands' values.
export const MODEL_OPTIONS = { ...cliParseOptions('model'), json: { type: 'boolean' } } as const;
const MODEL_FLAGS = new Set(cliFields('model').map((f) => specFor('model', f).flag!));

type OptionSpec = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

export function parse<T extends OptionSpec>(argv: string[], options: T, allowPositionals = false) {
  return parseArgs({ args: argv, options, allowPositionals, strict: true });
}

/**
 * The model flags among parsed values, checked by the spec, as load options; the cache folder is
 * checked up front, and Ctrl-C cancels a hub download.
 */
export function loadOptions(values: Record<string, unknown>, log: (m: string) => void): LoadOptions {
  const model = Object.fromEntries(Object.entries(values).filter(([k]) => MODEL_FLAGS.has(k)));
  const load = loadOptionsOf(optionsFromFlags('model', model), log);
  checkWritableOutputs({ '--cache-dir': load.cacheDir }, { folder: true });
  return { ...load, cancel: interruption };
}

/** A numeric flag of these commands, read by the spec's number reader: a clear error names the flag when the value is not a number in range. */
export function num(values: Record<string, unknown>, flag: string, fallback: number, range: NumberRange): number {
  const raw = values[flag];
  if (raw === undefined) return fallback;
  const r = checkNumber(raw, range);
  if ('error' in r) throw new UserError(`--${flag} ${r.error}`);
  return r.value;
}
