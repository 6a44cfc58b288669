/**
 * Valid seeds for the model fuzzers: llama2.c checkpoints and tokenizer.bin files of any (small) shape,
 * tokenizer.json files of each model type, the exported-model fixtures of test/fixtures (small ones; the
 * onnxruntime-genai ones where present), and npm package tarballs.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tokenizerJsonFromLlama2cBin } from '../../src/runtime/tokenizer/tokenizerJson';

// ---------------------------------------------------------------------------------------------
// llama2.c

export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Negative: the classifier is stored (not shared with the embedding). */
  vocab: number;
  seqLen: number;
}

/** The float count a header implies, as parseLlama2cCheckpoint computes it (NaN for headers it refuses anyway). */
export function llama2cFloats(h: Llama2cHeader): number {
  const vocab = Math.abs(h.vocab);
  const kvDim = (h.dim * h.nKvHeads) / h.nHeads;
  const headSize = h.dim / h.nHeads;
  return (
    vocab * h.dim +
    h.nLayers * (2 * h.dim + 2 * h.dim * h.dim + 2 * kvDim * h.dim + 3 * h.hiddenDim * h.dim) +
    h.dim +
    h.seqLen * headSize +
    (h.vocab > 0 ? 0 : vocab * h.dim)
  );
}

/** A checkpoint: the 7-int32 header, then `floats` weights from `value(i)`. */
export function llama2cCheckpoint(h: Llama2cHeader, floats: number, value: (i: number) => number): Uint8Array {
  const out = new Uint8Array(28 + floats * 4);
  const view = new DataView(out.buffer);
  [h.dim, h.hiddenDim, h.nLayers, h.nHeads, h.nKvHeads, h.vocab, h.seqLen].forEach((v, i) => view.setInt32(i * 4, v, true));
  for (let i = 0; i < floats; i++) view.setFloat32(28 + i * 4, value(i), true);
  return out;
}

const EXTRA_PIECES = [' the', 'the', ' a', 'he', ' he', ' she', 'ing', ' was', ' Once', ' upon', ' time', '.', ',', ' Lily', 'Ġx', '▁y', '<s >', '  '];

