import { fromBinary } from '@bufbuild/protobuf';
import { readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep, win32 } from 'node:path';
import { ModelProtoSchema, TensorProto_DataLocation, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from 'onnx-buf';
import { UserError, type Location } from '../../core/errors';
import { parseJson } from '../../core/json';
import { findDecoderSites } from './mergedDecoder';
import type { LayerSites } from './sites';

/** The ONNX element types that can carry activations, by TensorProto.DataType code. */
const ELEM_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  16: 'bfloat16',
};

export function elemTypeName(code: number): string {
  return ELEM_TYPES[code] ?? `type${code}`;
}

export type ActivationDType = 'float32' | 'float16' | 'bfloat16';

export interface TensorInfo {
  name: string;
  dtype: string;
  /** Fixed sizes as numbers, symbolic ones as their names; undefined when the graph declares no shape. */
  shape?: (number | string)[];
}

/**
 * The KV cache as the graph declares it: one pattern per kind of cache tensor, with `{l}` for the layer
 * (e.g. `past_key_values.{l}.key`); `stacked` when K and V share one tensor per layer (`past_{l}`).
 */
export interface KvLayout {
  stacked: boolean;
  pastKey?: string;
  pastValue?: string;
  /** Stacked layout only: the one past tensor per layer. */
  past?: string;
  presentKey?: string;
  presentValue?: string;
  present?: string;
  layers: number;
  /** Shape of the layer-0 past tensor. */
  shape?: (number | string)[];
  dtype?: string;
}

export type FolderLayout = 'transformers.js' | 'onnxruntime-genai' | 'plain';

export interface ModelFolder {
  folder: string;
  layout: FolderLayout;
  /** The decoder graph file. */
  onnxFile: string;
  /** External data files the graph references (not read). */
  externalDataFiles: string[];
  /** Each tensor stored in them (checked by checkExternalFiles before a session reads them). */
  externalData: ExternalRef[];
  /** config.json (Hugging Face) and genai_config.json, where present. */
  config?: Record<string, unknown>;
  genaiConfig?: Record<string, unknown>;
  model: ModelProto;
  graph: GraphProto;
}

export interface ModelSummary {
  folder: string;
  layout: FolderLayout;
  onnxFile: string;
  externalDataFiles: string[];
  producer: string;
  opsets: Record<string, number>;
  architecture: string;
  layers?: number;
  hiddenSize?: number;
  heads?: number;
  kvHeads?: number;
  headSize?: number;
  dtype: ActivationDType;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  kv?: KvLayout;
  nodes: number;
}

/** Preferred decoder files of the Transformers.js / Optimum layout, best first. */
const OPTIMUM_FILES = ['model.onnx', 'decoder_model_merged.onnx', 'decoder_with_past_model.onnx', 'decoder_model.onnx'];

// ---------------------------------------------------------------------------------------------
// Reading the files of a model folder: each is stat'ed first (a folder, a FIFO or a device such as
// /dev/zero is refused before it is opened: reading one would fail, block or never end) and capped.

const MiB = 2 ** 20;
/** config.json, genai_config.json, tokenizer_config.json, special_tokens_map.json: real ones are a few kB. */
export const CONFIG_JSON_LIMIT = { maxBytes: 16 * MiB, why: 'model configuration files are a few kB' } as const;
/** tokenizer.json: the largest published ones (Gemma 3's 262k-token vocabulary) are about 35 MB. */
export const TOKENIZER_JSON_LIMIT = { maxBytes: 256 * MiB, why: 'the largest published tokenizer.json files are about 35 MB' } as const;
/** A protobuf message, so a whole .onnx file, cannot exceed 2 GiB; bigger weights go into external data files. */
export const ONNX_FILE_LIMIT = {
  maxBytes: 2 ** 31 - 1,
  why: 'an ONNX file is one protobuf message, which cannot exceed 2 GiB; larger models keep their weights in external data files',
} as const;

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  return `${n} bytes`;
}

export interface FileCheck {
  /** What the file is, in messages (default: its name). */
  what?: string;
  maxBytes?: number;
  /** Why files over maxBytes are refused. */
  why?: string;
  /** Where to point errors (default: the file itself). */
  where?: Location;
}

function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a folder';
  if (s.isFIFO()) return 'a named pipe (FIFO)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** What to call a file in a message, and where to point the error: the file itself, or the config field naming it. */
function described(file: string, check: FileCheck): { what: string; where: Location } {
  const what = check.what ?? basename(file);
  const where = check.where ?? { file };
  return { what: where.file === file ? what : `${what} (${file})`, where };
}

