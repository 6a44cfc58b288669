/**
 * Steering-vector artifacts: `<name>.ivec.safetensors` (+ a `<name>.ivec.json` sidecar).
 *
 * Tensors: one float32 matrix per layer named `blocks.{l}.{site}` (TransformerLens site names):
 *  - Iterative Vectors: `blocks.{l}.attn_out`, shape [n+1, d]: rows 0..n-1 are the class vectors in
 *    label order, row n is the query vector; normally every layer.
 *  - Task Vectors: `blocks.{l}.resid_post`, shape [1, d] (a replacement, at the chosen layer(s)).
 *  - Function Vectors: one `blocks.{l}.attn_out`, shape [1, d].
 *
 * Metadata lives in the safetensors `__metadata__` (string values only): key `iv` holds the whole
 * ArtifactMetadata as canonical JSON (keys sorted), and a few flat keys (`format_version`, `method`,
 * `site`, `model_name`, `model_sha256`) let other tools see what the file is without parsing it.
 * Tensor bytes never depend on the metadata: identical vectors give identical data sections; with
 * `{ deterministic: true }` the run-dependent fields (createdAt, timings) are left out so whole
 * files are byte-identical for the same seed and inputs.
 */
import { createHash } from 'node:crypto';
import { UserError } from '../errors';
import { parseJson } from '../json';
import { SITES, type ModelInfo, type Site } from '../model';
import { baseName } from '../paths';
import { decodeSafetensors, encodeSafetensors, float32Bytes, type ReadableDtype, type Tensor } from './safetensors';

export const FORMAT_VERSION = 1;
export const ARTIFACT_EXTENSION = '.ivec.safetensors';
export const SIDECAR_EXTENSION = '.ivec.json';
export const CREATOR_NAME = 'iterative-vectors';

export type VectorMethod = 'iterative-vectors' | 'task-vector' | 'function-vector';
export const VECTOR_METHODS: readonly VectorMethod[] = ['iterative-vectors', 'task-vector', 'function-vector'];

/** The model identity an artifact was extracted with (a subset of ModelInfo). */
export interface ArtifactModel {
  name: string;
  sha256: string;
  nLayers: number;
  dModel: number;
  vocabSize: number;
}

export interface ArtifactDataset {
  /** Hub id, built-in name or file path. */
  id: string;
  /** Where it came from, e.g. "file", "hub", "stdlib". */
  source: string;
  /** sha256 of the dataset bytes as read. */
  sha256: string;
  /** Example counts, e.g. per split or per label. */
  counts: Record<string, number>;
}

/** One refresh of the running estimate during extraction (Algorithm 1, every b episodes). */
export interface RefreshRecord {
  /** Episode index after which the estimate was refreshed. */
  episode: number;
  /** ||IV_new - IV_old|| / ||IV_new|| over all layers and rows; null at the first refresh. */
  relativeChange: number | null;
  /** Further numbers (e.g. mean row norm), free-form. */
  [metric: string]: number | null;
}

export interface ArtifactMetadata {
  formatVersion: typeof FORMAT_VERSION;
  method: VectorMethod;
  site: Site;
  /** Class labels in row order (rows 0..n-1 of each Iterative Vectors matrix). */
  labels: string[];
  model: ArtifactModel;
  tokenizerSha256: string;
  dataset: ArtifactDataset;
  /** The method's options and hyperparameters (k, a1, a2, E, b, seed, zeroShotPosition, ...). */
  options: Record<string, unknown>;
  /** Validation/test metrics, free-form. */
  metrics?: Record<string, unknown>;
  /** Wall times, free-form (left out of deterministic encodings). */
  timings?: Record<string, unknown>;
  creator: { name: typeof CREATOR_NAME; version: string };
  /** ISO 8601 time of creation (left out of deterministic encodings). */
  createdAt?: string;
  /** Per-layer strength envelope (length nLayers), multiplied into the strength at use. */
  layerStrengths?: number[];
  /** Convergence of the estimate, one record per refresh. */
  history?: RefreshRecord[];
}

