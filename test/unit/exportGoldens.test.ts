import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { UserError } from '../../src/core/errors';
import { generate } from '../../src/core/generate';
import { SITES, type Position, type Site } from '../../src/core/model';
import { argmax } from '../../src/core/sampling';
import { DecoderIO } from '../../src/runtime/hub/decoderIO';
import { loadHubModel, type LoadedHubModel } from '../../src/runtime/hub/loadHubModel';
import { loadTokenizer } from '../../src/runtime/tokenizer/loadTokenizer';
import { maxAbsDiff } from './fixtures';

/**
 * Our runtime on folders written by the real exporters (test/fixtures/exports/<folder>/, each with a
 * fixture.json naming its model, exporter and dtype) against goldens from PyTorch transformers
 * (test/goldens/exports/<model>.json) read by forward hooks at the attention output projection
 * (`self_attn.o_proj`, `attn.c_proj`, `attn.out_proj`, `attention.dense`): its output (attn_out), its
 * input (head_out, the heads concatenated) and the decoder block's output (resid_post). Both come from
 * `bash scripts/fixtures/regenerate.sh` (scripts/fixtures/README.md); this test needs no Python.
 *
 * Tolerances, relative to the golden row's largest |value|, per dtype:
 * - fp32: REL 1e-4. Only rounding differs (ONNX Runtime's MLAS GEMMs, softmax, exp and rsqrt sum in other
 *   orders than PyTorch's): measured ~1e-6 at widths 8 to 128 and two layers, so a factor of ~100 is
 *   left for other CPUs, while a wrong site, position or missed edit moves values by O(1) of the
 *   magnitude (the test checks the edit moves the logits by more than 100x the tolerance).
 * - q4 (ONNX Runtime's MatMulNBits quantizer) and int4 (the onnxruntime-genai builder): their goldens
 *   come from the same PyTorch model with the export's dequantized weights loaded (fixture.json
 *   `goldens`), so only rounding differs. q4: REL as fp32 (measured <= 1e-6). int4: 5e-2, because the
 *   builder sets MatMulNBits' accuracy_level 4 on CPU, where ONNX Runtime quantizes each block of
 *   activations to int8 (measured 1.4e-2 to 3.4e-2 here; ~1e-6 with accuracy_level removed); the
 *   edit still moves the logits by more than 10x that (0.68 of the row's max on Gemma 2, whose final
 *   soft-capping damps it; 1.1 to 1.4 elsewhere), and the test checks it does.
 * - fp16: the export's weights are rounded to fp16 and so are (most of) its activations: 1e-2,
 *   about ten fp16 units in the last place at the row's largest value (measured up to 2.4e-3).
 * - Every dtype is also held to plain ONNX Runtime on the unmodified export (EXPORT_REL, exact up to
 *   fp32 rounding; fp16: FP16_EXPORT_REL).
 */
const REL = 1e-4;
const DTYPE_REL: Record<string, number> = { fp32: REL, fp16: 1e-2, q4: REL, int4: 5e-2 };
/** Our instrumented graph against the unmodified export, any dtype: the same kernels on the same weights. */
const EXPORT_REL = 1e-5;
/**
 * fp16 only: instrumentation puts nodes between a projection and its residual add, so ONNX Runtime
 * fuses other nodes than on the export (an unfused add rounds to fp16 where a fused
 * SkipSimplifiedLayerNormalization sums in fp32). That is a rounding difference of the fp16
 * activations: bounded by two fp16 units in the last place at the row's largest value (2^-9 of
 * it; measured 4.6e-4 and 5.1e-4 on the fixtures, while the export itself, unfused against fused,
 * differs by 1e-4 to 2.7e-4). A wrong edit or a missed row moves logits by O(1) of that value.
 */
const FP16_EXPORT_REL = 2 ** -9;
/**
 * Known deviations of an export from transformers' eager model (plain ONNX Runtime on the unmodified
 * export differs by the same amount; not our runtime). Gemma 2: optimum-onnx traces transformers' SDPA
 * attention, which skips Gemma 2's attention soft-capping (attn_logit_softcapping); measured 2.5e-4 of
 * the logits' max here, the same as PyTorch's own SDPA model against eager. Remove once the export soft-caps.
 */
const EXPORT_DEVIATION: Record<string, number> = { gemma2: 1e-3 };
const EXPORTS = join(__dirname, '..', 'fixtures', 'exports');
const GOLDENS = join(__dirname, '..', 'goldens', 'exports');

interface Fixture {
  model: string;
  exporter: string;
  dtype: string;
  /**
   * The goldens it is checked against (default: its model's): a 4-bit export's come from the same
   * PyTorch model with the export's dequantized weights loaded, so that only activation rounding differs.
   */
  goldens?: string;
}

