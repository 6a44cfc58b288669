import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import { ModelProtoSchema } from 'onnx-buf';
import { UserError } from '../../src/core/errors';
import { generate } from '../../src/core/generate';
import type { Llama2cWeights } from '../../src/runtime/embedded/checkpoint';
import { buildForwardGraph, FWD } from '../../src/runtime/embedded/forwardGraph';
import { exportHubFolder, HUB_FILES } from '../../src/runtime/embedded/hubExport';
import { buildHubDecoder, HUB_IO } from '../../src/runtime/embedded/hubGraph';
import { toGraphWeights } from '../../src/runtime/embedded/llamaWeights';
import { tokenizerJsonFromLlama2cBin } from '../../src/runtime/tokenizer/tokenizerJson';
import { embeddedFiles, embeddedModel, embeddedWeights, maxAbsDiff, randomVector } from './fixtures';

const PROMPTS = ['Once upon a time, there was a little girl named Lily. She loved to play', 'Tom had a red ball.'];
const i64 = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);

/** Feeds of the exported decoder; `past` defaults to an empty cache (past_sequence_length 0). */
function feeds(w: Llama2cWeights, ids: number[][], mask: number[][], positions: number[][], past?: ort.InferenceSession.OnnxValueMapType) {
  const { nLayers, nKvHeads, dim, nHeads } = w.config;
  const empty = new ort.Tensor('float32', new Float32Array(0), [ids.length, nKvHeads, 0, dim / nHeads]);
  const f: Record<string, ort.Tensor> = { [HUB_IO.ids]: i64(ids), [HUB_IO.mask]: i64(mask), [HUB_IO.positions]: i64(positions) };
  for (let l = 0; l < nLayers; l++) {
    f[HUB_IO.pastKey(l)] = (past?.[HUB_IO.presentKey(l)] as ort.Tensor | undefined) ?? empty;
    f[HUB_IO.pastValue(l)] = (past?.[HUB_IO.presentValue(l)] as ort.Tensor | undefined) ?? empty;
  }
  return f;
}

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
/** Logits row [b, t] of a [B, T, V] output. */
const row = (out: ort.InferenceSession.OnnxValueMapType, b: number, t: number) => {
  const [, T, V] = out.logits.dims;
  return (out.logits.data as Float32Array).subarray((b * T + t) * V, (b * T + t + 1) * V);
};

