import assert from 'node:assert/strict';
import { toBinary } from '@bufbuild/protobuf';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { ModelProtoSchema } from 'onnx-buf';
import { generate } from '../../src/core/generate';
import type { Edit, Site } from '../../src/core/model';
import { f16ToF32 } from '../../src/core/vectors/safetensors';
import { DecoderIO } from '../../src/runtime/hub/decoderIO';
import { loadHubModel, type LoadedHubModel } from '../../src/runtime/hub/loadHubModel';
import { readModelFolder, summarize } from '../../src/runtime/hub/modelFolder';
import { discoverSites } from '../../src/runtime/hub/sites';
import { DType, valueInfo } from '../../src/runtime/onnx/graphBuilder';
import { bitwiseEqual, maxAbsDiff, randomVector, FIXTURES } from './fixtures';

interface Fixture {
  name: string;
  /** Prompt and the argmax of its last logits, as the fixture's README records them. */
  prompt: number[];
  argmax?: number;
  /** Tolerance for "same value" across different graphs (fp16 activations round at every op). */
  tol: number;
}
const CASES: Fixture[] = [
  { name: 'tiny-random-gpt2-ort-fused', prompt: [5, 17, 42, 99, 7], argmax: 401, tol: 1e-5 },
  { name: 'tiny-random-llama-genai-builder-fp16', prompt: [1, 450, 4996, 17354, 1701], argmax: 18504, tol: 2e-3 },
  { name: 'tiny-mistral-mobius-opset24', prompt: [1, 2, 3, 4, 5, 6], tol: 1e-4 },
];

let cacheDir: string;
before(() => {
  assert.ok(existsSync(FIXTURES), `the third-party ONNX fixtures are missing at ${FIXTURES} (set IV_SHARED_DIR)`);
  cacheDir = mkdtempSync(join(tmpdir(), 'iv-hub-'));
});
after(() => rmSync(cacheDir, { recursive: true, force: true }));

const SITES: Site[] = ['attn_out', 'head_out', 'resid_post'];
const argmax = (a: Float32Array) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);
const rows = (tokens: number[][], seq: number) => tokens[seq].map((_, pos) => ({ seq, pos }));

/**
 * The export as published, run by plain ONNX Runtime, with each layer's site tensors added as graph
 * outputs and nothing else changed: the reference for logits and taps.
 */
async function reference(path: string) {
  const folder = readModelFolder(path);
  const summary = summarize(folder);
  const sites = discoverSites(folder.graph, summary.architecture, { layers: summary.layers });
  const act = summary.dtype === 'float16' ? DType.float16 : DType.float;
  const exposed = sites.flatMap((s) => SITES.map((site) => s.tensors[site]!));
  for (const name of exposed) folder.graph.output.push(valueInfo(name, act));
  const bytes = toBinary(ModelProtoSchema, folder.model);
  const session = await ort.InferenceSession.create(bytes, { extra: { session: { model_external_initializers_file_folder_path: dirname(summary.onnxFile) } } });
  const io = new DecoderIO(summary, ((folder.genaiConfig?.model as Record<string, unknown>)?.decoder as Record<string, Record<string, unknown>>)?.inputs);
  const floats = (t: ort.Tensor) => (t.type === 'float16' ? Float32Array.from(t.data as Uint16Array, f16ToF32) : (t.data as Float32Array));
  return {
    sites,
    /** Logits [T, V] of one sequence and each site's rows per layer. */
    async run(tokens: number[]) {
      const out = await session.run(io.feeds(BigInt64Array.from(tokens, BigInt), 1, tokens.length));
      const V = out.logits.dims.at(-1)!;
      const logits = floats(out.logits);
      const site = (name: string, pos: number, d: number) => floats(out[name]).slice(pos * d, (pos + 1) * d);
      return { logits: (pos: number) => logits.slice(pos * V, (pos + 1) * V), site };
    },
  };
}

