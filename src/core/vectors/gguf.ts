/**
 * GGUF control vectors for llama.cpp (`--control-vector`, `--control-vector-scaled`), as written by
 * llama.cpp's `cvector-generator` and by repeng's `ControlVector.export_gguf`, plus a strict GGUF
 * reader (used by the tests, and able to read such files back).
 *
 * File layout (GGUF v3, little-endian; ggml/src/gguf.cpp):
 *   u32 magic "GGUF" | u32 version 3 | u64 tensor count | u64 kv count
 *   kv:     string key | u32 value type | value         (string = u64 byte length + UTF-8 bytes)
 *   tensor: string name | u32 n_dims | u64 dims[n_dims] (ne[0] first) | u32 ggml type (F32 = 0)
 *           | u64 offset (relative to the data section, a multiple of the alignment)
 *   zero padding to `general.alignment` (default 32), then the data section; each tensor's data is
 *   zero-padded to the alignment.
 * Control-vector metadata: general.architecture = "controlvector", controlvector.model_hint
 * (string: the target model's architecture, e.g. "llama"), controlvector.layer_count (u32 here, as
 * repeng writes it; cvector-generator writes i32; llama.cpp's loader reads neither); tensors
 * `direction.N`, F32, 1-D of length n_embd.
 *
 * Layer convention, read from llama.cpp (ggml-org/llama.cpp):
 *  - common/common.cpp, common_control_vector_load_one: parses N from `direction.N`, rejects N = 0
 *    ("invalid (zero) direction tensor layer index") and non-F32 / non-1-D tensors, and stores
 *    direction.N at buffer offset n_embd * (N - 1) ("layer 1 at [0]").
 *  - src/llama-adapter.cpp, llama_adapter_cvec::apply: `tensors[il]` for il = 1..n_layer-1 is
 *    filled from offset n_embd * (il - 1) ("there's never a tensor for layer 0"); so tensors[il]
 *    holds direction.il: the two "- 1"s cancel.
 *  - src/models/*.cpp: every block ends with `cur = ggml_add(cur, ffn_inp); cur = build_cvec(cur,
 *    il); cb(cur, "l_out", il)`: tensors[il] is added to the OUTPUT of block il (0-based), i.e.
 *    the residual stream after block il (TransformerLens `blocks.{il}.resid_post`), at every token.
 *  So `direction.N` is added after block N (0-based); the output of block 0 cannot be steered, and
 *  N = n_layer - 1 (the last block) can. repeng agrees (it names `direction.{i}` the vector it adds
 *  to the output of `model.layers[i]`, and skips 0). Note that cvector-generator itself names the
 *  vector it measured at block il's output `direction.{il+1}` (tools/cvector-generator/mean.hpp),
 *  so its vectors are applied one block later than measured; we follow the loader, not that.
 *
 * Why the export is approximate: Iterative Vectors are added to the attention output of block l
 * (before the residual add, so block l's MLP and every later block see them), at the io-separator
 * positions only, with strength a2. llama.cpp adds to the block output, at every position of the
 * prompt and of the generated text, with the strength given at load time.
 */
import { UserError } from '../errors';
import type { Site } from '../model';
import type { VectorArtifact } from './artifact';
import { layerRows } from './artifact';
import { float32Bytes } from './safetensors';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value types (gguf.h `gguf_type`). */
export const GgufType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufType = (typeof GgufType)[keyof typeof GgufType];

/** ggml tensor types this module reads or writes. */
export const GGML_TYPE_F32 = 0;
export const GGML_TYPE_F16 = 1;

export type GgufScalar = number | bigint | boolean | string;
export interface GgufValue {
  type: GgufType;
  /** Numbers for 8..32-bit ints and floats, bigint for 64-bit ints, arrays as GgufValue[] of `itemType`. */
  value: GgufScalar | GgufValue[];
  /** For ARRAY values: the element type. */
  itemType?: GgufType;
}

