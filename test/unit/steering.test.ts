import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { UserError } from '../../src/core/errors';
import type { SteerableModel } from '../../src/core/model';
import { argmax } from '../../src/core/sampling';
import {
  blockAt,
  chooseRows,
  klDivergence,
  promptBlocks,
  softmax,
  steeredGeneration,
  summarizeEffects,
  tokenEffects,
  tokenSpans,
  topChanges,
  type SteeringRows,
} from '../../src/core/steering';
import { artifactModel, tensorName, type ArtifactMetadata, type Tensor, type VectorArtifact } from '../../src/core/vectors';
import type { TextTokenizer } from '../../src/runtime/tokenizer/loadTokenizer';
import { embeddedModel, randomVector } from './fixtures';

let model: SteerableModel;
let tokenizer: TextTokenizer;
let rows: SteeringRows;

const PROMPT = 'Tom went to the park. Then';

before(async () => {
  ({ model, tokenizer } = await embeddedModel());
  // A stand-in for an IV query row: random, with norms growing with depth like real ones (about 0.6 .. 4).
  rows = Array.from({ length: model.info.nLayers }, (_, l) => randomVector(100 + l, model.info.dModel, 0.06 * (1 + l)));
});
after(() => model.dispose());

function ivArtifact(over: Partial<ArtifactMetadata> = {}): VectorArtifact {
  const { nLayers: L, dModel: d } = model.info;
  const labels = ['she', 'he'];
  const tensors = new Map<string, Tensor>(
    Array.from({ length: L }, (_, l) => [
      tensorName(l, 'attn_out'),
      { shape: [3, d], data: Float32Array.from({ length: 3 * d }, (_, i) => l * 100 + Math.floor(i / d)) },
    ]),
  );
  const metadata: ArtifactMetadata = {
    formatVersion: 1,
    method: 'iterative-vectors',
    site: 'attn_out',
    labels,
    model: artifactModel(model.info),
    tokenizerSha256: tokenizer.sha256,
    dataset: { id: 'x', source: 'file', sha256: '00', counts: {} },
    options: {},
    creator: { name: 'iterative-vectors', version: '0.1.0' },
    ...over,
  };
  return { tensors, metadata };
}

describe('steering on the embedded model', () => {
  test('zero strength: identical completions and no effect anywhere', async () => {
    const g = await steeredGeneration(model, tokenizer, PROMPT, { rows, strength: 0, maxNewTokens: 12 });
    assert.deepEqual(g.steered.tokens, g.unsteered.tokens);
    assert.equal(g.steered.text, g.unsteered.text);
    assert.equal(g.firstDifference, -1);
    assert.ok(g.unsteered.text.startsWith(' he saw'), g.unsteered.text);
    const e = await tokenEffects(model, tokenizer, PROMPT, { rows, strength: 0 });
    for (const t of e.effects) {
      assert.ok(t.kl < 1e-9, `kl ${t.kl} at ${t.position}`);
      for (const d of t.residDelta) assert.ok(d < 1e-5, `resid delta ${d} at ${t.position}`);
    }
  });

  test('steering changes the completion; the first new token is the argmax with the vector at the last prompt position only', async () => {
    const g = await steeredGeneration(model, tokenizer, PROMPT, { rows, strength: 1, maxNewTokens: 12 });
    assert.notEqual(g.firstDifference, -1);
    assert.notEqual(g.steered.text, g.unsteered.text);
    const last = g.promptTokens.length - 1;
    const out = await model.forward({
      tokens: [g.promptTokens],
      edits: rows.map((r, layer) => ({ site: 'attn_out', seq: 0, pos: last, layer, vector: r! })),
      logits: [{ seq: 0, pos: last }],
    });
    assert.equal(g.steered.tokens[0], argmax(out.logits[0]));
  });

  test('per-token effects: KL >= 0, positions before the first edited one unchanged, edited ones changed', async () => {
    const editFrom = 4;
    const e = await tokenEffects(model, tokenizer, PROMPT, { rows, strength: 1, editFrom });
    assert.equal(e.effects.length, tokenizer.encode(PROMPT, { bos: true }).length);
    assert.equal(e.effects[0].text, '<s>');
    for (const t of e.effects) {
      assert.ok(t.kl >= 0 && Number.isFinite(t.kl), `kl ${t.kl}`);
      assert.equal(t.residDelta.length, model.info.nLayers);
      assert.equal(t.top.length, 5);
      assert.equal(t.edited, t.position >= editFrom);
      if (t.position < editFrom) {
        assert.ok(t.kl < 1e-6, `kl ${t.kl} before the edits at ${t.position}`);
        for (const d of t.residDelta) assert.ok(d < 1e-4, `delta ${d} before the edits at ${t.position}`);
      } else {
        assert.ok(t.kl > 1e-4, `kl ${t.kl} at edited ${t.position}`);
        // The vector is added at attn_out of layer 0: the residual stream after layer 0 moves at least by about its norm.
        assert.ok(t.residDelta[0] > 0.5 * Math.hypot(...rows[0]!), `delta ${t.residDelta[0]} at ${t.position}`);
      }
      const deltas = t.top.map((c) => Math.abs(c.after - c.before));
      for (let i = 1; i < deltas.length; i++) assert.ok(deltas[i - 1] >= deltas[i]);
    }
    const s = summarizeEffects(e);
    assert.equal(s.tokens, e.effects.length);
    assert.ok(s.meanKl > 0 && s.maxKl.kl >= s.meanKl && s.maxKl.position >= editFrom);
    assert.equal(s.lastTop.length, 5);
    // Default: every text token is edited (not BOS).
    const all = await tokenEffects(model, tokenizer, PROMPT, { rows, strength: 1 });
    assert.deepEqual(
      all.effects.map((t) => t.edited),
      all.effects.map((t) => t.position >= 1),
    );
  });

  test('empty and over-long prompts are user errors', async () => {
    await assert.rejects(steeredGeneration(model, tokenizer, '', { rows, strength: 1, maxNewTokens: 4 }), UserError);
    await assert.rejects(tokenEffects(model, tokenizer, 'la '.repeat(300), { rows, strength: 1 }), /reads at most 256/);
  });
});