export interface VectorArtifact {
  /** `blocks.{l}.{site}` -> [rows, dModel] float32, in layer order. */
  tensors: Map<string, Tensor>;
  metadata: ArtifactMetadata;
}

export interface EncodeOptions {
  /** Leave out createdAt and timings so that equal vectors and inputs give byte-identical files. */
  deterministic?: boolean;
}

export function tensorName(layer: number, site: Site): string {
  return `blocks.${layer}.${site}`;
}

/** `blocks.{l}.{site}` -> { layer, site }, or undefined for any other name. */
export function parseTensorName(name: string): { layer: number; site: Site } | undefined {
  const m = /^blocks\.(0|[1-9][0-9]*)\.([a-z_]+)$/.exec(name);
  if (!m || !(SITES as readonly string[]).includes(m[2])) return undefined;
  return { layer: Number(m[1]), site: m[2] as Site };
}

/** The identity fields of a loaded model, as stored in artifacts. */
export function artifactModel(info: ModelInfo): ArtifactModel {
  return { name: info.name, sha256: info.sha256, nLayers: info.nLayers, dModel: info.dModel, vocabSize: info.vocabSize };
}

// ---------------------------------------------------------------------------------------------
// Canonical JSON (sorted keys): the same metadata always serializes to the same string.

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = canonical(v);
    }
    return out;
  }
  return value;
}

export function canonicalJson(value: unknown, indent?: number): string {
  return JSON.stringify(canonical(value), null, indent);
}

// ---------------------------------------------------------------------------------------------
// Validation: one list of problems, thrown as a bug on encode and as a UserError on decode.

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const isPosInt = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) > 0;
const isString = (x: unknown): x is string => typeof x === 'string';

function metadataProblems(m: unknown): string[] {
  if (!isRecord(m)) return ['metadata is not an object'];
  const p: string[] = [];
  if (m.formatVersion !== FORMAT_VERSION) {
    p.push(
      typeof m.formatVersion === 'number' && m.formatVersion > FORMAT_VERSION
        ? `format version ${m.formatVersion} is newer than this version reads (${FORMAT_VERSION}); update the extension`
        : `format version ${String(m.formatVersion)} is not ${FORMAT_VERSION}`,
    );
    return p;
  }
  if (!(VECTOR_METHODS as readonly unknown[]).includes(m.method)) p.push(`method ${JSON.stringify(m.method)} is not one of ${VECTOR_METHODS.join(', ')}`);
  if (!(SITES as readonly unknown[]).includes(m.site)) p.push(`site ${JSON.stringify(m.site)} is not one of ${SITES.join(', ')}`);
  if (!Array.isArray(m.labels) || !m.labels.every(isString)) p.push('labels must be an array of strings');
  const model = m.model;
  if (!isRecord(model)) p.push('model must be an object');
  else {
    if (!isString(model.name)) p.push('model.name must be a string');
    if (!isString(model.sha256)) p.push('model.sha256 must be a string');
    for (const k of ['nLayers', 'dModel', 'vocabSize']) if (!isPosInt(model[k])) p.push(`model.${k} must be a positive integer`);
  }
  if (!isString(m.tokenizerSha256)) p.push('tokenizerSha256 must be a string');
  const ds = m.dataset;
  if (!isRecord(ds)) p.push('dataset must be an object');
  else {
    for (const k of ['id', 'source', 'sha256']) if (!isString(ds[k])) p.push(`dataset.${k} must be a string`);
    if (!isRecord(ds.counts) || !Object.values(ds.counts).every((v) => typeof v === 'number')) p.push('dataset.counts must be an object of numbers');
  }
  if (!isRecord(m.options)) p.push('options must be an object');
  for (const k of ['metrics', 'timings']) if (m[k] !== undefined && !isRecord(m[k])) p.push(`${k} must be an object`);
  const c = m.creator;
  if (!isRecord(c) || c.name !== CREATOR_NAME || !isString(c.version)) p.push(`creator must be { name: "${CREATOR_NAME}", version: string }`);
  if (m.createdAt !== undefined && (!isString(m.createdAt) || Number.isNaN(Date.parse(m.createdAt)))) p.push('createdAt must be an ISO 8601 time');
  if (m.layerStrengths !== undefined) {
    if (!Array.isArray(m.layerStrengths) || !m.layerStrengths.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      p.push('layerStrengths must be an array of finite numbers');
    } else if (isRecord(model) && isPosInt(model.nLayers) && m.layerStrengths.length !== model.nLayers) {
      p.push(`layerStrengths has ${m.layerStrengths.length} entries but the model has ${model.nLayers} layers`);
    }
  }
  if (m.history !== undefined) {
    if (
      !Array.isArray(m.history) ||
      !m.history.every((r) => isRecord(r) && Number.isSafeInteger(r.episode) && Object.values(r).every((v) => v === null || typeof v === 'number'))
    ) {
      p.push('history must be an array of { episode, relativeChange, ... } records of numbers');
    }
  }
  return p;
}