export interface GgufTensorInfo {
  name: string;
  /** ne[0], ne[1], ... (ggml order: the first is the contiguous dimension). */
  dims: number[];
  /** ggml type id (F32 = 0, F16 = 1, ...). */
  type: number;
  /** Offset from the start of the data section. */
  offset: number;
  /** The values, for F32 and F16 tensors (read into float32). */
  data?: Float32Array;
}

export interface GgufFile {
  version: number;
  /** Metadata in file order. */
  kv: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute byte offset of the data section. */
  dataOffset: number;
}

// ---------------------------------------------------------------------------------------------
// Writer

export type GgufKv =
  | { key: string; type: typeof GgufType.STRING; value: string }
  | { key: string; type: typeof GgufType.UINT32 | typeof GgufType.INT32 | typeof GgufType.FLOAT32; value: number }
  | { key: string; type: typeof GgufType.BOOL; value: boolean }
  | { key: string; type: typeof GgufType.UINT64; value: bigint };

export interface GgufTensorInput {
  name: string;
  /** ggml order (ne[0] first); defaults to [data.length]. */
  dims?: number[];
  data: Float32Array;
}

class ByteWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(x: number): void {
    this.reserve(1);
    this.view.setUint8(this.length, x);
    this.length += 1;
  }
  u32(x: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, x, true);
    this.length += 4;
  }
  i32(x: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, x, true);
    this.length += 4;
  }
  f32(x: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, x, true);
    this.length += 4;
  }
  u64(x: number | bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(x), true);
    this.length += 8;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  str(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  padTo(alignment: number): void {
    while (this.length % alignment !== 0) this.u8(0);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** Writes a GGUF v3 file with the given metadata and F32 tensors (data aligned to 32 bytes). */
export function encodeGguf(kvs: readonly GgufKv[], tensors: readonly GgufTensorInput[]): Uint8Array {
  const alignment = GGUF_DEFAULT_ALIGNMENT;
  const seen = new Set<string>();
  for (const kv of kvs) {
    if (seen.has(kv.key)) throw new Error(`duplicate GGUF key ${kv.key}`);
    seen.add(kv.key);
  }
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`duplicate GGUF tensor ${t.name}`);
    names.add(t.name);
    const dims = t.dims ?? [t.data.length];
    if (dims.reduce((a, b) => a * b, 1) !== t.data.length) throw new Error(`GGUF tensor ${t.name}: dims [${dims}] do not hold ${t.data.length} values`);
  }

  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(tensors.length);
  w.u64(kvs.length);
  for (const kv of kvs) {
    w.str(kv.key);
    w.u32(kv.type);
    switch (kv.type) {
      case GgufType.STRING:
        w.str(kv.value);
        break;
      case GgufType.UINT32:
        w.u32(kv.value);
        break;
      case GgufType.INT32:
        w.i32(kv.value);
        break;
      case GgufType.FLOAT32:
        w.f32(kv.value);
        break;
      case GgufType.BOOL:
        w.u8(kv.value ? 1 : 0);
        break;
      case GgufType.UINT64:
        w.u64(kv.value);
        break;
    }
  }
  let offset = 0;
  for (const t of tensors) {
    const dims = t.dims ?? [t.data.length];
    w.str(t.name);
    w.u32(dims.length);
    for (const d of dims) w.u64(d);
    w.u32(GGML_TYPE_F32);
    w.u64(offset);
    offset += alignUp(t.data.byteLength, alignment);
  }
  w.padTo(alignment);
  for (const t of tensors) {
    w.bytes(float32Bytes(t.data));
    w.padTo(alignment);
  }
  return w.result();
}

// ---------------------------------------------------------------------------------------------
// Control vectors

