import { checkLengths, loadDataset, type LoadDatasetOptions } from '../core/datasets';
import { UserError } from '../core/errors';
import { prepareTask, type Task } from '../core/experiment/task';
import type { DemoOrder } from '../core/icl/episodes';
import { DEFAULT_TOKENIZATION, TOKENIZATIONS, type Tokenization } from '../core/icl/prompt';
import type { TaskOptions } from '../core/experiment/task';
import type { ZeroShotPosition } from '../core/iv/extract';
import type { LoadedModel } from '../runtime/loadModel';
import { num, stderrLog } from './options';

/** Flags naming the data and how prompts are written. */
export const TASK_OPTIONS = {
  dataset: { type: 'string' },
  'text-field': { type: 'string' },
  'label-field': { type: 'string' },
  'label-words': { type: 'string' },
  'label-names': { type: 'string' },
  bos: { type: 'boolean', default: false },
  tokenization: { type: 'string' },
  seed: { type: 'string' },
} as const;

/** `female=she,male=he` -> { female: 'she', male: 'he' }. */
export function parseMapping(raw: string | undefined, flag: string): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const pair of raw.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UserError(`--${flag} takes label=word pairs separated by commas, e.g. female=she,male=he; got "${pair}"`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

export function listOf(raw: string | undefined, flag: string, fallback: number[]): number[] {
  if (raw === undefined) return fallback;
  const values = raw.split(',').map((x) => Number(x.trim()));
  if (values.some((v) => !Number.isFinite(v))) throw new UserError(`--${flag} takes numbers separated by commas, got "${raw}"`);
  return values;
}

export function oneOf<T extends string>(raw: unknown, flag: string, allowed: readonly T[], fallback: T): T {
  if (raw === undefined) return fallback;
  if (!allowed.includes(raw as T)) throw new UserError(`--${flag} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

/**
 * How prompts are written: the flags, else (`artifact`) the options a vector file was extracted
 * with, so that it is evaluated on the prompts it was made from.
 */
export function promptOptions(values: Record<string, unknown>, artifact?: TaskOptions): TaskOptions {
  const tokenization = oneOf<Tokenization>(values.tokenization, 'tokenization', TOKENIZATIONS, artifact?.tokenization ?? DEFAULT_TOKENIZATION);
  return { bos: (values.bos as boolean | undefined) || (artifact?.bos ?? false), maxSampleTokens: artifact?.maxSampleTokens, tokenization };
}

export async function loadTask(values: Record<string, unknown>, loaded: LoadedModel, artifact?: TaskOptions): Promise<Task> {
  const source = values.dataset as string | undefined;
  if (!source) throw new UserError('--dataset is required: a folder with train/validation/test files, a .jsonl/.csv/.tsv/.parquet file, or stdlib:<name>');
  const options: LoadDatasetOptions = {
    textField: values['text-field'] as string | undefined,
    labelField: values['label-field'] as string | undefined,
    labelWords: parseMapping(values['label-words'] as string | undefined, 'label-words'),
    labelNames: (values['label-names'] as string | undefined)?.split(',').map((s) => s.trim()),
    seed: seedOf(values),
  };
  const dataset = await loadDataset(source, options);
  const task = prepareTask(dataset, loaded.tokenizer, loaded.model.info, promptOptions(values, artifact));
  const limit = task.verbalizer.options.maxSampleTokens;
  const long = checkLengths(dataset, (text) => task.verbalizer.inputLength(text), limit);
  for (const w of [...dataset.warnings, ...long]) stderrLog(`warning: ${w.message}`);
  return task;
}

export function seedOf(values: Record<string, unknown>): number {
  return num(values, 'seed', 42, { integer: true, min: 0, max: 2 ** 32 - 1 });
}

export const ZERO_SHOT_POSITIONS: readonly ZeroShotPosition[] = ['separator', 'before-separator'];
export { INJECT_AT } from '../core/iv/extract';
export const DEMO_ORDERS: readonly DemoOrder[] = ['shuffled', 'class-order'];

/** Progress on stderr (stdout stays clean for --json): a live line on a terminal, the final count otherwise. */
export function progressLine(label: string): (done: number, total: number) => void {
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done < total && (!process.stderr.isTTY || now - last < 500)) return;
    last = now;
    process.stderr.write(`${label}: ${done}/${total}${done === total ? '\n' : '\r'}`);
  };
}