function tensorProblems(tensors: ReadonlyMap<string, Tensor>, m: ArtifactMetadata): string[] {
  const p: string[] = [];
  if (tensors.size === 0) p.push('there are no tensors');
  for (const [name, t] of tensors) {
    const parsed = parseTensorName(name);
    if (!parsed) {
      p.push(`tensor "${name}" is not named blocks.{layer}.{site} (site one of ${SITES.join(', ')})`);
      continue;
    }
    if (parsed.site !== m.site) p.push(`tensor "${name}" is at site ${parsed.site} but the metadata says ${m.site}`);
    if (parsed.layer >= m.model.nLayers) p.push(`tensor "${name}": layer ${parsed.layer} does not exist in a ${m.model.nLayers}-layer model`);
    const [rows, width] = t.shape;
    if (t.shape.length !== 2 || rows < 1) {
      p.push(`tensor "${name}" has shape [${t.shape.join(', ')}], expected [rows, ${m.model.dModel}]`);
      continue;
    }
    if (width !== m.model.dModel) p.push(`tensor "${name}" has width ${width} but the model's d_model is ${m.model.dModel}`);
    if (m.method === 'iterative-vectors' && rows !== m.labels.length + 1) {
      p.push(`tensor "${name}" has ${rows} rows but ${m.labels.length} labels need ${m.labels.length + 1} (one per class and the query)`);
    }
    if (t.data.length !== rows * width) p.push(`tensor "${name}" holds ${t.data.length} values, not ${rows}x${width}`);
  }
  return p;
}

/**
 * Where the first value that is NaN or infinite is, in layer order, with the count of such values;
 * undefined when all are finite. (One NaN wrecks every logit it reaches, and an evaluation would
 * only say so after its last episode.) Tensors are [rows, width], as tensorProblems checked.
 */
function nonFiniteProblem(tensors: ReadonlyMap<string, Tensor>, dtypes?: ReadonlyMap<string, ReadableDtype>): string | undefined {
  let first: string | undefined;
  let count = 0;
  for (const [name, t] of ordered(tensors)) {
    const width = t.shape[1];
    for (let i = 0; i < t.data.length; i++) {
      if (Number.isFinite(t.data[i])) continue;
      count++;
      // A float64 value beyond float32's range reads as infinite: say so, as the file holds a finite number there.
      const why = dtypes?.get(name) === 'F64' && !Number.isNaN(t.data[i]) ? " (or a value beyond float32's ±3.4e38)" : '';
      first ??= `tensor "${name}", row ${Math.floor(i / width)}, index ${i % width} is ${t.data[i]}${why}`;
    }
  }
  return first && `${first}${count > 1 ? ` (${count} values in all are NaN or infinite)` : ''}`;
}

function ordered(tensors: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const entries = [...tensors.entries()];
  const layerOf = (n: string) => parseTensorName(n)?.layer ?? Number.MAX_SAFE_INTEGER;
  entries.sort(([a], [b]) => layerOf(a) - layerOf(b) || (a < b ? -1 : a > b ? 1 : 0));
  return new Map(entries);
}

