/**
 * Shared generators of the fuzz suite: extreme numbers and strings, JSON values and JSON text (with what
 * JSON.stringify cannot write: 1e309, -0, NaN, repeated keys, deep nesting), and mutations of valid seed
 * files (bit flips, truncation, insertions of tricky tokens, integers written over binary headers, CRLF, BOMs).
 * Mutations are small values (a seed index and a list of edits) so that fast-check shrinks them well and
 * prints them readably; `mutate` applies them.
 */
import fc from 'fast-check';

// ---------------------------------------------------------------------------------------------
// Numbers and strings

export const EXTREME_NUMBERS: readonly number[] = [
  NaN,
  Infinity,
  -Infinity,
  -0,
  0,
  1,
  -1,
  0.5,
  1.5,
  -1.5,
  2,
  3,
  7,
  64,
  65,
  255,
  256,
  1000,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e21,
  1e308,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  1e-7,
  1e6,
  1e7,
  1e7 + 1,
  100,
  100.0000001,
  -100,
];

/** Numbers a parser must refuse or take at face value: non-finite, -0, unsafe integers, range edges. */
export const extremeNumber: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: fc.constantFrom(...EXTREME_NUMBERS), weight: 4 },
  { arbitrary: fc.integer({ min: -5, max: 70 }), weight: 2 },
  { arbitrary: fc.integer(), weight: 1 },
  { arbitrary: fc.double(), weight: 1 },
);

/** Numbers written as text the way a user (or a broken file) might: hex, empty, padded, out of range, too long. */
export const NUMBER_TEXTS: readonly string[] = [
  '',
  ' ',
  '\t',
  '0',
  '-0',
  '+0',
  '00',
  '1',
  '01',
  '+1',
  '-1',
  '1.',
  '.5',
  '0.5',
  '1.5',
  '1e3',
  '1E3',
  '1e',
  'e3',
  '1e-400',
  '2e-324',
  '1e309',
  '-1e309',
  'NaN',
  'nan',
  'Infinity',
  '-Infinity',
  'inf',
  '0x10',
  '0X1F',
  '0b11',
  '0o7',
  '1_000',
  '1,000',
  '1 000',
  ' 2 ',
  '--1',
  '1-',
  '٣',
  '１',
  '9007199254740993',
  '4294967295',
  '4294967296',
  '2147483648',
  '1'.repeat(400),
  '0.' + '0'.repeat(400) + '1',
  '100',
  '100.0000001',
  '101',
  '-100',
  '-101',
  '64',
  '65',
  '1000000',
  '1000001',
  'true',
  'null',
];

export const numberText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...NUMBER_TEXTS), weight: 5 },
  { arbitrary: extremeNumber.map(String), weight: 2 },
  { arbitrary: extremeNumber.map((n) => n.toExponential()), weight: 1 },
  {
    arbitrary: fc.tuple(fc.constantFrom('', ' ', '+', '-', '0'), extremeNumber, fc.constantFrom('', ' ', '.', 'e1', '%')).map(([a, n, b]) => `${a}${n}${b}`),
    weight: 1,
  },
);

export const WEIRD_STRINGS: readonly string[] = [
  '',
  ' ',
  '  ',
  '\t',
  '\n',
  '\r\n',
  '\r',
  '\u0000',
  '\u0001',
  '\u007f',
  '\uFEFF',
  '\uFEFFtext',
  '\uD800',
  '\uDFFF',
  'a\uD800b',
  '\u202Eabc',
  '\u200B',
  '\u00A0',
  '🙂',
  '👩‍👩‍👧',
  'é',
  'e\u0301',
  'İ',
  'ß',
  '中文',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '.',
  '..',
  '../../etc/passwd',
  '/',
  '\\',
  'C:\\x',
  'a/b',
  'null',
  'undefined',
  'NaN',
  'true',
  '0',
  '-1',
  '1.5',
  '{l}',
  '{l}{l}',
  '%d',
  '$&',
  '"',
  "'",
  '`',
  ',',
  '=',
  'a=b',
  ';',
  '"a","b"',
  '<s>',
  '</s>',
  '<|endoftext|>',
  '<0x41>',
  '▁',
  'x'.repeat(256),
  'x'.repeat(70_000),
  'ab'.repeat(3000) + '\n',
];