const goldensOf = (fx: Fixture) => join(GOLDENS, `${fx.goldens ?? fx.model}.json`);

interface Generation {
  tokens: number[];
  /** Smallest top-1 minus top-2 logit over the steps: how much error the greedy choice tolerates. */
  minGap: number;
}

interface Golden {
  model: string;
  modelType: string;
  layers: number;
  width: number;
  vocab: number;
  texts: string[] | null;
  tokens: number[][];
  logitPositions: number[][];
  /** The vocabulary ids the logit rows hold: start, start + step, ... (count of them). */
  logitIds: { start: number; step: number; count: number };
  /** [seq][k][logitIds] at logitPositions[seq][k]. */
  logits: number[][][];
  tapPositions: Position[];
  /** [layer][k][width] at tapPositions[k]. */
  attnOut: number[][][];
  headOut: number[][][];
  blockOut: number[][][];
  edit: Position & { layer: number; vector: number[] };
  editedLogits: number[][][];
  editedBlockOut: number[][][];
  generation: { prompt: number; newTokens: number; plain: Generation; steered: Generation };
}

const FOLDERS = existsSync(EXPORTS)
  ? readdirSync(EXPORTS)
      .filter((f) => existsSync(join(EXPORTS, f, 'fixture.json')))
      .sort()
  : [];

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const readJson = <T>(file: string) => JSON.parse(readFileSync(file, 'utf8')) as T;

/** Largest difference relative to the golden row's largest magnitude, over pairs of rows. */
class Worst {
  rel = 0;
  abs = 0;
  add(ours: ArrayLike<number>, golden: ArrayLike<number>): void {
    const diff = maxAbsDiff(ours, golden);
    this.abs = Math.max(this.abs, diff);
    this.rel = Math.max(this.rel, diff / Math.max(maxAbs(golden), 1e-30));
  }
  toString(): string {
    return `max |diff| = ${this.abs.toExponential(2)} (${this.rel.toExponential(2)} of the row's max |value|)`;
  }
}

/** The golden's vocabulary columns of a full logit row. */
function columns(row: Float32Array, ids: Golden['logitIds']): Float32Array {
  return Float32Array.from({ length: ids.count }, (_, i) => row[ids.start + i * ids.step]);
}

/** Plain ONNX Runtime on the unmodified export: logits [T, V] of one sequence. */
async function exportLogits(
  loaded: LoadedHubModel,
  folder: string,
  tokens: number[],
  graphOptimizationLevel: 'all' | 'disabled' = 'all',
): Promise<Float32Array[]> {
  const { summary } = loaded.instrumented;
  const genai = existsSync(join(folder, 'genai_config.json'))
    ? (readJson<{ model?: { decoder?: { inputs?: Record<string, unknown> } } }>(join(folder, 'genai_config.json')).model?.decoder?.inputs ?? {})
    : {};
  const session = await ort.InferenceSession.create(summary.onnxFile, {
    intraOpNumThreads: 2,
    graphOptimizationLevel,
    extra: { session: { model_external_initializers_file_folder_path: dirname(summary.onnxFile) } },
  });
  try {
    const out = await session.run(new DecoderIO(summary, genai).feeds(BigInt64Array.from(tokens, BigInt), 1, tokens.length));
    const V = out.logits.dims.at(-1)!;
    const data = out.logits.type === 'float16' ? Float32Array.from(out.logits.data as Uint16Array, f16) : (out.logits.data as Float32Array);
    return tokens.map((_, p) => data.slice(p * V, (p + 1) * V));
  } finally {
    await session.release();
  }
}

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

let cacheDir: string;
before(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'iv-export-goldens-'));
});
after(() => rmSync(cacheDir, { recursive: true, force: true }));

test('every exported fixture names its goldens, and they exist', () => {
  assert.ok(FOLDERS.length > 0, `no fixtures in ${EXPORTS} (bash scripts/fixtures/regenerate.sh)`);
  for (const f of FOLDERS) {
    const fx = readJson<Fixture>(join(EXPORTS, f, 'fixture.json'));
    assert.ok(fx.model && fx.exporter && fx.dtype in DTYPE_REL, `${f}/fixture.json: model, exporter and a dtype of ${Object.keys(DTYPE_REL).join(', ')}`);
    assert.ok(existsSync(goldensOf(fx)), `${f}: no goldens at ${goldensOf(fx)}`);
  }
});