for (const fx of CASES) {
  describe(`exported decoder ${fx.name}`, () => {
    let loaded: LoadedHubModel;
    before(async () => {
      loaded = await loadHubModel({ path: join(FIXTURES, fx.name), cacheDir, device: 'cpu', threads: 2, log: () => {} });
    });
    after(() => loaded?.model.dispose());

    test('zero edits reproduce the export: logits at every position and every site tensor', async () => {
      const { model } = loaded;
      const ref = await reference(join(FIXTURES, fx.name));
      const expected = await ref.run(fx.prompt);
      const tokens = [fx.prompt];
      const r = await model.forward({ tokens, logits: rows(tokens, 0), taps: rows(tokens, 0), tapSites: SITES });
      let worst = 0;
      fx.prompt.forEach((_, p) => (worst = Math.max(worst, maxAbsDiff(r.logits[p], expected.logits(p)))));
      assert.ok(worst <= fx.tol, `logits differ from the export by ${worst}`);
      if (fx.argmax !== undefined) assert.equal(argmax(r.logits.at(-1)!), fx.argmax, 'the README records this argmax');
      const d = model.info.dModel;
      ref.sites.forEach((s, l) => {
        fx.prompt.forEach((_, p) => {
          assert.ok(maxAbsDiff(r.taps.attn_out!.at(l, p), expected.site(s.tensors.attn_out, p, d)) <= fx.tol, `attn_out layer ${l} pos ${p}`);
          assert.ok(maxAbsDiff(r.taps.head_out!.at(l, p), expected.site(s.tensors.head_out!, p, d)) <= fx.tol, `head_out layer ${l} pos ${p}`);
          assert.ok(maxAbsDiff(r.taps.resid_post!.at(l, p), expected.site(s.tensors.resid_post!, p, d)) <= fx.tol * 10, `resid_post layer ${l} pos ${p}`);
        });
      });
    });

    test('a batch with right padding gives each sequence its own logits', async () => {
      const { model } = loaded;
      const short = fx.prompt.slice(0, 3);
      const batch = await model.forward({
        tokens: [fx.prompt, short],
        logits: [
          { seq: 1, pos: 2 },
          { seq: 0, pos: 4 },
        ],
      });
      const alone = await model.forward({ tokens: [short], logits: [{ seq: 0, pos: 2 }] });
      assert.ok(bitwiseEqual(batch.logits[0], alone.logits[0]) || maxAbsDiff(batch.logits[0], alone.logits[0]) <= fx.tol);
    });

    test('an attention-output edit changes its position and later ones, not earlier ones or other sequences', async () => {
      const { model } = loaded;
      const { nLayers: L, dModel: d } = model.info;
      const tokens = [fx.prompt, fx.prompt];
      const logits = [...rows(tokens, 0), ...rows(tokens, 1)];
      const p = 2;
      const base = await model.forward({ tokens, logits, taps: [{ seq: 0, pos: p }], tapSites: ['attn_out'] });
      for (const layer of [0, L - 1]) {
        const vector = randomVector(layer + 7, d, 0.5);
        const edited = await model.forward({
          tokens,
          logits,
          edits: [{ site: 'attn_out', seq: 0, pos: p, layer, vector }],
          taps: [{ seq: 0, pos: p }],
          tapSites: ['attn_out'],
        });
        const T = fx.prompt.length;
        for (let t = 0; t < T; t++) {
          const same = bitwiseEqual(edited.logits[t], base.logits[t]);
          if (t < p) assert.ok(same, `layer ${layer}: position ${t} before the edit is untouched`);
          else if (t === p || layer < L - 1) assert.ok(!same, `layer ${layer}: position ${t} changes`);
          else assert.ok(same, `last layer: position ${t} after the edit is untouched`);
          assert.ok(bitwiseEqual(edited.logits[T + t], base.logits[T + t]), 'the other sequence is untouched');
        }
        // The tap reads the edited value: base + vector (in the activation dtype).
        const delta = edited.taps.attn_out!.at(layer, 0).map((v, i) => v - base.taps.attn_out!.at(layer, 0)[i]);
        assert.ok(maxAbsDiff(delta, vector) <= fx.tol * 50, `tap = base + edit (off by ${maxAbsDiff(delta, vector)})`);
      }
    });

    test("head-output edits add at the projection input; replacing resid_post with another prompt's last value gives its logits", async () => {
      const { model } = loaded;
      const { nLayers: L, dModel: d } = model.info;
      const tokens = [fx.prompt];
      const p = 1;
      const vector = randomVector(3, d, 0.5);
      const base = await model.forward({ tokens, logits: rows(tokens, 0), taps: [{ seq: 0, pos: p }], tapSites: ['head_out', 'attn_out'] });
      const head = await model.forward({
        tokens,
        logits: rows(tokens, 0),
        edits: [{ site: 'head_out', seq: 0, pos: p, layer: 0, vector }],
        taps: [{ seq: 0, pos: p }],
        tapSites: ['head_out', 'attn_out'],
      });
      const delta = head.taps.head_out!.at(0, 0).map((v, i) => v - base.taps.head_out!.at(0, 0)[i]);
      assert.ok(maxAbsDiff(delta, vector) <= fx.tol * 50);
      assert.ok(!bitwiseEqual(head.taps.attn_out!.at(0, 0), base.taps.attn_out!.at(0, 0)), 'the projection sees the edit');
      assert.ok(bitwiseEqual(head.logits[0], base.logits[0]), 'earlier positions are untouched');

      // Another prompt's final residual, written into this one at the last layer, must give that prompt's logits
      // there: this checks the replacement and, for fused norms, the renormalization of the replaced rows.
      const other = [fx.prompt.slice(1).reverse()];
      const donor = await model.forward({
        tokens: other,
        logits: [{ seq: 0, pos: other[0].length - 1 }],
        taps: [{ seq: 0, pos: other[0].length - 1 }],
        tapSites: ['resid_post'],
      });
      const replaced: Edit = { site: 'resid_post', seq: 0, pos: p, layer: L - 1, vector: Float32Array.from(donor.taps.resid_post!.at(L - 1, 0)) };
      const r = await model.forward({
        tokens,
        logits: [
          { seq: 0, pos: p },
          { seq: 0, pos: p - 1 },
        ],
        edits: [replaced],
        taps: [{ seq: 0, pos: p }],
        tapSites: ['resid_post'],
      });
      assert.ok(maxAbsDiff(r.logits[0], donor.logits[0]) <= fx.tol * 10, `logits after replacement differ by ${maxAbsDiff(r.logits[0], donor.logits[0])}`);
      assert.ok(maxAbsDiff(r.taps.resid_post!.at(L - 1, 0), replaced.vector) <= fx.tol * 10, 'the tap reads the replacement');
      assert.ok(bitwiseEqual(r.logits[1], base.logits[p - 1]), 'earlier positions are untouched');
    });

    test("generation with the export's KV cache equals full recomputation, with and without steering", async () => {
      const { model } = loaded;
      const { dModel: d, nLayers: L } = model.info;
      const prompt = fx.prompt.slice(0, 3);
      const steer = [{ site: 'attn_out' as const, layer: Math.min(1, L - 1), vector: randomVector(11, d, 1) }];
      for (const everyNewToken of [undefined, steer]) {
        const g = await generate(model, prompt, { maxNewTokens: 6, stopAtEos: false, edits: everyNewToken && { everyNewToken } });
        const seq = [...prompt, ...g.tokens];
        const edits = everyNewToken ? g.tokens.slice(0, -1).map((_, i) => ({ ...steer[0], seq: 0, pos: prompt.length + i })) : [];
        const full = await model.forward({ tokens: [seq], edits, logits: g.tokens.map((_, i) => ({ seq: 0, pos: prompt.length - 1 + i })) });
        assert.deepEqual(full.logits.map(argmax), g.tokens, `greedy tokens match recomputation (${everyNewToken ? 'steered' : 'plain'})`);
      }
    });
  });
}

