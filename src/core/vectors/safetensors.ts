/**
 * The safetensors format (https://huggingface.co/docs/safetensors), written and read without a
 * dependency:
 *
 *   [8 bytes]  N, unsigned 64-bit little-endian: the header's length in bytes
 *   [N bytes]  UTF-8 JSON object: { "__metadata__": { string: string }, name: { dtype, shape,
 *              data_offsets: [begin, end] }, ... }, padded with spaces (0x20) so that N is a
 *              multiple of 8 (the data section then starts 8-byte aligned)
 *   [rest]     the data section: raw little-endian tensor bytes; data_offsets are relative to its
 *              start, and the tensors cover it exactly (no gaps, no overlaps)
 *
 * Writing: float32 only; tensors sorted by name (plain code-unit order, as the reference Rust
 * implementation sorts same-dtype tensors), laid out in that order; metadata keys sorted; compact
 * JSON. So the same tensors and metadata always give the same bytes.
 *
 * Reading: F32, F16, BF16 and F64 are read into Float32Array (F64 rounds); every other dtype of the
 * format is recognised and rejected by name. Validation is strict and every error is a UserError
 * that names the file.
 */
import { UserError } from '../errors';
import { parseJson } from '../json';

export interface Tensor {
  /** Row-major dimensions; the product is data.length (an empty shape is a scalar). */
  shape: number[];
  data: Float32Array;
}

/** Every dtype the format defines (reference implementation's `Dtype`), and its size in bits. */
const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  F64: 64,
  I64: 64,
  U64: 64,
  C64: 64,
};

/** The dtypes this reader converts to float32. */
export type ReadableDtype = 'F32' | 'F16' | 'BF16' | 'F64';
const READABLE: readonly ReadableDtype[] = ['F32', 'F16', 'BF16', 'F64'];

export interface SafetensorsContents {
  /** Tensors in the order of their data (which, for files this module writes, is name order). */
  tensors: Map<string, Tensor>;
  /** The `__metadata__` map ({} when absent). */
  metadata: Record<string, string>;
  /** The dtype each tensor was stored as (all read into float32). */
  dtypes: Map<string, ReadableDtype>;
}

/** The reference implementation refuses headers above 100 MB; so do we. */
export const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The little-endian bytes of a float32 array, bit-exact (NaN payloads included). */
export function float32Bytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = new Uint8Array(data.length * 4);
  const src = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const dst = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) dst.setUint32(i * 4, src.getUint32(i * 4, false), true);
  return out;
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Serializes float32 tensors and string metadata. Throws (a bug, not a user error) on inconsistent input. */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const entries: [string, Tensor][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  const header: Record<string, unknown> = {};
  const metaKeys = Object.keys(metadata).sort();
  if (metaKeys.length > 0) {
    const meta: Record<string, string> = {};
    for (const k of metaKeys) {
      const v = metadata[k];
      if (typeof v !== 'string') throw new TypeError(`safetensors metadata "${k}" must be a string, got ${typeof v}`);
      meta[k] = v;
    }
    header.__metadata__ = meta;
  }
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '' || name === '__metadata__') throw new Error(`invalid tensor name "${name}"`);
    if (!t.shape.every((s) => Number.isSafeInteger(s) && s >= 0)) throw new Error(`tensor "${name}": bad shape [${t.shape.join(', ')}]`);
    if (numel(t.shape) !== t.data.length) {
      throw new Error(`tensor "${name}": shape [${t.shape.join(', ')}] holds ${numel(t.shape)} values but data has ${t.data.length}`);
    }
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }

  let json = JSON.stringify(header);
  let headerBytes = new TextEncoder().encode(json);
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  if (padded !== headerBytes.length) {
    json += ' '.repeat(padded - headerBytes.length);
    headerBytes = new TextEncoder().encode(json);
  }

  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of entries) {
    out.set(float32Bytes(t.data), at);
    at += t.data.byteLength;
  }
  return out;
}

