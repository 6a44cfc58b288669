import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Example } from '../../src/core/datasets';
import { sampleEpisodes } from '../../src/core/icl/episodes';
import { Verbalizer, inputCap } from '../../src/core/icl/prompt';
import { extractIterativeVectors, ivEdits, refreshPoints, scaledRows } from '../../src/core/iv/extract';
import type { TextTokenizer } from '../../src/runtime/tokenizer/loadTokenizer';
import { embeddedModel } from './fixtures';
import { base, RecordingModel } from './recordingModel';

let tokenizer: TextTokenizer;
before(async () => {
  ({ tokenizer } = await embeddedModel());
});

const rows = (texts: [string, number][]): Example[] => texts.map(([text, label], i) => ({ text, label, line: i + 1 }));
const TRAIN = rows([
  ['The cat is happy', 0],
  ['A sad dog', 1],
  ['Sun and fun', 0],
  ['Rain again', 1],
  ['We won the game', 0],
  ['It broke', 1],
  ['Cake for all', 0],
  ['Lost my hat', 1],
]);

describe('episodes', () => {
  const split = rows(Array.from({ length: 60 }, (_, i) => [`row ${i}`, i % 3] as [string, number]));
  test('n-way k-shot: k per class, query not in the support, deterministic for a seed', () => {
    const a = sampleEpisodes(split, 3, 2, 300, 9);
    for (const e of a) {
      assert.deepEqual(
        [0, 1, 2].map((c) => e.support.filter((i) => split[i].label === c).length),
        [2, 2, 2],
      );
      assert.ok(!e.support.includes(e.query));
      assert.equal(new Set(e.support).size, 6);
    }
    assert.deepEqual(sampleEpisodes(split, 3, 2, 300, 9), a);
    assert.notDeepEqual(sampleEpisodes(split, 3, 2, 300, 10), a);
  });

  test('the same seed scores the same queries for every number of shots and either order', () => {
    const q = (shots: number, order: 'shuffled' | 'class-order' = 'shuffled') => sampleEpisodes(split, 3, shots, 50, 4, order).map((e) => e.query);
    assert.deepEqual(q(0), q(1));
    assert.deepEqual(q(1), q(4));
    assert.deepEqual(q(2, 'class-order'), q(2));
    const ordered = sampleEpisodes(split, 3, 2, 20, 4, 'class-order');
    for (const e of ordered)
      assert.deepEqual(
        e.support.map((i) => split[i].label),
        [0, 0, 1, 1, 2, 2],
      );
    const shuffled = sampleEpisodes(split, 3, 2, 20, 4);
    assert.deepEqual(
      shuffled.map((e) => [...e.support].sort()),
      ordered.map((e) => [...e.support].sort()),
    );
  });

  test('queries follow the split: every row is drawn about equally often', () => {
    const counts = new Array(60).fill(0);
    for (const e of sampleEpisodes(split, 3, 1, 6000, 1)) counts[e.query]++;
    assert.ok(Math.min(...counts) > 60 && Math.max(...counts) < 150, `${Math.min(...counts)}..${Math.max(...counts)}`);
  });

  test('too few rows for the shots is a clear error', () => {
    assert.throws(
      () =>
        sampleEpisodes(
          rows([
            ['a', 0],
            ['b', 1],
            ['c', 1],
          ]),
          2,
          1,
          1,
          1,
        ),
      /class 0 has 1 rows; 1 shots need at least 2/,
    );
  });
});