describe('export as a Transformers.js model folder', () => {
  let dir: string;
  let out: string;
  let weights: Llama2cWeights;
  let tokenizerText: string;
  let session: ort.InferenceSession;
  let prompts: number[][];
  let exportMs: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iv-hub-export-'));
    out = join(dir, 'stories15M');
    const { tokenizer } = await embeddedModel();
    const { tokenizerBin } = await embeddedFiles();
    weights = await embeddedWeights();
    tokenizerText = JSON.stringify(tokenizerJsonFromLlama2cBin(readFileSync(tokenizerBin)));
    const start = performance.now();
    exportHubFolder(weights, tokenizerText, out);
    exportMs = performance.now() - start;
    session = await ort.InferenceSession.create(join(out, HUB_FILES.model));
    prompts = PROMPTS.map((p) => tokenizer.encode(p, { bos: true }));
  });
  after(async () => {
    await session?.release();
    rmSync(dir, { recursive: true, force: true });
  });

  test('with an empty cache, the logits at every position are those of the embedded model', async (t) => {
    const { model } = await embeddedModel();
    let worst = 0;
    for (const ids of prompts) {
      const outputs = await session.run(feeds(weights, [ids], [ids.map(() => 1)], [range(ids.length)]));
      assert.deepEqual(outputs.logits.dims, [1, ids.length, weights.config.vocabSize]);
      assert.deepEqual(outputs[HUB_IO.presentKey(0)].dims, [1, weights.config.nKvHeads, ids.length, weights.config.dim / weights.config.nHeads]);
      const ref = await model.forward({ tokens: [ids], logits: ids.map((_, pos) => ({ seq: 0, pos })) });
      ref.logits.forEach((r, pos) => (worst = Math.max(worst, maxAbsDiff(r, row(outputs, 0, pos)))));
    }
    t.diagnostic(`max |logits - embedded| = ${worst.toExponential(2)}`);
    assert.ok(worst < 1e-4, `max abs diff ${worst}`);
  });

  test('a step on the KV cache gives the logits of a full recompute', async (t) => {
    const ids = prompts[0];
    const T = ids.length;
    const full = await session.run(feeds(weights, [ids], [ids.map(() => 1)], [range(T)]));
    const prefill = await session.run(feeds(weights, [ids.slice(0, -1)], [range(T - 1).map(() => 1)], [range(T - 1)]));
    const step = await session.run(feeds(weights, [[ids[T - 1]]], [ids.map(() => 1)], [[T - 1]], prefill));
    assert.deepEqual(step.logits.dims, [1, 1, weights.config.vocabSize]);
    assert.deepEqual(step[HUB_IO.presentValue(0)].dims[2], T);
    const diff = maxAbsDiff(row(step, 0, 0), row(full, 0, T - 1));
    t.diagnostic(`max |cached step - recompute| = ${diff.toExponential(2)}`);
    assert.ok(diff < 1e-4, `max abs diff ${diff}`);
  });

  test('left padding masked by attention_mask changes no real position, in the prefill and the next step', async (t) => {
    // As Transformers.js batches: pad on the left, position_ids = cumsum(mask) - 1 (1 at padding, as HF).
    const T = Math.max(...prompts.map((p) => p.length));
    const ids = prompts.map((p) => [...Array(T - p.length).fill(0), ...p]);
    const mask = prompts.map((p) => [...Array(T - p.length).fill(0), ...p.map(() => 1)]);
    const positions = prompts.map((p) => [...Array(T - p.length).fill(1), ...range(p.length)]);
    const batch = await session.run(feeds(weights, ids, mask, positions));
    const next = [9038, 263];
    const stepped = await session.run(
      feeds(
        weights,
        next.map((t) => [t]),
        mask.map((m) => [...m, 1]),
        prompts.map((p) => [p.length]),
        batch,
      ),
    );
    let worst = 0;
    for (const [b, p] of prompts.entries()) {
      const alone = await session.run(feeds(weights, [p], [p.map(() => 1)], [range(p.length)]));
      for (let pos = 0; pos < p.length; pos++) worst = Math.max(worst, maxAbsDiff(row(batch, b, T - p.length + pos), row(alone, 0, pos)));
      const aloneStep = await session.run(feeds(weights, [[next[b]]], [[...p.map(() => 1), 1]], [[p.length]], alone));
      worst = Math.max(worst, maxAbsDiff(row(stepped, b, 0), row(aloneStep, 0, 0)));
    }
    t.diagnostic(`max |padded - alone| = ${worst.toExponential(2)}`);
    assert.ok(worst < 1e-4, `max abs diff ${worst}`);
  });

  test('the folder holds the config, the tokenizer and a graph with torch module paths', async (t) => {
    t.diagnostic(`export took ${exportMs.toFixed(0)} ms`);
    for (const f of Object.values(HUB_FILES)) assert.ok(existsSync(join(out, f)), f);
    const config = JSON.parse(readFileSync(join(out, HUB_FILES.config), 'utf8'));
    const c = weights.config;
    const expected = {
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      hidden_size: c.dim,
      intermediate_size: c.hiddenDim,
      num_hidden_layers: c.nLayers,
      num_attention_heads: c.nHeads,
      num_key_value_heads: c.nKvHeads,
      head_dim: c.dim / c.nHeads,
      max_position_embeddings: 256,
      vocab_size: 32000,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      bos_token_id: 1,
      eos_token_id: 2,
      tie_word_embeddings: true,
      hidden_act: 'silu',
      torch_dtype: 'float32',
    };
    assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, config[k]])), expected);
    assert.deepEqual(config['transformers.js_config'], {});
    assert.equal(readFileSync(join(out, HUB_FILES.tokenizer), 'utf8'), tokenizerText);
    const tokConfig = JSON.parse(readFileSync(join(out, HUB_FILES.tokenizerConfig), 'utf8'));
    assert.equal(tokConfig.bos_token, '<s>');
    assert.equal(tokConfig.add_bos_token, true);

    const { tokenizer } = await embeddedModel();
    const hf = new HfTokenizer(JSON.parse(readFileSync(join(out, HUB_FILES.tokenizer), 'utf8')), tokConfig);
    const text = 'Once upon a time';
    assert.deepEqual(hf.encode(text).ids, tokenizer.encode(text, { bos: true }));
    assert.deepEqual(hf.encode(text).ids, [1, 9038, 2501, 263, 931]);

    const graph = fromBinary(ModelProtoSchema, readFileSync(join(out, HUB_FILES.model))).graph!;
    const byName = new Map(graph.node.map((n) => [n.name, n]));
    const consumers = (t: string) => graph.node.filter((n) => n.input.includes(t)).map((n) => n.name);
    for (let l = 0; l < c.nLayers; l++) {
      const p = `/model/layers.${l}`;
      for (const m of ['self_attn/q_proj', 'self_attn/k_proj', 'self_attn/v_proj', 'self_attn/o_proj', 'mlp/gate_proj', 'mlp/up_proj', 'mlp/down_proj']) {
        assert.equal(byName.get(`${p}/${m}/MatMul`)?.opType, 'MatMul', `${p}/${m}/MatMul`);
      }
      // o_proj's output is the attention output before the residual add; Add_1 is the block's output.
      assert.deepEqual(consumers(byName.get(`${p}/self_attn/o_proj/MatMul`)!.output[0]), [`${p}/Add`]);
      assert.ok(consumers(byName.get(`${p}/Add`)!.output[0]).includes(`${p}/Add_1`));
    }
    assert.equal(byName.get('/lm_head/MatMul')?.output[0], HUB_IO.logits);
    assert.ok(
      graph.node.every((n) => n.domain === ''),
      'standard ONNX ops only',
    );
  });

  test('Transformers.js loads the folder and decodes greedily as the embedded model', async () => {
    const { AutoModelForCausalLM, AutoTokenizer, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.localModelPath = dir;
    const tokenizer = await AutoTokenizer.from_pretrained('stories15M');
    const model = await AutoModelForCausalLM.from_pretrained('stories15M', { dtype: 'fp32' });
    try {
      const inputs = tokenizer(PROMPTS[1]);
      const output = (await model.generate({ ...inputs, max_new_tokens: 24, do_sample: false })) as { tolist(): bigint[][] };
      const theirs = output.tolist()[0].map(Number).slice(prompts[1].length);
      const ours = await generate((await embeddedModel()).model, prompts[1], { maxNewTokens: 24, temperature: 0, topP: 1, seed: 0 });
      assert.deepEqual(theirs, ours.tokens);
    } finally {
      await model.dispose();
    }
  });

  test('grouped-query attention and an untied classifier match the embedded graphs', async () => {
    // A tiny random model with 4 query heads over 2 KV heads; the embedded forward graph (GroupQueryAttention) is the reference.
    const [d, hidden, L, H, KV, V, seqLen] = [64, 96, 2, 4, 2, 50, 16]; // GroupQueryAttention wants head_size % 16 == 0
    const kvDim = (d / H) * KV;
    let seed = 1;
    const rand = (n: number, scale = 0.2) => randomVector(seed++, n, scale);
    const layers = (n: number, scale?: number) => range(L).map(() => rand(n, scale));
    const w: Llama2cWeights = {
      config: { dim: d, hiddenDim: hidden, nLayers: L, nHeads: H, nKvHeads: KV, vocabSize: V, seqLen, sharedClassifier: false },
      tokenEmbedding: rand(V * d, 1),
      rmsAtt: layers(d, 1).map((x) => x.map((v) => 1 + v)),
      wq: layers(d * d),
      wk: layers(kvDim * d),
      wv: layers(kvDim * d),
      wo: layers(d * d),
      rmsFfn: layers(d, 1).map((x) => x.map((v) => 1 + v)),
      w1: layers(hidden * d),
      w2: layers(d * hidden),
      w3: layers(hidden * d),
      rmsFinal: rand(d, 1).map((v) => 1 + v),
      classifier: rand(V * d, 1),
    };
    const ids = [1, 7, 3, 42, 9, 11, 5, 30];
    const hub = await ort.InferenceSession.create(buildHubDecoder(w));
    const ref = await ort.InferenceSession.create(buildForwardGraph(w, toGraphWeights(w), false));
    try {
      const ours = await hub.run(feeds(w, [ids], [ids.map(() => 1)], [range(ids.length)]));
      const theirs = await ref.run({
        [FWD.ids]: i64([ids]),
        [FWD.logitIndex]: new ort.Tensor('int64', BigInt64Array.from(range(ids.length).map(BigInt)), [ids.length]),
      });
      const diff = maxAbsDiff(ours.logits.data as Float32Array, theirs[FWD.logits].data as Float32Array);
      assert.ok(diff < 1e-4, `max abs diff ${diff}`);
    } finally {
      await hub.release();
      await ref.release();
    }
  });

  test('an export replaces an earlier one, never a folder with other files, and a failure leaves nothing', () => {
    exportHubFolder(weights, tokenizerText, out);
    assert.deepEqual(readdirSync(out).sort(), ['config.json', 'generation_config.json', 'onnx', 'tokenizer.json', 'tokenizer_config.json']);
    const strange = join(dir, 'busy');
    mkdirSync(strange);
    writeFileSync(join(strange, 'notes.txt'), 'mine');
    assert.throws(
      () => exportHubFolder(weights, tokenizerText, strange),
      (e: Error) => e instanceof UserError && /other files \(notes\.txt\)/.test(e.message),
    );
    assert.deepEqual(readdirSync(strange), ['notes.txt']);

    // Weights that fail while the graph is built: neither the folder nor a temporary one remains.
    const broken = { ...weights, rmsFinal: new Float32Array(3) };
    const target = join(dir, 'broken');
    assert.throws(() => exportHubFolder(broken, tokenizerText, target), /model\.norm\.weight/);
    assert.ok(!existsSync(target));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('.tmp-') || f.includes('.old-')),
      [],
    );
  });
});