describe('steering rows from an artifact', () => {
  test('query row by default, class rows by label or index, envelope applied', () => {
    const a = ivArtifact();
    const q = chooseRows(a, model.info, 'a.ivec.safetensors');
    assert.equal(q.row, 2);
    assert.equal(q.rowName, 'query');
    assert.deepEqual(q.layers, [0, 1, 2, 3, 4, 5]);
    assert.equal(q.rows[3]![0], 302);
    const he = chooseRows(a, model.info, 'a', 'he');
    assert.equal(he.row, 1);
    assert.equal(he.rows[1]![5], 101);
    assert.equal(chooseRows(a, model.info, 'a', 0).rowName, 'she');
    assert.equal(chooseRows(a, model.info, 'a', '2').rowName, 'query');
    const env = chooseRows(ivArtifact({ layerStrengths: [1, 1, 0.5, 1, 1, 1] }), model.info, 'a');
    assert.equal(env.rows[2]![0], 101);
    assert.throws(() => chooseRows(a, model.info, 'a', 'it'), UserError);
    assert.throws(() => chooseRows(a, model.info, 'a', 3), UserError);
    assert.throws(() => chooseRows(ivArtifact({ site: 'resid_post', method: 'task-vector' }), model.info, 'a'), /replacement/);
    assert.throws(() => chooseRows(a, { ...model.info, sha256: 'ff' }, 'a'), /differ/);
  });
});

describe('token spans', () => {
  test('map tokens back to the source text, SentencePiece leading space and byte tokens included', () => {
    for (const text of ['Once upon a time', '  Hello wörld — ☃ 𝄞 x\u2581y\n\tend', 'a\r\n\r\nb', ' lead']) {
      const ids = tokenizer.encode(text);
      const spans = tokenSpans(tokenizer, text, ids);
      assert.equal(spans.length, ids.length);
      assert.equal(spans[0].start, 0);
      // Distinct spans tile the text in order.
      let end = 0;
      for (const s of spans) {
        assert.ok(s.start === end || (s.start < end && s.end === end), `${JSON.stringify(text)}: span ${s.start}..${s.end} after ${end}`);
        end = Math.max(end, s.end);
      }
      assert.equal(end, text.length, JSON.stringify(text));
    }
    const text = 'The cat sat.';
    const spans = tokenSpans(tokenizer, text, tokenizer.encode(text));
    assert.equal(spans.map((s) => text.slice(s.start, s.end)).join(''), text);
    assert.equal(text.slice(spans[1].start, spans[1].end), ' cat');
    const snow = 'x ☃';
    const ss = tokenSpans(tokenizer, snow, tokenizer.encode(snow));
    assert.deepEqual(
      ss.slice(-3).map((s) => snow.slice(s.start, s.end)),
      ['☃', '☃', '☃'],
    );
  });
});

describe('prompt blocks', () => {
  test('paragraphs separated by blank lines; fenced blocks in Markdown', () => {
    const lines = ['# Title', '', 'para one', 'still one', '', '', '```text', 'fenced', '', 'more', '```', 'after', '~~~', '~~~', 'x'];
    assert.deepEqual(
      promptBlocks(lines, { markdown: true }).map((b) => [b.kind, b.anchorLine, b.startLine, b.endLine]),
      [
        ['paragraph', 0, 0, 0],
        ['paragraph', 2, 2, 3],
        ['fence', 6, 7, 9],
        ['paragraph', 11, 11, 11],
        ['paragraph', 14, 14, 14],
      ],
    );
    const plain = promptBlocks(lines);
    assert.deepEqual(
      plain.map((b) => [b.startLine, b.endLine]),
      [
        [0, 0],
        [2, 3],
        [6, 7],
        [9, 14],
      ],
    );
    const md = promptBlocks(lines, { markdown: true });
    assert.equal(blockAt(md, 10)?.kind, 'fence');
    assert.equal(blockAt(md, 4), undefined);
    assert.deepEqual(
      promptBlocks(['```', 'open'], { markdown: true }).map((b) => [b.startLine, b.endLine]),
      [[1, 1]],
    );
    assert.equal(promptBlocks(lines, { maxBlocks: 2 }).length, 2);
  });
});

describe('distribution arithmetic', () => {
  test('KL and top changes on hand-computed values', () => {
    const p = [0.5, 0.25, 0.25];
    const q = [0.25, 0.5, 0.25];
    assert.ok(Math.abs(klDivergence(p, q) - (0.5 * Math.log(2) + 0.25 * Math.log(0.5))) < 1e-12);
    assert.equal(klDivergence(p, p), 0);
    assert.equal(klDivergence([1, 0], [0, 1]), Infinity);
    assert.deepEqual(topChanges(p, q, 2), [
      { id: 0, before: 0.5, after: 0.25 },
      { id: 1, before: 0.25, after: 0.5 },
    ]);
    assert.deepEqual(topChanges([0.1, 0.2, 0.7], [0.1, 0.5, 0.4], 1), [{ id: 1, before: 0.2, after: 0.5 }]);
    assert.deepEqual(topChanges(p, q, 0), []);
    const s = softmax([0, Math.log(3)]);
    assert.ok(Math.abs(s[0] - 0.25) < 1e-12 && Math.abs(s[1] - 0.75) < 1e-12);
  });
});
