import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { UserError } from '../../src/core/errors';
import { defaultCacheDir, ensureEmbeddedModel } from '../../src/runtime/embedded/embeddedModel';
import { LlamaTokenizer, loadLlama2cTokenizer } from '../../src/runtime/tokenizer/tokenizer';
import { parseLlama2cBin, tokenizerJsonFromLlama2cBin } from '../../src/runtime/tokenizer/tokenizerJson';
import { Llama2cTokenizer } from './llama2cEncode';
import { TOKENIZER_SENTENCES as SENTENCES } from './fixtures';

let tokenizer: LlamaTokenizer;
let reference: Llama2cTokenizer;
let binPath: string;

before(async () => {
  const files = await ensureEmbeddedModel(defaultCacheDir());
  binPath = files.tokenizerBin;
  tokenizer = await loadLlama2cTokenizer(binPath);
  reference = new Llama2cTokenizer(readFileSync(binPath), 32000);
});

/** A copy of `bytes` with the int32 at `offset` replaced. */
function withInt32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  new DataView(copy.buffer).setInt32(offset, value, true);
  return copy;
}

function withByte(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[offset] = value;
  return copy;
}

/** Deterministic pseudo-random strings from a small alphabet rich in whitespace, pieces and non-vocab characters. */
function randomTexts(count: number, seed: number): string[] {
  let s = seed;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff) / 0x80000000;
  const parts = [...'aeiou tnshrdl      ..,!?\'"\n\t-09AEITé中😀<>/', 'the', 'little', 'Lily', 'Once', 'upon', ' time', '  ', '\n\n', 'happy'];
  return Array.from({ length: count }, () => {
    let text = '';
    for (let n = Math.floor(rnd() * 60); n > 0; n--) text += parts[Math.floor(rnd() * parts.length)];
    return text;
  });
}

describe('encode matches llama2.c', () => {
  test('sentences, with and without BOS', () => {
    for (const text of SENTENCES) {
      assert.deepEqual(tokenizer.encode(text), reference.encode(text, false, false), JSON.stringify(text));
      assert.deepEqual(tokenizer.encode(text, { bos: true }), reference.encode(text, true, false), JSON.stringify(text));
    }
  });

  test('a known encoding', () => {
    assert.deepEqual(tokenizer.encode('Once upon a time', { bos: true }), [1, 9038, 2501, 263, 931]);
    assert.deepEqual(tokenizer.encode(''), []);
    assert.deepEqual(tokenizer.encode('', { bos: true }), [1]);
  });

  test('2000 random strings, with and without the dummy prefix', () => {
    for (const text of randomTexts(1000, 1234)) {
      assert.deepEqual(tokenizer.encode(text), reference.encode(text, false, false), JSON.stringify(text));
      assert.deepEqual(tokenizer.encode(text, { prefixSpace: false }), reference.encode(text, false, false, false), JSON.stringify(text));
    }
  });

  test('lone surrogates encode as U+FFFD, as their UTF-8 would', () => {
    const text = 'a\uD800b\uDC00';
    assert.deepEqual(tokenizer.encode(text), reference.encode(text, false, false));
    assert.deepEqual(tokenizer.encode(text), tokenizer.encode('a\uFFFDb\uFFFD'));
  });

  test('a literal "▁" in the text is a space (SentencePiece), where llama2.c falls back to its bytes', () => {
    assert.deepEqual(tokenizer.encode('a\u2581b'), tokenizer.encode('a b'));
    assert.deepEqual(reference.encode('a\u2581b', false, false).slice(1, 4), [0xe2 + 3, 0x96 + 3, 0x81 + 3]);
  });
});

