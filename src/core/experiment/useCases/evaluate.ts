/** Evaluate: Algorithm 2 for one method on a split; its vectors from a file, or extracted now on train. */
import { UserError } from '../../errors';
import { checkModelMatch, type VectorArtifact } from '../../vectors/artifact';
import { specFromArtifact, STRENGTH_SOURCES, type StrengthSource } from '../artifacts';
import { extractArtifact } from '../extraction';
import { evaluateMethod, fitCalibration, type EvalResult, type MethodSpec } from '../methods';
import { evalResultJson, type EvalResultJson } from '../resultJson';
import type { Task } from '../task';
import type { EvalMethod } from '../spec/fields';
import type { CheckedOptions } from '../spec/parse';
import { evalOptionsOf, evalStrengthOf, extractRequestOf, resolveOptions, validationOptionsOf, type Defaults, type EvalOptionsBody } from '../spec/requests';
import type { ModelHandle, RunPorts } from './ports';

export interface EvaluateOutcome {
  spec: MethodSpec;
  options: EvalOptionsBody;
  result: EvalResult;
  json: EvalResultJson;
  strengthSource?: StrengthSource;
}

/** A vector file: its artifact and how messages name it. */
export interface VectorFile {
  artifact: VectorArtifact;
  name: string;
}

/** A note when the context cut samples (the episodes JSON and the results say by how much). */
export function cutNote(name: string, cut: EvalResult['cut']): string | undefined {
  if (cut.cutSamples === 0) return undefined;
  return `${name}: ${cut.cutSamples} of ${cut.samples} samples cut to fit the context (mean ${cut.meanTokensKept.toFixed(1)} input tokens kept, queries ${cut.queries.meanTokensKept.toFixed(1)})`;
}

export async function evaluateUseCase(
  m: ModelHandle,
  task: Task,
  method: EvalMethod,
  given: CheckedOptions,
  d: Defaults,
  ports: RunPorts,
  vector?: VectorFile,
): Promise<EvaluateOutcome> {
  // The vector file's model and tokenizer, before any forward pass (specFromArtifact checks the model only).
  if (vector) checkModelMatch(vector.artifact, m.model.info, vector.name, { tokenizerSha256: m.tokenizerSha256 });
  const r = resolveOptions('evaluate', given, d);
  const options = evalOptionsOf(r);
  const run = { cancellation: ports.cancellation, onProgress: ports.progress };
  const { strength, source } = evalStrengthOf(method, given, d, vector?.artifact);
  let spec: MethodSpec;
  const share = vector || method === 'icl' ? undefined : 0.5;
  if (method === 'icl') spec = { method };
  else if (method === 'icl-calibrated') {
    ports.phase?.('fitting the calibration on validation', 0.5);
    spec = { method, bias: await fitCalibration(m.model, task, { ...validationOptionsOf(r), ...run }) };
  } else {
    let artifact = vector?.artifact;
    if (!artifact) {
      ports.log(`No vector file given: extracting ${method} on train first.`);
      ports.phase?.(`extracting ${method} on train`, 0.5);
      artifact = (await extractArtifact(m.model, task, { ...extractRequestOf(r, method), tokenizerSha256: m.tokenizerSha256, ...run })).artifact;
    }
    spec = specFromArtifact(artifact, vector?.name ?? '(extracted now)', m.model.info, task, strength, r.injectAt!);
    if (spec.method !== method) throw new UserError(`the vector file holds a ${spec.method} artifact, not ${method}`, { file: vector?.name });
    if (method === 'iv' || method === 'fv') ports.log(`Strength ${strength} (${STRENGTH_SOURCES[source]}).`);
  }
  ports.phase?.(`evaluating ${method} on ${options.split}`, share);
  const result = await evaluateMethod(m.model, task, spec, { ...options, ...run });
  const note = cutNote(method, result.cut);
  if (note) ports.warn(note);
  const steered = spec.method === 'iv' || spec.method === 'fv';
  return {
    spec,
    options,
    result,
    json: evalResultJson(method, spec, options, result, steered ? source : undefined),
    strengthSource: steered ? source : undefined,
  };
}
