import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UserError } from '../../src/core/errors';
import { Verbalizer } from '../../src/core/icl/prompt';
import type { Tokenizer } from '../../src/core/model';
import { defaultCacheDir, ensureEmbeddedModel } from '../../src/runtime/embedded/embeddedModel';
import { ByteTokenizer, HubTokenizer, loadHubTokenizer, withoutDummyPrefix, type HubTokenizerJson } from '../../src/runtime/tokenizer/hubTokenizer';
import { LlamaTokenizer, loadLlama2cTokenizer } from '../../src/runtime/tokenizer/tokenizer';
import { tokenizerJsonFromLlama2cBin } from '../../src/runtime/tokenizer/tokenizerJson';
import { TOKENIZER_SENTENCES as SENTENCES, FIXTURES, SHARED } from './fixtures';

const GPT2 = join(FIXTURES, 'tiny-random-gpt2-ort-fused');
const LLAMA = join(FIXTURES, 'tiny-random-llama-genai-builder-fp16');
const DATASETS = join(SHARED, 'datasets');

/** Prompts as the ICL verbalizer builds them: [text, label, text, label, ..., query]. */
const PROMPTS: string[][] = [
  ['I loved it', 'positive', 'Terrible, just terrible!', 'negative', 'Great movie'],
  ['a stirring , funny and finally transporting re-imagining', 'positive', 'what?', 'negative', "it's 3.14 (roughly)."],
  ['Café — naïve 😀', 'negative', '中文 text', 'positive', '"quoted"'],
];

let gpt2: HubTokenizer;
let llama: HubTokenizer;
/** The embedded model's tokenizer, and its derived tokenizer.json loaded through HubTokenizer. */
let embedded: LlamaTokenizer;
let embeddedHub: HubTokenizer;
let embeddedJsonText: string;
let dir: string;