describe('exported decoders: the instrumented-graph cache', () => {
  test('a graph is instrumented once; an edited genai_config.json is a new entry', async () => {
    const folder = join(cacheDir, 'gpt2-copy');
    const ownCache = mkdtempSync(join(cacheDir, 'cache-'));
    cpSync(join(FIXTURES, CASES[0].name), folder, { recursive: true });
    const load = async () => {
      const logs: string[] = [];
      const { model } = await loadHubModel({ path: folder, cacheDir: ownCache, device: 'cpu', log: (m) => logs.push(m) });
      await model.dispose();
      return { instrumented: logs.some((l) => l.startsWith('Instrumenting ')), maxSeqLen: model.info.maxSeqLen };
    };
    assert.deepEqual(await load(), { instrumented: true, maxSeqLen: 512 });
    assert.deepEqual(await load(), { instrumented: false, maxSeqLen: 512 });
    const genai = JSON.parse(readFileSync(join(folder, 'genai_config.json'), 'utf8'));
    genai.model.context_length = 128;
    writeFileSync(join(folder, 'genai_config.json'), JSON.stringify(genai));
    assert.deepEqual(await load(), { instrumented: true, maxSeqLen: 128 });
  });
});

describe('exported decoders: errors', () => {
  test('a site pattern that matches nothing names what was looked for', async () => {
    await assert.rejects(
      loadHubModel({ path: join(FIXTURES, CASES[0].name), site: 'no_such_node_{l}', cacheDir, device: 'cpu', log: () => {} }),
      /no node or tensor matches the site pattern "no_such_node_\{l\}"/,
    );
  });
  test('edits at a bad layer or width are rejected before running, naming their site', async () => {
    const { model } = await loadHubModel({ path: join(FIXTURES, CASES[2].name), cacheDir, device: 'cpu', log: () => {} });
    try {
      await assert.rejects(
        model.forward({ tokens: [[1, 2]], edits: [{ site: 'head_out', seq: 0, pos: 0, layer: 9, vector: new Float32Array(64) }] }),
        /edits\[0\] at head_out: layer 9 is out of range/,
      );
      await assert.rejects(
        model.forward({ tokens: [[1, 2]], edits: [{ site: 'attn_out', seq: 0, pos: 0, layer: 0, vector: new Float32Array(3) }] }),
        /edits\[0\] at attn_out: vector has width 3/,
      );
      await assert.rejects(model.forward({ tokens: [Array(17).fill(1)] }), /at most 16/);
    } finally {
      await model.dispose();
    }
  });
});