export const weirdString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...WEIRD_STRINGS), weight: 4 },
  { arbitrary: fc.string({ maxLength: 12 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 12 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }), weight: 1 },
);

/** `arb` one time in `oneIn`, else undefined (fc.option's `freq` is the other way round: nil one time in freq). */
export const sometimes = <T>(arb: fc.Arbitrary<T>, oneIn = 4): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: oneIn - 1 }, { arbitrary: arb, weight: 1 });

/** Short printable words (labels, field names): the ordinary case next to the weird ones. */
export const word: fc.Arbitrary<string> = fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/);

// ---------------------------------------------------------------------------------------------
// JSON

/** Literal JSON text inside a JsonNode: what JSON.stringify cannot write (1e309, -0, NaN, deep nesting, bad escapes). */
export class Raw {
  constructor(readonly text: string) {}
}

/** A JSON object as its entries, in order, so that a key may appear twice. */
export class Entries {
  constructor(readonly entries: [string, JsonNode][]) {}
}

export type JsonNode = null | boolean | number | string | Raw | Entries | JsonNode[] | { [key: string]: JsonNode };

export const RAW_JSON_TOKENS: readonly string[] = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '-1e309',
  '-0',
  '-0.0',
  '0x10',
  '1e-400',
  '9007199254740993',
  '18446744073709551616',
  '01',
  '.5',
  '+1',
  'undefined',
  "'x'",
  '"\\ud800"',
  '"\\u0000"',
  '"\\uFEFF"',
  '"a\\nb"',
  '['.repeat(5000) + ']'.repeat(5000),
  '{"a":'.repeat(3000) + '1' + '}'.repeat(3000),
  '{"a":1,"a":2}',
  '{"__proto__":{"x":1}}',
  '[1,]',
  '{,}',
  '',
];

/** JSON text of a node. */
export function jsonText(node: JsonNode, indent = 0): string {
  const nl = indent ? '\n' : '';
  const walk = (n: JsonNode, depth: number): string => {
    const pad = indent ? ' '.repeat(indent * (depth + 1)) : '';
    const end = indent ? ' '.repeat(indent * depth) : '';
    if (n instanceof Raw) return n.text;
    if (n instanceof Entries) {
      if (n.entries.length === 0) return '{}';
      return `{${nl}${n.entries.map(([k, v]) => `${pad}${JSON.stringify(k)}:${indent ? ' ' : ''}${walk(v, depth + 1)}`).join(`,${nl}`)}${nl}${end}}`;
    }
    if (Array.isArray(n)) return n.length === 0 ? '[]' : `[${nl}${n.map((v) => pad + walk(v, depth + 1)).join(`,${nl}`)}${nl}${end}]`;
    if (n !== null && typeof n === 'object') return walk(new Entries(Object.entries(n)), depth);
    if (typeof n === 'number' && !Number.isFinite(n)) return String(n);
    if (typeof n === 'number' && Object.is(n, -0)) return '-0';
    return JSON.stringify(n);
  };
  return walk(node, 0);
}

/** A parsed JSON value as a JsonNode whose objects are Entries (so edits can repeat or rename keys in place). */
export function toNode(value: unknown): JsonNode {
  if (Array.isArray(value)) return value.map(toNode);
  if (value !== null && typeof value === 'object') return new Entries(Object.entries(value).map(([k, v]) => [k, toNode(v)]));
  if (value === undefined) return null;
  return value as JsonNode;
}

/** Arrays nested `depth` deep, as literal text (a tree that deep would overflow the stack of whoever walks it, fast-check's printer included). */
export function deepArray(depth: number): JsonNode {
  return new Raw('['.repeat(depth) + ']'.repeat(depth));
}