function fail(file: string, message: string): never {
  throw new UserError(message, { file });
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** IEEE half-precision bits to a number (also used by the GGUF reader). */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function convert(bytes: Uint8Array, begin: number, count: number, dtype: ReadableDtype): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + begin, bytes.byteLength - begin);
  if (dtype === 'F32') {
    if (LITTLE_ENDIAN) {
      // Copy the bytes (alignment-safe, bit-exact; Buffer#slice would be a view, so copy explicitly).
      const copy = new Uint8Array(bytes.subarray(begin, begin + count * 4));
      return new Float32Array(copy.buffer, 0, count);
    }
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  const out = new Float32Array(count);
  if (dtype === 'F16') {
    for (let i = 0; i < count; i++) out[i] = f16ToF32(view.getUint16(i * 2, true));
  } else if (dtype === 'BF16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
  } else {
    for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
  }
  return out;
}

/** Parses and validates a safetensors file; `file` names it in every error. */
export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsContents {
  if (bytes.length < 8) {
    fail(file, `not a safetensors file: ${bytes.length} bytes, too short for the 8-byte header length (truncated?)`);
  }
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 === 0n) fail(file, 'not a safetensors file: the header length is 0');
  if (n64 > BigInt(bytes.length - 8)) {
    fail(file, `not a safetensors file or truncated: the header length (${n64} bytes) exceeds the ${bytes.length - 8} bytes after it`);
  }
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) fail(file, `safetensors header of ${n} bytes is larger than the ${MAX_HEADER_BYTES}-byte limit`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail(file, 'safetensors header is not valid UTF-8 (not a safetensors file?)');
  }
  if (!text.startsWith('{')) fail(file, 'safetensors header is not a JSON object (not a safetensors file?)');
  // parseJson refuses a tensor named twice: JSON.parse would keep the last one, another reader the first.
  const header = parseJson(text, { file, field: 'header' });
  if (!isRecord(header)) fail(file, 'safetensors header is not a JSON object');

  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;

  const metadata: Record<string, string> = {};
  if ('__metadata__' in header) {
    const meta = header.__metadata__;
    if (!isRecord(meta)) fail(file, 'safetensors "__metadata__" must be an object of strings');
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== 'string')
        fail(file, `safetensors metadata "${k}" must be a string, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
      metadata[k] = v;
    }
  }

  interface Entry {
    name: string;
    dtype: ReadableDtype;
    shape: number[];
    begin: number;
    end: number;
  }
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const where = `tensor "${name}"`;
    if (!isRecord(info)) fail(file, `${where}: expected an object with dtype, shape and data_offsets`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string') fail(file, `${where}: dtype must be a string`);
    if (!(dtype in DTYPE_BITS)) fail(file, `${where}: unknown dtype "${dtype}"`);
    if (!(READABLE as readonly string[]).includes(dtype)) {
      fail(file, `${where}: dtype ${dtype} is not supported (readable: ${READABLE.join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
      fail(file, `${where}: shape must be an array of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(file, `${where}: data_offsets must be two non-negative integers [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(file, `${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength) {
      fail(file, `${where}: data_offsets [${begin}, ${end}] lie beyond the ${dataLength}-byte data section (truncated file?)`);
    }
    const count = numel(shape as number[]);
    const expected = (count * DTYPE_BITS[dtype]) / 8;
    if (end - begin !== expected) {
      fail(
        file,
        `${where}: ${dtype} shape [${(shape as number[]).join(', ')}] needs ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    entries.push({ name, dtype: dtype as ReadableDtype, shape: shape as number[], begin, end });
  }

  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.begin < covered) {
      const prev = entries[i - 1];
      fail(file, `tensors "${prev.name}" (bytes ${prev.begin}..${prev.end}) and "${e.name}" (bytes ${e.begin}..${e.end}) overlap`);
    }
    if (e.begin > covered) fail(file, `bytes ${covered}..${e.begin} of the data section belong to no tensor`);
    covered = e.end;
  }
  if (covered !== dataLength) fail(file, `bytes ${covered}..${dataLength} of the data section belong to no tensor`);

  const tensors = new Map<string, Tensor>();
  const dtypes = new Map<string, ReadableDtype>();
  for (const e of entries) {
    tensors.set(e.name, { shape: e.shape, data: convert(bytes, dataStart + e.begin, numel(e.shape), e.dtype) });
    dtypes.set(e.name, e.dtype);
  }
  return { tensors, metadata, dtypes };
}