describe('verbalizer', () => {
  test('joined: text + "\\n" + label, samples joined by "\\n\\n\\n": io positions are the separators and tokens equal the whole string', () => {
    const v = new Verbalizer(tokenizer, ['positive', 'negative'], { bos: false, maxSampleTokens: 256, maxSeqLen: 256, tokenization: 'joined' });
    const demos = [TRAIN[0], TRAIN[1]];
    const p = v.build(demos, TRAIN[2]);
    const text = 'The cat is happy\npositive\n\n\nA sad dog\nnegative\n\n\nSun and fun\n';
    assert.deepEqual(p.tokens, tokenizer.encode(text));
    assert.equal(p.ioPositions.length, 3);
    for (const pos of p.ioPositions) assert.equal(p.tokens[pos], 13, 'the io position holds the "\\n" token');
    assert.deepEqual(p.demoLabels, [0, 1]);
    assert.equal(p.tokens[p.ioPositions[0] + 1], v.labelFirstTokens[0]);
    assert.equal(p.tokens[p.ioPositions[1] + 1], v.labelFirstTokens[1]);
    assert.equal(p.ioPositions[2], p.tokens.length - 1, 'the query ends at its separator');
    const withBos = new Verbalizer(tokenizer, ['positive', 'negative'], { bos: true, maxSampleTokens: 256, maxSeqLen: 256, tokenization: 'joined' }).build(
      demos,
      TRAIN[2],
    );
    assert.deepEqual(withBos.tokens, tokenizer.encode(text, { bos: true }));
  });

  test('an episode longer than the context gets every input cut at its end to the same length, separators and labels kept', () => {
    const long = { text: Array.from({ length: 80 }, (_, i) => `word${i}`).join(' '), label: 0, line: 1 };
    const v = new Verbalizer(tokenizer, ['yes', 'no'], { bos: true, maxSampleTokens: 256, maxSeqLen: 256, tokenization: 'joined' });
    const p = v.build([long, { ...long, label: 1 }, long], long);
    assert.ok(p.tokens.length <= 256);
    assert.equal(p.cut.length, 4);
    assert.ok(p.cut.every((c) => c > 0));
    assert.equal(new Set(p.cut).size, 1, 'equal cuts for equal inputs');
    assert.equal(p.tokens[p.ioPositions[3]], 13);
    assert.equal(inputCap([10, 50, 100], 100, 256), 45);
    assert.equal(inputCap([10, 20], 100, 15), 15);
  });

  test('label words that share a first token are refused', () => {
    assert.throws(
      () => new Verbalizer(tokenizer, ['Person', 'Personal'], { bos: false, maxSampleTokens: 256, maxSeqLen: 256, tokenization: 'joined' }),
      /start with the same token/,
    );
  });
});