for (const name of FOLDERS) {
  const folder = join(EXPORTS, name);
  const fx = readJson<Fixture>(join(folder, 'fixture.json'));
  describe(`${name}: ${fx.exporter}, ${fx.dtype}, against transformers`, () => {
    const tol = Math.max(DTYPE_REL[fx.dtype] ?? REL, EXPORT_DEVIATION[fx.model] ?? 0);
    let golden: Golden;
    let loaded: LoadedHubModel;
    /** Largest |logit difference| against the goldens (zero edits), for the generation check. */
    let logitError = Infinity;
    const logitRows = () => golden.logitPositions.flatMap((ps, seq) => ps.map((pos) => ({ seq, pos })));
    const edit = () => ({
      site: 'attn_out' as const,
      layer: golden.edit.layer,
      seq: golden.edit.seq,
      pos: golden.edit.pos,
      vector: Float32Array.from(golden.edit.vector),
    });
    before(async () => {
      golden = readJson<Golden>(goldensOf(fx));
      loaded = await loadHubModel({ path: folder, cacheDir, device: 'cpu', threads: 2, log: () => {} });
    });
    after(() => loaded?.model.dispose());

    test('every site is found in every layer', () => {
      const { sites, summary, manifest } = loaded.instrumented;
      assert.equal(summary.architecture, golden.modelType);
      assert.equal(sites.length, golden.layers);
      sites.forEach((s, l) => {
        assert.equal(s.layer, l);
        for (const site of SITES) assert.ok(s.tensors[site], `layer ${l} has a ${site} tensor (found by ${s.rule})`);
      });
      assert.deepEqual([...manifest.sites].sort(), [...SITES].sort());
      assert.equal(loaded.model.info.dModel, golden.width);
      assert.equal(loaded.model.info.vocabSize, golden.vocab);
    });

    test('zero edits: logits equal the unmodified export run by plain ONNX Runtime', async (t) => {
      const worst = new Worst();
      // For fp16, what the export itself gives fused against unfused, to show the size of fusion rounding.
      const spread = new Worst();
      for (const tokens of golden.tokens) {
        const expected = await exportLogits(loaded, folder, tokens);
        const r = await loaded.model.forward({ tokens: [tokens], logits: tokens.map((_, pos) => ({ seq: 0, pos })) });
        r.logits.forEach((row, p) => worst.add(row, expected[p]));
        if (fx.dtype === 'fp16') (await exportLogits(loaded, folder, tokens, 'disabled')).forEach((row, p) => spread.add(row, expected[p]));
      }
      const bound = fx.dtype === 'fp16' ? FP16_EXPORT_REL : EXPORT_REL;
      t.diagnostic(`${name} against the export: ${worst}${fx.dtype === 'fp16' ? `; the export unfused against fused: ${spread}` : ''}`);
      assert.ok(worst.rel <= bound, `${name}: ${worst}, beyond ${bound}`);
    });

    test('zero edits: logits and the attn_out, head_out and resid_post taps equal the PyTorch model', async (t) => {
      const r = await loaded.model.forward({ tokens: golden.tokens, logits: logitRows(), taps: golden.tapPositions, tapSites: [...SITES] });
      const logits = new Worst();
      golden.logits.flat().forEach((row, k) => logits.add(columns(r.logits[k], golden.logitIds), row));
      logitError = logits.abs;
      t.diagnostic(`${name} logits: ${logits}`);
      const expected: Record<Site, number[][][]> = { attn_out: golden.attnOut, head_out: golden.headOut, resid_post: golden.blockOut };
      const failures: string[] = [];
      for (const site of SITES) {
        const taps = new Worst();
        for (let l = 0; l < golden.layers; l++) golden.tapPositions.forEach((_, k) => taps.add(r.taps[site]!.at(l, k), expected[site][l][k]));
        t.diagnostic(`${name} ${site}: ${taps}`);
        if (!(taps.rel <= tol)) failures.push(`${site}: ${taps}`);
      }
      assert.ok(logits.rel <= tol, `${name} logits: ${logits}`);
      assert.deepEqual(failures, [], `${name} taps beyond ${tol}`);
    });

    test("an attn_out edit equals the same vector added by a forward hook at the projection's output", async (t) => {
      const r = await loaded.model.forward({
        tokens: golden.tokens,
        logits: logitRows(),
        edits: [edit()],
        taps: golden.tapPositions,
        tapSites: ['resid_post'],
      });
      const edited = new Worst();
      const plain = golden.logits.flat();
      let moved = 0;
      golden.editedLogits.flat().forEach((row, k) => {
        edited.add(columns(r.logits[k], golden.logitIds), row);
        moved = Math.max(moved, maxAbsDiff(row, plain[k]) / maxAbs(row));
      });
      const block = new Worst();
      for (let l = 0; l < golden.layers; l++) golden.tapPositions.forEach((_, k) => block.add(r.taps.resid_post!.at(l, k), golden.editedBlockOut[l][k]));
      t.diagnostic(`${name} edited logits: ${edited}; edited resid_post: ${block}; the edit moves the golden logits by ${moved.toExponential(2)} of their max`);
      assert.ok(moved > Math.max(100 * REL, 10 * tol), 'the golden edit is large enough for the test to see a misplaced one');
      assert.ok(edited.rel <= tol, `${name} edited logits: ${edited}`);
      assert.ok(block.rel <= tol, `${name} edited resid_post: ${block}`);
    });

    test('greedy generation (KV cache), plain and steered, equals transformers where the logit error cannot flip a choice', async (t) => {
      const prompt = golden.tokens[golden.generation.prompt];
      const { layer, vector } = golden.edit;
      const steer = {
        prompt: [{ site: 'attn_out' as const, layer, seq: 0, pos: prompt.length - 1, vector: Float32Array.from(vector) }],
        everyNewToken: [{ site: 'attn_out' as const, layer, vector: Float32Array.from(vector) }],
      };
      for (const [kind, edits] of [['plain', undefined] as const, ['steered', steer] as const]) {
        const ours = await generate(loaded.model, prompt, { maxNewTokens: golden.generation.newTokens, temperature: 0, stopAtEos: false, edits });
        const expected = golden.generation[kind];
        // The same greedy choices without the KV cache: a full forward per step, by our runtime.
        const ids = [...prompt];
        for (let i = 0; i < golden.generation.newTokens; i++) {
          const edits = kind === 'plain' ? [] : ids.slice(prompt.length - 1).map((_, k) => ({ ...steer.prompt[0], pos: prompt.length - 1 + k }));
          const r = await loaded.model.forward({ tokens: [ids], logits: [{ seq: 0, pos: ids.length - 1 }], edits });
          ids.push(argmax(r.logits[0]));
        }
        assert.deepEqual(ours.tokens, ids.slice(prompt.length), `${name} ${kind}: the KV-cached generation equals full forwards`);
        const comparable = expected.minGap > 4 * logitError;
        t.diagnostic(
          `${name} ${kind}: smallest top-2 gap ${expected.minGap} vs logit error ${logitError.toExponential(2)}: ${comparable ? 'compared' : 'too close to compare'}`,
        );
        if (comparable) assert.deepEqual(ours.tokens, expected.tokens, `${name} ${kind} generation`);
        else assert.ok(fx.dtype !== 'fp32', `${name}: fp32 generation must be comparable (gap ${expected.minGap}, error ${logitError})`);
      }
    });

    // Variant folders (fp16, 4-bit, other exporters) leave the tokenizer out; the base export keeps it.
    const hasTokenizer = existsSync(join(folder, 'tokenizer.json'));
    test(`the tokenizer ${hasTokenizer ? 'gives transformers’ ids for the golden texts' : 'is left out of this variant folder'}`, async () => {
      if (!hasTokenizer) return assert.ok(!golden.texts || name !== fx.model, `${name}: the base export of a real vocabulary keeps its tokenizer`);
      assert.ok(golden.texts, `${name}: a synthetic vocabulary has no tokenizer`);
      const tok = await loadTokenizer({ kind: 'hub', folder });
      golden.texts.forEach((text, i) => assert.deepEqual(tok.encode(text, { bos: tok.addBosToken ?? false }), golden.tokens[i], `"${text}"`));
    });
  });
}

