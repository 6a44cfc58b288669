/**
 * A GGUF reader for the tests: it checks what the exporter writes the way llama.cpp's loader reads
 * it (magic, version, key/values, tensor infos, alignment, bounds). The product only writes GGUF.
 */
import { UserError } from '../../src/core/errors';
import { f16ToF32 } from '../../src/core/vectors/safetensors';
import {
  GGML_TYPE_F16,
  GGML_TYPE_F32,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgufType,
  type GgufFile,
  type GgufScalar,
  type GgufTensorInfo,
  type GgufValue,
} from '../../src/core/vectors/gguf';

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

class ByteReader {
  private readonly view: DataView;
  pos = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length) {
      throw new UserError(`GGUF file is truncated: ${what} at byte ${this.pos} needs ${n} bytes, ${this.bytes.length - this.pos} remain`, {
        file: this.file,
      });
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }
  u32(what: string): number {
    this.need(4, what);
    const x = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return x;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const x = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return x;
  }
  /** A u64 that must fit a JS number and stay under `max`. */
  size(what: string, max: number): number {
    const at = this.pos;
    const x = this.u64(what);
    if (x > BigInt(max)) throw new UserError(`GGUF ${what} at byte ${at} is ${x}, more than the file can hold`, { file: this.file });
    return Number(x);
  }
  str(what: string): string {
    const n = this.size(`${what} length`, this.bytes.length);
    this.need(n, what);
    try {
      const s = new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(this.pos, this.pos + n));
      this.pos += n;
      return s;
    } catch {
      throw new UserError(`GGUF ${what} at byte ${this.pos} is not valid UTF-8`, { file: this.file });
    }
  }
  scalar(type: number, what: string): GgufScalar {
    const v = this.view;
    const take = (n: number) => {
      this.need(n, what);
      const at = this.pos;
      this.pos += n;
      return at;
    };
    switch (type) {
      case GgufType.UINT8:
        return v.getUint8(take(1));
      case GgufType.INT8:
        return v.getInt8(take(1));
      case GgufType.UINT16:
        return v.getUint16(take(2), true);
      case GgufType.INT16:
        return v.getInt16(take(2), true);
      case GgufType.UINT32:
        return v.getUint32(take(4), true);
      case GgufType.INT32:
        return v.getInt32(take(4), true);
      case GgufType.FLOAT32:
        return v.getFloat32(take(4), true);
      case GgufType.BOOL: {
        const b = v.getUint8(take(1));
        if (b > 1) throw new UserError(`GGUF ${what}: bool value ${b} is neither 0 nor 1`, { file: this.file });
        return b === 1;
      }
      case GgufType.STRING:
        return this.str(what);
      case GgufType.UINT64:
        return v.getBigUint64(take(8), true);
      case GgufType.INT64:
        return v.getBigInt64(take(8), true);
      case GgufType.FLOAT64:
        return v.getFloat64(take(8), true);
      default:
        throw new UserError(`GGUF ${what} has unknown value type ${type}`, { file: this.file });
    }
  }
}

function fail(file: string, message: string): never {
  throw new UserError(message, { file });
}

/** Parses and validates a GGUF (v2 or v3, little-endian) file; `file` names it in every error. */
export function decodeGguf(bytes: Uint8Array, file: string): GgufFile {
  const r = new ByteReader(bytes, file);
  if (bytes.length < 4) fail(file, `not a GGUF file: ${bytes.length} bytes`);
  const magic = r.u32('magic');
  if (magic !== GGUF_MAGIC) fail(file, 'not a GGUF file: it does not start with "GGUF"');
  const version = r.u32('version');
  if (version !== 2 && version !== 3) fail(file, `GGUF version ${version} is not supported (2 or 3)`);
  // Every tensor info takes at least 8 + 4 + 4 + 8 bytes and every kv at least 8 + 4 + 1.
  const nTensors = r.size('tensor count', Math.floor(bytes.length / 24));
  const nKv = r.size('metadata count', Math.floor(bytes.length / 13));

  const kv = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = r.str(`key of metadata entry ${i}`);
    if (kv.has(key)) fail(file, `GGUF metadata key "${key}" appears twice`);
    const type = r.u32(`type of "${key}"`);
    if (type === GgufType.ARRAY) {
      const itemType = r.u32(`item type of "${key}"`);
      if (itemType === GgufType.ARRAY) fail(file, `GGUF metadata "${key}": nested arrays are not supported`);
      const n = r.size(`length of "${key}"`, bytes.length);
      const items: GgufValue[] = [];
      for (let j = 0; j < n; j++) items.push({ type: itemType as GgufType, value: r.scalar(itemType, `"${key}"[${j}]`) });
      kv.set(key, { type: GgufType.ARRAY, itemType: itemType as GgufType, value: items });
    } else {
      kv.set(key, { type: type as GgufType, value: r.scalar(type, `value of "${key}"`) });
    }
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const al = kv.get('general.alignment');
  if (al) {
    if (al.type !== GgufType.UINT32) fail(file, 'GGUF general.alignment must be a uint32');
    alignment = al.value as number;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) fail(file, `GGUF general.alignment ${alignment} is not a power of 2`);
  }

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = r.str(`name of tensor ${i}`);
    if (names.has(name)) fail(file, `GGUF tensor "${name}" appears twice`);
    names.add(name);
    const nDims = r.u32(`dimension count of "${name}"`);
    if (nDims < 1 || nDims > 4) fail(file, `GGUF tensor "${name}" has ${nDims} dimensions (1 to 4 allowed)`);
    const dims: number[] = [];
    for (let j = 0; j < nDims; j++) dims.push(r.size(`dimension ${j} of "${name}"`, bytes.length));
    const type = r.u32(`type of "${name}"`);
    const offset = r.size(`offset of "${name}"`, bytes.length);
    if (offset % alignment !== 0) fail(file, `GGUF tensor "${name}" offset ${offset} is not a multiple of the alignment ${alignment}`);
    tensors.push({ name, dims, type, offset });
  }

  const dataOffset = alignUp(r.pos, alignment);
  for (let i = r.pos; i < Math.min(dataOffset, bytes.length); i++) {
    if (bytes[i] !== 0) fail(file, `GGUF padding byte ${i} before the data section is not zero`);
  }
  const ranges: [number, number, string][] = [];
  for (const t of tensors) {
    const count = t.dims.reduce((a, b) => a * b, 1);
    const size = t.type === GGML_TYPE_F32 ? 4 : t.type === GGML_TYPE_F16 ? 2 : undefined;
    if (size === undefined) continue; // other ggml types: info only
    const begin = dataOffset + t.offset;
    const end = begin + count * size;
    if (end > bytes.length) fail(file, `GGUF tensor "${t.name}" (bytes ${begin}..${end}) runs past the end of the file (${bytes.length} bytes; truncated?)`);
    ranges.push([begin, end, t.name]);
    const view = new DataView(bytes.buffer, bytes.byteOffset + begin, end - begin);
    const data = new Float32Array(count);
    if (size === 4) {
      const u = new Uint32Array(data.buffer);
      for (let k = 0; k < count; k++) u[k] = view.getUint32(k * 4, true);
    } else {
      for (let k = 0; k < count; k++) data[k] = f16ToF32(view.getUint16(k * 2, true));
    }
    t.data = data;
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) fail(file, `GGUF tensors "${ranges[i - 1][2]}" and "${ranges[i][2]}" overlap`);
  }
  return { version, kv, tensors, alignment, dataOffset };
}