describe('Algorithm 1 on a model with known activations', () => {
  test('refresh schedule of the official code', () => {
    assert.deepEqual(refreshPoints(200, 10), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 199]);
    assert.deepEqual(refreshPoints(5, 0), [4]);
    assert.deepEqual(refreshPoints(3, 1), [0, 1, 2]);
  });

  test('per-class means of A - B, the query row, edits a1 * IV at each io position, refreshes', async () => {
    const model = new RecordingModel();
    const v = new Verbalizer(tokenizer, ['yes', 'no'], { bos: false, maxSampleTokens: 256, maxSeqLen: 256, tokenization: 'joined' });
    const a1 = 0.5;
    const opts = { episodes: 3, shots: 1, refreshEvery: 1, strength: a1, seed: 3, zeroShotPosition: 'separator' as const };
    const x = await extractIterativeVectors(model, v, TRAIN, opts);
    const episodes = sampleEpisodes(TRAIN, 2, 1, 3, 3);
    const [zero, ...windows] = model.requests;
    assert.equal(zero.tokens.length, 3, 'the zero-shot passes run first, in one batch');
    assert.equal(windows.length, 3, 'b = 1: one window per episode');

    // Replay by hand: IV after each refresh is the mean of the episode matrices so far.
    const L = 2,
      d = 3;
    const store: number[][][][] = []; // episode -> layer -> row -> d
    let iv: number[][][] | undefined;
    episodes.forEach((e, idx) => {
      const req = windows[idx];
      const prompt = v.build(
        e.support.map((i) => TRAIN[i]),
        TRAIN[e.query],
      );
      assert.deepEqual(req.tokens[0], prompt.tokens);
      assert.deepEqual(
        req.taps,
        prompt.ioPositions.map((pos) => ({ seq: 0, pos })),
      );
      const zeroPrompt = v.zeroShot(prompt);
      const B = (l: number) => Array.from({ length: d }, (_, j) => base(zeroPrompt.tokens[zeroPrompt.ioPositions[0]], l, j));
      // Edits: none in episode 0; then a1 * IV[l][row] at every io position and layer.
      const edits = req.edits ?? [];
      if (!iv) assert.equal(edits.length, 0);
      else {
        assert.equal(edits.length, prompt.ioPositions.length * L);
        prompt.ioPositions.forEach((pos, i) => {
          const row = i < prompt.demoLabels.length ? prompt.demoLabels[i] : 2;
          for (let l = 0; l < L; l++) {
            const edit = edits.find((ed) => ed.pos === pos && ed.layer === l)!;
            assert.deepEqual(
              [...edit.vector],
              iv![l][row].map((x) => Math.fround(Math.fround(x) * a1)),
            );
          }
        });
      }
      const A = (l: number, i: number) => {
        const pos = prompt.ioPositions[i];
        return Array.from({ length: d }, (_, j) => base(prompt.tokens[pos], l, j) + (edits.find((ed) => ed.pos === pos && ed.layer === l)?.vector[j] ?? 0));
      };
      store.push(
        Array.from({ length: L }, (_, l) => {
          const D = prompt.ioPositions.map((_, i) => A(l, i).map((a, j) => a - B(l)[j]));
          const classRow = (c: number) => {
            const members = prompt.demoLabels.map((y, i) => (y === c ? D[i] : undefined)).filter((r): r is number[] => !!r);
            return Array.from({ length: d }, (_, j) => members.reduce((acc, r) => acc + r[j], 0) / members.length);
          };
          return [classRow(0), classRow(1), D[prompt.ioPositions.length - 1]];
        }),
      );
      iv = Array.from({ length: L }, (_, l) =>
        [0, 1, 2].map((r) => Array.from({ length: d }, (_, j) => store.reduce((acc, m) => acc + m[l][r][j], 0) / store.length)),
      );
    });
    for (let l = 0; l < L; l++) {
      const expected = iv!.map((layer) => layer.flat())[l];
      assert.ok(
        x.vectors[l].every((value, i) => Math.abs(value - expected[i]) < 1e-5),
        `layer ${l}: ${[...x.vectors[l]]} vs ${expected}`,
      );
    }
    assert.deepEqual(
      x.refreshes.map((r) => r.episode),
      [0, 1, 2],
    );
    assert.equal(x.refreshes[0].relativeChange, null);
    assert.equal(x.stats.forwardPasses, 6, '2 passes per episode');
  });

  test('the zero-shot read position before the separator (the official code) moves B one token back', async () => {
    const model = new RecordingModel();
    const v = new Verbalizer(tokenizer, ['yes', 'no'], { bos: false, maxSampleTokens: 256, maxSeqLen: 256, tokenization: 'joined' });
    await extractIterativeVectors(model, v, TRAIN, { episodes: 2, shots: 1, refreshEvery: 0, strength: 0.3, seed: 1, zeroShotPosition: 'before-separator' });
    const zero = model.requests[0];
    zero.taps!.forEach((t) => assert.equal(t.pos, zero.tokens[t.seq].length - 2));
  });

  test('evaluation edits: strength, envelope and where to inject', () => {
    const vectors = [Float32Array.of(1, 1, 1, 2, 2, 2, 3, 3, 3), Float32Array.of(4, 4, 4, 5, 5, 5, 6, 6, 6)];
    const rowsFn = scaledRows(vectors, 0.5, 3, [1, 2]);
    const prompt = { tokens: [5, 6, 7, 8, 9], ioPositions: [1, 4], demoLabels: [1], cut: [0, 0], kept: [1, 2], queryInput: [8] };
    const all = ivEdits(prompt, 3, rowsFn, 2, 2, 'all');
    assert.deepEqual(
      all.map((e) => [e.site, e.seq, e.pos, e.layer, e.vector[0]]),
      [
        ['attn_out', 3, 1, 0, 1],
        ['attn_out', 3, 1, 1, 5],
        ['attn_out', 3, 4, 0, 1.5],
        ['attn_out', 3, 4, 1, 6],
      ],
    );
    assert.deepEqual(
      ivEdits(prompt, 0, rowsFn, 2, 2, 'query').map((e) => e.pos),
      [4, 4],
    );
    assert.deepEqual(
      ivEdits(prompt, 0, rowsFn, 2, 2, 'demos').map((e) => e.pos),
      [1, 1],
    );
  });
});
