import { parseArgs } from 'node:util';
import { UserError } from '../core/errors';
import { defaultCacheDir } from '../runtime/embedded/embeddedModel';
import { DEVICE_SETTINGS, type DeviceSetting } from '../runtime/executionProvider';
import { HUB_DTYPES, type HubDType } from '../runtime/hub/hubSource';
import type { LoadOptions } from '../runtime/loadModel';

/** Options every model-running command takes. */
export const MODEL_OPTIONS = {
  model: { type: 'string', default: 'default' },
  device: { type: 'string', default: 'cpu' },
  threads: { type: 'string' },
  'cache-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  dtype: { type: 'string' },
  offline: { type: 'boolean', default: false },
  site: { type: 'string' },
  tokenizer: { type: 'string', default: 'auto' },
} as const;

type OptionSpec = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

export function parse<T extends OptionSpec>(argv: string[], options: T, allowPositionals = false) {
  return parseArgs({ args: argv, options, allowPositionals, strict: true });
}

/** A numeric flag: a clear error names the flag when the value is not a number in range. */
export function num(values: Record<string, unknown>, flag: string, fallback: number, { min = -Infinity, max = Infinity, integer = false } = {}): number {
  const raw = values[flag];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UserError(`--${flag} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got "${raw}"`);
  }
  return n;
}

export function loadOptions(values: Record<string, unknown>, log: (m: string) => void): LoadOptions {
  const device = values.device as string;
  if (!DEVICE_SETTINGS.includes(device as DeviceSetting)) throw new UserError(`--device must be one of ${DEVICE_SETTINGS.join(', ')}, got "${device}"`);
  const dtype = values.dtype as string | undefined;
  if (dtype !== undefined && !HUB_DTYPES.includes(dtype as HubDType)) throw new UserError(`--dtype must be one of ${HUB_DTYPES.join(', ')}, got "${dtype}"`);
  const tokenizer = values.tokenizer as string;
  if (tokenizer !== 'auto' && tokenizer !== 'bytes') throw new UserError(`--tokenizer must be auto (the model's tokenizer.json) or bytes, got "${tokenizer}"`);
  return {
    model: values.model as string,
    device: device as DeviceSetting,
    dtype: dtype as HubDType | undefined,
    offline: values.offline === true || process.env.HF_HUB_OFFLINE === '1',
    site: values.site as string | undefined,
    tokenizer,
    threads: values.threads === undefined ? undefined : num(values, 'threads', 0, { min: 1, max: 256, integer: true }),
    cacheDir: (values['cache-dir'] as string | undefined) ?? defaultCacheDir(),
    log,
  };
}

/** Progress and notes go to stderr so that stdout stays clean for --json. */
export const stderrLog = (message: string) => process.stderr.write(`${message}\n`);
