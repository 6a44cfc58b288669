import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { LayerSites } from '../../src/runtime/hub/sites';
import { inspectModel } from '../../src/runtime/hub/inspect';
import { loadHubModel } from '../../src/runtime/hub/loadHubModel';
import { DType, GraphBuilder } from '../../src/runtime/onnx/graphBuilder';
import { bitwiseEqual, maxAbsDiff, randomVector } from './fixtures';

// The site table's module paths, as torch.onnx / Optimum name the nodes of each architecture family,
// on small runnable decoders built here (one mixing MatMul stands in for attention): each family's
// sites are found by node name and instrumented, and zero edits reproduce the graph.

interface Family {
  architecture: string;
  /** Node-name prefix of layer l's attention module and of the layer itself. */
  attention: (l: number) => string;
  layer: (l: number) => string;
  /** The output projection's module name and whether it has a bias (then the site is the bias Add). */
  projection: string;
  bias: boolean;
  /** GPT-J / GPT-NeoX add attention and MLP outputs first, then the residual (parallel residual). */
  parallel: boolean;
}

const FAMILIES: Family[] = [
  ...['llama', 'mistral', 'qwen2', 'qwen3', 'phi3', 'gemma2', 'granite', 'olmo'].map((architecture) => ({
    architecture,
    attention: (l: number) => `/model/layers.${l}/self_attn`,
    layer: (l: number) => `/model/layers.${l}`,
    projection: 'o_proj',
    bias: false,
    parallel: false,
  })),
  {
    architecture: 'gpt2',
    attention: (l) => `/transformer/h.${l}/attn`,
    layer: (l) => `/transformer/h.${l}`,
    projection: 'c_proj',
    bias: true,
    parallel: false,
  },
  {
    architecture: 'gptj',
    attention: (l) => `/transformer/h.${l}/attn`,
    layer: (l) => `/transformer/h.${l}`,
    projection: 'out_proj',
    bias: false,
    parallel: true,
  },
  {
    architecture: 'gpt_neox',
    attention: (l) => `/gpt_neox/layers.${l}/attention`,
    layer: (l) => `/gpt_neox/layers.${l}`,
    projection: 'dense',
    bias: true,
    parallel: true,
  },
];

const D = 8;
const V = 32;
const LAYERS = 3;