/** A value to put where a well-typed one was: other types, extremes, literal tokens JSON cannot hold. */
export const weirdNode: fc.Arbitrary<JsonNode> = fc.oneof(
  {
    arbitrary: fc.constantFrom<JsonNode>(null, true, false, 0, -1, 1.5, 2 ** 53 + 2, -(2 ** 31), 2 ** 32, 1e300, '', ' ', [], {}, [[]], [null], { '': null }),
    weight: 4,
  },
  { arbitrary: extremeNumber.map((n): JsonNode => n), weight: 2 },
  { arbitrary: weirdString.map((s): JsonNode => s), weight: 2 },
  { arbitrary: fc.constantFrom(...RAW_JSON_TOKENS).map((t): JsonNode => new Raw(t)), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => toNode(v)), weight: 1 },
  { arbitrary: fc.array(extremeNumber, { maxLength: 4 }).map((xs): JsonNode => xs), weight: 1 },
  { arbitrary: fc.constantFrom(10, 1000, 20_000).map(deepArray), weight: 1 },
);

type Path = (string | number)[];

/** Every path in a parsed JSON value (the root first), objects by key and arrays by index. */
export function jsonPaths(value: unknown, limit = 2000): Path[] {
  const out: Path[] = [];
  const stack: [unknown, Path][] = [[value, []]];
  while (stack.length && out.length < limit) {
    const [v, path] = stack.pop()!;
    out.push(path);
    if (Array.isArray(v)) v.forEach((x, i) => stack.push([x, [...path, i]]));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) stack.push([x, [...path, k]]);
  }
  return out;
}

export type JsonEdit =
  | { op: 'replace'; at: number; value: JsonNode }
  | { op: 'delete'; at: number }
  | { op: 'duplicate'; at: number; value: JsonNode }
  | { op: 'rename'; at: number; key: string }
  | { op: 'wrap'; at: number };

export const jsonEdit: fc.Arbitrary<JsonEdit> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: weirdNode }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), value: weirdNode }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('rename' as const), at: fc.nat(), key: weirdString }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('wrap' as const), at: fc.nat() }), weight: 1 },
);

export const jsonEdits = (maxLength = 3): fc.Arbitrary<JsonEdit[]> => fc.array(jsonEdit, { minLength: 1, maxLength });

/** The value with the edits applied (each `at` picks a path of the original value), and the fields they touched. */
export function applyJsonEdits(value: unknown, edits: readonly JsonEdit[]): { node: JsonNode; fields: string[] } {
  const paths = jsonPaths(value);
  let root = toNode(value);
  const fields = new Set<string>();
  for (const edit of edits) {
    const path = paths[edit.at % paths.length];
    if (path.length === 0) {
      if (edit.op === 'replace') root = edit.value;
      else if (edit.op === 'wrap') root = [root];
      continue;
    }
    let parent: JsonNode = root;
    for (const key of path.slice(0, -1)) {
      parent = child(parent, key);
      if (parent === undefined) break;
    }
    const last = path[path.length - 1];
    if (!(parent instanceof Entries) && !Array.isArray(parent)) continue;
    const named = path.filter((p): p is string => typeof p === 'string');
    if (named.length) fields.add(named.join('.'));
    if (parent instanceof Entries) {
      const i = parent.entries.findIndex(([k]) => k === last);
      if (i < 0) continue;
      const [key, old] = parent.entries[i];
      if (edit.op === 'replace') parent.entries[i] = [key, edit.value];
      else if (edit.op === 'delete') parent.entries.splice(i, 1);
      else if (edit.op === 'duplicate') parent.entries.splice(i + 1, 0, [key, edit.value]);
      else if (edit.op === 'rename') parent.entries[i] = [edit.key, old];
      else parent.entries[i] = [key, [old]];
    } else if (typeof last === 'number' && last < parent.length) {
      if (edit.op === 'replace') parent[last] = edit.value;
      else if (edit.op === 'delete') parent.splice(last, 1);
      else if (edit.op === 'duplicate') parent.splice(last + 1, 0, edit.value);
      else if (edit.op === 'wrap') parent[last] = [parent[last]];
    }
  }
  return { node: root, fields: [...fields] };
}

function child(node: JsonNode, key: string | number): JsonNode {
  if (node instanceof Entries) return node.entries.find(([k]) => k === key)?.[1] as JsonNode;
  if (Array.isArray(node) && typeof key === 'number') return node[key];
  return undefined as unknown as JsonNode;
}

// ---------------------------------------------------------------------------------------------
// Byte mutations of seed files