describe('prefixSpace: false', () => {
  test('no dummy prefix', () => {
    assert.deepEqual(tokenizer.encode('\n', { prefixSpace: false }), [13]);
    assert.deepEqual(tokenizer.encode('\n'), [29871, 13]);
    assert.deepEqual(
      tokenizer.encode('Once', { prefixSpace: false }).map((id) => tokenizer.tokenText(id)),
      ['Once'],
    );
    assert.deepEqual(tokenizer.encode(' Once', { prefixSpace: false }), tokenizer.encode('Once'));
    assert.deepEqual(tokenizer.encode('', { prefixSpace: false, bos: true }), [1]);
  });

  test('segments split before a space concatenate to the whole', () => {
    const whole = tokenizer.encode('Once upon a time, there was a dog.', { bos: true });
    const segments = [...tokenizer.encode('Once upon a time,', { bos: true }), ...tokenizer.encode(' there was a dog.', { prefixSpace: false })];
    assert.deepEqual(segments, whole);
  });
});

describe('decode', () => {
  test('round-trips text', () => {
    for (const text of SENTENCES.filter((t) => !t.startsWith(' '))) {
      assert.equal(tokenizer.decode(tokenizer.encode(text)), text, JSON.stringify(text));
      assert.equal(tokenizer.decode(tokenizer.encode(text, { bos: true })), text, JSON.stringify(text));
    }
    // The dummy prefix is dropped, and only it: leading spaces of the text survive.
    assert.equal(tokenizer.decode(tokenizer.encode('   leading spaces')), '   leading spaces');
    assert.equal(tokenizer.decode([]), '');
  });

  test('prints what llama2.c prints', () => {
    for (const text of SENTENCES) {
      const ids = tokenizer.encode(text);
      // llama2.c's safe_printf drops lone bytes >= 0x80, so it prints nothing for byte-fallback characters; we keep them.
      if (ids.some((id) => id >= 3 + 0x80 && id < 3 + 0x100)) continue;
      assert.equal(tokenizer.decode(ids), Buffer.from(reference.printed(ids)).toString('utf8'), JSON.stringify(text));
    }
  });

  test('BOS and EOS print nothing; the token after BOS loses its leading space', () => {
    const story = tokenizer.encode('The end.', { bos: true });
    const next = tokenizer.encode('Once upon', { bos: true });
    assert.equal(tokenizer.decode([...story, 2, ...next]), 'The end.Once upon');
    assert.equal(tokenizer.decode([0]), '<unk>');
  });

  test('agrees with the derived tokenizer.json decoded by @huggingface/tokenizers', () => {
    const hf = new HfTokenizer(tokenizerJsonFromLlama2cBin(readFileSync(binPath)), { clean_up_tokenization_spaces: false });
    for (const text of [...SENTENCES, ...randomTexts(200, 99)].filter((t) => t !== '')) {
      const ids = tokenizer.encode(text);
      assert.equal(tokenizer.decode(ids), hf.decode(ids, { skip_special_tokens: true }), JSON.stringify(text));
    }
  });

  test('streaming: token by token equals decode, characters appear once complete', () => {
    const ids = tokenizer.encode('Hi 😀 there\n\nend', { bos: true });
    const stream = tokenizer.streamDecoder();
    const chunks = ids.map((id) => stream.push(id));
    assert.equal(chunks.join('') + stream.flush(), tokenizer.decode(ids));
    const emoji = ids.indexOf(0xf0 + 3);
    assert.deepEqual(chunks.slice(emoji, emoji + 4), ['', '', '', '😀']);
    // A continuation after a prompt keeps its leading space.
    const cont = tokenizer.streamDecoder(ids[ids.length - 1]);
    assert.equal(
      tokenizer
        .encode(' and more', { prefixSpace: false })
        .map((id) => cont.push(id))
        .join(''),
      ' and more',
    );
    // An unfinished character flushes as U+FFFD.
    const cut = tokenizer.streamDecoder();
    assert.equal(cut.push(0xf0 + 3) + cut.flush(), '\uFFFD');
  });
});

