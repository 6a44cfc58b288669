import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Example } from '../../src/core/datasets';
import { evaluateMethod } from '../../src/core/experiment/methods';
import { prepareTask, splitRows, type Task } from '../../src/core/experiment/task';
import type { Tokenization } from '../../src/core/icl/prompt';
import { extractIterativeVectors, type ZeroShotPosition } from '../../src/core/iv/extract';
import { decodeSafetensors } from '../../src/core/vectors/safetensors';
import { loadDataset } from '../../src/node/datasets';
import type { LoadedModel } from '../../src/runtime/loadModel';
import { embeddedModel, SHARED } from './fixtures';

/**
 * The TypeScript side against goldens written by the independent PyTorch + transformers reference
 * (reference/, `bash reference/regenerate.sh`): the reference built these prompts from the rows with
 * the Hugging Face tokenizer, ran Algorithm 1 with forward hooks on o_proj, and Algorithm 2 with its
 * own vectors. Required: identical prompts, vectors within 1e-4 relative L2 per layer, the same
 * predicted class on at least 99.5% of the evaluation episodes.
 */
const GOLDENS = join(__dirname, '..', 'goldens', 'reference');
const DATASETS: Record<string, () => ReturnType<typeof loadDataset>> = {
  sst2: () => loadDataset(join(SHARED, 'datasets', 'sst2')),
  'first-names': () => loadDataset('stdlib:first-names', { labelWords: { female: 'she', male: 'he' } }),
};

interface Row {
  line: number;
  text: string;
  label: number;
}
interface GoldenEpisode {
  support: Row[];
  query: Row;
  tokens: number[];
  ioPositions: number[];
  cut: number[];
  zeroShot?: { tokens: number[]; readPosition: number };
  labelLogits?: number[];
  predicted?: number;
}
interface Golden {
  split: 'train' | 'test';
  labels: string[];
  labelFirstTokens: number[];
  tokenization: Tokenization;
  bos: boolean;
  shots: number;
  seed: number;
  zeroShotPosition?: ZeroShotPosition;
  refreshEvery?: number;
  strength: number;
  demoOrder?: 'shuffled' | 'class-order';
  episodes: GoldenEpisode[];
}

let loaded: LoadedModel;
before(async () => {
  loaded = await embeddedModel();
});

const golden = (name: string, file: string) => JSON.parse(readFileSync(join(GOLDENS, name, file), 'utf8')) as Golden;
const example = (r: Row): Example => ({ text: r.text, label: r.label, line: r.line });

function relL2(ref: Float32Array, ts: Float32Array): number {
  let diff = 0;
  let norm = 0;
  ref.forEach((x, i) => ((diff += (x - ts[i]) ** 2), (norm += x * x)));
  return Math.sqrt(diff / norm);
}

for (const name of Object.keys(DATASETS)) {
  describe(`the PyTorch reference's goldens: ${name}`, () => {
    let task: Task;
    let ext: Golden;
    let ev: Golden;
    before(async () => {
      ext = golden(name, 'extraction.json');
      ev = golden(name, 'evaluation.json');
      task = prepareTask(await DATASETS[name](), loaded.tokenizer, loaded.model.info, { bos: ext.bos, tokenization: ext.tokenization });
      assert.deepEqual(task.labels, ext.labels);
    });

    test('the same prompts from the same rows: token ids, io positions, cuts, zero-shot prompts, scored tokens', () => {
      assert.deepEqual(task.verbalizer.labelFirstTokens, ext.labelFirstTokens);
      for (const g of [ext, ev]) {
        for (const e of g.episodes) {
          const p = task.verbalizer.build(e.support.map(example), example(e.query));
          assert.deepEqual(p.tokens, e.tokens);
          assert.deepEqual(p.ioPositions, e.ioPositions);
          assert.deepEqual(p.cut, e.cut);
          if (e.zeroShot) {
            const z = task.verbalizer.zeroShot(p);
            assert.deepEqual(z.tokens, e.zeroShot.tokens);
            assert.equal(z.ioPositions[0] - (ext.zeroShotPosition === 'before-separator' ? 1 : 0), e.zeroShot.readPosition);
          }
        }
      }
    });

    test("Algorithm 1: the same episodes and, per layer, the reference's vectors within 1e-4 relative L2", async () => {
      const train = splitRows(task, 'train');
      const x = await extractIterativeVectors(loaded.model, task.verbalizer, train, {
        episodes: ext.episodes.length,
        shots: ext.shots,
        refreshEvery: ext.refreshEvery!,
        strength: ext.strength,
        seed: ext.seed,
        zeroShotPosition: ext.zeroShotPosition!,
      });
      x.episodes.forEach((e, i) => {
        assert.deepEqual(
          e.support.map((r) => train[r].line),
          ext.episodes[i].support.map((r) => r.line),
        );
        assert.equal(train[e.query].line, ext.episodes[i].query.line);
      });
      const ref = decodeSafetensors(readFileSync(join(GOLDENS, name, 'vectors.safetensors')), 'vectors.safetensors').tensors;
      x.vectors.forEach((v, l) => {
        const err = relL2(ref.get(`blocks.${l}.attn_out`)!.data, v);
        assert.ok(err < 1e-4, `layer ${l}: relative L2 ${err}`);
      });
    });

    test("Algorithm 2 with the reference's vectors: the same episodes, predictions on at least 99.5%, label logits close", async () => {
      const ref = decodeSafetensors(readFileSync(join(GOLDENS, name, 'vectors.safetensors')), 'vectors.safetensors').tensors;
      const vectors = Array.from({ length: loaded.model.info.nLayers }, (_, l) => ref.get(`blocks.${l}.attn_out`)!.data);
      const r = await evaluateMethod(
        loaded.model,
        task,
        { method: 'iv', vectors, strength: ev.strength, injectAt: 'all' },
        { split: ev.split, shots: ev.shots, episodes: ev.episodes.length, seed: ev.seed, demoOrder: ev.demoOrder ?? 'shuffled', resamples: 0 },
      );
      const rows = splitRows(task, ev.split);
      let same = 0;
      let maxDiff = 0;
      r.episodes.forEach((e, i) => {
        const g = ev.episodes[i];
        assert.equal(rows[e.query].line, g.query.line);
        if (r.predictions[i].predicted === g.predicted) same++;
        r.predictions[i].labelLogits.forEach((z, c) => (maxDiff = Math.max(maxDiff, Math.abs(z - g.labelLogits![c]))));
      });
      assert.ok(same / ev.episodes.length >= 0.995, `${same} of ${ev.episodes.length} predictions agree`);
      assert.ok(maxDiff < 1e-3, `max label-logit difference ${maxDiff}`);
    });
  });
}
