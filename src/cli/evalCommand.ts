import { UserError } from '../core/errors';
import { extractArtifact } from '../core/experiment/extraction';
import { artifactPromptOptions, resolveStrength, specFromArtifact, STRENGTH_SOURCES, type StrengthSource } from '../core/experiment/artifacts';
import { evaluationEpisodesJson } from '../core/experiment/episodesJson';
import { writeAtomic } from '../core/fsAtomic';
import { readArtifact, type VectorArtifact } from '../core/vectors/artifact';
import { DEFAULT_EVAL_STRENGTH, evaluateMethod, fitCalibration, type EvalOptions, type MethodSpec } from '../core/experiment/methods';
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
 * The method to evaluate: a vector file when given (its sweep's chosen strength unless --strength
 * says otherwise), else vectors extracted now with the extraction flags (on train), or the
 * calibration bias fitted now (on validation).
 */
export async function methodSpec(method: EvalMethod, values: Record<string, unknown>, loaded: LoadedModel, task: Task, opts: Omit<EvalOptions, 'cancellation' | 'onProgress'>, artifact?: VectorArtifact): Promise<{ spec: MethodSpec; strengthSource?: StrengthSource }> {
  const given = values.strength === undefined ? undefined : num(values, 'strength', 0, { min: -100, max: 100 });
  const injectAt = oneOf(values['inject-at'], 'inject-at', INJECT_AT, 'all');
  if (method === 'icl') return { spec: { method } };
  if (method === 'icl-calibrated') return { spec: { method, bias: await fitCalibration(loaded.model, task, opts) } };
  const source = artifact ? (values.vector as string) : '(extracted now)';
  if (!artifact) {
    stderrLog(`no --vector given: extracting ${method} on train first`);
    artifact = (await extractArtifact(loaded.model, task, { ...extractRequest({ ...values, method }, loaded.tokenizer.sha256, 'ext-'), onProgress: progressLine(`extract ${method}`) })).artifact;
  }
  const { strength, source: from } = resolveStrength(artifact, given, method === 'fv' ? DEFAULT_EVAL_STRENGTH.fv : DEFAULT_EVAL_STRENGTH.iv);
  const spec = specFromArtifact(artifact, source, loaded.model.info, task, strength, injectAt);
  if (spec.method !== method) throw new UserError(`the vector file holds a ${spec.method} artifact, not ${method}`, { file: source });
  if (spec.method === 'iv' || spec.method === 'fv') stderrLog(`strength ${strength} (${STRENGTH_SOURCES[from]})`);
  return { spec, strengthSource: from };
}

export async function evalCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, ...TASK_OPTIONS, ...EXTRACT_OPTIONS, ...EVAL_OPTIONS });
  if (!values.method) throw new UserError(`--method is required: one of ${EVAL_METHODS.join(', ')}`);
  const method = oneOf(values.method, 'method', EVAL_METHODS, 'icl');
  const artifact = values.vector ? readArtifact(values.vector) : undefined;
  const loaded = await loadModel(loadOptions(values, stderrLog));
  try {
    const task = await loadTask(values, loaded, artifact && artifactPromptOptions(artifact));
    const opts = evalOptions(values);
    const { spec, strengthSource } = await methodSpec(method, values, loaded, task, opts, artifact);
    const r = await evaluateMethod(loaded.model, task, spec, { ...opts, onProgress: progressLine(`eval ${method}`) });
    if (r.cut.cutSamples > 0) stderrLog(`note: ${r.cut.cutSamples} of ${r.cut.samples} samples were cut to fit the context (mean ${r.cut.meanTokensKept.toFixed(1)} input tokens kept; queries ${r.cut.queries.meanTokensKept.toFixed(1)})`);
    if (values['episodes-out']) {
      const strength = spec.method === 'iv' || spec.method === 'fv' ? spec.strength : undefined;
      writeAtomic(values['episodes-out'], `${JSON.stringify(evaluationEpisodesJson(task, opts.split, r, { method, shots: opts.shots, seed: opts.seed, demoOrder: opts.demoOrder, strength, injectAt: spec.method === 'iv' ? spec.injectAt : undefined, vector: values.vector }))}\n`);
    }
    if (values.json) process.stdout.write(`${JSON.stringify(evalResultJson(method, spec, opts, r, strengthSource))}\n`);
    else process.stdout.write(`${formatMetricsTable([{ name: `${method} (${opts.shots}-shot, ${opts.split})`, metrics: r.metrics }], task.labels)}\n`);
  } finally {
    await loaded.model.dispose();
  }
}
