import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UserError } from '../../src/core/errors';
import type { Edit, Position } from '../../src/core/model';
import { inspectModel } from '../../src/runtime/hub/inspect';
import { loadHubModel, type LoadedHubModel } from '../../src/runtime/hub/loadHubModel';
import { findDecoderSites } from '../../src/runtime/hub/mergedDecoder';
import { readModelFolder } from '../../src/runtime/hub/modelFolder';
import { maxAbsDiff } from './fixtures';

/**
 * Our runtime on an Optimum merged decoder (`onnx/decoder_model_merged.onnx`: an If on
 * `use_cache_branch` over the decoders with and without past, the older Transformers.js layout),
 * written by `scripts/fixtures/make_merged.py` from the tiny random Llama of test/fixtures/exports/smollm,
 * against that model's transformers goldens (forward hooks at o_proj).
 * A prompt runs the branch without past, each generated token the branch with it; both are checked.
 * Tolerance as in exportGoldens.test.ts: fp32, 1e-4 of the golden row's largest |value|.
 */
const REL = 1e-4;
const FOLDER = join(__dirname, '..', 'fixtures', 'merged', 'smollm');
const GOLDEN = join(__dirname, '..', 'goldens', 'merged', 'smollm.json');

interface Golden {
  layers: number;
  tokens: number[][];
  logitPositions: number[][];
  /** The vocabulary ids the logit rows hold: start, start + step, ... (count of them). */
  logitIds: { start: number; step: number; count: number };
  /** [seq][k][logitIds] at logitPositions[seq][k]. */
  logits: number[][][];
  tapPositions: Position[];
  /** [layer][k][width] at tapPositions[k]: the projection's output, its input, the block's output. */
  attnOut: number[][][];
  headOut: number[][][];
  blockOut: number[][][];
  edit: Position & { layer: number; vector: number[] };
  editedLogits: number[][][];
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
/** The difference of a full logit or activation row from a golden row, relative to the golden row's largest magnitude. */
const rel = (ours: ArrayLike<number>, expected: ArrayLike<number>) => {
  const { start, step } = expected.length === ours.length ? { start: 0, step: 1 } : golden.logitIds;
  const picked = Float32Array.from({ length: expected.length }, (_, i) => ours[start + i * step]);
  return maxAbsDiff(picked, expected) / Math.max(maxAbs(expected), 1e-30);
};

let cacheDir: string;
let golden: Golden;
let loaded: LoadedHubModel;
before(async () => {
  cacheDir = mkdtempSync(join(tmpdir(), 'iv-merged-'));
  golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Golden;
  loaded = await loadHubModel({ path: FOLDER, cacheDir, device: 'cpu', threads: 2, log: () => {} });
});
after(async () => {
  await loaded?.model.dispose();
  rmSync(cacheDir, { recursive: true, force: true });
});

const logitRows = () => golden.logitPositions.flatMap((ps, seq) => ps.map((pos) => ({ seq, pos })));
const goldenEdit = (): Edit => {
  const { layer, seq, pos, vector } = golden.edit;
  return { site: 'attn_out', layer, seq, pos, vector: Float32Array.from(vector) };
};

/** Generates sequence 0 token by token after a prompt of `prompt` tokens; the logits at the golden positions, by position. */
async function generate(prompt: number, edits: { prompt?: Edit[]; at?: number } = {}): Promise<Map<number, Float32Array>> {
  const tokens = golden.tokens[0];
  const session = await loaded.model.startDecoding();
  const out = new Map<number, Float32Array>();
  out.set(prompt - 1, await session.prefill(tokens.slice(0, prompt), edits.prompt));
  const { layer, site, vector } = goldenEdit();
  for (let pos = prompt; pos < tokens.length; pos++) out.set(pos, await session.step(tokens[pos], pos === edits.at ? [{ layer, site, vector }] : []));
  session.dispose();
  return out;
}

describe('Optimum merged decoder (If on use_cache_branch) against transformers', () => {
  test('sites are found in every layer of both branches, by the module path', () => {
    const { sites, merged, manifest } = loaded.instrumented;
    assert.ok(merged, 'the graph is recognised as a merged decoder');
    assert.equal(merged.condition, 'use_cache_branch');
    assert.deepEqual(sites, merged.else, 'the sites reported are those of the branch a prompt runs');
    for (const branch of [merged.then, merged.else]) {
      assert.equal(branch.length, golden.layers);
      branch.forEach((s, l) => {
        assert.equal(s.layer, l);
        assert.equal(s.rule, 'node-name');
        assert.match(s.tensors.attn_out, new RegExp(`^/model/layers\\.${l}/self_attn/o_proj/MatMul`));
      });
    }
    assert.ok(manifest.sites.includes('attn_out'));
    assert.equal(loaded.model.info.nLayers, golden.layers);
    assert.deepEqual(inspectModel(FOLDER).merged, merged, 'inspect reports the same branch sites');
  });

  test('zero edits: the logits and the attn_out taps equal the PyTorch model', async (t) => {
    const r = await loaded.model.forward({ tokens: golden.tokens, logits: logitRows(), taps: golden.tapPositions, tapSites: ['attn_out'] });
    const expected = golden.logits.flat();
    const logits = Math.max(...r.logits.map((row, k) => rel(row, expected[k])));
    const taps = Math.max(...golden.attnOut.flatMap((rows, l) => rows.map((row, k) => rel(r.taps.attn_out!.at(l, k), row))));
    t.diagnostic(`logits: ${logits.toExponential(2)}, attn_out: ${taps.toExponential(2)} of the row's max |value|`);
    assert.ok(logits <= REL, `logits differ by ${logits} of the row's max`);
    assert.ok(taps <= REL, `attn_out taps differ by ${taps} of the row's max`);
  });

  test("an attn_out edit equals the same vector added by a forward hook at o_proj's output", async (t) => {
    const r = await loaded.model.forward({ tokens: golden.tokens, logits: logitRows(), edits: [goldenEdit()] });
    const expected = golden.editedLogits.flat();
    const plain = golden.logits.flat();
    const edited = Math.max(...r.logits.map((row, k) => rel(row, expected[k])));
    const moved = Math.max(...expected.map((row, k) => rel(plain[k], row)));
    t.diagnostic(`edited logits: ${edited.toExponential(2)} of the row's max; the edit moves them by ${moved.toExponential(2)}`);
    assert.ok(moved > 100 * REL, 'the golden edit is large enough to see a misplaced one');
    assert.ok(edited <= REL, `edited logits differ by ${edited} of the row's max`);
  });

  test('generation with the cache (the with-past branch) equals the PyTorch model, plain and edited', async (t) => {
    const { pos: editPos, seq } = golden.edit;
    assert.equal(seq, 0);
    const positions = golden.logitPositions[0];
    const check = (label: string, got: Map<number, Float32Array>, expected: number[][]) => {
      const worst = Math.max(...positions.map((pos, k) => rel(got.get(pos)!, expected[k])));
      t.diagnostic(`${label}: ${worst.toExponential(2)} of the row's max`);
      assert.ok(worst <= REL, `${label}: logits differ by ${worst} of the row's max`);
    };
    // Prompt of 2 tokens, then steps: every golden position is a step.
    check('plain generation', await generate(2), golden.logits[0]);
    // The edit inside the prompt: later steps read it from the cache.
    check('edit in the prompt', await generate(editPos + 1, { prompt: [goldenEdit()] }), golden.editedLogits[0]);
    // The edit at a step: applied in the with-past branch.
    check('edit at a step', await generate(editPos, { at: editPos }), golden.editedLogits[0]);
  });

  test('a merged graph this runtime cannot run is refused, naming the If and the branch', () => {
    const computed = readModelFolder(FOLDER).graph;
    computed.node[0].input[0] = 'computed_condition';
    assert.throws(
      () => findDecoderSites(computed, 'llama'),
      (e) => e instanceof UserError && /If node "optimum::if", whose condition "computed_condition" is computed/.test(e.message),
    );
    assert.throws(
      () => findDecoderSites(readModelFolder(FOLDER).graph, 'llama', { override: '^no_such_node_{l}$' }),
      (e) => e instanceof UserError && /^in the then_branch \("with_past"\) of the merged decoder's If node "optimum::if": no node or tensor/.test(e.message),
    );
  });
});