test("the genai builder's windowed KV cache (a ring buffer for sliding-window layers) is refused, naming the input and the rebuild option", async () => {
  // The builder's default for Gemma 2 (windowed_kv_cache=true) names layer 0's cache length past_sliding_length.
  const folder = join(cacheDir, 'gemma2-windowed');
  cpSync(join(EXPORTS, 'gemma2-genai-fp32'), folder, { recursive: true });
  const file = join(folder, 'model.onnx');
  const model = fromBinary(ModelProtoSchema, readFileSync(file));
  for (const input of model.graph!.input.filter((i) => /^past_key_values\.0\./.test(i.name))) {
    const dims = input.type?.value.case === 'tensorType' ? input.type.value.value.shape!.dim : [];
    for (const d of dims) if (d.value.case === 'dimParam' && d.value.value === 'past_sequence_length') d.value.value = 'past_sliding_length';
  }
  writeFileSync(file, toBinary(ModelProtoSchema, model));
  await assert.rejects(
    loadHubModel({ path: folder, cacheDir, device: 'cpu', threads: 2, log: () => {} }),
    (e) =>
      e instanceof UserError &&
      /"past_key_values\.0\.key" is a sliding-window ring buffer \(axis "past_sliding_length"\).*--extra_options windowed_kv_cache=false/.test(e.message),
  );
});