function checkStats(s: Stats, file: string, check: FileCheck): Stats {
  const { what, where } = described(file, check);
  if (s.isDirectory()) throw new UserError(`${what} is a folder; expected a file`, where);
  if (!s.isFile()) throw new UserError(`${what} is ${kindOf(s)}, not a regular file: refusing to read it (it could block or never end)`, where);
  if (check.maxBytes !== undefined && s.size > check.maxBytes) {
    throw new UserError(`${what} is ${formatBytes(s.size)}, over the limit of ${formatBytes(check.maxBytes)}${check.why ? `: ${check.why}` : ''}`, where);
  }
  return s;
}

function statError(e: unknown, file: string, check: FileCheck): UserError {
  const { what, where } = described(file, check);
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new UserError(`${what} does not exist`, where);
  return new UserError(`cannot read ${what}: ${(e as Error).message}`, where);
}

const missing = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';

/** The stat of a file to be read: a regular file (symlinks followed) within the size limit; a UserError otherwise. */
export function checkFile(file: string, check: FileCheck = {}): Stats {
  let s: Stats;
  try {
    s = statSync(file);
  } catch (e) {
    throw statError(e, file, check);
  }
  return checkStats(s, file, check);
}

/** A checked file's bytes; undefined when `optional` and absent. */
export function readChecked(file: string, check: FileCheck & { optional: true }): Buffer | undefined;
export function readChecked(file: string, check?: FileCheck): Buffer;
export function readChecked(file: string, check: FileCheck & { optional?: boolean } = {}): Buffer | undefined {
  try {
    checkStats(statSync(file), file, check);
  } catch (e) {
    if (e instanceof UserError) throw e;
    if (check.optional && missing(e)) return undefined;
    throw statError(e, file, check);
  }
  try {
    return readFileSync(file);
  } catch (e) {
    throw statError(e, file, check);
  }
}

/** readChecked for the async readers (tokenizers): UTF-8 text, undefined when `optional` and absent. */
export async function readTextChecked(file: string, check: FileCheck & { optional?: boolean } = {}): Promise<string | undefined> {
  try {
    checkStats(await stat(file), file, check);
  } catch (e) {
    if (e instanceof UserError) throw e;
    if (check.optional && missing(e)) return undefined;
    throw statError(e, file, check);
  }
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw statError(e, file, check);
  }
}

/** A JSON object file of a model folder (parseJson: line and column of a syntax error, duplicate keys refused); undefined when absent. */
export function readJsonObject(file: string, limit: { maxBytes: number; why: string } = CONFIG_JSON_LIMIT): Record<string, unknown> | undefined {
  const bytes = readChecked(file, { ...limit, optional: true });
  if (bytes === undefined) return undefined;
  const v = parseJson(bytes.toString('utf8'), { file });
  const o = obj(v);
  if (!o) throw new UserError(`expected a JSON object, got ${Array.isArray(v) ? 'an array' : JSON.stringify(v)}`, { file });
  return o;
}

/** Whether a path exists in any form (a dangling symlink counts as absent). */
function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * `name` (from a config or a graph) resolved against `dir`: relative, and inside `dir` once resolved,
 * so that no file of a model folder points outside it.
 */
export function insideFolder(dir: string, name: string, where: Location, what: string): string {
  if (isAbsolute(name) || win32.isAbsolute(name)) {
    throw new UserError(`${what} is "${name}", an absolute path: it must be a path relative to the model's folder ${dir}`, where);
  }
  const full = resolve(dir, name);
  const rel = relative(resolve(dir), full);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new UserError(`${what} is "${name}", which points outside the model's folder ${dir} (to ${full})`, where);
  }
  return full;
}

const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);

const onnxCheck = (what: string, where?: Location): FileCheck => ({ what, ...ONNX_FILE_LIMIT, where });

/**
 * Finds the decoder graph of a model folder: the onnxruntime-genai layout (genai_config.json naming
 * `model.decoder.filename`), the Transformers.js / Optimum layout (config.json + onnx/*.onnx), or a folder
 * with `.onnx` files. `path` may also be an `.onnx` file; `file` picks one of several graphs.
 * The graph file is checked (a regular file under 2 GiB), not read.
 */
