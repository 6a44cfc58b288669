import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { readArtifact } from '../../src/node/artifactFiles';
import { loadHubTokenizer } from '../../src/runtime/tokenizer/hubTokenizer';
import { FIXTURES, REPO, SHARED } from './fixtures';

// Every CLI command on exported decoders: the three third-party fixtures (read in place) and the
// built-in model exported by `iv export-onnx` in the Transformers.js layout.
const CLI = join(REPO, 'dist', 'cli.js');
const GPT2 = join(FIXTURES, 'tiny-random-gpt2-ort-fused');
const LLAMA = join(FIXTURES, 'tiny-random-llama-genai-builder-fp16');
const MISTRAL = join(FIXTURES, 'tiny-mistral-mobius-opset24');

let dir: string;
let cacheDir: string;

async function iv(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args, '--threads', '2', '--cache-dir', cacheDir], { maxBuffer: 1 << 26 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

function writeJsonl(name: string, rows: { text: string; label: string }[]): string {
  const file = join(dir, name);
  writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return file;
}

/** Two classes whose texts come from two disjoint word pools. */
function twoPools(a: string[], b: string[], labels: [string, string], words: number, rows = 60): { text: string; label: string }[] {
  return Array.from({ length: rows }, (_, i) => {
    const pool = i % 2 ? b : a;
    const text = Array.from({ length: words }, (_, k) => pool[(i * 7 + k * 3) % pool.length]).join(' ');
    return { text, label: labels[i % 2] };
  });
}

const small = ['--episodes', '8', '--shots', '1', '--batch', '3'];

/** extract then eval (with the vectors) on a model folder; returns the eval JSON and the artifact. */
async function extractAndEval(model: string, data: string, extra: string[] = []) {
  const out = join(dir, `${model.split('/').pop()}.ivec.safetensors`);
  const x = await iv('extract', '--dataset', data, ...small, '--out', out, '--model', model, ...extra, '--json');
  assert.equal(x.code, 0, x.stderr);
  const e = await iv('eval', '--dataset', data, '--method', 'iv', '--vector', out, '--episodes', '12', '--shots', '1', '--model', model, ...extra, '--json');
  assert.equal(e.code, 0, e.stderr);
  return { metrics: JSON.parse(e.stdout), artifact: readArtifact(out) };
}

before(() => {
  assert.ok(existsSync(FIXTURES), `the third-party ONNX fixtures are missing at ${FIXTURES} (set IV_SHARED_DIR)`);
  dir = mkdtempSync(join(tmpdir(), 'iv-hubcli-'));
  cacheDir = join(dir, 'cache');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The real exporters' fixtures (scripts/fixtures) that carry a real tokenizer. */
const EXPORTS = join(REPO, 'test', 'fixtures', 'exports');
const WITH_TOKENIZER = readdirSync(EXPORTS)
  .filter((f) => existsSync(join(EXPORTS, f, 'fixture.json')) && existsSync(join(EXPORTS, f, 'tokenizer.json')))
  .sort();

describe("IV extract + eval through the CLI on the real exporters' fixtures, on SST-2 with the real tokenizers", () => {
  test('there are such fixtures', () => assert.ok(WITH_TOKENIZER.length >= 3, `fixtures with tokenizers: ${WITH_TOKENIZER.join(', ')}`));
  for (const name of WITH_TOKENIZER) {
    test(name, async () => {
      const folder = join(EXPORTS, name);
      const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as {
        hidden_size?: number;
        n_embd?: number;
        num_hidden_layers?: number;
        n_layer?: number;
      };
      const { metrics, artifact } = await extractAndEval(folder, join(SHARED, 'datasets', 'sst2'));
      assert.equal(metrics.n, 12);
      assert.equal(artifact.metadata.model.name, name);
      const layers = config.num_hidden_layers ?? config.n_layer!;
      for (let l = 0; l < layers; l++)
        assert.deepEqual(
          artifact.tensors.get(`blocks.${l}.attn_out`)?.shape,
          [3, config.hidden_size ?? config.n_embd],
          `layer ${l}: one row per class and the query row`,
        );
    });
  }
});

describe('CLI on exported decoders', () => {
  test('Llama fp16 (onnxruntime-genai builder): generate, extract, eval', async () => {
    const g = await iv('generate', 'Once upon a time', '--model', LLAMA, '--max-new-tokens', '4', '--json');
    assert.equal(g.code, 0, g.stderr);
    const gen = JSON.parse(g.stdout);
    assert.equal(gen.tokens.length, 4);
    assert.deepEqual(gen.promptTokens.slice(0, 1), [1], "the tokenizer's BOS (1), not genai_config's (0)");
    const happy = ['sun', 'cake', 'party', 'song', 'toy'];
    const sad = ['rain', 'broke', 'lost', 'sick', 'dropped'];
    const data = writeJsonl('pets.jsonl', twoPools(happy, sad, ['happy', 'sad'], 3));
    const { metrics, artifact } = await extractAndEval(LLAMA, data);
    assert.equal(metrics.n, 12);
    assert.equal(artifact.metadata.model.name, 'tiny-random-llama-genai-builder-fp16');
    assert.deepEqual(artifact.tensors.get('blocks.1.attn_out')?.shape, [3, 16]);
    // The baselines need the other two sites: Task Vectors replace resid_post, Function Vectors add at head_out.
    for (const method of ['tv', 'fv']) {
      const r = await iv(
        'eval',
        '--dataset',
        data,
        '--method',
        method,
        '--episodes',
        '10',
        '--ext-episodes',
        '6',
        '--ext-shots',
        '1',
        '--shots',
        '1',
        '--val-episodes',
        '6',
        '--effect-episodes',
        '2',
        '--top-heads',
        '1',
        '--model',
        LLAMA,
        '--json',
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).name, method);
    }
  });

  test('GPT-2 fused (onnxruntime converter): generate on ids, extract, eval on texts within its 1000 ids', async () => {
    const g = await iv('generate', '--ids', '5,17,42,99,7', '--model', GPT2, '--max-new-tokens', '1', '--json');
    assert.equal(g.code, 0, g.stderr);
    assert.deepEqual(JSON.parse(g.stdout).tokens, [401], 'the fixture README records argmax 401 for this prompt');
    // The tiny model has 1000 embeddings of GPT-2's 50257-token vocabulary: build texts from words below id 1000.
    const tok = await loadHubTokenizer(GPT2);
    const words: string[] = [];
    for (let id = 256; id < 1000 && words.length < 40; id++) {
      const w = tok.decode([id]);
      // A word opens the prompt without its leading space: both spellings must fit.
      const fits = (s: string) => tok.encode(s, { prefixSpace: false }).every((t) => t < 1000);
      if (/^ [a-z]{3,}$/.test(w) && tok.encode(w, { prefixSpace: false }).join() === String(id) && fits(w.trim())) words.push(w.trim());
    }
    const data = writeJsonl('gpt2.jsonl', twoPools(words.slice(0, 20), words.slice(20), ['on', 'in'], 3));
    const { metrics } = await extractAndEval(GPT2, data);
    assert.equal(metrics.n, 12);
    // Text beyond the model's vocabulary is refused with the position named, not silently clipped.
    const outside = await iv('generate', 'Hello world', '--model', GPT2, '--max-new-tokens', '1');
    assert.notEqual(outside.code, 0);
    assert.match(outside.stderr, /token id \d+ is outside the vocabulary 0\.\.999/);
  });

  test('Mistral (mobius, static cache, no tokenizer): ids, an explicit byte tokenizer, and a clear error without one', async () => {
    const g = await iv('generate', '--ids', '1,2,3', '--model', MISTRAL, '--max-new-tokens', '3', '--json');
    assert.equal(g.code, 0, g.stderr);
    assert.equal(JSON.parse(g.stdout).tokens.length, 3);
    const data = writeJsonl('bytes.jsonl', twoPools(['a', 'b', 'c'], ['x', 'y', 'z'], ['Y', 'N'], 1));
    const noTokenizer = await iv('extract', '--dataset', data, ...small, '--out', join(dir, 'none.ivec.safetensors'), '--model', MISTRAL);
    assert.notEqual(noTokenizer.code, 0);
    assert.match(noTokenizer.stderr, /has no tokenizer\.json.*--tokenizer bytes/);
    assert.ok(!existsSync(join(dir, 'none.ivec.safetensors')), 'nothing is written');
    const { metrics } = await extractAndEval(MISTRAL, data, ['--tokenizer', 'bytes']);
    assert.equal(metrics.n, 12);
    // Its static cache holds 16 positions: longer prompts are refused by name.
    const long = await iv('generate', '--ids', Array(17).fill(1).join(','), '--model', MISTRAL);
    assert.match(long.stderr, /context of 16/);
  });

  test('iv bench on an exported decoder times the instrumented graph against the export itself', async () => {
    const r = await iv('bench', '--model', GPT2, '--runs', '1', '--json');
    assert.equal(r.code, 0, r.stderr);
    const b = JSON.parse(r.stdout);
    assert.equal(b.model, 'tiny-random-gpt2-ort-fused');
    for (const ms of [b.prefill.exportMs, b.prefill.zeroEditMs, b.prefill.instrumentedMs]) assert.ok(ms > 0);
    assert.ok(b.generation.tokensPerSecond > 0 && b.generation.exportTokensPerSecond > 0);
  });

  test('iv check-device compares a provider with the CPU and refuses a provider that did not start', async () => {
    const same = await iv('check-device', '--device', 'cpu', '--model', LLAMA, '--runs', '1', '--json');
    assert.equal(same.code, 0, same.stderr);
    const r = JSON.parse(same.stdout);
    assert.equal(r.ok, true);
    assert.equal(r.maxAbsLogitDiff, 0, 'one provider, one graph: identical values');
    assert.equal(r.argmaxAgreement, 1);
    assert.equal(r.generation.sameTokens, true);
    // This machine may or may not have a WebGPU adapter: either the check runs, or it says why it cannot.
    const gpu = await iv('check-device', '--device', 'webgpu', '--model', LLAMA, '--runs', '1', '--json');
    if (gpu.code === 2) assert.match(gpu.stderr, /webgpu did not start, so there is nothing to compare: webgpu: /);
    else assert.equal(JSON.parse(gpu.stdout).provider, 'webgpu');
  });

  test('a model that is neither a folder, a file nor a hub id is a clear error', async () => {
    const r = await iv('generate', 'hi', '--model', join(dir, 'nope'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /model not found: .*nope/);
    const variant = await iv('generate', '--ids', '1,2', '--model', LLAMA, '--dtype', 'q4');
    assert.equal(variant.code, 2);
    assert.match(variant.stderr, /no model_q4\.onnx in .*tiny-random-llama-genai-builder-fp16/);
    const offline = await iv('generate', 'hi', '--model', 'someone/some-model', '--offline');
    assert.equal(offline.code, 2);
    assert.match(offline.stderr, /someone\/some-model/);
  });
});
