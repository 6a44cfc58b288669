import { UserError } from '../errors';
import type { ModelInfo, Site } from '../model';
import { artifactModel, checkModelMatch, tensorName, type ArtifactMetadata, type VectorArtifact, type VectorMethod } from '../vectors/artifact';
import type { Tensor } from '../vectors/safetensors';
import { INJECT_AT, type InjectAt } from '../iv/extract';
import { TOKENIZATIONS, type Tokenization } from '../icl/prompt';
import type { MethodSpec } from './methods';
import type { Task, TaskOptions } from './task';

export const CREATOR_VERSION = '0.1.0';

const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/** The fields of an artifact's options that re-running or evaluating it uses, when they hold the right type. */
export function artifactDefaults(a: VectorArtifact): { strength?: number; injectAt?: InjectAt; seed?: number } {
  const o = a.metadata.options;
  const injectAt = INJECT_AT.includes(o.injectAt as InjectAt) ? (o.injectAt as InjectAt) : undefined;
  return { strength: num(o.evalStrength), injectAt, seed: num(o.seed) };
}

/**
 * How the artifact's prompts were written, so that it is evaluated on the same prompts. Artifacts
 * from before the tokenization was recorded were built from the joined prompt string.
 */
export function artifactPromptOptions(a: VectorArtifact): TaskOptions {
  return promptOptionsOf(a.metadata.options);
}

/** artifactPromptOptions on an artifact's options alone. */
export function promptOptionsOf(o: Record<string, unknown>): TaskOptions {
  const tokenization: Tokenization = TOKENIZATIONS.includes(o.tokenization as Tokenization) ? (o.tokenization as Tokenization) : 'joined';
  return { bos: o.bos === true, maxSampleTokens: num(o.maxSampleTokens), tokenization };
}

/** Where an evaluation strength came from. */
export type StrengthSource = 'given' | 'artifact' | 'default';

/** How each strength source reads in a log line. */
export const STRENGTH_SOURCES: Record<StrengthSource, string> = { given: 'as given', artifact: "the vector file's chosen strength", default: 'the default' };

/**
 * The evaluation strength of an artifact: the one given, else the one its sweep chose
 * (`options.evalStrength`), else the method's default. `source` says which, for the user.
 */
export function resolveStrength(a: VectorArtifact | undefined, given: number | undefined, fallback: number): { strength: number; source: StrengthSource } {
  if (given !== undefined) return { strength: given, source: 'given' };
  const chosen = a && artifactDefaults(a).strength;
  if (chosen !== undefined) return { strength: chosen, source: 'artifact' };
  return { strength: fallback, source: 'default' };
}

export interface Provenance {
  task: Task;
  model: ModelInfo;
  tokenizerSha256: string;
  options: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  timings?: Record<string, unknown>;
  history?: ArtifactMetadata['history'];
}

/** An artifact of per-layer matrices `blocks.{l}.{site}` with the full provenance of the run. */
export function makeArtifact(method: VectorMethod, site: Site, layers: ReadonlyMap<number, Float32Array>, rows: number, p: Provenance): VectorArtifact {
  const tensors = new Map<string, Tensor>();
  for (const [layer, data] of [...layers].sort((a, b) => a[0] - b[0])) tensors.set(tensorName(layer, site), { shape: [rows, data.length / rows], data });
  const { dataset } = p.task;
  const counts: Record<string, number> = {};
  for (const [split, c] of Object.entries(dataset.counts)) if (c) counts[split] = c.rows;
  return {
    tensors,
    metadata: {
      formatVersion: 1,
      method,
      site,
      labels: [...p.task.labels],
      model: artifactModel(p.model),
      tokenizerSha256: p.tokenizerSha256,
      dataset: { id: dataset.id, source: dataset.source, sha256: dataset.sha256, counts },
      options: {
        ...p.options,
        bos: p.task.verbalizer.options.bos,
        maxSampleTokens: p.task.verbalizer.options.maxSampleTokens,
        tokenization: p.task.verbalizer.options.tokenization,
      },
      metrics: p.metrics,
      timings: p.timings,
      creator: { name: 'iterative-vectors', version: CREATOR_VERSION },
      createdAt: new Date().toISOString(),
      history: p.history,
    },
  };
}

/**
 * The evaluation spec of an artifact (read from `path`, or just extracted), checked against the
 * model and task: the model must match, and the labels must be the task's (same words, same order),
 * else the rows would steer the wrong classes.
 */
export function specFromArtifact(artifact: VectorArtifact, path: string, model: ModelInfo, task: Task, strength: number, injectAt: InjectAt): MethodSpec {
  checkModelMatch(artifact, model, path);
  const m = artifact.metadata;
  const perLayer = (site: Site) => {
    const out: Float32Array[] = [];
    for (let l = 0; l < model.nLayers; l++) {
      const t = artifact.tensors.get(tensorName(l, site));
      if (t) out[l] = t.data;
    }
    return out;
  };
  switch (m.method) {
    case 'iterative-vectors': {
      if (m.labels.join('\u0000') !== task.labels.join('\u0000')) {
        throw new UserError(`the vectors were extracted for the labels [${m.labels.join(', ')}] but the dataset's labels are [${task.labels.join(', ')}]`, {
          file: path,
          field: 'labels',
        });
      }
      const vectors = perLayer('attn_out');
      if (vectors.filter(Boolean).length !== model.nLayers)
        throw new UserError(`an Iterative Vectors artifact needs one attn_out tensor per layer (${model.nLayers})`, { file: path });
      return { method: 'iv', vectors, strength, injectAt, envelope: m.layerStrengths };
    }
    case 'task-vector': {
      const layer = Number(m.options.layer);
      const vector = perLayer('resid_post')[layer];
      if (!vector) throw new UserError(`the task vector artifact has no tensor for its layer ${m.options.layer}`, { file: path });
      return { method: 'tv', layer, vector };
    }
    case 'function-vector': {
      const layer = Number(m.options.layer);
      const vector = perLayer('attn_out')[layer];
      if (!vector) throw new UserError(`the function vector artifact has no tensor for its layer ${m.options.layer}`, { file: path });
      return { method: 'fv', layer, vector, strength };
    }
  }
}