/** Tokens inserted into text files: separators, quotes, line ends, BOMs, JSON fragments, extreme numbers. */
export const TEXT_TOKENS: readonly string[] = [
  '\n',
  '\r\n',
  '\r',
  '\n\n',
  '\uFEFF',
  '\u0000',
  '"',
  '""',
  '\\',
  ',',
  ',,',
  '\t',
  ';',
  '{',
  '}',
  '[',
  ']',
  ':',
  ' ',
  'null',
  'true',
  '[]',
  '{}',
  '""',
  'NaN',
  '1e309',
  '-0',
  '9007199254740993',
  '0x10',
  '"label":',
  '"text":',
  '"label":null,',
  '"label":1.5,',
  '"label":[],',
  '"text":{},',
  '"__proto__":1,',
  '{"a":1,"a":2}',
  'text,label\n',
  '\u2028',
  '🙂',
  '\uD800',
  '[['.repeat(2000),
  'x'.repeat(4096),
];

export type ByteOp =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'bytes'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'repeat'; at: number; length: number; times: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'int'; at: number; width: 1 | 2 | 4 | 8; value: bigint }
  | { kind: 'crlf' }
  | { kind: 'bom' }
  | { kind: 'utf16' };

/** Integers to write over binary headers: zero, sign bits, all ones, 2^53, sizes just past the file. */
export const HEADER_INTEGERS: readonly bigint[] = [
  0n,
  1n,
  2n,
  3n,
  7n,
  8n,
  0x7fn,
  0x80n,
  0xffn,
  0x100n,
  0x7fffn,
  0xffffn,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 63n,
  2n ** 64n - 1n,
];

/** An offset: near the start (headers) more often than anywhere. */
const offset = fc.oneof({ arbitrary: fc.nat(64), weight: 2 }, { arbitrary: fc.nat(4096), weight: 1 }, { arbitrary: fc.nat(), weight: 2 });

export const byteOp = (text: boolean): fc.Arbitrary<ByteOp> =>
  fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('flip' as const), at: offset, bit: fc.nat(7) }), weight: 6 },
    {
      arbitrary: fc.record({ kind: fc.constant('set' as const), at: offset, byte: fc.oneof(fc.constantFrom(0, 0xff, 0x80, 0x22, 0x0a, 0x2c), fc.nat(255)) }),
      weight: 4,
    },
    {
      arbitrary: fc.record({ kind: fc.constant('insert' as const), at: offset, text: fc.oneof(fc.constantFrom(...TEXT_TOKENS), weirdString) }),
      weight: text ? 10 : 2,
    },
    { arbitrary: fc.record({ kind: fc.constant('bytes' as const), at: offset, bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 8 }) }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant('delete' as const), at: offset, length: fc.integer({ min: 1, max: 64 }) }), weight: 4 },
    {
      arbitrary: fc.record({
        kind: fc.constant('repeat' as const),
        at: offset,
        length: fc.integer({ min: 1, max: 64 }),
        times: fc.integer({ min: 2, max: 300 }),
      }),
      weight: 2,
    },
    { arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: offset }), weight: 4 },
    {
      arbitrary: fc.record({
        kind: fc.constant('int' as const),
        at: offset,
        width: fc.constantFrom<1 | 2 | 4 | 8>(1, 2, 4, 8),
        value: fc.oneof(fc.constantFrom(...HEADER_INTEGERS), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
      }),
      weight: text ? 1 : 8,
    },
    { arbitrary: fc.constantFrom<ByteOp>({ kind: 'crlf' }, { kind: 'bom' }, { kind: 'utf16' }), weight: text ? 2 : 1 },
  );

const encoder = new TextEncoder();

