import { fromBinary } from '@bufbuild/protobuf';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ModelProtoSchema, type GraphProto, type ModelProto, type ValueInfoProto } from 'onnx-buf';
import { UserError } from '../../core/errors';

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

function readJson(file: string): Record<string, unknown> | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const v = JSON.parse(readFileSync(file, 'utf8'));
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch (e) {
    throw new UserError(`not valid JSON: ${(e as Error).message}`, { file });
  }
}

const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);

/**
 * Finds the decoder graph of a model folder: the onnxruntime-genai layout (genai_config.json naming
 * `model.decoder.filename`), the Transformers.js / Optimum layout (config.json + onnx/*.onnx), or a folder
 * with `.onnx` files. `path` may also be an `.onnx` file; `file` picks one of several graphs.
 */
export function locateModel(path: string, file?: string): { folder: string; onnxFile: string; layout: FolderLayout } {
  if (!existsSync(path)) throw new UserError(`model folder not found: ${path}`);
  if (statSync(path).isFile()) {
    if (!path.endsWith('.onnx')) throw new UserError(`expected a model folder or an .onnx file, got ${path}`);
    const dir = dirname(path);
    const folder = basename(dir) === 'onnx' && existsSync(join(dirname(dir), 'config.json')) ? dirname(dir) : dir;
    const layout: FolderLayout = existsSync(join(folder, 'genai_config.json'))
      ? 'onnxruntime-genai'
      : existsSync(join(folder, 'config.json'))
        ? 'transformers.js'
        : 'plain';
    return { folder, onnxFile: path, layout };
  }
  const folder = path;
  if (file) {
    const candidates = [join(folder, file), join(folder, 'onnx', file)];
    const hit = candidates.find((c) => existsSync(c));
    if (!hit) throw new UserError(`no ${file} in ${folder} or ${join(folder, 'onnx')}`);
    return { ...locateModel(hit), folder };
  }
  const genaiPath = join(folder, 'genai_config.json');
  if (existsSync(genaiPath)) {
    const genai = readJson(genaiPath);
    const filename = obj(obj(obj(genai?.model)?.decoder))?.filename;
    const name = typeof filename === 'string' ? filename : 'model.onnx';
    const onnxFile = join(folder, name);
    if (existsSync(onnxFile)) return { folder, onnxFile, layout: 'onnxruntime-genai' };
  }
  const onnxDir = join(folder, 'onnx');
  for (const dir of [onnxDir, folder]) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.onnx'))
      .sort();
    if (files.length === 0) continue;
    const pick =
      OPTIMUM_FILES.find((f) => files.includes(f)) ?? files.find((f) => f.startsWith('model')) ?? files.find((f) => f.startsWith('decoder')) ?? files[0];
    const layout: FolderLayout = existsSync(join(folder, 'config.json')) ? 'transformers.js' : 'plain';
    return { folder, onnxFile: join(dir, pick), layout };
  }
  throw new UserError(
    `no ONNX model in ${folder}: looked for genai_config.json (onnxruntime-genai layout), onnx/*.onnx (Transformers.js / Optimum layout) and *.onnx`,
  );
}

/** Reads the graph only (`bytes`: the graph file, when already read): tensors stored as external data stay references, their files are never opened. */
export function readModelFolder(path: string, file?: string, bytes?: Uint8Array): ModelFolder {
  const { folder, onnxFile, layout } = locateModel(path, file);
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes ?? readFileSync(onnxFile));
  } catch (e) {
    throw new UserError(`not an ONNX model: ${(e as Error).message}`, { file: onnxFile });
  }
  const graph = model.graph;
  if (!graph || graph.node.length === 0) throw new UserError('the ONNX model has no graph nodes', { file: onnxFile });
  const externalDataFiles = new Set<string>();
  for (const t of graph.initializer) {
    const location = t.externalData.find((e) => e.key === 'location')?.value;
    if (location) externalDataFiles.add(location);
  }
  return {
    folder,
    layout,
    onnxFile,
    externalDataFiles: [...externalDataFiles],
    config: readJson(join(folder, 'config.json')),
    genaiConfig: readJson(join(folder, 'genai_config.json')),
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

/** Model hyperparameters: genai_config's decoder block first, then config.json (several naming schemes). */
function hyper(folder: ModelFolder) {
  const decoder = obj(obj(folder.genaiConfig?.model)?.decoder) ?? {};
  const c = folder.config ?? {};
  const text = obj(c.text_config) ?? {};
  // Early onnxruntime-genai configs nest GPT-2 style sizes in a "model" block of config.json.
  const legacy = obj(c.model) ?? {};
  const first = (...vs: unknown[]) => vs.map(int).find((v) => v !== undefined);
  let heads = first(decoder.num_attention_heads, c.num_attention_heads, c.n_head, c.num_heads, text.num_attention_heads, legacy.n_head);
  const headSize = first(decoder.head_size, c.head_dim, text.head_dim);
  let kvHeads = first(decoder.num_key_value_heads, c.num_key_value_heads, c.n_head_kv, c.multi_query ? 1 : undefined, text.num_key_value_heads);
  let hiddenSize = first(decoder.hidden_size, c.hidden_size, c.n_embd, c.d_model, text.hidden_size, legacy.n_embd);
  if (heads === undefined && hiddenSize !== undefined && headSize !== undefined && hiddenSize % headSize === 0) heads = hiddenSize / headSize;
  if (hiddenSize === undefined && heads !== undefined && headSize !== undefined) hiddenSize = heads * headSize;
  kvHeads ??= heads;
  return {
    layers: first(decoder.num_hidden_layers, c.num_hidden_layers, c.n_layer, c.num_layers, c.n_layers, text.num_hidden_layers, legacy.n_layer),
    hiddenSize,
    heads,
    kvHeads,
    headSize: headSize ?? (hiddenSize && heads ? hiddenSize / heads : undefined),
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
  const h = hyper(folder);
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
