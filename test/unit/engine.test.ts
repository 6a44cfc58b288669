import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { UserError } from '../../src/core/errors';
import { generate } from '../../src/core/generate';
import type { Edit, Site, SteerableModel } from '../../src/core/model';
import { argmax } from '../../src/core/sampling';
import { buildForwardGraph, FWD } from '../../src/runtime/embedded/forwardGraph';
import { toGraphWeights } from '../../src/runtime/embedded/llamaWeights';
import { indexTensor, packTokens } from '../../src/runtime/forwardFeeds';
import type { TextTokenizer } from '../../src/runtime/tokenizer/loadTokenizer';
import { bitwiseEqual, embeddedModel, embeddedWeights, maxAbsDiff, randomVector } from './fixtures';
import { Llama2cReference } from './llama2cForward';

// Karpathy's published greedy sample of stories15M for this prompt.
const GOLDEN_PROMPT = 'Once upon a time';
const GOLDEN_CONTINUATION =
  ', there was a little girl named Lily. She loved to play outside in the sunshine. One day, she saw a big, red ball in the sky. It was the sun! She thought it was so pretty.';

let model: SteerableModel;
let tokenizer: TextTokenizer;
const D = 288;

before(async () => {
  ({ model, tokenizer } = await embeddedModel());
});
after(() => model.dispose());

describe('embedded stories15M', () => {
  test('reports its shape', () => {
    assert.deepEqual(
      { layers: model.info.nLayers, d: model.info.dModel, heads: model.info.nHeads, vocab: model.info.vocabSize, ctx: model.info.maxSeqLen },
      { layers: 6, d: 288, heads: 6, vocab: 32000, ctx: 256 },
    );
    assert.equal(model.executionProvider, 'cpu');
  });

  test('greedy decoding reproduces the published sample token for token', async () => {
    const prompt = tokenizer.encode(GOLDEN_PROMPT, { bos: true });
    const expected = tokenizer.encode(GOLDEN_PROMPT + GOLDEN_CONTINUATION, { bos: true }).slice(prompt.length);
    const g = await generate(model, prompt, { maxNewTokens: expected.length });
    assert.deepEqual(g.tokens, expected);
    assert.equal(tokenizer.decode([...prompt, ...g.tokens]), GOLDEN_PROMPT + GOLDEN_CONTINUATION);
  });

  test('forward matches an independent TypeScript port of llama2.c (logits, attention outputs, residual stream)', async () => {
    const weights = await embeddedWeights();
    const tokens = tokenizer.encode('The little dog ran to the park and saw a ball.', { bos: true });
    const positions = tokens.map((_, pos) => ({ seq: 0, pos }));
    const run = await model.forward({ tokens: [tokens], logits: positions, taps: positions, tapSites: ['attn_out', 'resid_post'] });
    const ref = new Llama2cReference(weights);
    tokens.forEach((id, pos) => {
      const step = ref.step(id);
      assert.ok(maxAbsDiff(run.logits[pos], step.logits) < 2e-3, `logits at ${pos}`);
      assert.equal(argmax(run.logits[pos]), argmax(step.logits), `argmax at ${pos}`);
      for (let l = 0; l < 6; l++) {
        assert.ok(maxAbsDiff(run.taps.attn_out!.at(l, pos), step.attnOut[l]) < 1e-3, `attn_out layer ${l} pos ${pos}`);
        assert.ok(maxAbsDiff(run.taps.resid_post!.at(l, pos), step.residPost[l]) < 2e-3, `resid_post layer ${l} pos ${pos}`);
      }
    });
  });
});