export function locateModel(path: string, file?: string): { folder: string; onnxFile: string; layout: FolderLayout } {
  let s: Stats;
  try {
    s = statSync(path);
  } catch (e) {
    if (missing(e)) throw new UserError(`model folder not found: ${path}`);
    throw new UserError(`cannot read the model path: ${(e as Error).message}`, { file: path });
  }
  if (!s.isDirectory()) {
    if (!path.endsWith('.onnx')) throw new UserError(`expected a model folder or an .onnx file, got ${path} (${s.isFile() ? 'a file' : kindOf(s)})`);
    checkStats(s, path, onnxCheck('the ONNX graph'));
    const dir = dirname(path);
    const folder = basename(dir) === 'onnx' && exists(join(dirname(dir), 'config.json')) ? dirname(dir) : dir;
    const layout: FolderLayout = exists(join(folder, 'genai_config.json'))
      ? 'onnxruntime-genai'
      : exists(join(folder, 'config.json'))
        ? 'transformers.js'
        : 'plain';
    return { folder, onnxFile: path, layout };
  }
  const folder = path;
  if (file) {
    const candidates = [join(folder, file), join(folder, 'onnx', file)];
    const hit = candidates.find((c) => exists(c));
    if (!hit) throw new UserError(`no ${file} in ${folder} or ${join(folder, 'onnx')}`);
    checkFile(hit, onnxCheck(`the ONNX graph ${file}`));
    return { ...locateModel(hit), folder };
  }
  const genaiPath = join(folder, 'genai_config.json');
  const genai = readJsonObject(genaiPath);
  if (genai) {
    const filename = obj(obj(genai.model)?.decoder)?.filename;
    const where = { file: genaiPath, field: 'model.decoder.filename' };
    if (filename !== undefined && (typeof filename !== 'string' || filename === '')) {
      throw new UserError(`expected the decoder's .onnx file name, got ${JSON.stringify(filename)}`, where);
    }
    if (typeof filename === 'string') {
      // The file genai_config.json names is the model: when it is missing, no other graph stands in for it.
      const onnxFile = insideFolder(folder, filename, where, 'the decoder file');
      checkFile(onnxFile, onnxCheck('the decoder graph it names', where));
      return { folder, onnxFile, layout: 'onnxruntime-genai' };
    }
    const onnxFile = join(folder, 'model.onnx');
    if (exists(onnxFile)) {
      checkFile(onnxFile, onnxCheck('the ONNX graph model.onnx'));
      return { folder, onnxFile, layout: 'onnxruntime-genai' };
    }
  }
  const onnxDir = join(folder, 'onnx');
  for (const dir of [onnxDir, folder]) {
    if (!isDirectory(dir)) continue;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (e) {
      throw new UserError(`cannot list the model folder: ${(e as Error).message}`, { file: dir });
    }
    const files = names.filter((f) => f.endsWith('.onnx')).sort();
    if (files.length === 0) continue;
    const pick =
      OPTIMUM_FILES.find((f) => files.includes(f)) ?? files.find((f) => f.startsWith('model')) ?? files.find((f) => f.startsWith('decoder')) ?? files[0];
    const layout: FolderLayout = exists(join(folder, 'config.json')) ? 'transformers.js' : 'plain';
    // The preferred graph must be usable: a folder named model.onnx is an error, not a reason to pick another graph.
    const onnxFile = join(dir, pick);
    checkFile(onnxFile, onnxCheck(`the ONNX graph ${pick}`));
    return { folder, onnxFile, layout };
  }
  throw new UserError(
    `no ONNX model in ${folder}: looked for genai_config.json (onnxruntime-genai layout), onnx/*.onnx (Transformers.js / Optimum layout) and *.onnx`,
  );
}

/**
 * Reads and checks the graph (`bytes`: the graph file, when already read): its opsets, that tensor
 * names are unique and defined, that it has no cycle, and where its external data lies (inside the
 * graph's folder; the files themselves are not opened: see checkExternalFiles).
 */
export function readModelFolder(path: string, file?: string, bytes?: Uint8Array): ModelFolder {
  const { folder, onnxFile, layout } = locateModel(path, file);
  const config = readJsonObject(join(folder, 'config.json'));
  const genaiConfig = readJsonObject(join(folder, 'genai_config.json'));
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes ?? readChecked(onnxFile, onnxCheck('the ONNX graph')));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`not an ONNX model: ${(e as Error).message}`, { file: onnxFile });
  }
  const graph = model.graph;
  if (!graph || graph.node.length === 0) throw new UserError('the ONNX model has no graph nodes', { file: onnxFile });
  checkOpsets(model, onnxFile);
  checkGraph(graph, onnxFile);
  const externalData = externalTensors(graph, onnxFile);
  return {
    folder,
    layout,
    onnxFile,
    externalDataFiles: [...new Set(externalData.map((r) => r.location))],
    externalData,
    config,
    genaiConfig,
    model,
    graph,
  };
}

export function tensorInfo(v: ValueInfoProto): TensorInfo {
  const t = v.type?.value;
  if (t?.case !== 'tensorType') return { name: v.name, dtype: t?.case ?? 'unknown' };
  const shape = t.value.shape?.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : '?'));
  return { name: v.name, dtype: elemTypeName(t.value.elemType), shape };
}

