import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { UserError } from '../../src/core/errors';
import type { ModelInfo } from '../../src/core/model';
import { decodeGguf } from './ggufReader';
import {
  artifactControlVectors,
  checkModelMatch,
  controlVectorFromArtifact,
  decodeArtifact,
  decodeSafetensors,
  encodeArtifact,
  encodeControlVector,
  encodeSafetensors,
  GgufType,
  layerNorms,
  layerRows,
  rowCosines,
  tensorsSha256,
  type ArtifactMetadata,
  type Tensor,
  type VectorArtifact,
} from '../../src/core/vectors';
import { readArtifact, writeArtifact, writeControlVector } from '../../src/node/artifactFiles';

const dir = mkdtempSync(join(tmpdir(), 'ivec-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function bits(a: Float32Array): number[] {
  return [...new Uint32Array(Float32Array.from(a).buffer)];
}

/** Asserts that `fn` throws a UserError whose message names `file` and matches `pattern`. */
function throwsUser(fn: () => unknown, file: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.ok(e.message.includes(file), `message does not name ${file}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

/** A safetensors file from a raw header string and data bytes (no padding unless given). */
function rawSafetensors(header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const out = Buffer.alloc(8 + h.length + data.length);
  out.writeBigUInt64LE(BigInt(h.length), 0);
  h.copy(out, 8);
  out.set(data, 8 + h.length);
  return out;
}

function headerOf(bytes: Uint8Array): { length: number; text: string } {
  const length = Number(Buffer.from(bytes).readBigUInt64LE(0));
  return { length, text: Buffer.from(bytes.subarray(8, 8 + length)).toString('utf8') };
}

describe('safetensors', () => {
  const special = new Float32Array(new Uint32Array([0x7fc00001, 0x80000000, 0x00000001, 0x7f800000, 0xff800000, 0x3f800000]).buffer);

  test('round trip keeps names, shapes, values (bit-exact) and metadata', () => {
    const tensors = new Map<string, Tensor>([
      ['b', { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-30, 6e20, -0.125]) }],
      ['a', { shape: [6], data: special }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
      ['scalar', { shape: [], data: Float32Array.from([42]) }],
    ]);
    const bytes = encodeSafetensors(tensors, { note: 'héllo', z: '' });
    const back = decodeSafetensors(bytes, 'rt.safetensors');
    assert.deepEqual([...back.tensors.keys()], ['a', 'b', 'empty', 'scalar']);
    for (const [name, t] of tensors) {
      const u = back.tensors.get(name)!;
      assert.deepEqual(u.shape, t.shape, name);
      assert.deepEqual(bits(u.data), bits(t.data), name);
      assert.equal(back.dtypes.get(name), 'F32');
    }
    assert.deepEqual(back.metadata, { note: 'héllo', z: '' });
  });

  test('matches the format byte for byte on a hand-built file', () => {
    const bytes = encodeSafetensors({ x: { shape: [2], data: Float32Array.from([1, -2]) } }, { k: 'v' });
    const json = '{"__metadata__":{"k":"v"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const padded = json + ' '.repeat(Math.ceil(json.length / 8) * 8 - json.length);
    const data = Buffer.alloc(8);
    data.writeFloatLE(1, 0);
    data.writeFloatLE(-2, 4);
    assert.deepEqual(Buffer.from(bytes), Buffer.from(rawSafetensors(padded, data)));
  });

  test('equal inputs give byte-identical files whatever the insertion order', () => {
    const a = { shape: [1, 2], data: Float32Array.from([1, 2]) };
    const b = { shape: [3], data: Float32Array.from([3, 4, 5]) };
    const one = encodeSafetensors(
      new Map([
        ['blocks.0.x', a],
        ['blocks.10.x', b],
      ]),
      { p: '1', q: '2' },
    );
    const two = encodeSafetensors(
      new Map([
        ['blocks.10.x', b],
        ['blocks.0.x', a],
      ]),
      { q: '2', p: '1' },
    );
    assert.deepEqual(Buffer.from(one), Buffer.from(two));
  });

  test('the header is space-padded to a multiple of 8, so the data starts aligned', () => {
    for (let extra = 0; extra < 16; extra++) {
      const bytes = encodeSafetensors({ t: { shape: [1], data: Float32Array.from([7]) } }, { m: 'x'.repeat(extra) });
      const { length, text } = headerOf(bytes);
      assert.equal(length % 8, 0);
      assert.equal((8 + length) % 8, 0);
      assert.match(text, /^\{.*\} *$/);
      assert.ok(text.length - text.trimEnd().length < 8);
      assert.equal(bytes.length, 8 + length + 4);
    }
  });

  test('reads F16, BF16 and F64 into float32, and data at an odd byte offset', () => {
    const f16 = Buffer.from([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c, 0x01, 0x00]); // 1, -2, +inf, 2^-24
    const bf16 = Buffer.from([0x80, 0x3f, 0x40, 0xc0]); // 1, -3
    const f64 = Buffer.alloc(8);
    f64.writeDoubleLE(0.1, 0);
    const header = JSON.stringify({
      h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] },
      d: { dtype: 'F64', shape: [1], data_offsets: [12, 20] },
    });
    const file = rawSafetensors(header, Buffer.concat([f16, bf16, f64]));
    const shifted = new Uint8Array(file.length + 1).subarray(1);
    shifted.set(file);
    const r = decodeSafetensors(shifted, 'mixed.safetensors');
    assert.deepEqual([...r.tensors.get('h')!.data], [1, -2, Infinity, 2 ** -24]);
    assert.deepEqual([...r.tensors.get('b')!.data], [1, -3]);
    assert.deepEqual([...r.tensors.get('d')!.data], [Math.fround(0.1)]);
    assert.equal(r.dtypes.get('b'), 'BF16');
  });

  test('F32 data read from a Node Buffer at an odd offset is a copy', () => {
    const file = encodeSafetensors({ t: { shape: [3], data: Float32Array.from([1.5, -2, 3]) } });
    const pool = Buffer.alloc(file.length + 3);
    pool.set(file, 3);
    const buf = pool.subarray(3);
    const t = decodeSafetensors(buf, 'buf.safetensors').tensors.get('t')!;
    assert.deepEqual([...t.data], [1.5, -2, 3]);
    pool.fill(0);
    assert.deepEqual([...t.data], [1.5, -2, 3]);
  });

  describe('decoding errors name the file', () => {
    const F = 'broken.safetensors';
    const ok = encodeSafetensors({ t: { shape: [2], data: Float32Array.from([1, 2]) } }, { a: 'b' });
    const t = (header: object, data = new Uint8Array(8)) => rawSafetensors(JSON.stringify(header), data);

    test('truncated files', () => {
      throwsUser(() => decodeSafetensors(new Uint8Array(5), F), F, /too short/);
      throwsUser(() => decodeSafetensors(ok.subarray(0, 20), F), F, /header length \(\d+ bytes\) exceeds/);
      throwsUser(() => decodeSafetensors(ok.subarray(0, ok.length - 1), F), F, /beyond the 7-byte data section/);
    });

    test('bad header length or header', () => {
      throwsUser(() => decodeSafetensors(rawSafetensors(''), F), F, /header length is 0/);
      const huge = Buffer.alloc(16);
      huge.writeBigUInt64LE(2n ** 63n, 0);
      throwsUser(() => decodeSafetensors(huge, F), F, /exceeds/);
      throwsUser(() => decodeSafetensors(rawSafetensors('[1,2]   '), F), F, /not a JSON object/);
      throwsUser(() => decodeSafetensors(rawSafetensors('{"a":'), F), F, /not valid JSON/);
    });

    test('offsets out of range, overlapping or leaving gaps', () => {
      throwsUser(() => decodeSafetensors(t({ t: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }), F), F, /"t".*beyond the 8-byte data section/);
      throwsUser(() => decodeSafetensors(t({ t: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }), F), F, /end before they begin/);
      throwsUser(
        () => decodeSafetensors(t({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }), F),
        F,
        /"a" \(bytes 0\.\.8\) and "b" \(bytes 4\.\.8\) overlap/,
      );
      throwsUser(() => decodeSafetensors(t({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }), F), F, /bytes 0\.\.4 .* belong to no tensor/);
      throwsUser(() => decodeSafetensors(t({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }), F), F, /bytes 4\.\.8 .* belong to no tensor/);
      throwsUser(() => decodeSafetensors(t({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }), F), F, /needs 12 bytes/);
      throwsUser(() => decodeSafetensors(t({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }), F), F, /shape must be/);
    });

    test('non-string metadata and unknown dtypes', () => {
      throwsUser(
        () => decodeSafetensors(t({ __metadata__: { n: 3 }, t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }), F),
        F,
        /metadata "n" must be a string, got number/,
      );
      throwsUser(() => decodeSafetensors(t({ __metadata__: { n: null }, t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }), F), F, /got null/);
      throwsUser(() => decodeSafetensors(t({ __metadata__: 'x', t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }), F), F, /must be an object/);
      throwsUser(() => decodeSafetensors(t({ t: { dtype: 'F17', shape: [2], data_offsets: [0, 8] } }), F), F, /unknown dtype "F17"/);
      throwsUser(() => decodeSafetensors(t({ t: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } }), F), F, /dtype I32 is not supported/);
    });
  });
});

// ---------------------------------------------------------------------------------------------

const SHA = 'cd59aa42e9f0c1b3d7a3c6e1f5b2a4d8e7c9f0a1b2c3d4e5f6a7b8c9d0e1f2a3';
const D = 4;
const LAYERS = 3;
const LABELS = ['negative', 'positive'];

function metadata(over: Partial<ArtifactMetadata> = {}): ArtifactMetadata {
  return {
    formatVersion: 1,
    method: 'iterative-vectors',
    site: 'attn_out',
    labels: [...LABELS],
    model: { name: 'stories15M', sha256: SHA, nLayers: LAYERS, dModel: D, vocabSize: 32000 },
    tokenizerSha256: 'ab'.repeat(32),
    dataset: { id: 'sst2', source: 'stdlib', sha256: 'ef'.repeat(32), counts: { train: 100, validation: 20 } },
    options: { seed: 42, k: 4, a1: 0.3, a2: 0.5, episodes: 200, refresh: 10, zeroShotPosition: 'separator' },
    metrics: { validation: { macroF1: 0.71 } },
    timings: { extractMs: 1234.5 },
    creator: { name: 'iterative-vectors', version: '0.1.0' },
    createdAt: '2025-07-01T12:00:00.000Z',
    layerStrengths: [1, 0.5, 2],
    history: [
      { episode: 0, relativeChange: null },
      { episode: 10, relativeChange: 0.25, meanNorm: 3 },
    ],
    ...over,
  };
}

/** Layer l, row r, column c = l * 100 + r * 10 + c (+ 0.5 on the query row). */
function ivArtifact(over: Partial<ArtifactMetadata> = {}): VectorArtifact {
  const tensors = new Map<string, Tensor>();
  for (let l = 0; l < LAYERS; l++) {
    const data = new Float32Array((LABELS.length + 1) * D);
    for (let r = 0; r <= LABELS.length; r++) for (let c = 0; c < D; c++) data[r * D + c] = l * 100 + r * 10 + c + (r === LABELS.length ? 0.5 : 0);
    tensors.set(`blocks.${l}.attn_out`, { shape: [LABELS.length + 1, D], data });
  }
  return { tensors, metadata: metadata(over) };
}

function modelInfo(over: Partial<ModelInfo> = {}): ModelInfo {
  return {
    name: 'stories15M',
    sha256: SHA,
    nLayers: LAYERS,
    dModel: D,
    nHeads: 2,
    nKvHeads: 2,
    headDim: 2,
    vocabSize: 32000,
    maxSeqLen: 256,
    bosId: 1,
    eosId: 2,
    ...over,
  };
}

describe('vector artifacts', () => {
  test('encode/decode round trip keeps every tensor bit for bit and all metadata', () => {
    const a = ivArtifact();
    const back = decodeArtifact(encodeArtifact(a), 'a.ivec.safetensors');
    assert.deepEqual(back.metadata, a.metadata);
    assert.deepEqual([...back.tensors.keys()], ['blocks.0.attn_out', 'blocks.1.attn_out', 'blocks.2.attn_out']);
    for (const [name, t] of a.tensors) {
      assert.deepEqual(back.tensors.get(name)!.shape, [3, D]);
      assert.deepEqual(bits(back.tensors.get(name)!.data), bits(t.data));
    }
  });

  test('the header carries the whole metadata under "iv" plus flat keys, all strings', () => {
    const { metadata: m } = decodeSafetensors(encodeArtifact(ivArtifact()), 'a.ivec.safetensors');
    assert.equal(m.format_version, '1');
    assert.equal(m.method, 'iterative-vectors');
    assert.equal(m.site, 'attn_out');
    assert.equal(m.model_name, 'stories15M');
    assert.equal(m.model_sha256, SHA);
    assert.deepEqual(JSON.parse(m.iv), ivArtifact().metadata);
  });

  test('tensor bytes do not depend on the metadata; deterministic files are byte-identical', () => {
    const one = ivArtifact({ createdAt: '2025-07-01T12:00:00.000Z', timings: { extractMs: 1 } });
    const two = ivArtifact({ createdAt: '2026-01-02T03:04:05.000Z', timings: { extractMs: 99999 } });
    // Options in another key order must not matter either.
    two.metadata.options = Object.fromEntries(Object.entries(two.metadata.options).reverse());
    const a = encodeArtifact(one);
    const b = encodeArtifact(two);
    assert.notDeepEqual(Buffer.from(a), Buffer.from(b));
    const dataOf = (x: Uint8Array) => Buffer.from(x.subarray(8 + headerOf(x).length));
    assert.deepEqual(dataOf(a), dataOf(b));
    assert.equal(tensorsSha256(one.tensors), tensorsSha256(two.tensors));

    const da = encodeArtifact(one, { deterministic: true });
    const db = encodeArtifact(two, { deterministic: true });
    assert.deepEqual(Buffer.from(da), Buffer.from(db));
    const m = decodeArtifact(da, 'd.ivec.safetensors').metadata;
    assert.equal(m.createdAt, undefined);
    assert.equal(m.timings, undefined);
    assert.deepEqual(m.options, one.metadata.options);
  });

  test('other methods and sites: task vector [1, d] at resid_post, function vector at one layer', () => {
    const tv: VectorArtifact = {
      tensors: new Map([['blocks.1.resid_post', { shape: [1, D], data: Float32Array.from([1, 2, 3, 4]) }]]),
      metadata: metadata({ method: 'task-vector', site: 'resid_post', layerStrengths: undefined }),
    };
    const back = decodeArtifact(encodeArtifact(tv), 'tv.ivec.safetensors');
    assert.equal(back.metadata.method, 'task-vector');
    assert.deepEqual(layerRows(back, 0), []);
    assert.deepEqual([...layerRows(back, 1)[0]], [1, 2, 3, 4]);
    assert.deepEqual(layerNorms(back), [[], [Math.sqrt(30)], []]);
  });

  test('decoding rejects artifacts whose tensors do not fit the metadata', () => {
    const F = 'bad.ivec.safetensors';
    const withTensors = (m: ArtifactMetadata, t: Record<string, Tensor>) => encodeSafetensors(t, { iv: JSON.stringify(m) });
    const row3 = { shape: [3, D], data: new Float32Array(3 * D) };
    throwsUser(() => decodeArtifact(encodeSafetensors({ x: row3 }), F), F, /no "iv" entry/);
    throwsUser(
      () => decodeArtifact(withTensors(metadata(), { 'blocks.0.attn_out': { shape: [2, D], data: new Float32Array(2 * D) } }), F),
      F,
      /2 rows but 2 labels need 3/,
    );
    throwsUser(() => decodeArtifact(withTensors(metadata(), { 'blocks.3.attn_out': row3 }), F), F, /layer 3 does not exist in a 3-layer model/);
    throwsUser(() => decodeArtifact(withTensors(metadata(), { 'blocks.0.resid_post': row3 }), F), F, /site resid_post but the metadata says attn_out/);
    throwsUser(() => decodeArtifact(withTensors(metadata(), { layer0: row3 }), F), F, /not named blocks/);
    throwsUser(
      () => decodeArtifact(withTensors(metadata(), { 'blocks.0.attn_out': { shape: [3, 5], data: new Float32Array(15) } }), F),
      F,
      /width 5 but the model's d_model is 4/,
    );
    throwsUser(() => decodeArtifact(withTensors({ ...metadata(), formatVersion: 2 as 1 }, { 'blocks.0.attn_out': row3 }), F), F, /format version 2 is newer/);
    throwsUser(() => decodeArtifact(withTensors({ ...metadata(), layerStrengths: [1] }, { 'blocks.0.attn_out': row3 }), F), F, /layerStrengths has 1 entries/);
    throwsUser(() => decodeArtifact(encodeSafetensors({ x: row3 }, { iv: '{' }), F), F, /not valid JSON/);
  });

  test('writeArtifact is atomic, writes the sidecar, and readArtifact reads it back', () => {
    const sub = join(dir, 'write');
    mkdirSync(sub);
    const path = join(sub, 'sst2.ivec.safetensors');
    const a = ivArtifact();
    writeArtifact(path, a);
    assert.deepEqual(readdirSync(sub).sort(), ['sst2.ivec.json', 'sst2.ivec.safetensors']);
    const sidecar = readFileSync(join(sub, 'sst2.ivec.json'), 'utf8');
    assert.deepEqual(JSON.parse(sidecar), a.metadata);
    assert.match(sidecar, /^\{\n {2}"createdAt"/);
    const back = readArtifact(path);
    assert.deepEqual(back.metadata, a.metadata);
    assert.deepEqual(bits(back.tensors.get('blocks.2.attn_out')!.data), bits(a.tensors.get('blocks.2.attn_out')!.data));

    // Overwriting leaves no temp files either.
    writeArtifact(path, ivArtifact({ createdAt: '2025-08-01T00:00:00.000Z' }), { deterministic: true });
    assert.deepEqual(readdirSync(sub).sort(), ['sst2.ivec.json', 'sst2.ivec.safetensors']);
    assert.equal(JSON.parse(readFileSync(join(sub, 'sst2.ivec.json'), 'utf8')).createdAt, undefined);

    // Other names get no sidecar.
    const plain = join(sub, 'plain.safetensors');
    writeArtifact(plain, a);
    assert.deepEqual(readdirSync(sub).sort(), ['plain.safetensors', 'sst2.ivec.json', 'sst2.ivec.safetensors']);
    assert.deepEqual(readArtifact(plain).metadata, a.metadata);
  });

  test('a failed write leaves no artifact, no sidecar and no temp file', () => {
    const missing = join(dir, 'no-such-folder', 'v.ivec.safetensors');
    throwsUser(() => writeArtifact(missing, ivArtifact()), missing, /folder does not exist/);

    // The artifact path is taken by a folder: the sidecar is written first, then the rename fails.
    const sub = join(dir, 'blocked');
    mkdirSync(join(sub, 'v.ivec.safetensors'), { recursive: true });
    assert.throws(() => writeArtifact(join(sub, 'v.ivec.safetensors'), ivArtifact()));
    assert.deepEqual(readdirSync(sub), ['v.ivec.safetensors']);
    assert.deepEqual(readdirSync(join(sub, 'v.ivec.safetensors')), []);

    // An invalid artifact is refused before anything is written.
    const sub2 = join(dir, 'invalid');
    mkdirSync(sub2);
    const bad = ivArtifact();
    bad.tensors.set('blocks.0.attn_out', { shape: [1, D], data: new Float32Array(D) });
    assert.throws(() => writeArtifact(join(sub2, 'x.ivec.safetensors'), bad), /1 rows but 2 labels need 3/);
    assert.deepEqual(readdirSync(sub2), []);
  });

  test('readArtifact names the file when it is missing or not an artifact', () => {
    const missing = join(dir, 'missing.ivec.safetensors');
    throwsUser(() => readArtifact(missing), missing, /no such file/);
    const junk = join(dir, 'junk.ivec.safetensors');
    writeFileSync(junk, 'hello');
    throwsUser(() => readArtifact(junk), junk, /too short/);
  });

  describe('checkModelMatch', () => {
    const F = '/work/vectors/vector.ivec.safetensors';
    test('passes for the same model', () => {
      checkModelMatch(ivArtifact(), modelInfo(), F);
    });
    test('says which layers, width and hash differ', () => {
      throwsUser(
        () => checkModelMatch(ivArtifact(), modelInfo({ name: 'stories42M', nLayers: 8 }), F),
        F,
        /^\/work\/vectors\/vector\.ivec\.safetensors: vector\.ivec\.safetensors was extracted with stories15M \(3 layers, d=4, sha256 cd59aa42e9f0…\) but the loaded model is stories42M \(8 layers, d=4, sha256 cd59aa42e9f0…\): layers 3 vs 8 differ$/,
      );
      throwsUser(() => checkModelMatch(ivArtifact(), modelInfo({ dModel: 512 }), F), F, /: width d=4 vs d=512 differ$/);
      throwsUser(() => checkModelMatch(ivArtifact(), modelInfo({ sha256: 'ff'.repeat(32) }), F), F, /: weights sha256 cd59aa42e9f0… vs ffffffffffff… differ$/);
      throwsUser(
        () => checkModelMatch(ivArtifact(), modelInfo({ nLayers: 6, dModel: 288, sha256: '00'.repeat(32) }), F),
        F,
        /layers 3 vs 6, width d=4 vs d=288, weights sha256 cd59aa42e9f0… vs 000000000000… differ/,
      );
      throwsUser(() => checkModelMatch(ivArtifact(), modelInfo({ vocabSize: 512 }), F), F, /vocabulary 32000 vs 512 tokens/);
    });
    test('ignoreHash accepts a model of the same shape', () => {
      checkModelMatch(ivArtifact(), modelInfo({ sha256: 'ff'.repeat(32) }), F, { ignoreHash: true });
      throwsUser(
        () => checkModelMatch(ivArtifact(), modelInfo({ sha256: 'ff'.repeat(32), nLayers: 4 }), F, { ignoreHash: true }),
        F,
        /layers 3 vs 4, weights sha256/,
      );
    });
  });

  test('layerRows, layerNorms and rowCosines on hand-checked values', () => {
    const rows = [
      [3, 4, 0, 0],
      [4, 3, 0, 0],
      [0, 0, 0, -2],
    ];
    const a: VectorArtifact = {
      tensors: new Map([
        ['blocks.0.attn_out', { shape: [3, D], data: Float32Array.from(rows.flat()) }],
        ['blocks.1.attn_out', { shape: [3, D], data: Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0]) }],
      ]),
      metadata: metadata({ layerStrengths: undefined }),
    };
    const r0 = layerRows(a, 0);
    assert.equal(r0.length, 3);
    assert.deepEqual(
      r0.map((r) => [...r]),
      rows,
    );
    assert.equal(r0[1].buffer, a.tensors.get('blocks.0.attn_out')!.data.buffer, 'rows are views');
    assert.deepEqual(layerRows(a, 2), []);
    assert.throws(() => layerRows(a, 3), RangeError);

    assert.deepEqual(layerNorms(a), [[5, 5, 2], [1, 0, 1], []]);
    assert.deepEqual(rowCosines(a, 0), [
      [1, 24 / 25],
      [24 / 25, 1],
    ]);
    assert.deepEqual(rowCosines(a, 0, { includeQuery: true }), [
      [1, 24 / 25, 0],
      [24 / 25, 1, 0],
      [0, 0, 1],
    ]);
    const c1 = rowCosines(a, 1, { includeQuery: true });
    assert.ok(Number.isNaN(c1[0][1]) && Number.isNaN(c1[1][1]));
    assert.equal(c1[0][2], -1);
    assert.deepEqual(rowCosines(a, 2), []);
  });
});

// ---------------------------------------------------------------------------------------------

/** An independent GGUF v3 builder (the byte layout of gguf-py's GGUFWriter), for a byte-exact comparison. */
function referenceGguf(hint: string, tensors: [string, number[]][]): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const n = Buffer.alloc(8);
    n.writeBigUInt64LE(BigInt(b.length));
    return Buffer.concat([n, b]);
  };
  const u32 = (x: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(x);
    return b;
  };
  const u64 = (x: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(x));
    return b;
  };
  const kv = Buffer.concat([
    str('general.architecture'),
    u32(8),
    str('controlvector'),
    str('controlvector.model_hint'),
    u32(8),
    str(hint),
    str('controlvector.layer_count'),
    u32(4),
    u32(tensors.length),
  ]);
  const pad = (n: number) => Math.ceil(n / 32) * 32;
  let offset = 0;
  const infos: Buffer[] = [];
  const datas: Buffer[] = [];
  for (const [name, values] of tensors) {
    infos.push(Buffer.concat([str(name), u32(1), u64(values.length), u32(0), u64(offset)]));
    const d = Buffer.alloc(pad(values.length * 4));
    values.forEach((v, i) => d.writeFloatLE(v, i * 4));
    datas.push(d);
    offset += d.length;
  }
  const head = Buffer.concat([Buffer.from('GGUF', 'ascii'), u32(3), u64(tensors.length), u64(3), kv, ...infos]);
  return Buffer.concat([head, Buffer.alloc(pad(head.length) - head.length), ...datas]);
}

describe('GGUF control vectors', () => {
  const v = (seed: number, d = 5) => Float32Array.from({ length: d }, (_, i) => seed + i / 8);

  test('byte-identical to an independent GGUF v3 writer', () => {
    const { bytes } = encodeControlVector([v(0), v(1), v(2)], { modelHint: 'llama' });
    assert.deepEqual(
      Buffer.from(bytes),
      referenceGguf('llama', [
        ['direction.1', [...v(1)]],
        ['direction.2', [...v(2)]],
      ]),
    );
  });

  test('round trip through the reader: header, metadata, names, alignment, data', () => {
    const layers = [v(0, 7), v(1, 7), undefined, v(3, 7), v(4, 7)];
    const { bytes, description } = encodeControlVector(layers, { modelHint: 'llama', scale: 2 });
    assert.deepEqual([...bytes.subarray(0, 4)], [0x47, 0x47, 0x55, 0x46]); // "GGUF"
    const g = decodeGguf(bytes, 'cv.gguf');
    assert.equal(g.version, 3);
    assert.equal(g.alignment, 32);
    assert.equal(g.dataOffset % 32, 0);
    assert.equal(bytes.length % 32, 0);
    assert.deepEqual(
      [...g.kv.entries()],
      [
        ['general.architecture', { type: GgufType.STRING, value: 'controlvector' }],
        ['controlvector.model_hint', { type: GgufType.STRING, value: 'llama' }],
        ['controlvector.layer_count', { type: GgufType.UINT32, value: 3 }],
      ],
    );
    assert.deepEqual(
      g.tensors.map((t) => [t.name, t.dims, t.type, t.offset]),
      [
        ['direction.1', [7], 0, 0],
        ['direction.3', [7], 0, 32],
        ['direction.4', [7], 0, 64],
      ],
    );
    for (const t of g.tensors) {
      const layer = Number(t.name.split('.')[1]);
      assert.deepEqual(bits(t.data!), bits(layers[layer]!.map((x) => x * 2)));
    }
    assert.equal(description.approximate, true);
    assert.match(description.note, /attention output.*block output/);
    assert.equal(description.layerCount, 3);
    assert.deepEqual(
      description.skipped.map((s) => s.sourceLayer),
      [0],
    );
    assert.match(description.skipped[0].reason, /direction\.0 is rejected/);
    assert.deepEqual(
      description.tensors.map((t) => [t.name, t.sourceLayer, t.llamaCppLayer]),
      [
        ['direction.1', 1, 1],
        ['direction.3', 3, 3],
        ['direction.4', 4, 4],
      ],
    );
    assert.ok(Math.abs(description.tensors[0].norm - Math.hypot(...layers[1]!.map((x) => x * 2))) < 1e-4);
  });

  test("'before-block' placement shifts by one and drops layers 0 and 1", () => {
    const { bytes, description } = encodeControlVector([v(0), v(1), v(2), v(3)], { placement: 'before-block' });
    const g = decodeGguf(bytes, 'cv.gguf');
    assert.deepEqual(
      g.tensors.map((t) => t.name),
      ['direction.1', 'direction.2'],
    );
    assert.deepEqual(bits(g.tensors[0].data!), bits(v(2)));
    assert.deepEqual(
      description.skipped.map((s) => s.sourceLayer),
      [0, 1],
    );
  });

  test('from an artifact: query row, a difference of class rows, the layer envelope', () => {
    const a = ivArtifact(); // layerStrengths [1, 0.5, 2]
    const q = artifactControlVectors(a, { row: 'query' });
    assert.deepEqual(
      [...q[1]!],
      [120.5, 121.5, 122.5, 123.5].map((x) => x * 0.5),
    );
    const diff = artifactControlVectors(a, { row: { positive: 1, negative: 0 }, useLayerStrengths: false });
    assert.deepEqual([...diff[2]!], [10, 10, 10, 10]);
    assert.throws(() => artifactControlVectors(a, { row: 5 }), /row 5 does not exist/);

    const exported = controlVectorFromArtifact(a, { row: 0, modelHint: 'llama' });
    const g = decodeGguf(exported.bytes, 'a.gguf');
    assert.deepEqual(
      g.tensors.map((t) => t.name),
      ['direction.1', 'direction.2'],
    );
    assert.deepEqual([...g.tensors[1].data!], [400, 402, 404, 406]);
    assert.equal(g.kv.get('controlvector.source.method')!.value, 'iterative-vectors');
    assert.equal(g.kv.get('controlvector.layer_count')!.value, 2);

    const path = join(dir, 'a.gguf');
    const description = writeControlVector(path, exported);
    assert.equal(description.approximate, true);
    assert.deepEqual(Buffer.from(readFileSync(path)), Buffer.from(exported.bytes));
    assert.ok(!readdirSync(dir).some((n) => n.includes('.tmp-')));
    const missing = join(dir, 'nope', 'a.gguf');
    throwsUser(() => writeControlVector(missing, exported), missing, /folder does not exist/);
  });

  test('the reader rejects malformed files, naming them', () => {
    const F = 'bad.gguf';
    const good = encodeControlVector([undefined, v(1)]).bytes;
    const bad = Buffer.from(good);
    bad.write('GGML', 0, 'ascii');
    throwsUser(() => decodeGguf(bad, F), F, /does not start with "GGUF"/);
    const v1 = Buffer.from(good);
    v1.writeUInt32LE(1, 4);
    throwsUser(() => decodeGguf(v1, F), F, /version 1 is not supported/);
    throwsUser(() => decodeGguf(good.subarray(0, 40), F), F, /truncated/);
    throwsUser(() => decodeGguf(good.subarray(0, good.length - 32), F), F, /runs past the end/);
    // A tensor offset that is not a multiple of the alignment: the u64 after name, n_dims, dims[0] and type.
    const mis = Buffer.from(good);
    const offsetAt = mis.indexOf(Buffer.from('direction.1')) + 'direction.1'.length + 4 + 8 + 4;
    mis.writeBigUInt64LE(4n, offsetAt);
    throwsUser(() => decodeGguf(mis, F), F, /offset 4 is not a multiple of the alignment 32/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('vector artifacts: what a file can hide is refused at load', () => {
  const F = 'odd.ivec.safetensors';
  /** ivArtifact with one value replaced: layer, row, column. */
  const withValue = (layer: number, row: number, column: number, value: number) => {
    const a = ivArtifact();
    a.tensors.get(`blocks.${layer}.attn_out`)!.data[row * D + column] = value;
    return a;
  };
  /** The artifact's file with its tensors written as they are, NaN included (encodeArtifact refuses those). */
  const fileOf = (a: VectorArtifact) => encodeSafetensors(a.tensors, { iv: JSON.stringify(a.metadata) });

  test('NaN and infinite values name the file, the tensor, the row and the index of the first', () => {
    throwsUser(() => decodeArtifact(fileOf(withValue(1, 2, 3, NaN)), F), F, /finite.*tensor "blocks\.1\.attn_out", row 2, index 3 is NaN$/);
    throwsUser(() => decodeArtifact(fileOf(withValue(0, 1, 0, -Infinity)), F), F, /tensor "blocks\.0\.attn_out", row 1, index 0 is -Infinity$/);
    const two = withValue(2, 0, 1, Infinity);
    two.tensors.get('blocks.0.attn_out')!.data[5] = NaN;
    throwsUser(() => decodeArtifact(fileOf(two), F), F, /tensor "blocks\.0\.attn_out", row 1, index 1 is NaN \(2 values in all are NaN or infinite\)$/);
  });

  test('a float64 value beyond float32 reads as infinite and is refused, saying why', () => {
    const a = ivArtifact();
    const names = [...a.tensors.keys()];
    const values = names.flatMap((n) => [...a.tensors.get(n)!.data]);
    values[D + 2] = 1e300; // blocks.0.attn_out, row 1, index 2
    const data = Buffer.alloc(values.length * 8);
    values.forEach((x, i) => data.writeDoubleLE(x, i * 8));
    const bytes = (LABELS.length + 1) * D * 8;
    const header: Record<string, unknown> = { __metadata__: { iv: JSON.stringify(a.metadata) } };
    names.forEach((n, i) => (header[n] = { dtype: 'F64', shape: [LABELS.length + 1, D], data_offsets: [i * bytes, (i + 1) * bytes] }));
    throwsUser(
      () => decodeArtifact(rawSafetensors(JSON.stringify(header), data), F),
      F,
      /tensor "blocks\.0\.attn_out", row 1, index 2 is Infinity \(or a value beyond float32's ±3\.4e38\)$/,
    );
  });

  test('non-finite vectors are not written: a UserError, and no file', () => {
    assert.throws(
      () => encodeArtifact(withValue(1, 0, 0, NaN)),
      (e: unknown) =>
        e instanceof UserError && /cannot save vectors that are not finite numbers: tensor "blocks\.1\.attn_out", row 0, index 0 is NaN/.test(e.message),
    );
    const sub = join(dir, 'nan');
    mkdirSync(sub);
    assert.throws(() => writeArtifact(join(sub, 'n.ivec.safetensors'), withValue(1, 0, 0, NaN)), UserError);
    assert.deepEqual(readdirSync(sub), []);
  });

  test('a tensor named twice in the header, or a metadata key given twice, is refused', () => {
    const a = ivArtifact();
    const { length, text } = headerOf(fileOf(a));
    const real = fileOf(a);
    // The same name again at the front of the header (JSON.parse would keep the last one).
    const entry = `"blocks.1.attn_out":${JSON.stringify(JSON.parse(text)['blocks.1.attn_out'])}`;
    const twice = rawSafetensors(`{${entry},${text.trim().slice(1)}`, real.subarray(8 + length));
    throwsUser(() => decodeArtifact(twice, F), F, /field "header": the key "blocks\.1\.attn_out" appears twice/);

    const meta = JSON.stringify(a.metadata).replace('{', '{"labels":["a","b"],');
    throwsUser(() => decodeArtifact(encodeSafetensors(a.tensors, { iv: meta }), F), F, /field "iv": the key "labels" appears twice/);
    throwsUser(() => decodeSafetensors(rawSafetensors('{"__metadata__":{"a":"1","a":"2"}}'), F), F, /the key "a" appears twice/);
  });

  test("checkModelMatch with the model's tokenizer: another tokenizer names both hashes; ignoreHash does not cover it", () => {
    const P = '/work/vectors/vector.ivec.safetensors';
    checkModelMatch(ivArtifact(), modelInfo(), P, { tokenizerSha256: 'ab'.repeat(32) });
    const other = 'cd'.repeat(32);
    throwsUser(
      () => checkModelMatch(ivArtifact(), modelInfo(), P, { tokenizerSha256: other }),
      P,
      new RegExp(`: tokenizer sha256 ${'ab'.repeat(32)} vs ${other} differ$`),
    );
    throwsUser(() => checkModelMatch(ivArtifact(), modelInfo(), P, { tokenizerSha256: other, ignoreHash: true }), P, /tokenizer sha256/);
  });

  test('export: a row difference, the layer strength or the scale that overflows float32 is a UserError naming the layer and index', () => {
    const big = withValue(2, 1, 3, 3e38);
    big.tensors.get('blocks.2.attn_out')!.data[3] = -3e38;
    assert.throws(
      () => controlVectorFromArtifact(big, { row: { positive: 1, negative: 0 }, useLayerStrengths: false }),
      (e: unknown) => e instanceof UserError && /layer 2 is Infinity at index 3 .*float32/.test(e.message),
    );
    // layerStrengths [1, 0.5, 2]: 3e38 × 2 overflows at layer 2.
    assert.throws(() => controlVectorFromArtifact(withValue(2, 2, 0, 3e38), { row: 'query' }), /layer 2 is Infinity at index 0/);
    assert.throws(
      () => controlVectorFromArtifact(ivArtifact(), { row: 'query', scale: 1e37 }),
      (e: unknown) => e instanceof UserError && /scale 1e\+37/.test(e.message),
    );
  });
});