describe('interventions', () => {
  const tokens = [1, 9038, 2501, 263, 931, 29892, 727, 471, 263, 2217, 7826];
  const all = tokens.map((_, pos) => ({ seq: 0, pos }));

  test('zero edits reproduce the plain (uninstrumented) graph bit for bit', async () => {
    const weights = await embeddedWeights();
    const plain = await ort.InferenceSession.create(buildForwardGraph(weights, toGraphWeights(weights), false), {
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    const { ids, length } = packTokens([tokens]);
    const expected = (await plain.run({ [FWD.ids]: ids, [FWD.logitIndex]: indexTensor(all, length) }, [FWD.logits]))[FWD.logits].data as Float32Array;
    await plain.release();
    const zeros: Edit[] = (['attn_out', 'head_out'] as const).flatMap((site) =>
      [0, 3, 5].map((layer) => ({ site, seq: 0, pos: 4, layer, vector: new Float32Array(D) })),
    );
    for (const req of [
      { tokens: [tokens], logits: all },
      { tokens: [tokens], logits: all, edits: zeros, taps: all, tapSites: ['attn_out', 'head_out', 'resid_post'] as const },
    ]) {
      const run = await model.forward({ ...req, tapSites: req.tapSites && [...req.tapSites] });
      run.logits.forEach((row, pos) => assert.ok(bitwiseEqual(row, expected.subarray(pos * 32000, (pos + 1) * 32000)), `position ${pos}`));
    }
  });

  test('an edit at layer l, position p leaves earlier logits untouched and changes p and later', async () => {
    const base = await model.forward({ tokens: [tokens], logits: all });
    for (const [layer, p] of [
      [0, 3],
      [2, 6],
      [4, 9],
      [5, 7],
    ]) {
      const edited = await model.forward({
        tokens: [tokens],
        logits: all,
        edits: [{ site: 'attn_out', seq: 0, pos: p, layer, vector: randomVector(layer + p, D, 2) }],
      });
      for (let pos = 0; pos < tokens.length; pos++) {
        // Later positions see the edit through the next layers' keys and values, so an edit in the
        // last layer reaches its own position only.
        const reached = pos === p || (pos > p && layer < 5);
        const same = bitwiseEqual(base.logits[pos], edited.logits[pos]);
        assert.equal(same, !reached, `layer ${layer}, edit at ${p}, logits at ${pos} ${same ? 'unchanged' : 'changed'}`);
      }
    }
  });

  test('edits are added at the attention output: the tap sees value + edit, later layers see the change', async () => {
    const vector = randomVector(9, D, 1);
    const taps = [{ seq: 0, pos: 5 }];
    const base = await model.forward({ tokens: [tokens], taps, tapSites: ['attn_out'] });
    const edited = await model.forward({
      tokens: [tokens],
      taps,
      tapSites: ['attn_out'],
      edits: [
        { site: 'attn_out', seq: 0, pos: 5, layer: 2, vector },
        { site: 'attn_out', seq: 0, pos: 5, layer: 2, vector },
      ],
    });
    for (let l = 0; l < 2; l++) assert.ok(bitwiseEqual(base.taps.attn_out!.at(l, 0), edited.taps.attn_out!.at(l, 0)));
    const expected = base.taps.attn_out!.at(2, 0).map((v, i) => v + 2 * vector[i]);
    assert.ok(maxAbsDiff(edited.taps.attn_out!.at(2, 0), expected) < 1e-6, 'two edits at one site add up');
    assert.ok(maxAbsDiff(base.taps.attn_out!.at(3, 0), edited.taps.attn_out!.at(3, 0)) > 1e-4);
  });

  test('the edited graph agrees with the reference run with the same edit', async () => {
    const weights = await embeddedWeights();
    const vector = randomVector(4, D, 0.5);
    const run = await model.forward({ tokens: [tokens], logits: all, edits: [{ site: 'attn_out', seq: 0, pos: 4, layer: 1, vector }] });
    const ref = new Llama2cReference(weights);
    tokens.forEach((id, pos) => {
      const step = ref.step(id, (l) => (l === 1 && pos === 4 ? vector : undefined));
      assert.ok(maxAbsDiff(run.logits[pos], step.logits) < 2e-3, `position ${pos}`);
    });
  });

  test('taps at a few positions equal the same rows of a dense tap of every position', async () => {
    const sites = ['attn_out', 'head_out', 'resid_post'] as const;
    const dense = await model.forward({
      tokens: [tokens, tokens.slice(0, 7)],
      taps: [...all, ...all.slice(0, 7).map((p) => ({ ...p, seq: 1 }))],
      tapSites: [...sites],
    });
    const picks = [
      { seq: 0, pos: 9 },
      { seq: 1, pos: 2 },
      { seq: 0, pos: 0 },
    ];
    const sparse = await model.forward({ tokens: [tokens, tokens.slice(0, 7)], taps: picks, tapSites: [...sites] });
    const denseIndex = (p: { seq: number; pos: number }) => (p.seq === 0 ? p.pos : tokens.length + p.pos);
    for (const site of sites) {
      picks.forEach((p, k) => {
        for (let l = 0; l < 6; l++) assert.ok(bitwiseEqual(sparse.taps[site]!.at(l, k), dense.taps[site]!.at(l, denseIndex(p))), `${site} layer ${l}`);
      });
    }
  });

  test('head_out is the input of the output projection: attn_out = head_out @ Wo^T', async () => {
    const weights = await embeddedWeights();
    const run = await model.forward({ tokens: [tokens], taps: [{ seq: 0, pos: 6 }], tapSites: ['attn_out', 'head_out'] });
    for (let l = 0; l < 6; l++) {
      const z = run.taps.head_out!.at(l, 0);
      const o = Float32Array.from({ length: D }, (_, i) => z.reduce((acc, v, j) => acc + v * weights.wo[l][i * D + j], 0));
      assert.ok(maxAbsDiff(o, run.taps.attn_out!.at(l, 0)) < 1e-4, `layer ${l}`);
    }
  });

  test('a head edit adds to one head only and reaches attn_out through Wo', async () => {
    const weights = await embeddedWeights();
    const head = 3;
    const vector = new Float32Array(D);
    vector.set(randomVector(11, 48, 1), head * 48);
    const taps = [{ seq: 0, pos: 8 }];
    const base = await model.forward({ tokens: [tokens], taps, tapSites: ['attn_out', 'head_out'] });
    const edited = await model.forward({
      tokens: [tokens],
      taps,
      tapSites: ['attn_out', 'head_out'],
      edits: [{ site: 'head_out', seq: 0, pos: 8, layer: 4, vector }],
    });
    const dz = edited.taps.head_out!.at(4, 0).map((v, i) => v - base.taps.head_out!.at(4, 0)[i]);
    assert.ok(maxAbsDiff(dz, vector) < 1e-6);
    const doExpected = Float32Array.from({ length: D }, (_, i) => vector.reduce((acc, v, j) => acc + v * weights.wo[4][i * D + j], 0));
    const doActual = edited.taps.attn_out!.at(4, 0).map((v, i) => v - base.taps.attn_out!.at(4, 0)[i]);
    assert.ok(maxAbsDiff(doActual, doExpected) < 1e-4);
  });

  test('a replacement writes the residual stream: with its own value nothing changes, with another value later layers follow', async () => {
    const taps = [{ seq: 0, pos: 7 }];
    const base = await model.forward({ tokens: [tokens], logits: all, taps, tapSites: ['resid_post'] });
    const own = base.taps.resid_post!.at(3, 0);
    const same = await model.forward({ tokens: [tokens], logits: all, edits: [{ site: 'resid_post', seq: 0, pos: 7, layer: 3, vector: own }] });
    same.logits.forEach((row, pos) => assert.ok(bitwiseEqual(row, base.logits[pos]), `position ${pos}`));
    const vector = randomVector(5, D, 1);
    const replaced = await model.forward({
      tokens: [tokens],
      logits: all,
      taps,
      tapSites: ['resid_post'],
      edits: [{ site: 'resid_post', seq: 0, pos: 7, layer: 3, vector }],
    });
    assert.ok(bitwiseEqual(replaced.taps.resid_post!.at(3, 0), vector));
    assert.ok(bitwiseEqual(replaced.logits[6], base.logits[6]));
    assert.ok(!bitwiseEqual(replaced.logits[7], base.logits[7]));
  });
});

describe('batching and generation', () => {
  test('a right-padded batch gives the same logits and taps as one sequence at a time', async () => {
    const seqs = ['Tom had a red ball.', 'Once upon a time there was a big dog who liked to run.', 'Hi'].map((s) => tokenizer.encode(s, { bos: true }));
    const last = seqs.map((s, seq) => ({ seq, pos: s.length - 1 }));
    const edits = seqs.map((s, seq): Edit => ({ site: 'attn_out', seq, pos: s.length - 1, layer: 2, vector: randomVector(seq, D, 0.5) }));
    const batch = await model.forward({ tokens: seqs, logits: last, taps: last, tapSites: ['attn_out', 'resid_post'], edits });
    for (let b = 0; b < seqs.length; b++) {
      const one = await model.forward({
        tokens: [seqs[b]],
        logits: [{ seq: 0, pos: last[b].pos }],
        taps: [{ seq: 0, pos: last[b].pos }],
        tapSites: ['attn_out', 'resid_post'],
        edits: [{ ...edits[b], seq: 0 }],
      });
      assert.ok(maxAbsDiff(batch.logits[b], one.logits[0]) < 1e-4, `logits of sequence ${b}`);
      for (let l = 0; l < 6; l++) assert.ok(maxAbsDiff(batch.taps.resid_post!.at(l, b), one.taps.resid_post!.at(l, 0)) < 1e-4);
    }
  });

  test('KV-cached generation equals full recompute, with and without steering at every new token', async () => {
    const prompt = tokenizer.encode('The cat sat on the', { bos: true });
    const vector = randomVector(21, D, 0.8);
    for (const everyNewToken of [undefined, [{ site: 'attn_out' as const, layer: 2, vector }]]) {
      const session = await model.startDecoding();
      const seq = [...prompt];
      let logits = await session.prefill(prompt);
      for (let i = 0; i < 24; i++) {
        seq.push(argmax(logits));
        logits = await session.step(seq[seq.length - 1], everyNewToken);
        const edits = everyNewToken ? seq.slice(prompt.length).map((_, j) => ({ ...everyNewToken[0], seq: 0, pos: prompt.length + j })) : [];
        const full = await model.forward({ tokens: [seq], logits: [{ seq: 0, pos: seq.length - 1 }], edits });
        assert.ok(maxAbsDiff(logits, full.logits[0]) < 1e-3, `step ${i}`);
        assert.equal(argmax(logits), argmax(full.logits[0]));
      }
      session.dispose();
    }
  });

  test('seeded sampling is reproducible and differs across seeds', async () => {
    const prompt = tokenizer.encode('One day', { bos: true });
    const a = await generate(model, prompt, { maxNewTokens: 30, temperature: 1, topP: 0.9, seed: 1 });
    const b = await generate(model, prompt, { maxNewTokens: 30, temperature: 1, topP: 0.9, seed: 1 });
    const c = await generate(model, prompt, { maxNewTokens: 30, temperature: 1, topP: 0.9, seed: 2 });
    assert.deepEqual(a.tokens, b.tokens);
    assert.notDeepEqual(a.tokens, c.tokens);
  });
});

describe('bad input', () => {
  const ok = [1, 9038, 2501];
  const cases: [string, Parameters<SteerableModel['forward']>[0], RegExp][] = [
    ['empty batch', { tokens: [] }, /batch is empty/],
    ['empty prompt', { tokens: [[]] }, /sequence 0 is empty/],
    ['token outside the vocabulary', { tokens: [[1, 32000]] }, /token id 32000 is outside the vocabulary/],
    ['too long', { tokens: [new Array(257).fill(5)] }, /at most 256/],
    ['position out of range', { tokens: [ok], logits: [{ seq: 0, pos: 3 }] }, /logits\[0\] position 3 is out of range for sequence 0 of length 3/],
    ['unknown sequence', { tokens: [ok], taps: [{ seq: 1, pos: 0 }], tapSites: ['attn_out'] }, /taps\[0\] names sequence 1/],
    [
      'wrong vector width',
      { tokens: [ok], edits: [{ site: 'attn_out', seq: 0, pos: 1, layer: 0, vector: new Float32Array(100) }] },
      /edits\[0\] at attn_out: vector has width 100; the model's width is 288/,
    ],
    [
      'layer out of range',
      { tokens: [ok], edits: [{ site: 'head_out', seq: 0, pos: 1, layer: 6, vector: new Float32Array(D) }] },
      /edits\[0\] at head_out: layer 6 is out of range 0..5/,
    ],
    [
      'edit position out of range',
      { tokens: [ok], edits: [{ site: 'resid_post', seq: 0, pos: 3, layer: 0, vector: new Float32Array(D) }] },
      /edits\[0\] at resid_post position 3 is out of range/,
    ],
    [
      'unknown site',
      { tokens: [ok], edits: [{ site: 'mlp_out' as Site, seq: 0, pos: 1, layer: 0, vector: new Float32Array(D) }] },
      /edits\[0\] names site "mlp_out"; the sites are attn_out, head_out, resid_post/,
    ],
    [
      'duplicate replacement',
      { tokens: [ok], edits: [0, 1].map(() => ({ site: 'resid_post' as const, seq: 0, pos: 1, layer: 2, vector: new Float32Array(D) })) },
      /two edits replace resid_post at layer 2/,
    ],
  ];
  for (const [name, req, message] of cases) {
    test(name, async () => {
      await assert.rejects(model.forward(req), (e: Error) => e instanceof UserError && message.test(e.message));
    });
  }

  test('a decoding step checks its edits; the embedded decode graph edits attn_out only', async () => {
    const session = await model.startDecoding();
    await session.prefill(ok);
    await assert.rejects(
      session.step(5, [{ site: 'attn_out', layer: 7, vector: new Float32Array(D) }]),
      /step: edits\[0\] at attn_out: layer 7 is out of range/,
    );
    await assert.rejects(
      session.step(5, [{ site: 'head_out', layer: 0, vector: new Float32Array(D) }]),
      /edits attn_out at new tokens; an edit names head_out/,
    );
    session.dispose();
  });

  test('generation past the context stops cleanly', async () => {
    const g = await generate(
      model,
      new Array(250).fill(5).map((x, i) => (i === 0 ? 1 : x)),
      { maxNewTokens: 50, stopAtEos: false },
    );
    assert.equal(g.stopReason, 'context');
    assert.equal(g.tokens.length, 7);
  });
});