/** The activation dtype: that of the float graph outputs (logits), else inputs, else the weights. */
export function activationDType(graph: GraphProto): ActivationDType {
  const floats = new Set(['float32', 'float16', 'bfloat16']);
  for (const list of [graph.output, graph.input]) {
    const hit = list.map(tensorInfo).find((t) => floats.has(t.dtype));
    if (hit) return hit.dtype as ActivationDType;
  }
  const counts = new Map<string, number>();
  for (const t of graph.initializer) {
    const name = elemTypeName(t.dataType);
    if (floats.has(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const best = [...counts].sort((a, b) => b[1] - a[1])[0];
  return (best?.[0] as ActivationDType | undefined) ?? 'float32';
}

/** Groups per-layer names (`past_key_values.3.key`) into patterns (`past_key_values.{l}.key`). */
function layerPatterns(names: string[]): Map<string, { layers: Set<number>; first: string }> {
  const out = new Map<string, { layers: Set<number>; first: string }>();
  for (const name of names) {
    const m = /^(.*?)(\d+)(\D*)$/.exec(name) ?? /^(.*?)(\d+)(.*)$/.exec(name);
    if (!m) continue;
    const pattern = `${m[1]}{l}${m[3]}`;
    const entry = out.get(pattern) ?? { layers: new Set<number>(), first: name };
    entry.layers.add(Number(m[2]));
    if (Number(m[2]) === 0) entry.first = name;
    out.set(pattern, entry);
  }
  return out;
}

const PAST = /past|cache/i;
const PRESENT = /present|cache/i;

/** The KV cache layout from the graph inputs / outputs, with genai_config's names where given. */
export function kvLayout(graph: GraphProto): KvLayout | undefined {
  const inputs = graph.input.map(tensorInfo);
  const pastNames = inputs.filter((t) => PAST.test(t.name) && /\d/.test(t.name)).map((t) => t.name);
  if (pastNames.length === 0) return undefined;
  const outputNames = graph.output.map((o) => o.name).filter((n) => PRESENT.test(n) && /\d/.test(n) && !pastNames.includes(n));
  const past = layerPatterns(pastNames);
  const present = layerPatterns(outputNames);
  // `past_key_values.{l}.key`: the part after the layer decides; `key_cache.{l}`, `past_value_{l}`: the part before.
  const kind = (p: string): 'key' | 'value' | undefined => {
    const at = p.indexOf('{l}');
    for (const part of [p.slice(at), p.slice(0, at)]) {
      const k = /key|(^|[._])k([._]|$)/i.test(part);
      const v = /value|(^|[._])v([._]|$)/i.test(part);
      if (k !== v) return k ? 'key' : 'value';
    }
    return undefined;
  };
  const isKey = (p: string) => kind(p) === 'key';
  const isValue = (p: string) => kind(p) === 'value';
  const pick = (m: Map<string, unknown>, f: (p: string) => boolean) => [...m.keys()].find(f);
  const pastKey = pick(past, isKey);
  const pastValue = pick(past, isValue);
  const stackedPast = !pastKey && !pastValue ? [...past.keys()][0] : undefined;
  const main = pastKey ?? stackedPast ?? [...past.keys()][0];
  const entry = past.get(main)!;
  const first = inputs.find((t) => t.name === entry.first);
  return {
    stacked: stackedPast !== undefined,
    pastKey,
    pastValue,
    past: stackedPast,
    presentKey: pick(present, isKey),
    presentValue: pick(present, isValue),
    present: stackedPast !== undefined ? [...present.keys()][0] : undefined,
    layers: entry.layers.size,
    shape: first?.shape,
    dtype: first?.dtype,
  };
}

/** A hyperparameter and where it was read (file, field). */
interface Said {
  value: number;
  file: string;
  field: string;
}

/** Model hyperparameters: genai_config's decoder block first, then config.json (several naming schemes); `from` says where layers and width came from. */
function hyper(folder: ModelFolder) {
  const genaiFile = join(folder.folder, 'genai_config.json');
  const configFile = join(folder.folder, 'config.json');
  const decoder = obj(obj(folder.genaiConfig?.model)?.decoder) ?? {};
  const c = folder.config ?? {};
  const text = obj(c.text_config) ?? {};
  // Early onnxruntime-genai configs nest GPT-2 style sizes in a "model" block of config.json.
  const legacy = obj(c.model) ?? {};
  type Candidate = [unknown, string, string];
  const G = (k: string): Candidate => [decoder[k], genaiFile, `model.decoder.${k}`];
  const C = (k: string): Candidate => [c[k], configFile, k];
  const T = (k: string): Candidate => [text[k], configFile, `text_config.${k}`];
  const L = (k: string): Candidate => [legacy[k], configFile, `model.${k}`];
  const first = (...vs: Candidate[]): Said | undefined => {
    for (const [v, file, field] of vs) {
      const value = int(v);
      if (value !== undefined) return { value, file, field };
    }
    return undefined;
  };
  const layers = first(G('num_hidden_layers'), C('num_hidden_layers'), C('n_layer'), C('num_layers'), C('n_layers'), T('num_hidden_layers'), L('n_layer'));
  const headsSaid = first(G('num_attention_heads'), C('num_attention_heads'), C('n_head'), C('num_heads'), T('num_attention_heads'), L('n_head'));
  const headSizeSaid = first(G('head_size'), C('head_dim'), T('head_dim'));
  const kvSaid = first(
    G('num_key_value_heads'),
    C('num_key_value_heads'),
    C('n_head_kv'),
    [c.multi_query ? 1 : undefined, configFile, 'multi_query'],
    T('num_key_value_heads'),
  );
  let hiddenSaid = first(G('hidden_size'), C('hidden_size'), C('n_embd'), C('d_model'), T('hidden_size'), L('n_embd'));
  let heads = headsSaid?.value;
  const headSize = headSizeSaid?.value;
  let kvHeads = kvSaid?.value;
  if (heads === undefined && hiddenSaid !== undefined && headSize !== undefined && hiddenSaid.value % headSize === 0) heads = hiddenSaid.value / headSize;
  if (hiddenSaid === undefined && headsSaid !== undefined && headSizeSaid !== undefined) {
    hiddenSaid = { value: headsSaid.value * headSizeSaid.value, file: headsSaid.file, field: `${headsSaid.field} x ${headSizeSaid.field}` };
  }
  const hiddenSize = hiddenSaid?.value;
  kvHeads ??= heads;
  return {
    values: {
      layers: layers?.value,
      hiddenSize,
      heads,
      kvHeads,
      headSize: headSize ?? (hiddenSize && heads ? hiddenSize / heads : undefined),
    },
    from: { layers, hiddenSize: hiddenSaid },
  };
}

export function architectureOf(folder: ModelFolder): string {
  const mt = folder.config?.model_type;
  if (typeof mt === 'string') return mt;
  const gt = obj(folder.genaiConfig?.model)?.type;
  if (typeof gt === 'string') return gt;
  const archs = folder.config?.architectures;
  if (Array.isArray(archs) && typeof archs[0] === 'string') return archs[0];
  return 'unknown';
}

export function summarize(folder: ModelFolder): ModelSummary {
  const { graph, model } = folder;
  const kv = kvLayout(graph);
  const h = hyper(folder).values;
  const opsets: Record<string, number> = {};
  for (const o of model.opsetImport) opsets[o.domain || 'ai.onnx'] = Number(o.version);
  return {
    folder: folder.folder,
    layout: folder.layout,
    onnxFile: folder.onnxFile,
    externalDataFiles: folder.externalDataFiles,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    opsets,
    architecture: architectureOf(folder),
    ...h,
    layers: h.layers ?? kv?.layers,
    dtype: activationDType(graph),
    inputs: graph.input.map(tensorInfo),
    outputs: graph.output.map(tensorInfo),
    kv,
    nodes: graph.node.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Graph checks: what ONNX Runtime would otherwise refuse with a message naming its C++ source (or,
// for external data past the end of a file, read as garbage or crash on), said in the model's terms.

/**
 * The newest opset of the standard operators (ai.onnx) that onnxruntime-node 1.30 loads; newer
 * ones it refuses as "under development". test/unit/robustModels.test.ts checks it against the
 * installed runtime, so an upgrade that moves it fails there first.
 */
export const MAX_ONNX_OPSET = 26;

function checkOpsets(model: ModelProto, file: string): void {
  for (const o of model.opsetImport) {
    const domain = o.domain || 'ai.onnx';
    const version = Number(o.version);
    if (domain === 'ai.onnx' && (version < 1 || version > MAX_ONNX_OPSET)) {
      throw new UserError(
        `the graph imports opset ${version} of the standard ONNX operators (ai.onnx); ONNX Runtime here runs opsets 1..${MAX_ONNX_OPSET} (re-export the model with a released opset)`,
        { file, field: 'opset_import' },
      );
    }
  }
}

const nodeLabel = (n: NodeProto, i: number) => (n.name ? `node "${n.name}" (${n.opType})` : `the ${n.opType} node #${i}`);

/** The subgraphs of a node (If branches, Loop / Scan bodies). */
function subgraphs(n: NodeProto): GraphProto[] {
  return n.attribute.flatMap((a) => [...(a.g ? [a.g] : []), ...a.graphs]);
}

/**
 * Checks one graph (and its subgraphs): every tensor name defined once (graph inputs, initializers,
 * node outputs), every node input defined (here or in an enclosing graph), and the nodes acyclic.
 * Returns the names the graph reads from enclosing graphs.
 */
function checkGraph(graph: GraphProto, file: string, outer: ReadonlySet<string> = new Set(), scope = 'the graph'): Set<string> {
  const where = { file };
  const inputs = new Set<string>();
  for (const i of graph.input) {
    if (inputs.has(i.name)) throw new UserError(`${scope} declares the input "${i.name}" twice`, where);
    inputs.add(i.name);
  }
  const initializers = new Set<string>();
  const initialize = (name: string | undefined, what: string) => {
    if (!name) return;
    if (initializers.has(name)) throw new UserError(`${scope} has two ${what}s named "${name}"; tensor names must be unique`, where);
    initializers.add(name);
  };
  for (const t of graph.initializer) initialize(t.name, 'initializer');
  for (const t of graph.sparseInitializer) initialize(t.values?.name, 'sparse initializer');
  // An initializer may also be listed as an input (its default value); a node output may be neither.
  const producer = new Map<string, number>();
  graph.node.forEach((n, i) => {
    for (const o of n.output) {
      if (!o) continue;
      const before = producer.get(o);
      if (before !== undefined) {
        throw new UserError(`${scope}: the tensor "${o}" is written by both ${nodeLabel(graph.node[before], before)} and ${nodeLabel(n, i)}`, where);
      }
      if (inputs.has(o) || initializers.has(o)) {
        throw new UserError(`${scope}: ${nodeLabel(n, i)} writes "${o}", which is already a graph ${inputs.has(o) ? 'input' : 'initializer'}`, where);
      }
      producer.set(o, i);
    }
  });
  const visible = (name: string) => inputs.has(name) || initializers.has(name) || producer.has(name);
  let inScope: Set<string> | undefined;
  const free = new Set<string>();
  // deps[i]: the nodes of this graph whose outputs node i reads (directly, or inside its subgraphs).
  const deps = graph.node.map((n, i) => {
    const reads = n.input.filter((x) => x);
    for (const g of subgraphs(n)) {
      inScope ??= new Set([...outer, ...inputs, ...initializers, ...producer.keys()]);
      reads.push(...checkGraph(g, file, inScope, `the subgraph "${g.name}" of ${nodeLabel(n, i)}`));
    }
    const from = new Set<number>();
    for (const x of reads) {
      const p = producer.get(x);
      if (p !== undefined) from.add(p);
      else if (!visible(x)) {
        if (!outer.has(x)) throw new UserError(`${scope}: ${nodeLabel(n, i)} reads "${x}", which no node, graph input or initializer defines`, where);
        free.add(x);
      }
    }
    return [...from];
  });
  for (const o of graph.output) {
    if (visible(o.name)) continue;
    if (!outer.has(o.name)) throw new UserError(`${scope}: the output "${o.name}" is not computed by any node`, where);
    free.add(o.name);
  }
  const cycle = findCycle(deps);
  if (cycle) {
    const names = cycle.map((i) => nodeLabel(graph.node[i], i));
    const shown = names.length > 6 ? [...names.slice(0, 5), `... (${names.length} nodes)`] : names;
    throw new UserError(`${scope} has a cycle: ${[...shown, names[0]].join(' -> ')}`, where);
  }
  return free;
}

/** A cycle among nodes (each listed with the nodes it reads from), in data-flow order; undefined when acyclic. */
function findCycle(deps: number[][]): number[] | undefined {
  const waiting = deps.map((d) => d.length);
  const readers: number[][] = deps.map(() => []);
  deps.forEach((d, i) => d.forEach((p) => readers[p].push(i)));
  const ready = waiting.flatMap((w, i) => (w === 0 ? [i] : []));
  for (let k = 0; k < ready.length; k++) for (const r of readers[ready[k]]) if (--waiting[r] === 0) ready.push(r);
  if (ready.length === deps.length) return undefined;
  // Walk back through unfinished producers from an unfinished node until one repeats: that loop is a cycle.
  const seen = new Map<number, number>();
  const path: number[] = [];
  let i = waiting.findIndex((w) => w > 0);
  while (!seen.has(i)) {
    seen.set(i, path.length);
    path.push(i);
    i = deps[i].find((p) => waiting[p] > 0)!;
  }
  return path.slice(seen.get(i)).reverse();
}

/** A tensor whose data lies in an external file, as the graph names it. */
export interface ExternalRef {
  tensor: string;
  /** Relative to the graph's folder. */
  location: string;
  offset: number;
  /** The length the graph gives, else the bytes its type and shape need (undefined when neither is known). */
  length?: number;
}

/** Bits per element of the TensorProto data types with a fixed size (by TensorProto.DataType code; strings have none). */
const BITS_OF_TYPES: Record<number, number[]> = {
  2: [25, 26], // uint2, int2
  4: [21, 22, 23], // uint4, int4, float4e2m1
  8: [2, 3, 9, 17, 18, 19, 20, 24], // uint8, int8, bool, float8 variants
  16: [4, 5, 10, 16], // uint16, int16, float16, bfloat16
  32: [1, 6, 12], // float, int32, uint32
  64: [7, 11, 13, 14], // int64, double, uint64, complex64
  128: [15], // complex128
};
const ELEM_BITS = new Map(Object.entries(BITS_OF_TYPES).flatMap(([bits, types]) => types.map((t) => [t, Number(bits)] as const)));

/** Every tensor of the graph and its subgraphs that may hold data: initializers, sparse ones, Constant values and other tensor attributes. */
function allTensors(graph: GraphProto): TensorProto[] {
  const out: TensorProto[] = [...graph.initializer];
  for (const s of graph.sparseInitializer) out.push(...[s.values, s.indices].filter((t): t is TensorProto => t !== undefined));
  for (const n of graph.node) {
    for (const a of n.attribute) {
      if (a.t) out.push(a.t);
      out.push(...a.tensors);
      if (a.sparseTensor?.values) out.push(a.sparseTensor.values);
    }
    for (const g of subgraphs(n)) out.push(...allTensors(g));
  }
  return out;
}

/**
 * The external data references of a graph, checked without opening any file: a location relative to
 * the graph's folder that stays inside it, and an offset and length that are byte counts (a length
 * that contradicts the tensor's type and shape is refused).
 */
function externalTensors(graph: GraphProto, onnxFile: string): ExternalRef[] {
  const dir = dirname(onnxFile);
  const refs: ExternalRef[] = [];
  for (const t of allTensors(graph)) {
    if (t.dataLocation !== TensorProto_DataLocation.EXTERNAL && t.externalData.length === 0) continue;
    const where = { file: onnxFile, field: t.name };
    const key = (k: string) => t.externalData.find((e) => e.key === k)?.value;
    const location = key('location');
    if (!location) throw new UserError(`tensor "${t.name}" is stored as external data but names no location`, where);
    insideFolder(dir, location, where, `the external data location of tensor "${t.name}"`);
    const count = (k: 'offset' | 'length') => {
      const v = key(k);
      if (v === undefined) return undefined;
      if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UserError(`tensor "${t.name}": external data ${k} "${v}" is not a byte count`, where);
      return Number(v);
    };
    const offset = count('offset') ?? 0;
    const given = count('length');
    const bits = ELEM_BITS.get(t.dataType);
    const elements = t.dims.reduce((a, d) => a * Number(d), 1);
    const needed = bits === undefined ? undefined : Math.ceil((elements * bits) / 8);
    if (given !== undefined && needed !== undefined && given !== needed) {
      throw new UserError(
        `tensor "${t.name}" (${elemTypeName(t.dataType)} [${t.dims.join(', ')}]) needs ${needed} bytes, but its external data length is ${given}`,
        where,
      );
    }
    refs.push({ tensor: t.name, location, offset, length: given ?? needed });
  }
  return refs;
}

/**
 * Checks the external data files before ONNX Runtime reads them: each exists, is a regular file, and
 * holds every tensor's bytes (offset + length within its size). Reads nothing but their sizes.
 * `allowMissing` (inspect, which never needs the weights) skips files that are absent.
 */
export function checkExternalFiles(refs: readonly ExternalRef[], onnxFile: string, { allowMissing = false } = {}): void {
  const dir = dirname(onnxFile);
  const sizes = new Map<string, number | undefined>();
  for (const r of refs) {
    const where = { file: onnxFile, field: r.tensor };
    const file = insideFolder(dir, r.location, where, `the external data location of tensor "${r.tensor}"`);
    if (!sizes.has(file)) {
      const present = !allowMissing || exists(file);
      sizes.set(file, present ? checkFile(file, { what: `the external data file ${r.location} of tensor "${r.tensor}"`, where }).size : undefined);
    }
    const size = sizes.get(file);
    if (size === undefined) continue;
    const end = r.offset + (r.length ?? 0);
    if (end > size) {
      const span = r.length === undefined ? `from byte ${r.offset}` : `in bytes ${r.offset}..${end}`;
      throw new UserError(
        `the external data of tensor "${r.tensor}" lies ${span} of ${r.location}, which has ${size} bytes: the file is truncated or does not belong to this graph`,
        where,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The configs against the graph: a config.json that disagrees with the graph it ships with would
// otherwise give a model with the wrong number of layers or edits of the wrong width.

/**
 * The layer count of the configs against the graph's KV cache (one past tensor set per layer):
 * refused when they differ. Called before site discovery, which trusts the configs' count.
 */
export function checkLayerCount(folder: ModelFolder, summary: ModelSummary): void {
  const said = hyper(folder).from.layers;
  const kv = summary.kv;
  if (!said || !kv || said.value === kv.layers) return;
  const pattern = kv.stacked ? kv.past : (kv.pastKey ?? kv.pastValue);
  throw new UserError(`${said.field} is ${said.value}, but the graph has ${kv.layers} layers (its KV cache inputs ${pattern} for layers 0..${kv.layers - 1})`, {
    file: said.file,
    field: said.field,
  });
}

/**
 * The configs against the graph once the sites are known: a graph without KV cache whose layers
 * outnumber the configs' count, and a model width (hidden_size) other than what each layer's
 * attention output projection writes (its weight's output dimension).
 */
export function checkConfigAgainstSites(folder: ModelFolder, summary: ModelSummary, sites: readonly LayerSites[], site?: string): void {
  const h = hyper(folder).from;
  if (h.layers && !summary.kv) {
    let all: number | undefined;
    try {
      all = findDecoderSites(folder.graph, summary.architecture, { override: site }).sites.length;
    } catch {
      all = undefined;
    }
    if (all !== undefined && all > h.layers.value) {
      throw new UserError(`${h.layers.field} is ${h.layers.value}, but the graph has ${all} layers (attention outputs found for layers 0..${all - 1})`, {
        file: h.layers.file,
        field: h.layers.field,
      });
    }
  }
  const said = h.hiddenSize;
  const first = sites[0];
  if (!said || !first) return;
  const width = projectionWidth(folder.graph, first.tensors.attn_out);
  if (width && width.width !== said.value) {
    throw new UserError(
      `${said.field} is ${said.value}, but the graph's layers are ${width.width} wide (the attention output projection ${width.evidence} of layer 0)`,
      { file: said.file, field: said.field },
    );
  }
}

const PROJECTIONS = new Set(['MatMul', 'MatMulNBits', 'Gemm', 'MatMulInteger', 'DynamicQuantizeMatMul', 'FusedMatMul']);

/** The output width of the projection that writes `tensor` (through a bias Add or a dequantizing Mul / Cast), from its weight. */
function projectionWidth(graph: GraphProto, tensor: string): { width: number; evidence: string } | undefined {
  const producer = new Map<string, NodeProto>();
  const constants = new Map<string, TensorProto>();
  const index = (g: GraphProto) => {
    for (const t of g.initializer) constants.set(t.name, t);
    for (const n of g.node) {
      for (const o of n.output) if (o) producer.set(o, n);
      const value = n.opType === 'Constant' ? n.attribute.find((a) => a.name === 'value')?.t : undefined;
      if (value) constants.set(n.output[0], value);
      subgraphs(n).forEach(index);
    }
  };
  index(graph);
  let n = producer.get(tensor);
  for (let step = 0; n && !PROJECTIONS.has(n.opType) && step < 4; step++) {
    const inputs = n.input.map((i) => producer.get(i)).filter((p): p is NodeProto => p !== undefined);
    n = inputs.find((p) => PROJECTIONS.has(p.opType)) ?? inputs.find((p) => ['Add', 'Mul', 'Cast'].includes(p.opType));
  }
  if (!n || !PROJECTIONS.has(n.opType)) return undefined;
  const label = `"${n.name || n.output[0]}"`;
  const attr = (name: string) => n.attribute.find((a) => a.name === name);
  if (n.opType === 'MatMulNBits') {
    const N = attr('N')?.i;
    return N === undefined ? undefined : { width: Number(N), evidence: `${label} (MatMulNBits, N = ${N})` };
  }
  // The weight, through the nodes that keep its shape (or transpose it).
  let weight = n.input[1];
  let transposed = (n.opType === 'Gemm' || n.opType === 'FusedMatMul') && Number(attr('transB')?.i ?? 0) === 1;
  for (let step = 0; !constants.has(weight) && step < 3; step++) {
    const p = producer.get(weight);
    if (!p || !['Transpose', 'Cast', 'Identity', 'DequantizeLinear'].includes(p.opType)) return undefined;
    if (p.opType === 'Transpose') {
      const perm = p.attribute.find((a) => a.name === 'perm')?.ints.map(Number);
      if (!perm || perm[0] === 1) transposed = !transposed;
    }
    weight = p.input[0];
  }
  const w = constants.get(weight);
  if (!w || w.dims.length !== 2) return undefined;
  const dims = w.dims.map(Number);
  return { width: transposed ? dims[0] : dims[1], evidence: `${label} (weight "${weight}" [${dims.join(', ')}]${transposed ? ', transposed' : ''})` };
}