/** A decoder with the family's node names; returns the tensors each site should be. */
function buildDecoder(f: Family): { bytes: Uint8Array; expected: LayerSites['tensors'][] } {
  const g = new GraphBuilder('synthetic');
  let seed = 1;
  const weight = (rows: number, cols: number) => g.init(g.fresh('w'), randomVector(seed++, rows * cols, 0.5), [rows, cols]);
  const named = (op: string, inputs: string[], name: string) => g.op(op, inputs, {}, { name, outputs: [`${name}_output_0`] })[0];
  const ids = g.input('input_ids', DType.int64, ['batch_size', 'sequence_length']);
  let x = g.op1('Gather', [weight(V, D), ids], { axis: 0 });
  const expected = [];
  for (let l = 0; l < LAYERS; l++) {
    const heads = named('MatMul', [x, weight(D, D)], `${f.attention(l)}/v_proj/MatMul`);
    let o = named('MatMul', [heads, weight(D, D)], `${f.attention(l)}/${f.projection}/MatMul`);
    if (f.bias) o = named('Add', [o, g.init(g.fresh('b'), randomVector(seed++, D, 0.1), [D])], `${f.attention(l)}/${f.projection}/Add`);
    const mlp = (input: string) =>
      named(
        'MatMul',
        [g.op1('Relu', [named('MatMul', [input, weight(D, 2 * D)], `${f.layer(l)}/mlp/fc_in/MatMul`)]), weight(2 * D, D)],
        `${f.layer(l)}/mlp/fc_out/MatMul`,
      );
    let resid: string;
    if (f.parallel) {
      resid = named('Add', [named('Add', [o, mlp(x)], `${f.layer(l)}/Add`), x], `${f.layer(l)}/Add_1`);
    } else {
      const mid = named('Add', [x, o], `${f.layer(l)}/Add`);
      resid = named('Add', [mid, mlp(mid)], `${f.layer(l)}/Add_1`);
    }
    expected.push({ attn_out: o, head_out: heads, resid_post: resid });
    x = resid;
  }
  g.output(named('MatMul', [x, weight(D, V)], '/lm_head/MatMul'), 'logits', DType.float, ['batch_size', 'sequence_length', V]);
  return { bytes: g.toBytes(), expected };
}

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'iv-arch-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("site table: each architecture family's node names, on small built decoders", () => {
  for (const f of FAMILIES) {
    test(`${f.architecture}: sites found by node name, instrumented, zero edits reproduce the graph, edits act at their site`, async () => {
      const folder = join(dir, f.architecture);
      mkdirSync(join(folder, 'onnx'), { recursive: true });
      const { bytes, expected } = buildDecoder(f);
      writeFileSync(join(folder, 'onnx', 'model.onnx'), bytes);
      writeFileSync(
        join(folder, 'config.json'),
        JSON.stringify({
          model_type: f.architecture,
          hidden_size: D,
          num_attention_heads: 2,
          num_hidden_layers: LAYERS,
          vocab_size: V,
          max_position_embeddings: 16,
          bos_token_id: 1,
          eos_token_id: 2,
        }),
      );

      const report = inspectModel(folder);
      assert.deepEqual(
        report.sites.map((s) => s.rule),
        Array(LAYERS).fill('node-name'),
      );
      assert.deepEqual(
        report.sites.map((s) => s.tensors),
        expected,
      );

      const { model } = await loadHubModel({ path: folder, cacheDir: join(dir, 'cache'), device: 'cpu', log: () => {} });
      try {
        const tokens = [
          [3, 5, 7, 9],
          [4, 6],
        ];
        const logits = [0, 1, 2, 3].map((pos) => ({ seq: 0, pos }));
        const plain = await ort.InferenceSession.create(bytes);
        const ref = (await plain.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from([3, 5, 7, 9], BigInt), [1, 4]) })).logits.data as Float32Array;
        const base = await model.forward({ tokens, logits, taps: [{ seq: 0, pos: 2 }], tapSites: ['attn_out', 'head_out', 'resid_post'] });
        base.logits.forEach((row, p) => assert.ok(maxAbsDiff(row, ref.subarray(p * V, (p + 1) * V)) <= 1e-6, `zero edits, position ${p}`));
        const vector = randomVector(99, D, 1);
        const edited = await model.forward({
          tokens,
          logits,
          edits: [{ site: 'attn_out', seq: 0, pos: 2, layer: 1, vector }],
          taps: [{ seq: 0, pos: 2 }],
          tapSites: ['attn_out'],
        });
        // No attention mixes positions here: only the edited position's logits move.
        [0, 1, 3].forEach((p) => assert.ok(bitwiseEqual(edited.logits[p], base.logits[p]), `position ${p} untouched`));
        assert.ok(!bitwiseEqual(edited.logits[2], base.logits[2]), 'the edited position changes');
        const delta = edited.taps.attn_out!.at(1, 0).map((v, i) => v - base.taps.attn_out!.at(1, 0)[i]);
        assert.ok(maxAbsDiff(delta, vector) <= 1e-5, 'the tap reads base + edit');
        // Writing the last layer's own residual back changes nothing; another value changes the logits.
        const same = await model.forward({
          tokens,
          logits,
          edits: [{ site: 'resid_post', seq: 0, pos: 2, layer: LAYERS - 1, vector: Float32Array.from(base.taps.resid_post!.at(LAYERS - 1, 0)) }],
        });
        assert.ok(bitwiseEqual(same.logits[2], base.logits[2]));
        const other = await model.forward({ tokens, logits, edits: [{ site: 'resid_post', seq: 0, pos: 2, layer: LAYERS - 1, vector }] });
        assert.ok(!bitwiseEqual(other.logits[2], base.logits[2]));
      } finally {
        await model.dispose();
      }
    });
  }
});