/** The seed with the edits applied, in order. */
export function mutate(seed: Uint8Array, ops: readonly ByteOp[]): Uint8Array {
  let b = seed;
  const at = (i: number) => i % (b.length + 1);
  for (const op of ops) {
    switch (op.kind) {
      case 'flip': {
        if (b.length === 0) break;
        b = Uint8Array.from(b);
        b[op.at % b.length] ^= 1 << op.bit;
        break;
      }
      case 'set': {
        if (b.length === 0) break;
        b = Uint8Array.from(b);
        b[op.at % b.length] = op.byte;
        break;
      }
      case 'insert':
      case 'bytes': {
        const add = op.kind === 'insert' ? encoder.encode(op.text) : Uint8Array.from(op.bytes);
        const i = at(op.at);
        b = concat(b.subarray(0, i), add, b.subarray(i));
        break;
      }
      case 'delete': {
        const i = at(op.at);
        b = concat(b.subarray(0, i), b.subarray(i + op.length));
        break;
      }
      case 'repeat': {
        const i = at(op.at);
        const piece = b.subarray(i, i + op.length);
        b = concat(b.subarray(0, i), ...Array.from({ length: op.times }, () => piece), b.subarray(i + piece.length));
        break;
      }
      case 'truncate':
        b = b.subarray(0, at(op.at));
        break;
      case 'int': {
        if (b.length < op.width) break;
        b = Uint8Array.from(b);
        const i = op.at % (b.length - op.width + 1);
        let v = op.value;
        for (let k = 0; k < op.width; k++) {
          b[i + k] = Number(v & 0xffn);
          v >>= 8n;
        }
        break;
      }
      case 'crlf': {
        const out: number[] = [];
        for (const x of b) {
          if (x === 0x0a) out.push(0x0d);
          out.push(x);
        }
        b = Uint8Array.from(out);
        break;
      }
      case 'bom':
        b = concat(Uint8Array.of(0xef, 0xbb, 0xbf), b);
        break;
      case 'utf16': {
        const text = new TextDecoder().decode(b);
        const out = new Uint8Array(2 + text.length * 2);
        out[0] = 0xff;
        out[1] = 0xfe;
        for (let i = 0; i < text.length; i++) {
          out[2 + 2 * i] = text.charCodeAt(i) & 0xff;
          out[3 + 2 * i] = text.charCodeAt(i) >> 8;
        }
        b = out;
        break;
      }
    }
  }
  return b;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface Seed {
  name: string;
  bytes: Uint8Array;
}

export interface Mutation {
  /** Index into the seeds. */
  seed: number;
  ops: ByteOp[];
}

/** Up to `maxOps` byte edits (none: the seed itself). */
export const byteOps = (maxOps = 4, text = false): fc.Arbitrary<ByteOp[]> => fc.array(byteOp(text), { maxLength: maxOps });

/** A seed and up to `maxOps` edits (none: the seed itself, which checks the success path too). */
export function mutation(seeds: readonly Seed[], { maxOps = 4, text = false }: { maxOps?: number; text?: boolean } = {}): fc.Arbitrary<Mutation> {
  return fc.record({ seed: fc.nat(seeds.length - 1), ops: byteOps(maxOps, text) });
}

export function mutated(seeds: readonly Seed[], m: Mutation): Uint8Array {
  return mutate(seeds[m.seed].bytes, m.ops);
}

/** A short readable view of bytes for failure messages: the text when it decodes, else hex. */
export function preview(bytes: Uint8Array, max = 300): string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, max * 4));
    return `${bytes.length} bytes, text ${JSON.stringify(text.slice(0, max))}${text.length > max ? '…' : ''}`;
  } catch {
    return `${bytes.length} bytes, hex ${Buffer.from(bytes.subarray(0, Math.ceil(max / 2))).toString('hex')}${bytes.length > max / 2 ? '…' : ''}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Structured-clone values (what postMessage delivers)

/** Anything postMessage can carry: plain values, Maps, Sets, Dates, BigInts, typed arrays, sparse arrays, cycles. */
export const clonable: fc.Arbitrary<unknown> = fc
  .tuple(
    fc.anything({
      maxDepth: 3,
      maxKeys: 5,
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withSparseArray: true,
      withBoxedValues: true,
      withNullPrototype: true,
      withObjectString: true,
    }),
    fc.boolean(),
  )
  .map(([v, cycle]) => {
    let value = v;
    if (cycle && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      (value as Record<string, unknown>).self = value;
    }
    try {
      value = structuredClone(value);
    } catch {
      // A value structuredClone refuses never reaches a message handler.
      value = null;
    }
    return value;
  });
