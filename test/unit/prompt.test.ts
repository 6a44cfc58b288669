import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Example } from '../../src/core/datasets';
import { cutStats, Verbalizer, type Tokenization } from '../../src/core/icl/prompt';
import { extractIterativeVectors } from '../../src/core/iv/extract';
import type { Tokenizer } from '../../src/core/model';
import type { LoadedModel } from '../../src/runtime/loadModel';
import { loadHubTokenizer } from '../../src/runtime/tokenizer/hubTokenizer';
import { embeddedModel, FIXTURES, recording } from './fixtures';

let embedded: LoadedModel;
let gpt2: Tokenizer;
before(async () => {
  embedded = await embeddedModel();
  gpt2 = await loadHubTokenizer(join(FIXTURES, 'tiny-random-gpt2-ort-fused'));
});

const ex = (text: string, label: number, line: number): Example => ({ text, label, line });
const DEMOS = [ex('I loved it', 0, 1), ex('Awful.  ', 1, 2)];
const QUERY = ex('Great movie', 0, 3);
const verbalizer = (t: Tokenizer, tokenization: Tokenization, bos = false) =>
  new Verbalizer(t, ['positive', 'negative'], { bos, maxSampleTokens: 256, maxSeqLen: 256, tokenization });

describe('prompt tokens, segment by segment as the official code', () => {
  test('SentencePiece (the embedded tokenizer): every piece with its dummy prefix, separators [▁, \\n], whole-word labels', () => {
    const v = verbalizer(embedded.tokenizer, 'segments');
    assert.deepEqual(v.separator, [29871, 13]);
    assert.deepEqual(v.exampleSeparator, [29871, 13, 13, 13]);
    assert.deepEqual(v.labelFirstTokens, [6374, 8178], '▁positive, ▁negative');
    const p = v.build(DEMOS, QUERY);
    // ▁I ▁loved ▁it ▁ \n ▁positive ▁ \n \n \n ▁Aw ful . ▁ \n ▁negative ▁ \n \n \n ▁Great ▁movie ▁ \n
    assert.deepEqual(
      p.tokens,
      [306, 18012, 372, 29871, 13, 6374, 29871, 13, 13, 13, 22886, 1319, 29889, 29871, 13, 8178, 29871, 13, 13, 13, 7027, 14064, 29871, 13],
    );
    assert.deepEqual(p.ioPositions, [4, 14, 23]);
    assert.deepEqual(v.build(DEMOS, QUERY).tokens, verbalizer(embedded.tokenizer, 'segments', true).build(DEMOS, QUERY).tokens.slice(1), 'BOS only prepends');
  });

  test('SentencePiece, joined (the named option): the whole string, labels scored by their fragments', () => {
    const v = verbalizer(embedded.tokenizer, 'joined');
    assert.deepEqual(v.labelFirstTokens, [1066, 22198], '"pos" of pos|itive, "negative"');
    const p = v.build(DEMOS, QUERY);
    // ▁I ▁loved ▁it \n pos itive \n \n \n A w ful . \n negative \n \n \n Gre at ▁movie \n
    assert.deepEqual(p.tokens, [306, 18012, 372, 13, 1066, 3321, 13, 13, 13, 29909, 29893, 1319, 29889, 13, 22198, 13, 13, 13, 25120, 271, 14064, 13]);
    assert.deepEqual(p.ioPositions, [3, 13, 21]);
    assert.deepEqual(p.tokens, embedded.tokenizer.encode('I loved it\npositive\n\n\nAwful.\nnegative\n\n\nGreat movie\n'));
  });

  test('byte-level BPE (the GPT-2 fixture): "\\n" is one token, labels without a leading space; both modes agree here', () => {
    for (const mode of ['segments', 'joined'] as const) {
      const v = verbalizer(gpt2, mode);
      assert.deepEqual(v.separator, [198]);
      assert.deepEqual(v.exampleSeparator, [628, 198], '"\\n\\n" "\\n"');
      assert.deepEqual(v.labelFirstTokens, [24561, 31591]);
      const p = v.build(DEMOS, QUERY);
      // I ▁loved ▁it \n positive \n\n \n Aw ful . \n negative \n\n \n Great ▁movie \n
      assert.deepEqual(p.tokens, [40, 6151, 340, 198, 24561, 628, 198, 23155, 913, 13, 198, 31591, 628, 198, 13681, 3807, 198], mode);
      assert.deepEqual(p.ioPositions, [3, 10, 16]);
    }
  });

  test('the zero-shot prompt holds exactly the query tokens of the few-shot prompt, cut included', () => {
    for (const mode of ['segments', 'joined'] as const) {
      const long = ex(Array.from({ length: 90 }, (_, i) => `word${i}`).join(' '), 0, 9);
      const v = verbalizer(embedded.tokenizer, mode, true);
      const p = v.build([long, { ...long, label: 1 }], long);
      assert.ok(p.cut[2] > 0, 'the query is cut to fit');
      const z = v.zeroShot(p);
      const tail = p.tokens.slice(p.tokens.length - p.queryInput.length - v.separator.length);
      assert.deepEqual(z.tokens, [1, ...tail], mode);
      assert.deepEqual(z.ioPositions, [z.tokens.length - 1]);
      const s = cutStats([p]);
      assert.equal(s.cutSamples, 3);
      assert.equal(s.queries.cutSamples, 1);
      assert.equal(s.queries.meanTokensKept, p.queryInput.length);
      assert.equal(s.meanTokensKept, (p.kept[0] + p.kept[1] + p.kept[2]) / 3);
    }
  });
});

describe("Algorithm 1 reads B from the few-shot pass's own query tokens", () => {
  test('every zero-shot pass runs the query tokens of A + separator, even when A cut the query', async () => {
    // Long inputs: with k = 2 the five samples do not fit 256 tokens, so every input (the query too) is cut.
    const words = (seed: number) => Array.from({ length: 70 }, (_, i) => `w${(i * 7 + seed) % 50}`).join(' ');
    const train = Array.from({ length: 12 }, (_, i) => ex(words(i), i % 2, i + 1));
    const v = new Verbalizer(embedded.tokenizer, ['positive', 'negative'], { bos: false, maxSampleTokens: 256, maxSeqLen: 256, tokenization: 'segments' });
    const { model, requests } = recording(embedded.model);
    const x = await extractIterativeVectors(model, v, train, { episodes: 4, shots: 2, refreshEvery: 0, strength: 0.3, seed: 5, zeroShotPosition: 'separator' });
    const zeroShotTokens = requests[0].tokens;
    const fewShotTokens = requests.slice(1).flatMap((r) => r.tokens);
    assert.equal(zeroShotTokens.length, 4);
    assert.equal(fewShotTokens.length, 4);
    assert.ok(x.cut.queries.cutSamples === 4, `queries cut: ${x.cut.queries.cutSamples}`);
    const sent = new Set(zeroShotTokens.map((t) => JSON.stringify(t)));
    for (const a of fewShotTokens) {
      const io = a.length - 1;
      const ioPositions = x.prompts.find((p) => JSON.stringify(p.fewShot.tokens) === JSON.stringify(a))!.fewShot.ioPositions;
      const queryStart = ioPositions[ioPositions.length - 2] + 1 + 1 + v.exampleSeparator.length; // after the last demo's separator, label, example separator
      const b = a.slice(queryStart, io + 1);
      assert.ok(sent.has(JSON.stringify(b)), 'a zero-shot pass ran exactly the query tokens of A');
    }
    assert.ok(x.cut.queries.meanTokensKept < 70);
  });
});