// ---------------------------------------------------------------------------------------------
// Encode / decode

/** The metadata as stored: without createdAt/timings when deterministic. */
function storedMetadata(m: ArtifactMetadata, deterministic: boolean): ArtifactMetadata {
  if (!deterministic) return m;
  const copy = { ...m };
  delete copy.createdAt;
  delete copy.timings;
  return copy;
}

export function encodeArtifact(a: VectorArtifact, options: EncodeOptions = {}): Uint8Array {
  const mp = metadataProblems(a.metadata);
  const problems = mp.length ? mp : tensorProblems(a.tensors, a.metadata);
  if (problems.length) throw new Error(`invalid vector artifact: ${problems.join('; ')}`);
  // Not a bug: a model can compute non-finite activations (an overflow in half precision, say).
  const nonFinite = nonFiniteProblem(a.tensors);
  if (nonFinite) throw new UserError(`cannot save vectors that are not finite numbers: ${nonFinite}`);
  const m = storedMetadata(a.metadata, options.deterministic ?? false);
  return encodeSafetensors(a.tensors, {
    iv: canonicalJson(m),
    format_version: String(m.formatVersion),
    method: m.method,
    site: m.site,
    model_name: m.model.name,
    model_sha256: m.model.sha256,
  });
}

/** An artifact as its two files: the safetensors bytes and the `.ivec.json` sidecar text (the stored metadata, pretty-printed). */
export interface ArtifactFiles {
  safetensors: Uint8Array;
  sidecar: string;
}

/** Both files of an artifact, from one encoding; every writer (Node.js files, VS Code workspaces) writes these. */
export function encodeArtifactFiles(a: VectorArtifact, options: EncodeOptions = {}): ArtifactFiles {
  const safetensors = encodeArtifact(a, options);
  return { safetensors, sidecar: canonicalJson(storedMetadata(a.metadata, options.deterministic ?? false), 2) + '\n' };
}

export function decodeArtifact(bytes: Uint8Array, file: string): VectorArtifact {
  const { tensors, metadata, dtypes } = decodeSafetensors(bytes, file);
  const json = metadata.iv;
  if (json === undefined) {
    throw new UserError('not an Iterative Vectors artifact: the safetensors metadata has no "iv" entry', { file });
  }
  const parsed = parseJson(json, { file, field: 'iv' });
  const mp = metadataProblems(parsed);
  if (mp.length) throw new UserError(`invalid artifact metadata: ${mp.join('; ')}`, { file, field: 'iv' });
  const m = parsed as ArtifactMetadata;
  const tp = tensorProblems(tensors, m);
  if (tp.length) throw new UserError(`tensors do not match the artifact metadata: ${tp.join('; ')}`, { file });
  const nonFinite = nonFiniteProblem(tensors, dtypes);
  if (nonFinite) throw new UserError(`the vectors must be finite numbers: ${nonFinite}`, { file });
  return { tensors: ordered(tensors), metadata: m };
}

/** `x.ivec.safetensors` -> `x.ivec.json`; undefined for other names. */
export function sidecarPath(path: string): string | undefined {
  return path.endsWith(ARTIFACT_EXTENSION) ? path.slice(0, -ARTIFACT_EXTENSION.length) + SIDECAR_EXTENSION : undefined;
}

// ---------------------------------------------------------------------------------------------
// Model check

const short = (sha: string) => (sha.length > 12 ? `${sha.slice(0, 12)}…` : sha || '(none)');
const describe = (m: { name: string; nLayers: number; dModel: number; sha256: string }) =>
  `${m.name} (${m.nLayers} layers, d=${m.dModel}, sha256 ${short(m.sha256)})`;

/**
 * Throws a UserError naming what differs (layers, width, vocabulary, weights hash and, when given,
 * the tokenizer's hash: other token ids make other prompts) when the artifact was extracted with
 * another model than `model`. `ignoreHash` accepts a model whose weights differ but whose shape
 * matches (e.g. the same model re-exported), at the caller's risk; it does not cover the tokenizer.
 */
