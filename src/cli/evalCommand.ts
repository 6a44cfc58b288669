import { UserError } from '../core/errors';
import { extractArtifact } from '../core/experiment/extraction';
import { specFromArtifact, loadVectorSpec } from '../core/experiment/artifacts';
import { evaluateMethod, fitCalibration, type EvalOptions, type MethodSpec } from '../core/experiment/methods';
import type { Task } from '../core/experiment/task';
import { formatMetricsTable } from '../core/metrics';
import { evalResultJson } from '../core/experiment/resultJson';
import type { LoadedModel } from '../runtime/loadModel';
import { loadModel } from '../runtime/loadModel';
import { EXTRACT_OPTIONS, extractRequest } from './extractCommand';
import { MODEL_OPTIONS, loadOptions, num, parse, stderrLog } from './options';
import { DEMO_ORDERS, INJECT_AT, TASK_OPTIONS, loadTask, oneOf, progressLine, seedOf } from './taskOptions';

export const EVAL_METHODS = ['icl', 'icl-calibrated', 'iv', 'tv', 'fv'] as const;
export type EvalMethod = (typeof EVAL_METHODS)[number];

export const EVAL_OPTIONS = {
  vector: { type: 'string' },
  strength: { type: 'string' },
  split: { type: 'string' },
  'inject-at': { type: 'string' },
  resamples: { type: 'string' },
} as const;

export function evalOptions(values: Record<string, unknown>): Omit<EvalOptions, 'cancellation' | 'onProgress'> {
  return {
    split: oneOf(values.split, 'split', ['train', 'validation', 'test'] as const, 'test'),
    shots: num(values, 'shots', 1, { min: 0, max: 64, integer: true }),
    episodes: num(values, 'episodes', 1000, { min: 1, max: 1e7, integer: true }),
    seed: seedOf(values),
    demoOrder: oneOf(values['demo-order'], 'demo-order', DEMO_ORDERS, 'shuffled'),
    resamples: num(values, 'resamples', 1000, { min: 0, max: 1e6, integer: true }),
  };
}

/**
 * The method to evaluate: a vector file when given, else vectors extracted now with the
 * extraction flags (on train), or the calibration bias fitted now (on validation).
 */
export async function methodSpec(method: EvalMethod, values: Record<string, unknown>, loaded: LoadedModel, task: Task, opts: Omit<EvalOptions, 'cancellation' | 'onProgress'>): Promise<MethodSpec> {
  const strength = num(values, 'strength', method === 'iv' ? 0.5 : 1, { min: -100, max: 100 });
  const injectAt = oneOf(values['inject-at'], 'inject-at', INJECT_AT, 'all');
  if (method === 'icl') return { method };
  if (method === 'icl-calibrated') return { method, bias: await fitCalibration(loaded.model, task, opts) };
  if (values.vector) {
    const spec = loadVectorSpec(values.vector as string, loaded.model.info, task, strength, injectAt);
    if (spec.method !== method) throw new UserError(`the vector file holds a ${spec.method} artifact, not ${method}`, { file: values.vector as string });
    return spec;
  }
  stderrLog(`no --vector given: extracting ${method} on train first`);
  const { artifact } = await extractArtifact(loaded.model, task, { ...extractRequest({ ...values, method }, loaded.tokenizer.sha256, 'ext-'), onProgress: progressLine(`extract ${method}`) });
  return specFromArtifact(artifact, '(extracted now)', loaded.model.info, task, strength, injectAt);
}

export async function evalCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, ...TASK_OPTIONS, ...EXTRACT_OPTIONS, ...EVAL_OPTIONS });
  if (!values.method) throw new UserError(`--method is required: one of ${EVAL_METHODS.join(', ')}`);
  const method = oneOf(values.method, 'method', EVAL_METHODS, 'icl');
  const loaded = await loadModel(loadOptions(values, stderrLog));
  try {
    const task = await loadTask(values, loaded);
    const opts = evalOptions(values);
    const spec = await methodSpec(method, values, loaded, task, opts);
    const r = await evaluateMethod(loaded.model, task, spec, { ...opts, onProgress: progressLine(`eval ${method}`) });
    if (values.json) process.stdout.write(`${JSON.stringify(evalResultJson(method, spec, opts, r))}\n`);
    else process.stdout.write(`${formatMetricsTable([{ name: `${method} (${opts.shots}-shot, ${opts.split})`, metrics: r.metrics }], task.labels)}\n`);
  } finally {
    await loaded.model.dispose();
  }
}