/** A llama2.c tokenizer.bin: <unk>, BOS, EOS, the 256 byte tokens, then `extra` pieces up to `size` tokens. */
export function llama2cTokenizerBin(size = 300): Uint8Array {
  const encoder = new TextEncoder();
  const pieces = ['<unk>', '\n<s>\n', '\n</s>\n', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)];
  for (let i = 0; pieces.length < size; i++) pieces.push(i < EXTRA_PIECES.length ? EXTRA_PIECES[i] : `w${i}`);
  const parts = pieces.map((p) => encoder.encode(p));
  const max = Math.max(...parts.map((p) => p.length));
  const out = new Uint8Array(4 + parts.reduce((n, p) => n + 8 + p.length, 0));
  const view = new DataView(out.buffer);
  view.setInt32(0, max, true);
  let at = 4;
  parts.forEach((p, id) => {
    view.setFloat32(at, id < 259 ? 0 : -id / 10, true);
    view.setInt32(at + 4, p.length, true);
    out.set(p, at + 8);
    at += 8 + p.length;
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// tokenizer.json

const byteLevelAlphabet = (): string[] => {
  // GPT-2's bytes_to_unicode.
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return cs.map((c) => String.fromCharCode(c));
};

/** tokenizer.json texts of each kind @huggingface/tokenizers implements, small. */
export function tokenizerJsonSeeds(): { name: string; text: string }[] {
  const chars = byteLevelAlphabet();
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => (vocab[c] = i));
  const merges = [
    ['Ġ', 't'],
    ['h', 'e'],
    ['Ġt', 'he'],
    ['i', 'n'],
    ['in', 'g'],
  ];
  for (const [a, b] of merges) vocab[a + b] = Object.keys(vocab).length;
  const gpt2 = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      { id: Object.keys(vocab).length, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  const llama = tokenizerJsonFromLlama2cBin(llama2cTokenizerBin(300));
  const wordpieceVocab: Record<string, number> = { '[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3 };
  for (const w of [
    'the',
    'cat',
    'sat',
    '##s',
    '##ing',
    'play',
    '.',
    ',',
    ...'abcdefghijklmnopqrstuvwxyz'.split(''),
    ...'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => `##${c}`),
  ]) {
    if (!Object.hasOwn(wordpieceVocab, w)) wordpieceVocab[w] = Object.keys(wordpieceVocab).length;
  }
  const bert = {
    version: '1.0',
    added_tokens: [
      { id: 0, content: '[PAD]', special: true },
      { id: 1, content: '[UNK]', special: true },
      { id: 2, content: '[CLS]', special: true },
      { id: 3, content: '[SEP]', special: true },
    ],
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: wordpieceVocab },
  };
  const unigram = {
    version: '1.0',
    added_tokens: [{ id: 0, content: '<unk>', special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    post_processor: null,
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: {
      type: 'Unigram',
      unk_id: 0,
      vocab: [['<unk>', 0], ['▁', -2], ['▁the', -3], ['▁a', -3.5], ...'abcdefghijklmnopqrstuvwxyz'.split('').map((c, i) => [c, -5 - i / 10]), ['▁cat', -4]],
      byte_fallback: false,
    },
  };
  return [
    { name: 'gpt2', text: JSON.stringify(gpt2) },
    { name: 'llama', text: JSON.stringify(llama) },
    { name: 'bert', text: JSON.stringify(bert) },
    { name: 'unigram', text: JSON.stringify(unigram) },
  ];
}

/** tokenizer_config.json / special_tokens_map.json that go with the seeds. */
export const TOKENIZER_CONFIGS: Record<string, Record<string, unknown>> = {
  gpt2: { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', add_bos_token: false, model_max_length: 1024 },
  llama: { bos_token: { content: '<s>', lstrip: false }, eos_token: '</s>', add_bos_token: true, legacy: false },
  bert: { cls_token: '[CLS]', sep_token: '[SEP]', do_lower_case: true },
  unigram: { eos_token: '<unk>', bos_token: null },
};

// ---------------------------------------------------------------------------------------------
// Exported models

export const FIXTURES = join(__dirname, '..', 'fixtures');

export interface ModelFixture {
  name: string;
  /** The folder to copy (every file in it, subfolders included). */
  dir: string;
  /** The graph file, relative to `dir`. */
  graph: string;
  layout: 'transformers.js' | 'onnxruntime-genai';
}

/** Small fixtures, of both layouts and several architectures (the onnxruntime-genai ones when present). */
export function modelFixtures(): ModelFixture[] {
  const candidates: [string, string][] = [
    ['exports/smollm', 'model.onnx'],
    ['exports/gemma2', 'model.onnx'],
    ['exports/gpt_neox', 'model.onnx'],
    ['exports/gptj', 'model.onnx'],
    ['merged/smollm', 'onnx/decoder_model_merged.onnx'],
    ['exports/smollm-genai-int4', 'model.onnx'],
    ['exports/qwen3-genai-int4', 'model.onnx'],
    ['exports/mistral-genai-int4', 'model.onnx'],
  ];
  return candidates
    .map(
      ([rel, graph]) =>
        ({
          name: rel,
          dir: join(FIXTURES, rel),
          graph,
          layout: existsSync(join(FIXTURES, rel, 'genai_config.json')) ? 'onnxruntime-genai' : 'transformers.js',
        }) as ModelFixture,
    )
    .filter((f) => existsSync(join(f.dir, f.graph)) && folderSize(f.dir) < 1.5 * 2 ** 20);
}

function folderSize(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? folderSize(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return n;
}

/** Every file of a folder, relative path -> bytes. */
export function readFolder(dir: string, prefix = ''): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of readFolder(join(dir, e.name), rel)) out.set(k, v);
    else out.set(rel, new Uint8Array(readFileSync(join(dir, e.name))));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// npm tarballs (the embedded model's package)

/** A ustar header block for a regular file (or `type`), fields as tar writes them; `size` may be any text. */
export function tarHeader(name: string, size: string, type = '0'): Uint8Array {
  const h = new Uint8Array(512);
  const put = (text: string, at: number, length: number) => h.set(new TextEncoder().encode(text).subarray(0, length), at);
  put(name, 0, 100);
  put('0000644\0', 100, 8);
  put('0000000\0', 108, 8);
  put('0000000\0', 116, 8);
  put(size, 124, 12);
  put('00000000000\0', 136, 12);
  put('        ', 148, 8);
  put(type, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

export interface TarEntry {
  name: string;
  body: Uint8Array;
  /** The size field as written (default: the body's length in octal). */
  size?: string;
  type?: string;
}

export function tar(entries: readonly TarEntry[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const e of entries) {
    blocks.push(tarHeader(e.name, e.size ?? `${e.body.length.toString(8).padStart(11, '0')}\0`, e.type));
    const padded = new Uint8Array(Math.ceil(e.body.length / 512) * 512);
    padded.set(e.body);
    blocks.push(padded);
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of blocks) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/** The entries of the embedded model's package as the carving code reads them (weights replaced by a few bytes). */
export function embeddedPackageEntries(): TarEntry[] {
  const data = new Uint8Array(64).map((_, i) => i);
  const loader = `var Module; loadPackage({"files":[{"filename":"/model.bin","start":0,"end":40},{"filename":"/tokenizer.bin","start":40,"end":64}],"remote_package_size":64});`;
  return [
    { name: 'package/package.json', body: new TextEncoder().encode('{"name":"x"}') },
    { name: 'package/dist/llama2.js', body: new TextEncoder().encode(loader) },
    { name: 'package/dist/llama2.data', body: data },
  ];
}

export const gzip = (bytes: Uint8Array): Uint8Array => new Uint8Array(gzipSync(bytes));