export function checkModelMatch(
  artifact: VectorArtifact,
  model: ModelInfo,
  file: string,
  options: { ignoreHash?: boolean; tokenizerSha256?: string } = {},
): void {
  const a = artifact.metadata.model;
  const diffs: string[] = [];
  if (a.nLayers !== model.nLayers) diffs.push(`layers ${a.nLayers} vs ${model.nLayers}`);
  if (a.dModel !== model.dModel) diffs.push(`width d=${a.dModel} vs d=${model.dModel}`);
  if (a.vocabSize !== model.vocabSize) diffs.push(`vocabulary ${a.vocabSize} vs ${model.vocabSize} tokens`);
  if (a.sha256 !== model.sha256 && !(options.ignoreHash && diffs.length === 0)) {
    diffs.push(`weights sha256 ${short(a.sha256)} vs ${short(model.sha256)}`);
  }
  const tokenizer = options.tokenizerSha256;
  if (tokenizer !== undefined && artifact.metadata.tokenizerSha256 !== tokenizer) {
    diffs.push(`tokenizer sha256 ${artifact.metadata.tokenizerSha256 || '(none)'} vs ${tokenizer || '(none)'}`);
  }
  if (diffs.length === 0) return;
  throw new UserError(`${baseName(file)} was extracted with ${describe(a)} but the loaded model is ${describe(model)}: ${diffs.join(', ')} differ`, { file });
}

// ---------------------------------------------------------------------------------------------
// Views for the extension

function layerTensor(artifact: VectorArtifact, layer: number): Tensor | undefined {
  const n = artifact.metadata.model.nLayers;
  if (!Number.isInteger(layer) || layer < 0 || layer >= n) throw new RangeError(`layer ${layer} is outside 0..${n - 1}`);
  return artifact.tensors.get(tensorName(layer, artifact.metadata.site));
}

/** The rows of a layer's matrix (views, not copies); [] for a layer the artifact has no tensor for. */
export function layerRows(artifact: VectorArtifact, layer: number): Float32Array[] {
  const t = layerTensor(artifact, layer);
  if (!t) return [];
  const [rows, d] = t.shape;
  return Array.from({ length: rows }, (_, r) => t.data.subarray(r * d, (r + 1) * d));
}

function norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** L2 norm of every row, per layer: result[l][r] ([] for layers without a tensor). */
export function layerNorms(artifact: VectorArtifact): number[][] {
  return Array.from({ length: artifact.metadata.model.nLayers }, (_, l) => layerRows(artifact, l).map(norm));
}

/**
 * Cosine similarity between the class rows of a layer: an n x n symmetric matrix, 1 on the
 * diagonal (NaN where a row is zero). For Iterative Vectors the class rows are rows 0..n-1 (the
 * query row only with `includeQuery`); for other methods all rows.
 */
export function rowCosines(artifact: VectorArtifact, layer: number, options: { includeQuery?: boolean } = {}): number[][] {
  let rows = layerRows(artifact, layer);
  if (artifact.metadata.method === 'iterative-vectors' && !options.includeQuery) rows = rows.slice(0, artifact.metadata.labels.length);
  const norms = rows.map(norm);
  return rows.map((a, i) =>
    rows.map((b, j) => {
      if (norms[i] === 0 || norms[j] === 0) return NaN;
      if (i === j) return 1;
      let dot = 0;
      for (let k = 0; k < a.length; k++) dot += a[k] * b[k];
      return dot / (norms[i] * norms[j]);
    }),
  );
}

/**
 * sha256 over the tensors alone (names, shapes, float32 bytes, in name order): equal for equal
 * vectors whatever the metadata, so "same seed and inputs => same vectors" can be checked.
 */
export function tensorsSha256(tensors: ReadonlyMap<string, Tensor>): string {
  const h = createHash('sha256');
  for (const name of [...tensors.keys()].sort()) {
    const t = tensors.get(name)!;
    h.update(`${name}\0${t.shape.join(',')}\0`);
    h.update(float32Bytes(t.data));
  }
  return h.digest('hex');
}