describe('tokenText', () => {
  test('surface text of single tokens', () => {
    assert.equal(tokenizer.tokenText(13), '\n');
    assert.equal(tokenizer.tokenText(3 + 0x09), '\t');
    assert.equal(tokenizer.tokenText(29871), ' ');
    assert.equal(tokenizer.tokenText(9038), ' Once');
    assert.equal(tokenizer.tokenText(0), '<unk>');
    assert.equal(tokenizer.tokenText(1), '<s>');
    assert.equal(tokenizer.tokenText(2), '</s>');
    assert.equal(tokenizer.tokenText(3), '<0x00>');
    assert.equal(tokenizer.tokenText(3 + 0xf0), '<0xF0>');
    assert.throws(() => tokenizer.tokenText(32000), RangeError);
    assert.throws(() => tokenizer.tokenText(-1), RangeError);
  });
});

describe('tokenizer.json and loading', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'iv-tokenizer-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('identity and shape', () => {
    assert.equal(tokenizer.vocabSize, 32000);
    assert.match(tokenizer.sha256, /^[0-9a-f]{64}$/);
    const json = tokenizerJsonFromLlama2cBin(readFileSync(binPath));
    assert.equal(json.model.type, 'BPE');
    assert.equal(json.model.byte_fallback, true);
    assert.equal(json.model.vocab['<0x0A>'], 13);
    assert.equal(json.model.vocab['▁Once'], 9038);
    assert.deepEqual(json.model.merges[0], ['▁', 't']);
    assert.deepEqual(
      json.added_tokens.map((t) => [t.id, t.content, t.special]),
      [
        [0, '<unk>', true],
        [1, '<s>', true],
        [2, '</s>', true],
      ],
    );
  });

  test('the tokenizer.json as a whole (normalizer, BOS template) encodes like llama2.c', () => {
    const hf = new HfTokenizer(tokenizerJsonFromLlama2cBin(readFileSync(binPath)), {});
    for (const text of SENTENCES.filter((t) => t !== '' && !t.includes('<'))) {
      assert.deepEqual(hf.encode(text).ids, reference.encode(text, true, false), JSON.stringify(text));
    }
  });

  test('derived once, cached atomically, sha256 of the JSON text', async () => {
    const first = await loadLlama2cTokenizer(binPath, dir);
    const cached = readdirSync(dir).filter((f) => f.endsWith('.json'));
    assert.equal(cached.length, 1);
    const text = readFileSync(join(dir, cached[0]), 'utf8');
    assert.equal(first.sha256, LlamaTokenizer.fromJsonText(text).sha256);
    assert.equal(first.sha256, tokenizer.sha256);
    const second = await loadLlama2cTokenizer(binPath, dir);
    assert.equal(second.sha256, first.sha256);
    // A damaged cache is derived again.
    writeFileSync(join(dir, cached[0]), text.slice(0, 1000));
    const third = await loadLlama2cTokenizer(binPath, dir);
    assert.equal(third.sha256, first.sha256);
    assert.equal(readFileSync(join(dir, cached[0]), 'utf8'), text);
  });

  test('truncated or corrupt tokenizer.bin gives a UserError naming the file', async () => {
    const bin = readFileSync(binPath);
    const corrupt: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['header only', bin.subarray(0, 4)],
      ['cut mid-token', bin.subarray(0, 1000)],
      ['last token cut short', bin.subarray(0, bin.length - 2)],
      ['garbage', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff)],
      ['bad length', withInt32(bin, 8, 1 << 30)],
      ['not byte fallback', withByte(bin, 52, 0x41)], // token 3 (<0x00>) becomes "A"
      ['invalid UTF-8', withByte(bin, 52, 0xff)],
    ];
    for (const [name, bytes] of corrupt) {
      const file = join(dir, `${name.replaceAll(' ', '-')}.bin`);
      writeFileSync(file, bytes);
      await assert.rejects(loadLlama2cTokenizer(file, dir), (e: unknown) => e instanceof UserError && e.message.includes(file), name);
    }
    await assert.rejects(loadLlama2cTokenizer(join(dir, 'missing.bin')), UserError);
    assert.throws(() => parseLlama2cBin(bin.subarray(0, 500)), UserError);
  });
});