/**
 * Where a vector measured at block l goes in llama.cpp:
 *  - 'after-block' (default): `direction.l`, added to the output of the same block l; block l's
 *    MLP no longer sees it (an attention-output edit would reach it). Layer 0 cannot be exported.
 *  - 'before-block': `direction.(l-1)`, added to the residual stream entering block l; block l's
 *    attention now sees it too (an attention-output edit would not). Layers 0 and 1 cannot be exported.
 */
export const CONTROL_VECTOR_PLACEMENTS = ['after-block', 'before-block'] as const;
export type ControlVectorPlacement = (typeof CONTROL_VECTOR_PLACEMENTS)[number];

export interface ControlVectorOptions {
  /** controlvector.model_hint: the target model's architecture in llama.cpp (default "llama"). */
  modelHint?: string;
  placement?: ControlVectorPlacement;
  /** Multiplies every vector (e.g. the evaluation strength a2); default 1. */
  scale?: number;
  /** Site the vectors were measured at, for the description's note (default attn_out). */
  site?: Site;
  /** Extra string metadata written after the control-vector keys (e.g. provenance). */
  extra?: Readonly<Record<string, string>>;
}

export interface ControlVectorDescription {
  format: 'gguf-controlvector';
  /** Always true: see `note`. */
  approximate: true;
  note: string;
  modelHint: string;
  placement: ControlVectorPlacement;
  scale: number;
  /** controlvector.layer_count: the number of direction tensors written. */
  layerCount: number;
  /** One per tensor written: which source layer went to which `direction.N`, and its L2 norm after scaling. */
  tensors: { name: string; sourceLayer: number; llamaCppLayer: number; norm: number }[];
  /** Source layers that llama.cpp cannot express, with the reason. */
  skipped: { sourceLayer: number; reason: string }[];
}

export interface ControlVectorExport {
  bytes: Uint8Array;
  description: ControlVectorDescription;
}

function siteNote(site: Site): string {
  const common = 'llama.cpp adds a control vector to every token position (prompt and generated text) with the strength chosen at load time';
  switch (site) {
    case 'attn_out':
      return `Approximate: these vectors were measured at the attention output (before the residual add, at the io-separator positions only), but llama.cpp adds control vectors to the block output (residual stream); ${common}.`;
    case 'head_out':
      return `Approximate: these vectors live at the attention heads' concatenated outputs (input of the output projection) and are written as they are, but llama.cpp adds control vectors to the block output (residual stream); ${common}.`;
    case 'resid_post':
      return `Approximate: these vectors REPLACE the residual stream after a block in their method, but llama.cpp ADDS control vectors to it; ${common}.`;
  }
}

/**
 * Builds a llama.cpp control vector from one d-vector per source layer (index = block index;
 * null/undefined entries are left out). Throws (a bug) on vectors of different widths, and a
 * UserError on values that are not finite float32 numbers once scaled.
 */
