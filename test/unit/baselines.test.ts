import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Example } from '../../src/core/datasets';
import { defaultTopHeads, extractFunctionVector } from '../../src/core/baselines/functionVectors';
import { sampleEpisodes } from '../../src/core/icl/episodes';
import { Verbalizer } from '../../src/core/icl/prompt';
import type { ForwardRequest, Site } from '../../src/core/model';
import type { LoadedModel } from '../../src/runtime/loadModel';
import { embeddedModel, recording } from './fixtures';
import { extractArtifact } from '../../src/core/experiment/extraction';
import { prepareTask } from '../../src/core/experiment/task';

let loaded: LoadedModel;
before(async () => {
  loaded = await embeddedModel();
});

/** A request's edits at one site. */
const at = (r: ForwardRequest, site: Site) => (r.edits ?? []).filter((e) => e.site === site);

const TRAIN: Example[] = Array.from({ length: 24 }, (_, i) => ({
  text: `${i % 2 ? 'The toy broke and' : 'They ate cake and'} it was day ${i}`,
  label: i % 2,
  line: i + 1,
}));

describe('Function Vectors', () => {
  test("heads kept by default: 2% of all heads, at least one (20 of Llama-2-7B's 1,024)", () => {
    assert.equal(defaultTopHeads(32, 32), 20);
    assert.equal(defaultTopHeads(28, 16), 9);
    assert.equal(defaultTopHeads(40, 40), 32);
    assert.equal(defaultTopHeads(6, 6), 1);
  });

  test('official variant: 1-shot class-order support, a head replaced at every position of the shuffled prompt, measured against the clean prompt', async () => {
    const v = new Verbalizer(loaded.tokenizer, ['happy', 'sad'], { bos: false, maxSampleTokens: 256, maxSeqLen: 256, tokenization: 'segments' });
    const { model, requests } = recording(loaded.model);
    const fv = await extractFunctionVector(model, v, TRAIN, { variant: 'official', episodes: 4, effectEpisodes: 3, shots: 1, seed: 7 });
    const { nLayers: L, nHeads: H, headDim } = loaded.model.info;
    assert.equal(fv.topHeads, 1);
    assert.equal(fv.heads.length, 1);
    assert.equal(fv.layer, 1, 'floor(6 / 3) - 1');
    assert.equal(fv.indirectEffect.length, L);
    // The mean head outputs come from class-order 1-shot prompts.
    const clean = sampleEpisodes(TRAIN, 2, 1, 3, 7, 'class-order').map(
      (e) =>
        v.build(
          e.support.map((i) => TRAIN[i]),
          TRAIN[e.query],
        ).tokens,
    );
    assert.deepEqual(requests[0].tokens.length, 4);
    for (const t of requests[0].tokens)
      assert.ok(
        sampleEpisodes(TRAIN, 2, 1, 4, 7, 'class-order').some(
          (e) =>
            JSON.stringify(
              v.build(
                e.support.map((i) => TRAIN[i]),
                TRAIN[e.query],
              ).tokens,
            ) === JSON.stringify(t),
        ),
      );
    // The baseline: the clean prompts of the effect episodes, unpatched.
    const baseline = requests.find((r) => r.logits?.length && !at(r, 'head_out').length)!;
    assert.deepEqual(new Set(baseline.tokens.map((t) => JSON.stringify(t))), new Set(clean.map((t) => JSON.stringify(t))));
    const patched = requests.filter((r) => at(r, 'head_out').length && r.logits?.length);
    assert.equal(patched.length, L * H, 'one run per head');
    for (const r of patched) {
      const layers = new Set(at(r, 'head_out').map((e) => e.layer));
      assert.equal(layers.size, 1);
      r.tokens.forEach((t, seq) =>
        assert.deepEqual(
          at(r, 'head_out')
            .filter((e) => e.seq === seq)
            .map((e) => e.pos),
          t.map((_, pos) => pos),
          'every position is patched',
        ),
      );
      const columns = new Set(at(r, 'head_out').flatMap((e) => [...e.vector].flatMap((x, j) => (x !== 0 ? [Math.floor(j / headDim)] : []))));
      assert.ok(columns.size <= 1, "only one head's columns change");
    }
  });

  test("query-patch variant: only the query's io position is patched, against the shuffled prompt", async () => {
    const v = new Verbalizer(loaded.tokenizer, ['happy', 'sad'], { bos: false, maxSampleTokens: 256, maxSeqLen: 256, tokenization: 'segments' });
    const { model, requests } = recording(loaded.model);
    await extractFunctionVector(model, v, TRAIN, { variant: 'query-patch', episodes: 3, effectEpisodes: 2, shots: 2, seed: 7, topHeads: 2 });
    const patched = requests.filter((r) => at(r, 'head_out').length && r.logits?.length);
    for (const r of patched)
      r.tokens.forEach((t, seq) =>
        assert.deepEqual(
          at(r, 'head_out')
            .filter((e) => e.seq === seq)
            .map((e) => e.pos),
          [t.length - 1],
        ),
      );
  });
});

describe('Task Vectors', () => {
  test("the extraction shots and the layer are both chosen by validation macro-F1, with the evaluation's shots", async () => {
    const rows = (n: number, from: number): Example[] => TRAIN.slice(0, n).map((r, i) => ({ ...r, line: from + i }));
    const dataset = {
      id: 'toy',
      source: 'toy',
      sha256: 'x',
      labels: ['happy', 'sad'],
      sourceLabels: ['happy', 'sad'],
      splits: { train: TRAIN, validation: rows(12, 100) },
      counts: {},
      files: {},
      format: 'jsonl' as const,
      textField: 'text',
      labelField: 'label',
      notes: [],
      warnings: [],
    };
    const task = prepareTask(dataset, loaded.tokenizer, loaded.model.info);
    const { model, requests } = recording(loaded.model);
    const x = await extractArtifact(model, task, {
      method: 'tv',
      iv: { episodes: 3, shots: 4, refreshEvery: 10, strength: 0.3, seed: 1, zeroShotPosition: 'separator' },
      validation: { shots: 2, episodes: 4, seed: 1, demoOrder: 'shuffled', resamples: 0 },
      tv: { shotsGrid: [1, 2] },
      fv: { variant: 'official', shots: 1, effectEpisodes: 1 },
      tokenizerSha256: 'x',
    });
    const o = x.artifact.metadata.options;
    const byShots = x.artifact.metadata.metrics!.validationMacroF1ByShotsAndLayer as Record<string, number[]>;
    assert.deepEqual(Object.keys(byShots), ['k=1', 'k=2']);
    const best = Math.max(...Object.values(byShots).flat());
    assert.equal(byShots[`k=${o.shots}`][o.layer as number], best);
    // Validation prompts (with replacements) hold 2 demonstrations per class: [▁, \n] opens each of the 4
    // io separators and 4 example separators, and the query's separator (1-shot prompts would have 5).
    const validation = requests.filter((r) => at(r, 'resid_post').length);
    assert.equal(validation.length > 0, true);
    const sep = task.verbalizer.separator;
    for (const r of validation) for (const t of r.tokens) assert.equal(t.filter((id, i) => id === sep[1] && t[i - 1] === sep[0]).length, 9);
  });
});
