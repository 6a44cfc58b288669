import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { UserError } from '../../src/core/errors';
import { inspectModel, type InspectReport } from '../../src/runtime/hub/inspect';
import { readModelFolder } from '../../src/runtime/hub/modelFolder';
import { discoverSites, RESIDUAL_SUM_SUFFIX } from '../../src/runtime/hub/sites';
import { DType, GraphBuilder } from '../../src/runtime/onnx/graphBuilder';
import { FIXTURES, REPO } from './fixtures';

const MISTRAL = join(FIXTURES, 'tiny-mistral-mobius-opset24');
const GPT2 = join(FIXTURES, 'tiny-random-gpt2-ort-fused');
const LLAMA = join(FIXTURES, 'tiny-random-llama-genai-builder-fp16');
const CLI = join(REPO, 'dist', 'cli.js');

let dir: string;
before(() => {
  assert.ok(existsSync(MISTRAL), `the third-party ONNX fixtures are missing at ${FIXTURES} (set IV_SHARED_DIR)`);
  dir = mkdtempSync(join(tmpdir(), 'iv-inspect-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every site tensor is some node's output in the graph; one attn-out site per layer. */
function checkSites(path: string, r: InspectReport, layers: number): void {
  const produced = new Set(readModelFolder(path).graph.node.flatMap((n) => n.output));
  assert.equal(r.layers, layers);
  assert.equal(r.sites.length, layers);
  r.sites.forEach((s, l) => {
    assert.equal(s.layer, l);
    const { attn_out, head_out, resid_post } = s.tensors;
    assert.ok(produced.has(attn_out), `layer ${l} attn_out ${attn_out} is a node output`);
    if (head_out) assert.ok(produced.has(head_out), `layer ${l} head_out ${head_out}`);
    // Every layer has a residual stream; a fused final norm's sum output is requested by discovery.
    assert.ok(resid_post && (produced.has(resid_post) || resid_post.endsWith(RESIDUAL_SUM_SUFFIX)), `layer ${l} resid_post ${resid_post}`);
  });
  assert.equal(new Set(r.sites.map((s) => s.tensors.attn_out)).size, layers, 'one distinct site per layer');
}

describe('iv inspect: hub model folders', () => {
  test('Mistral (mobius, opset 24, genai layout): 2 layers, o_proj sites, static KV cache', () => {
    const r = inspectModel(MISTRAL);
    checkSites(MISTRAL, r, 2);
    assert.equal(r.layout, 'onnxruntime-genai');
    assert.equal(r.architecture, 'mistral');
    assert.equal(r.dtype, 'float32');
    assert.deepEqual([r.hiddenSize, r.heads, r.kvHeads, r.headSize], [64, 4, 2, 16]);
    assert.equal(r.sites[1].tensors.attn_out, 'v_model.layers.1.self_attn.o_proj.MatMul_66');
    assert.equal(r.sites[1].tensors.head_out, 'v_model.layers.1.self_attn.Attention_64_0');
    assert.equal(r.sites[0].tensors.resid_post, 'v_model.layers.0.Add_52');
    assert.equal(r.kv?.pastKey, 'key_cache.{l}');
    assert.equal(r.kv?.pastValue, 'value_cache.{l}');
    assert.equal(r.kv?.presentValue, 'updated_value_cache.{l}');
    assert.deepEqual(r.kv?.shape, ['batch', 16, 32]);
  });

  test('GPT-2 (ORT fused Attention): sites found through the c_proj weights, stacked KV', () => {
    const r = inspectModel(GPT2);
    checkSites(GPT2, r, 5);
    assert.equal(r.architecture, 'gpt2');
    assert.equal(r.onnxFile, join(GPT2, 'past.onnx'));
    assert.deepEqual([r.hiddenSize, r.heads, r.headSize], [32, 4, 8]);
    assert.equal(r.sites[3].tensors.attn_out, 'GptAttention_3_matmul_output');
    assert.equal(r.sites[3].tensors.head_out, 'GptAttention_3_output');
    assert.equal(r.sites[0].tensors.resid_post, '/transformer/h.0/Add_1_output_0');
    assert.equal(r.kv?.stacked, true);
    assert.equal(r.kv?.past, 'past_{l}');
    assert.equal(r.kv?.present, 'present_{l}');
  });

  test('Llama fp16 (genai builder): fp16 detected, fused SkipSimplifiedLayerNormalization residual', () => {
    const r = inspectModel(LLAMA);
    checkSites(LLAMA, r, 2);
    assert.equal(r.layout, 'onnxruntime-genai');
    assert.equal(r.architecture, 'llama');
    assert.equal(r.dtype, 'float16');
    assert.deepEqual(r.externalDataFiles, ['model.onnx.data']);
    assert.equal(r.sites[0].tensors.attn_out, '/model/layers.0/attn/o_proj/MatMul/output_0');
    assert.equal(r.sites[0].tensors.head_out, '/model/layers.0/attn/MultiHeadAttention/output_0');
    assert.equal(r.sites[0].tensors.resid_post, '/model/layers.1/input_layernorm/output_3');
    assert.equal(r.kv?.pastKey, 'past_key_values.{l}.key');
    assert.equal(r.kv?.pastValue, 'past_key_values.{l}.value');
    assert.equal(r.kv?.presentKey, 'present.{l}.key');
    assert.equal(r.kv?.dtype, 'float16');
    const fp16 = r.inputs.find((t) => t.name === 'past_key_values.1.value');
    assert.deepEqual(fp16, { name: 'past_key_values.1.value', dtype: 'float16', shape: ['batch_size', 1, 'past_sequence_length', 16] });
  });

  test('external data is never read: the graph alone (no .onnx.data) inspects the same', () => {
    const only = join(dir, 'llama-graph-only');
    mkdirSync(only);
    for (const f of ['model.onnx', 'genai_config.json']) copyFileSync(join(LLAMA, f), join(only, f));
    assert.deepEqual(inspectModel(only).sites, inspectModel(LLAMA).sites);
  });

  test('Transformers.js / Optimum layout (config.json + onnx/*.onnx)', () => {
    const hf = join(dir, 'hf-layout');
    mkdirSync(join(hf, 'onnx'), { recursive: true });
    copyFileSync(join(MISTRAL, 'model.onnx'), join(hf, 'onnx', 'model.onnx'));
    writeFileSync(
      join(hf, 'config.json'),
      JSON.stringify({ model_type: 'mistral', num_hidden_layers: 2, hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2 }),
    );
    const r = inspectModel(hf);
    assert.equal(r.layout, 'transformers.js');
    assert.equal(r.onnxFile, join(hf, 'onnx', 'model.onnx'));
    checkSites(join(hf, 'onnx', 'model.onnx'), r, 2);
    assert.equal(r.architecture, 'mistral');
  });

  test('structural fallback and unknown architectures', () => {
    // GPT-2's fused graph under llama's rules: no o_proj names, so Attention -> MatMul -> SkipLayerNorm.
    const gpt2 = readModelFolder(GPT2).graph;
    const structural = discoverSites(gpt2, 'llama', { layers: 5 });
    assert.deepEqual(
      structural.map((s) => s.rule),
      Array(5).fill('structural'),
    );
    assert.deepEqual(
      structural.map((s) => s.tensors.attn_out),
      inspectModel(GPT2).sites.map((s) => s.tensors.attn_out),
    );
    // An unknown architecture tries every table; the layer count comes from the graph.
    const unknown = discoverSites(readModelFolder(MISTRAL).graph, 'some-new-arch');
    assert.deepEqual(
      unknown.map((s) => s.tensors.attn_out),
      ['v_model.layers.0.self_attn.o_proj.MatMul_40', 'v_model.layers.1.self_attn.o_proj.MatMul_66'],
    );
    assert.throws(
      () => discoverSites(gpt2, 'llama', { layers: 7 }),
      (e) => e instanceof UserError && /found 5, expected 7/.test(e.message),
    );
  });

  test('a site pattern with {l} overrides the rules', () => {
    const r = inspectModel(MISTRAL, { site: '^v_model\\.layers\\.{l}\\.self_attn\\.o_proj\\.MatMul_\\d+$' });
    assert.equal(r.sites[0].rule, 'override');
    assert.equal(r.sites[0].tensors.attn_out, 'v_model.layers.0.self_attn.o_proj.MatMul_40');
    assert.throws(
      () => inspectModel(MISTRAL, { site: 'o_proj' }),
      (e) => e instanceof UserError && /\{l\}/.test(e.message),
    );
    assert.throws(
      () => inspectModel(MISTRAL, { site: 'nothing\\.{l}\\.here' }),
      (e) => e instanceof UserError && /no node or tensor matches/.test(e.message),
    );
  });

  test('clear UserErrors: no ONNX file, no recognizable sites', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'config.json'), '{"model_type":"llama"}');
    assert.throws(
      () => inspectModel(empty),
      (e) => e instanceof UserError && /no ONNX model/.test(e.message) && /onnx\/\*\.onnx/.test(e.message),
    );
    assert.throws(
      () => inspectModel(join(dir, 'missing')),
      (e) => e instanceof UserError && /not found/.test(e.message),
    );

    const plain = join(dir, 'plain');
    mkdirSync(plain);
    const g = new GraphBuilder('plain');
    const x = g.input('x', DType.float, [1, 4]);
    g.output(g.op1('Relu', [x]), 'y', DType.float, [1, 4]);
    writeFileSync(join(plain, 'model.onnx'), g.toBytes());
    writeFileSync(join(plain, 'config.json'), JSON.stringify({ model_type: 'llama', num_hidden_layers: 2 }));
    assert.throws(
      () => inspectModel(plain),
      (e) => e instanceof UserError && /could not find the attention output/.test(e.message) && e.message.includes('o_proj') && /--site/.test(e.message),
    );
  });

  test('CLI: iv inspect --model <fixture> --json, and the text report', async () => {
    assert.ok(existsSync(CLI), 'build first: node esbuild.mjs');
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, [CLI, 'inspect', '--model', LLAMA, '--json']);
    const j = JSON.parse(stdout);
    assert.equal(j.layers, 2);
    assert.equal(j.architecture, 'llama');
    assert.equal(j.dtype, 'float16');
    assert.equal(j.sites.length, 2);
    assert.equal(j.sites[1].tensors.attn_out, '/model/layers.1/attn/o_proj/MatMul/output_0');
    assert.ok(j.inputs.some((t: { name: string }) => t.name === 'input_ids'));
    assert.ok(j.outputs.some((t: { name: string }) => t.name === 'logits'));
    const text = await run(process.execPath, [CLI, 'inspect', '--model', GPT2]);
    assert.match(text.stdout, /architecture gpt2/);
    assert.match(text.stdout, /layer 4: attn_out GptAttention_4_matmul_output/);
    const bad = await run(process.execPath, [CLI, 'inspect', '--model', join(dir, 'missing')]).catch((e) => e as { code: number; stderr: string });
    assert.equal((bad as { code: number }).code, 2);
    assert.match((bad as { stderr: string }).stderr, /iv inspect: model folder not found/);
  });
});