export function encodeControlVector(perLayer: readonly (Float32Array | null | undefined)[], options: ControlVectorOptions = {}): ControlVectorExport {
  const modelHint = options.modelHint ?? 'llama';
  const placement = options.placement ?? 'after-block';
  const scale = options.scale ?? 1;
  if (!Number.isFinite(scale)) throw new Error(`control vector scale ${scale} is not finite`);
  const shift = placement === 'after-block' ? 0 : -1;

  let width: number | undefined;
  const tensors: GgufTensorInput[] = [];
  const description: ControlVectorDescription = {
    format: 'gguf-controlvector',
    approximate: true,
    note: siteNote(options.site ?? 'attn_out'),
    modelHint,
    placement,
    scale,
    layerCount: 0,
    tensors: [],
    skipped: [],
  };
  perLayer.forEach((v, layer) => {
    if (!v) return;
    if (v.length === 0) throw new Error(`control vector for layer ${layer} is empty`);
    if (width !== undefined && v.length !== width) throw new Error(`control vector for layer ${layer} has width ${v.length}, others ${width}`);
    width = v.length;
    const target = layer + shift;
    if (target < 1) {
      description.skipped.push({
        sourceLayer: layer,
        reason:
          target === 0
            ? 'llama.cpp has no control vector for the output of block 0 (direction.0 is rejected)'
            : 'the input of block 0 is the token embedding, which llama.cpp control vectors cannot reach',
      });
      return;
    }
    const data = new Float32Array(v.length);
    let s = 0;
    for (let i = 0; i < v.length; i++) {
      data[i] = v[i] * scale;
      // Finite rows (decodeArtifact checks) can still overflow float32 once differenced, weighted by the layer's strength and scaled.
      if (!Number.isFinite(data[i]))
        throw new UserError(`the control vector for layer ${layer} is ${data[i]} at index ${i} (${v[i]} × scale ${scale}): beyond float32's ±3.4e38`);
      s += data[i] * data[i];
    }
    const name = `direction.${target}`;
    tensors.push({ name, data });
    description.tensors.push({ name, sourceLayer: layer, llamaCppLayer: target, norm: Math.sqrt(s) });
  });
  description.layerCount = tensors.length;

  const kvs: GgufKv[] = [
    { key: 'general.architecture', type: GgufType.STRING, value: 'controlvector' },
    { key: 'controlvector.model_hint', type: GgufType.STRING, value: modelHint },
    { key: 'controlvector.layer_count', type: GgufType.UINT32, value: tensors.length },
  ];
  for (const key of Object.keys(options.extra ?? {}).sort()) kvs.push({ key, type: GgufType.STRING, value: options.extra![key] });
  return { bytes: encodeGguf(kvs, tensors), description };
}

/** Which row of each layer's matrix to export: the query row (the last), a row index, or a difference of two rows. */
export type ControlVectorRow = 'query' | number | { positive: number; negative: number };

export interface ArtifactControlVectorOptions extends Omit<ControlVectorOptions, 'site'> {
  row: ControlVectorRow;
  /** Multiply each layer by the artifact's layerStrengths envelope, when it has one (default true). */
  useLayerStrengths?: boolean;
}

/** The per-layer vectors to export from an artifact (index = layer; undefined where it has no tensor). */
export function artifactControlVectors(artifact: VectorArtifact, options: ArtifactControlVectorOptions): (Float32Array | undefined)[] {
  const { nLayers } = artifact.metadata.model;
  const strengths = options.useLayerStrengths === false ? undefined : artifact.metadata.layerStrengths;
  return Array.from({ length: nLayers }, (_, l) => {
    const rows = layerRows(artifact, l);
    if (rows.length === 0) return undefined;
    const pick = (i: number) => {
      if (!Number.isInteger(i) || i < 0 || i >= rows.length) throw new UserError(`row ${i} does not exist (layer ${l} has rows 0..${rows.length - 1})`);
      return rows[i];
    };
    const row = options.row;
    let v: Float32Array;
    if (row === 'query') v = Float32Array.from(rows[rows.length - 1]);
    else if (typeof row === 'number') v = Float32Array.from(pick(row));
    else {
      const a = pick(row.positive);
      const b = pick(row.negative);
      v = a.map((x, i) => x - b[i]);
    }
    const k = strengths?.[l] ?? 1;
    if (k !== 1) for (let i = 0; i < v.length; i++) v[i] *= k;
    return v;
  });
}

export function controlVectorFromArtifact(artifact: VectorArtifact, options: ArtifactControlVectorOptions): ControlVectorExport {
  const m = artifact.metadata;
  return encodeControlVector(artifactControlVectors(artifact, options), {
    ...options,
    site: m.site,
    extra: {
      'controlvector.source.method': m.method,
      'controlvector.source.model': m.model.name,
      'controlvector.source.model_sha256': m.model.sha256,
      'controlvector.source.row': typeof options.row === 'object' ? `${options.row.positive}-${options.row.negative}` : String(options.row),
      ...options.extra,
    },
  });
}
