import { UserError } from '../errors';
import type { ModelInfo } from '../model';
import { checkModelMatch, layerRows, type VectorArtifact } from '../vectors/artifact';

/**
 * Which row of an Iterative Vectors matrix steers a free prompt: the query row (row n, the default)
 * or a class row (0..n-1, or a label). Other additive artifacts (function vectors) have one row.
 */
export type RowChoice = 'query' | number | string;

/** Per layer the d-vector to add at attn_out (undefined: no edit at that layer). */
export type SteeringRows = readonly (Float32Array | undefined)[];

export interface ChosenRows {
  rows: SteeringRows;
  /** Row index within each layer's matrix. */
  row: number;
  /** Human name of the row: "query" or the class label. */
  rowName: string;
  /** Layers that carry a vector. */
  layers: number[];
}

/**
 * Picks the steering row of every layer of an additive (attn_out) artifact, multiplied by the
 * artifact's per-layer strength envelope when it has one. The model must be the one the artifact
 * was extracted with. Task vectors replace the residual stream and cannot be added: a UserError.
 *
 * Why the query row by default: Iterative Vectors are measured at io-separator positions; the query
 * row is the correction at the separator that precedes the answer. A free prompt has no separator,
 * so its last position (and each generated one) plays the query's role. A class row instead pushes
 * towards that class's demonstrations (e.g. "she" vs "he").
 */
export function chooseRows(artifact: VectorArtifact, model: ModelInfo, file: string, choice: RowChoice = 'query'): ChosenRows {
  checkModelMatch(artifact, model, file);
  const m = artifact.metadata;
  if (m.site !== 'attn_out') {
    throw new UserError(
      `${m.method} artifacts act at ${m.site} by replacement; inline steering adds a vector at attn_out (use an Iterative Vectors or function vector artifact)`,
      { file },
    );
  }
  const isIv = m.method === 'iterative-vectors';
  const n = m.labels.length;
  let row: number;
  let rowName: string;
  if (!isIv) {
    if (choice !== 'query' && choice !== 0)
      throw new UserError(`a ${m.method} artifact has a single row; row ${JSON.stringify(choice)} does not exist`, { file, field: 'row' });
    row = 0;
    rowName = m.method;
  } else if (choice === 'query') {
    row = n;
    rowName = 'query';
  } else if (typeof choice === 'number') {
    if (!Number.isInteger(choice) || choice < 0 || choice > n)
      throw new UserError(`row ${choice} is outside 0..${n} (classes ${m.labels.join(', ')}, then the query row ${n})`, { file, field: 'row' });
    row = choice;
    rowName = choice === n ? 'query' : m.labels[choice];
  } else {
    const byLabel = m.labels.indexOf(choice);
    const asNumber = /^\d+$/.test(choice) ? Number(choice) : -1;
    if (byLabel >= 0) row = byLabel;
    else if (asNumber >= 0 && asNumber <= n) row = asNumber;
    else throw new UserError(`row "${choice}" is neither "query" nor one of the labels (${m.labels.join(', ')}) nor an index 0..${n}`, { file, field: 'row' });
    rowName = row === n ? 'query' : m.labels[row];
  }
  const envelope = m.layerStrengths;
  const rows: (Float32Array | undefined)[] = [];
  const layers: number[] = [];
  for (let l = 0; l < model.nLayers; l++) {
    const r = layerRows(artifact, l)[row];
    if (!r) {
      rows.push(undefined);
      continue;
    }
    const s = envelope?.[l] ?? 1;
    rows.push(s === 1 ? r : r.map((x) => x * s));
    layers.push(l);
  }
  if (layers.length === 0) throw new UserError(`the artifact has no attn_out tensor to steer with`, { file });
  return { rows, row, rowName, layers };
}

/** Row labels of an artifact as offered to the user: the classes, then "query" (IV only). */
export function rowNames(artifact: VectorArtifact): string[] {
  return artifact.metadata.method === 'iterative-vectors' ? [...artifact.metadata.labels, 'query'] : [artifact.metadata.method];
}
