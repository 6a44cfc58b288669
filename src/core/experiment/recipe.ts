/**
 * The recipe an artifact stores: what extracted it (method, hyperparameters, dataset and its
 * options, prompt tokens, seed), read back as the extract command's checked options, so that a
 * re-run goes through the same parser and the same use case as the first run.
 */
import { UserError } from '../errors';
import type { ArtifactMetadata, VectorArtifact } from '../vectors/artifact';
import { promptOptionsOf } from './artifacts';
import { METHOD_OF_ARTIFACT } from './spec/requests';
import { parseField, type CheckedOptions } from './spec/parse';
import type { FieldName } from './spec/fields';

/** Where each method's options keep each extract field (the names extractArtifact writes). */
const STORED: Record<'iv' | 'tv' | 'fv', Partial<Record<FieldName, (o: Record<string, unknown>) => unknown>>> = {
  iv: {
    episodes: (o) => o.episodes,
    shots: (o) => o.shots,
    batch: (o) => o.refreshEvery,
    extStrength: (o) => o.strength,
    zeroShotPosition: (o) => o.zeroShotPosition,
  },
  tv: {
    episodes: (o) => o.episodes,
    tvShotsGrid: (o) => o.shotsTried,
    valShots: (o) => (o.validation as Record<string, unknown> | undefined)?.shots,
    valEpisodes: (o) => (o.validation as Record<string, unknown> | undefined)?.episodes,
    demoOrder: (o) => (o.validation as Record<string, unknown> | undefined)?.demoOrder,
  },
  fv: {
    episodes: (o) => o.episodes,
    fvVariant: (o) => o.variant,
    fvShots: (o) => o.shots,
    effectEpisodes: (o) => o.effectEpisodes,
    topHeads: (o) => o.topHeads,
  },
};

/** The extract options that rebuild an artifact; a field the artifact lacks or holds malformed is an error naming it. */
export function recipeOf(meta: ArtifactMetadata, file: string): CheckedOptions {
  const method = METHOD_OF_ARTIFACT[meta.method];
  const o = meta.options;
  const read = (field: FieldName, raw: unknown): unknown => {
    try {
      return parseField('extract', field, raw);
    } catch (e) {
      throw new UserError(`cannot be re-run: its recipe's ${field} is ${JSON.stringify(raw)} (${(e as Error).message})`, { file });
    }
  };
  const recipe: Record<string, unknown> = { method, dataset: meta.dataset.source, seed: read('seed', o.seed) };
  for (const [field, get] of Object.entries(STORED[method])) {
    const raw = get!(o);
    // Only topHeads may be absent: it was chosen by model size and the artifact records the number used.
    if (raw !== undefined || field !== 'topHeads') recipe[field] = read(field as FieldName, raw);
  }
  const stored = o.datasetOptions as Record<string, unknown> | undefined;
  for (const f of ['textField', 'labelField', 'labelWords', 'labelNames'] as const) if (stored?.[f] !== undefined) recipe[f] = read(f, stored[f]);
  const prompt = promptOptionsOf(o);
  recipe.bos = prompt.bos;
  recipe.tokenization = prompt.tokenization;
  return recipe as CheckedOptions;
}

/** Whether two artifacts hold the same tensors, byte for byte; else the first one that differs. */
export function tensorDifference(a: VectorArtifact, b: VectorArtifact): string | undefined {
  const names = [...new Set([...a.tensors.keys(), ...b.tensors.keys()])].sort();
  for (const name of names) {
    const x = a.tensors.get(name);
    const y = b.tensors.get(name);
    if (!x || !y) return `${name} is only in the ${x ? 'stored' : 're-run'} artifact`;
    if (x.shape.join('x') !== y.shape.join('x')) return `${name} has shape ${x.shape.join('x')} stored and ${y.shape.join('x')} re-run`;
    const bx = new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength);
    const by = new Uint8Array(y.data.buffer, y.data.byteOffset, y.data.byteLength);
    for (let i = 0; i < bx.length; i++)
      if (bx[i] !== by[i])
        return `${name} differs first at float ${Math.floor(i / 4)} (${x.data[Math.floor(i / 4)]} stored, ${y.data[Math.floor(i / 4)]} re-run)`;
  }
  return undefined;
}