function vocabOf(folder: string): Record<string, number> {
  return (JSON.parse(readFileSync(join(folder, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab;
}

/** A folder holding the given files (name → text, or a path to copy). */
function folder(name: string, files: Record<string, string | { copy: string }>): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    if (typeof content === 'string') writeFileSync(join(path, file), content);
    else copyFileSync(content.copy, join(path, file));
  }
  return path;
}

function streamed(t: HubTokenizer | ByteTokenizer | LlamaTokenizer, ids: readonly number[], prevToken?: number): string[] {
  const stream = t.streamDecoder(prevToken);
  const parts = ids.map((id) => stream.push(id));
  parts.push(stream.flush());
  return parts;
}

before(async () => {
  assert.ok(existsSync(GPT2) && existsSync(LLAMA), `the third-party ONNX fixtures are missing at ${FIXTURES} (set IV_SHARED_DIR)`);
  dir = mkdtempSync(join(tmpdir(), 'iv-hubtok-'));
  gpt2 = await loadHubTokenizer(GPT2);
  llama = await loadHubTokenizer(LLAMA);
  const files = await ensureEmbeddedModel(defaultCacheDir());
  embedded = await loadLlama2cTokenizer(files.tokenizerBin);
  // The same text loadLlama2cTokenizer caches (its sha256 is checked below).
  embeddedJsonText = JSON.stringify(tokenizerJsonFromLlama2cBin(readFileSync(files.tokenizerBin)));
  const path = folder('embedded', {
    'tokenizer.json': embeddedJsonText,
    'tokenizer_config.json': JSON.stringify({ bos_token: '<s>', eos_token: '</s>', add_bos_token: true, clean_up_tokenization_spaces: false }),
  });
  embeddedHub = await loadHubTokenizer(path);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('GPT-2 byte-level BPE (tiny-random-gpt2-ort-fused)', () => {
  const vocab = () => vocabOf(GPT2);

  test('known ids: "Hello world" is [15496, 995] = Hello, Ġworld; a leading space is its own Ġ, never dropped', () => {
    assert.deepEqual(gpt2.encode('Hello world'), [15496, 995]);
    assert.deepEqual(gpt2.encode('Hello world'), [vocab().Hello, vocab()['Ġworld']]);
    assert.deepEqual(gpt2.encode(' Hello'), [vocab()['ĠHello']]);
    assert.deepEqual(gpt2.encode('\n'), [vocab()['Ċ']]);
    assert.deepEqual(gpt2.encode(''), []);
  });

  test('vocabulary and special ids come from tokenizer.json and tokenizer_config.json (not config.json, which says 98)', () => {
    assert.equal(gpt2.vocabSize, 50295); // 50257 BPE tokens + added whitespace tokens up to id 50294
    assert.equal(gpt2.bosId, 50256);
    assert.equal(gpt2.eosId, 50256);
    assert.equal(gpt2.addBosToken, false);
    assert.equal(gpt2.hasDummyPrefix, false);
  });

  test('prefixSpace: false changes nothing (no dummy prefix); bos prepends <|endoftext|>', () => {
    for (const s of SENTENCES) {
      assert.deepEqual(gpt2.encode(s, { prefixSpace: false }), gpt2.encode(s), JSON.stringify(s));
      assert.deepEqual(gpt2.encode(s, { bos: true }), [50256, ...gpt2.encode(s)], JSON.stringify(s));
    }
  });

  test('special tokens in the text stay literal; non-special added tokens (whitespace runs) are used', () => {
    const ids = gpt2.encode('a <|endoftext|> b');
    assert.ok(!ids.includes(50256), `${ids}`);
    assert.equal(gpt2.decode(ids), 'a <|endoftext|> b');
    const code = gpt2.encode('def f():\n        return 1');
    assert.ok(code.includes(50280), `8 spaces are the added token 50280: ${code}`);
    assert.equal(gpt2.decode(code), 'def f():\n        return 1');
  });

  test('decode round-trips, skips special tokens and does not clean up spaces (tokenizer_config says clean_up_tokenization_spaces)', () => {
    for (const s of SENTENCES) assert.equal(gpt2.decode(gpt2.encode(s)), s, JSON.stringify(s));
    assert.equal(gpt2.decode([50256, 15496, 995, 50256]), 'Hello world');
    assert.equal(gpt2.decode(gpt2.encode('Hello , world .')), 'Hello , world .');
    assert.equal(gpt2.decode([]), '');
  });

  test('tokenText: Ġ is a space, Ċ a newline, added tokens their content, partial UTF-8 the vocabulary name', () => {
    assert.equal(gpt2.tokenText(995), ' world');
    assert.equal(gpt2.tokenText(15496), 'Hello');
    assert.equal(gpt2.tokenText(198), '\n');
    assert.equal(gpt2.tokenText(628), '\n\n');
    assert.equal(gpt2.tokenText(50256), '<|endoftext|>');
    assert.equal(gpt2.tokenText(50284), '    ');
    const lead = gpt2.encode('😀')[0]; // the emoji's 4 bytes span two tokens
    assert.ok(!gpt2.tokenText(lead).includes('\uFFFD'), gpt2.tokenText(lead));
    assert.throws(() => gpt2.tokenText(50295), RangeError);
    assert.throws(() => gpt2.decode([-1]), RangeError);
  });

  test('streamDecoder: the pieces concatenate to decode(), and never show a half character', () => {
    for (const s of SENTENCES) {
      const ids = gpt2.encode(s);
      const parts = streamed(gpt2, ids);
      assert.equal(parts.join(''), gpt2.decode(ids), JSON.stringify(s));
      if (!s.includes('\uFFFD'))
        assert.ok(
          parts.every((p) => !p.includes('\uFFFD')),
          JSON.stringify(parts),
        );
    }
    const ids = gpt2.encode('😀😀');
    assert.ok(ids.length > 2);
    assert.deepEqual(
      streamed(gpt2, ids).filter((p) => p !== ''),
      ['😀', '😀'],
    );
  });
});

describe('Llama SentencePiece-style tokenizer.json (tiny-random-llama-genai-builder-fp16)', () => {
  const vocab = () => vocabOf(LLAMA);
  const names = () => {
    const n: string[] = [];
    for (const [name, id] of Object.entries(vocab())) n[id] = name;
    return n;
  };

  test('known ids: "Hello" is ▁Hello (15043), "Hello world" is ▁Hello ▁world', () => {
    assert.deepEqual(llama.encode('Hello'), [15043]);
    assert.deepEqual(llama.encode('Hello'), [vocab()['▁Hello']]);
    assert.deepEqual(llama.encode('Hello world'), [vocab()['▁Hello'], vocab()['▁world']]);
    assert.deepEqual(llama.encode('Hello world'), [15043, 3186]);
    assert.deepEqual(llama.encode('\n'), [vocab()['▁'], vocab()['<0x0A>']]);
  });

  test('BOS/EOS from tokenizer_config.json (<s> = 1, </s> = 2), not genai_config.json (which says 0 and 1)', () => {
    assert.equal(llama.vocabSize, 32000);
    assert.equal(llama.bosId, 1);
    assert.equal(llama.eosId, 2);
    assert.equal(llama.addBosToken, true);
    assert.equal(llama.hasDummyPrefix, true);
    assert.deepEqual(llama.encode('Hello', { bos: true }), [1, 15043]);
  });

  test('prefixSpace: false removes exactly the dummy "▁" in front of the text', () => {
    const n = names();
    const pieces = (ids: number[]) => ids.map((id) => n[id]).join('');
    for (const s of SENTENCES) {
      if (s === '') continue;
      const withPrefix = llama.encode(s);
      const without = llama.encode(s, { prefixSpace: false });
      assert.equal(pieces(withPrefix), '▁' + pieces(without), JSON.stringify(s));
      assert.deepEqual(llama.encode(s, { prefixSpace: false, bos: true }), [1, ...without]);
    }
    assert.deepEqual(llama.encode('Hello', { prefixSpace: false }), [vocab().Hello]);
    // A segment that starts with a space tokenizes as the word would at the start of a prompt.
    for (const w of ['Hello world', 'positive', 'the end.']) assert.deepEqual(llama.encode(' ' + w, { prefixSpace: false }), llama.encode(w));
  });

  test('"<s>" in the text is literal; decode round-trips and skips BOS/EOS', () => {
    assert.ok(!llama.encode('<s> x </s>').some((id) => id === 1 || id === 2));
    for (const s of SENTENCES) assert.equal(llama.decode(llama.encode(s)), s, JSON.stringify(s));
    for (const s of SENTENCES) assert.equal(llama.decode(llama.encode(s, { bos: true })), s, JSON.stringify(s));
    assert.equal(llama.decode([1, 15043, 3186, 2]), 'Hello world');
  });

  test('a lone surrogate is encoded as U+FFFD (as UTF-8 would carry it), not as the bytes of an invalid character', () => {
    assert.deepEqual(llama.encode('a\uD800b'), llama.encode('a\uFFFDb'));
    assert.deepEqual(llama.encode('a\uDC00b', { prefixSpace: false }), llama.encode('a\uFFFDb', { prefixSpace: false }));
    assert.deepEqual(embeddedHub.encode('x\uD83D'), embedded.encode('x\uD83D'));
    assert.deepEqual(llama.encode('😀'), llama.encode('\uD83D\uDE00'), 'a surrogate pair is one character');
  });

  test('tokenText: ▁ is a space (kept on the first token), byte tokens the character or their name', () => {
    assert.equal(llama.tokenText(15043), ' Hello');
    assert.equal(llama.tokenText(vocab().Hello), 'Hello');
    assert.equal(llama.tokenText(vocab()['<0x0A>']), '\n');
    assert.equal(llama.tokenText(vocab()['<0xF0>']), '<0xF0>');
    assert.equal(llama.tokenText(vocab()['<0x00>']), '<0x00>');
    assert.equal(llama.tokenText(1), '<s>');
  });

  test('streamDecoder: concatenates to decode(); after a prompt token the leading space is kept', () => {
    for (const s of SENTENCES) {
      const ids = llama.encode(s);
      assert.equal(streamed(llama, ids).join(''), llama.decode(ids), JSON.stringify(s));
      assert.equal(streamed(llama, ids, 1).join(''), llama.decode(ids), JSON.stringify(s));
    }
    const [first, ...rest] = llama.encode('Once upon a time');
    const continuation = streamed(llama, rest, first).join('');
    assert.equal(continuation, ' upon a time');
    assert.equal(streamed(llama, rest).join(''), 'upon a time');
  });
});

describe('other dummy-prefix forms (the fixtures edited)', () => {
  test('Metaspace pre-tokenizer with prepend_scheme "first" (non-legacy Llama): same ids, and prefixSpace: false drops the ▁', () => {
    const json = JSON.parse(readFileSync(join(LLAMA, 'tokenizer.json'), 'utf8')) as HubTokenizerJson;
    json.normalizer = null;
    json.pre_tokenizer = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false };
    json.decoder = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false };
    const t = new HubTokenizer(json, { sha256: 'x', bosId: 1 });
    assert.equal(t.hasDummyPrefix, true);
    assert.deepEqual(t.encode('Hello world'), [15043, 3186]);
    assert.deepEqual(t.encode('Hello world', { prefixSpace: false }), [llama.encode('Hello', { prefixSpace: false })[0], 3186]);
    assert.equal(t.decode(t.encode('Hello world')), 'Hello world');
    assert.equal(t.tokenText(15043), ' Hello');
  });

  test('an old Metaspace config with add_prefix_space false and no prepend_scheme adds no prefix (as the Rust library reads it)', () => {
    const json = JSON.parse(readFileSync(join(LLAMA, 'tokenizer.json'), 'utf8')) as HubTokenizerJson;
    json.normalizer = null;
    json.pre_tokenizer = { type: 'Metaspace', replacement: '▁', add_prefix_space: false };
    const t = new HubTokenizer(json, { sha256: 'x' });
    assert.equal(t.hasDummyPrefix, false);
    assert.deepEqual(t.encode('Hello'), llama.encode('Hello', { prefixSpace: false }));
  });

  test('ByteLevel with add_prefix_space true: " Hello" ids by default, "Hello" with prefixSpace: false', () => {
    const json = JSON.parse(readFileSync(join(GPT2, 'tokenizer.json'), 'utf8')) as HubTokenizerJson;
    json.pre_tokenizer = { ...json.pre_tokenizer, add_prefix_space: true };
    const t = new HubTokenizer(json, { sha256: 'x' });
    assert.equal(t.hasDummyPrefix, true);
    assert.deepEqual(t.encode('Hello world'), [18435, 995]);
    assert.deepEqual(t.encode('Hello world', { prefixSpace: false }), [15496, 995]);
  });

  test('withoutDummyPrefix leaves tokenizers without a prefix alone and finds Prepend inside a Sequence', () => {
    const gptJson = JSON.parse(readFileSync(join(GPT2, 'tokenizer.json'), 'utf8')) as HubTokenizerJson;
    assert.equal(withoutDummyPrefix(gptJson).changed, false);
    const llamaJson = JSON.parse(readFileSync(join(LLAMA, 'tokenizer.json'), 'utf8')) as HubTokenizerJson;
    const { json, changed } = withoutDummyPrefix(llamaJson);
    assert.equal(changed, true);
    assert.deepEqual(json.normalizer, { type: 'Sequence', normalizers: [{ type: 'Replace', pattern: { String: ' ' }, content: '▁' }] });
  });
});

describe('parity with the embedded model tokenizer (its derived tokenizer.json through HubTokenizer)', () => {
  test('the derived tokenizer.json is the one LlamaTokenizer uses; alone in a folder it has the same sha256', async () => {
    assert.equal(createHash('sha256').update(embeddedJsonText).digest('hex'), embedded.sha256);
    const alone = await loadHubTokenizer(folder('embedded-alone', { 'tokenizer.json': embeddedJsonText }));
    assert.equal(alone.sha256, embedded.sha256);
    assert.equal(alone.bosId, 1, "BOS from the post-processor's template");
    assert.equal(alone.eosId, undefined);
    assert.notEqual(embeddedHub.sha256, embedded.sha256, 'tokenizer_config.json is part of the identity');
    assert.equal(embeddedHub.vocabSize, embedded.vocabSize);
    assert.equal(embeddedHub.bosId, 1);
    assert.equal(embeddedHub.eosId, 2);
  });

  test('encode is identical with and without prefixSpace and bos', () => {
    for (const s of SENTENCES) {
      for (const bos of [false, true]) {
        for (const prefixSpace of [true, false]) {
          assert.deepEqual(
            embeddedHub.encode(s, { bos, prefixSpace }),
            embedded.encode(s, { bos, prefixSpace }),
            `${JSON.stringify(s)} bos=${bos} prefixSpace=${prefixSpace}`,
          );
        }
      }
    }
  });

  test('decode is identical and round-trips', () => {
    for (const s of SENTENCES) {
      for (const bos of [false, true]) {
        for (const prefixSpace of [true, false]) {
          const ids = embedded.encode(s, { bos, prefixSpace });
          assert.equal(embeddedHub.decode(ids), embedded.decode(ids), `${JSON.stringify(s)} bos=${bos} prefixSpace=${prefixSpace}`);
        }
      }
      assert.equal(embeddedHub.decode(embeddedHub.encode(s)), s);
    }
  });

  test('tokenText is identical for every token', () => {
    for (let id = 0; id < embedded.vocabSize; id++) assert.equal(embeddedHub.tokenText(id), embedded.tokenText(id), `token ${id}`);
  });

  test('streamDecoder gives the same text, also as a continuation', () => {
    for (const s of SENTENCES) {
      const ids = embedded.encode(s, { bos: true });
      assert.equal(streamed(embeddedHub, ids).join(''), streamed(embedded, ids).join(''), JSON.stringify(s));
      const [first, ...rest] = embedded.encode(s);
      if (first === undefined) continue;
      assert.equal(streamed(embeddedHub, rest, first).join(''), streamed(embedded, rest, first).join(''), JSON.stringify(s));
    }
  });
});

describe('segment-wise tokenization', () => {
  const all = (): [string, Tokenizer][] => [
    ['gpt2', gpt2],
    ['llama', llama],
    ['embedded', embeddedHub],
  ];

  /** Prompts built by the verbalizer (text "\n" label "\n\n\n" ...) equal the tokenization of the joined string. */
  function checkVerbalizer(name: string, t: Tokenizer, labels: string[], episodes: { text: string; label: number }[][]): void {
    const v = new Verbalizer(t, labels, { bos: false, maxSampleTokens: 100000, maxSeqLen: 1000000, tokenization: 'joined' });
    for (const episode of episodes) {
      const demos = episode.slice(0, -1).map((e, i) => ({ ...e, line: i + 1 }));
      const query = { ...episode[episode.length - 1], line: episode.length };
      const prompt = v.build(demos, query);
      const whole = demos.map((d) => `${d.text.trimEnd()}\n${labels[d.label]}`).join('\n\n\n') + `\n\n\n${query.text.trimEnd()}\n`;
      assert.deepEqual(prompt.tokens, t.encode(whole), `${name}: ${JSON.stringify(whole)}`);
    }
  }

  test("the verbalizer's prompts (newline separators) equal whole-string tokenization, hand-made episodes", () => {
    for (const [name, t] of all()) {
      const episodes = PROMPTS.map((p) => [
        { text: p[0], label: p[1] === 'positive' ? 1 : 0 },
        { text: p[2], label: p[3] === 'positive' ? 1 : 0 },
        { text: p[4], label: 0 },
      ]);
      checkVerbalizer(name, t, ['negative', 'positive'], episodes);
    }
  });

  test("the verbalizer's prompts equal whole-string tokenization on real SST-2 and TREC rows", () => {
    for (const [dataset, rows] of [
      ['sst2', 100],
      ['trec', 100],
    ] as const) {
      const lines = readFileSync(join(DATASETS, dataset, 'train.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .slice(0, rows);
      const data = lines.map((l) => JSON.parse(l) as { text: string; label: string });
      const labels = [...new Set(data.map((d) => d.label))].sort();
      const examples = data.map((d) => ({ text: d.text.trim(), label: labels.indexOf(d.label) }));
      const episodes: { text: string; label: number }[][] = [];
      for (let i = 0; i + 5 <= examples.length; i += 5) episodes.push(examples.slice(i, i + 5));
      for (const [name, t] of all()) checkVerbalizer(`${name} ${dataset}`, t, labels, episodes);
    }
  });

  test('"I loved it:positive\\nGreat movie:" segment by segment equals the whole string for all three', () => {
    const segments = ['I loved it', ':', 'positive', '\n', 'Great movie', ':'];
    for (const [name, t] of all()) {
      const parts = segments.flatMap((s, i) => t.encode(s, { prefixSpace: i === 0 }));
      assert.deepEqual(parts, t.encode(segments.join('')), name);
    }
  });

  /*
   * Where segment-wise differs from whole-string tokenization: wherever the whole string would merge
   * characters across a segment boundary. Our "\n" separators never do that: in Llama vocabularies
   * "\n" exists only as the byte token <0x0A>, which BPE never merges, and GPT-2's pre-tokenizer
   * regex always splits "\n" from the letters and punctuation around it. But a punctuation separator
   * after text that ends in punctuation is merged by both: "Wow!" + ":" is Wow + "!:" (48725) in
   * GPT-2 and "what?" + ":" is what + "?:" (25825) in Llama, while segment-wise gives "!" ":" / "?"
   * ":". The same holds for letters glued to letters ("the" + "n"). Custom separators such as ":"
   * therefore only reproduce the whole-string tokens when the text before them ends in a letter or digit.
   */
  test('a ":" separator after punctuation is where segment-wise differs (documented, and still what the verbalizer avoids)', () => {
    const segmentWise = (t: Tokenizer, a: string, b: string) => [...t.encode(a), ...t.encode(b, { prefixSpace: false })];
    assert.deepEqual(gpt2.encode('Wow!:'), [22017, 48725]);
    assert.deepEqual(segmentWise(gpt2, 'Wow!', ':'), [22017, 0, 25]);
    assert.deepEqual(llama.encode('what?:'), [825, 25825]);
    assert.deepEqual(segmentWise(llama, 'what?', ':'), [825, 29973, 29901]);
    // With "\n" in between (the verbalizer's separator) the two agree again.
    for (const t of [gpt2, llama, embeddedHub]) {
      assert.deepEqual(segmentWise(t, 'Wow!', '\n:'), t.encode('Wow!\n:'));
      assert.deepEqual(segmentWise(t, 'what?', '\n:'), t.encode('what?\n:'));
    }
  });
});

describe('loading errors and special-token sources', () => {
  const llamaJson = () => ({ copy: join(LLAMA, 'tokenizer.json') });
  const isUserError = (file: string, pattern: RegExp) => (e: unknown) => e instanceof UserError && e.location.file === file && pattern.test(e.message);

  test('a folder without tokenizer.json', async () => {
    const path = folder('empty', {});
    await assert.rejects(loadHubTokenizer(path), isUserError(join(path, 'tokenizer.json'), /no tokenizer\.json in /));
    await assert.rejects(loadHubTokenizer(join(dir, 'missing')), isUserError(join(dir, 'missing', 'tokenizer.json'), /no tokenizer\.json/));
  });

  test('an unparseable or unsupported tokenizer.json', async () => {
    const bad = folder('bad-json', { 'tokenizer.json': '{"model": ' });
    await assert.rejects(loadHubTokenizer(bad), isUserError(join(bad, 'tokenizer.json'), /not valid JSON/));
    const noModel = folder('no-model', { 'tokenizer.json': '{"version": "1.0"}' });
    await assert.rejects(loadHubTokenizer(noModel), isUserError(join(noModel, 'tokenizer.json'), /no "model"/));
    const unknown = folder('unknown-model', {
      'tokenizer.json': JSON.stringify({
        model: { type: 'Mystery', vocab: { a: 0 } },
        normalizer: null,
        pre_tokenizer: null,
        post_processor: null,
        decoder: null,
        added_tokens: [],
      }),
    });
    await assert.rejects(loadHubTokenizer(unknown), isUserError(join(unknown, 'tokenizer.json'), /unsupported tokenizer model type "Mystery"/));
    const json = JSON.parse(readFileSync(join(GPT2, 'tokenizer.json'), 'utf8')) as HubTokenizerJson;
    const decoder = folder('unknown-decoder', { 'tokenizer.json': JSON.stringify({ ...json, decoder: { type: 'Mystery' } }) });
    await assert.rejects(loadHubTokenizer(decoder), isUserError(join(decoder, 'tokenizer.json'), /unsupported or corrupt tokenizer\.json: .*Mystery/));
  });

  test('an unparseable tokenizer_config.json, or one naming a BOS that is not in the vocabulary', async () => {
    const bad = folder('bad-config', { 'tokenizer.json': llamaJson(), 'tokenizer_config.json': 'nope' });
    await assert.rejects(loadHubTokenizer(bad), isUserError(join(bad, 'tokenizer_config.json'), /not valid JSON/));
    const missing = folder('missing-bos', { 'tokenizer.json': llamaJson(), 'tokenizer_config.json': '{"bos_token": "<bos>"}' });
    await assert.rejects(
      loadHubTokenizer(missing),
      (e: unknown) => e instanceof UserError && e.location.field === 'bos_token' && /"<bos>" is not in/.test(e.message),
    );
  });

  test('bos requested from a tokenizer that has none', async () => {
    const t = await loadHubTokenizer(folder('gpt2-alone', { 'tokenizer.json': { copy: join(GPT2, 'tokenizer.json') } }));
    assert.equal(t.bosId, undefined);
    assert.deepEqual(t.encode('Hello world'), [15496, 995]);
    assert.throws(
      () => t.encode('Hello world', { bos: true }),
      (e: unknown) => e instanceof UserError && /has no BOS token/.test(e.message),
    );
  });

  test('fallbacks: special_tokens_map.json, then config.json, then genai_config.json; an explicit null means none', async () => {
    const stm = await loadHubTokenizer(
      folder('stm', { 'tokenizer.json': llamaJson(), 'special_tokens_map.json': { copy: join(LLAMA, 'special_tokens_map.json') } }),
    );
    assert.deepEqual([stm.bosId, stm.eosId], [1, 2]);
    const cfg = await loadHubTokenizer(
      folder('cfg', {
        'tokenizer.json': llamaJson(),
        'config.json': '{"bos_token_id": 5, "eos_token_id": [7, 8]}',
        'genai_config.json': { copy: join(LLAMA, 'genai_config.json') },
      }),
    );
    assert.deepEqual([cfg.bosId, cfg.eosId], [5, 7]);
    const genai = await loadHubTokenizer(folder('genai', { 'tokenizer.json': llamaJson(), 'genai_config.json': { copy: join(LLAMA, 'genai_config.json') } }));
    assert.deepEqual([genai.bosId, genai.eosId], [0, 1]);
    assert.notEqual(cfg.sha256, genai.sha256, 'special ids from other files are part of the identity');
    const none = await loadHubTokenizer(
      folder('null-bos', { 'tokenizer.json': llamaJson(), 'tokenizer_config.json': '{"bos_token": null}', 'config.json': '{"bos_token_id": 5}' }),
    );
    assert.equal(none.bosId, undefined);
    const range = folder('cfg-range', { 'tokenizer.json': llamaJson(), 'config.json': '{"bos_token_id": 32000}' });
    await assert.rejects(loadHubTokenizer(range), isUserError(join(range, 'config.json'), /outside the vocabulary/));
  });
});

describe('ByteTokenizer', () => {
  test('ids are the UTF-8 bytes; no prefix, no BOS unless given', () => {
    const t = new ByteTokenizer();
    assert.deepEqual(t.encode('héllo'), [104, 195, 169, 108, 108, 111]);
    assert.deepEqual(t.encode(' a', { prefixSpace: false }), [32, 97]);
    assert.deepEqual(t.encode(' a'), [32, 97]);
    assert.equal(t.vocabSize, 256);
    assert.throws(() => t.encode('a', { bos: true }), UserError);
    const withBos = new ByteTokenizer({ bosId: 0 });
    assert.deepEqual(withBos.encode('a', { bos: true }), [0, 97]);
    assert.equal(withBos.decode([0, 97]), 'a');
    assert.equal(new ByteTokenizer({ bosId: 256 }).vocabSize, 257);
    assert.throws(() => new ByteTokenizer({ bosId: -1 }), UserError);
  });

  test('decode and streamDecoder round-trip, holding back split characters', () => {
    const t = new ByteTokenizer();
    for (const s of SENTENCES) {
      assert.equal(t.decode(t.encode(s)), s);
      assert.equal(streamed(t, t.encode(s)).join(''), s);
    }
    assert.deepEqual(streamed(t, t.encode('😀')), ['', '', '', '😀', '']);
    assert.equal(t.decode([0xf0, 0x9f]), '\uFFFD');
  });

  test('tokenText and the identity of the scheme', () => {
    const t = new ByteTokenizer();
    assert.equal(t.tokenText(65), 'A');
    assert.equal(t.tokenText(10), '\n');
    assert.equal(t.tokenText(0xe2), '<0xE2>');
    assert.throws(() => t.tokenText(256), RangeError);
    assert.equal(t.sha256, new ByteTokenizer().sha256);
    assert.equal(t.sha256, createHash('sha256').update('iterative-vectors byte tokenizer v1: token id = UTF-8 byte; bos=none; eos=none').digest('hex'));
    assert.notEqual(new ByteTokenizer({ bosId: 0 }).sha256, t.sha256);
  });
});
