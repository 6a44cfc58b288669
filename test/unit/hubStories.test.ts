import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { generate } from '../../src/core/generate';
import type { ForwardRequest, Site } from '../../src/core/model';
import { readArtifact } from '../../src/node/artifactFiles';
import { defaultCacheDir } from '../../src/runtime/embedded/embeddedModel';
import { loadModel, type LoadedModel } from '../../src/runtime/loadModel';
import { embeddedModel, maxAbsDiff } from './fixtures';

// The end-to-end test of the hub path on a real trained model: stories15M exported by `iv export-onnx`
// in the Transformers.js layout (standard ops, HF rotate_half weight order, Optimum I/O names), then
// loaded like any hub folder (site discovery, instrumentation, its own KV cache) must agree with the
// embedded graph built directly from the llama2.c checkpoint.
const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const TOL = 2e-4;
let dir: string;
let folder: string;
let hub: LoadedModel;

async function iv(...args: string[]) {
  const threads = args[0] === 'export-onnx' ? [] : ['--threads', '2'];
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args, ...threads, '--cache-dir', defaultCacheDir()], { maxBuffer: 1 << 26 });
  return stdout;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'iv-hubstories-'));
  folder = join(dir, 'stories15M-hf');
  await iv('export-onnx', '--out', folder);
  hub = await loadModel({ model: folder, cacheDir: join(dir, 'cache'), threads: 2 });
});
after(async () => {
  await hub?.model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('stories15M exported in the Transformers.js layout, run through the hub path', () => {
  test('same shape and tokenizer as the embedded model', async () => {
    const embedded = await embeddedModel();
    const { sha256: _a, name: _b, ...shape } = hub.model.info;
    const { sha256: _c, name: _d, ...expected } = embedded.model.info;
    assert.deepEqual(shape, expected);
    const text = 'Once upon a time, Lily saw a "big" dog. It was 3 years old!';
    assert.deepEqual(hub.tokenizer.encode(text, { bos: true }), embedded.tokenizer.encode(text, { bos: true }));
  });

  test('logits and every site tap at every layer match the embedded graph', async () => {
    const embedded = await embeddedModel();
    const tokens = [
      embedded.tokenizer.encode('Once upon a time, there was a little girl', { bos: true }),
      embedded.tokenizer.encode('The cat sat', { bos: true }),
    ];
    const sites: Site[] = ['attn_out', 'head_out', 'resid_post'];
    const req: ForwardRequest = {
      tokens,
      logits: tokens.flatMap((seq, s) => seq.map((_, pos) => ({ seq: s, pos }))),
      taps: [
        { seq: 0, pos: 3 },
        { seq: 1, pos: 2 },
      ],
      tapSites: sites,
    };
    const a = await hub.model.forward(req);
    const b = await embedded.model.forward(req);
    let worst = 0;
    a.logits.forEach((row, i) => (worst = Math.max(worst, maxAbsDiff(row, b.logits[i]))));
    assert.ok(worst <= TOL, `logits differ by ${worst}`);
    for (const site of sites)
      assert.ok(maxAbsDiff(a.taps[site]!.data, b.taps[site]!.data) <= TOL, `${site} taps differ by ${maxAbsDiff(a.taps[site]!.data, b.taps[site]!.data)}`);
  });

  test("greedy generation through the export's KV cache gives the embedded model's tokens", async () => {
    const embedded = await embeddedModel();
    const prompt = embedded.tokenizer.encode('Once upon a time', { bos: true });
    const viaHub = await generate(hub.model, prompt, { maxNewTokens: 40, stopAtEos: false });
    const viaEmbedded = await generate(embedded.model, prompt, { maxNewTokens: 40, stopAtEos: false });
    assert.deepEqual(viaHub.tokens, viaEmbedded.tokens);
  });

  test('iv extract and eval through the CLI agree with the embedded model', async () => {
    const data = join(dir, 'pets.jsonl');
    const happy = ['The dog played in the sun', 'Lily got a new toy', 'They ate cake at the party', 'Tom found his ball', 'The bird sang a song'];
    const sad = ['The toy broke', 'Ben lost his hat', 'It rained all day', 'The cat was sick', 'Mia dropped her ice cream'];
    writeFileSync(
      data,
      `${Array.from({ length: 60 }, (_, i) => JSON.stringify({ text: `${(i % 2 ? sad : happy)[i % 5]} ${i}`, label: i % 2 ? 'sad' : 'happy' })).join('\n')}\n`,
    );
    const run = async (model: string) => {
      const out = join(dir, `${model === 'default' ? 'embedded' : 'hub'}.ivec.safetensors`);
      await iv('extract', '--dataset', data, '--episodes', '8', '--shots', '1', '--batch', '3', '--out', out, '--model', model);
      const metrics = JSON.parse(
        await iv('eval', '--dataset', data, '--method', 'iv', '--vector', out, '--episodes', '40', '--shots', '1', '--model', model, '--json'),
      );
      return { metrics, artifact: readArtifact(out) };
    };
    const viaHub = await run(folder);
    const viaEmbedded = await run('default');
    for (const [name, t] of viaEmbedded.artifact.tensors) {
      const other = viaHub.artifact.tensors.get(name)!;
      assert.ok(maxAbsDiff(other.data, t.data) <= 1e-3, `${name} differs by ${maxAbsDiff(other.data, t.data)}`);
    }
    assert.ok(
      Math.abs(viaHub.metrics.accuracy - viaEmbedded.metrics.accuracy) <= 1 / 40,
      `accuracy ${viaHub.metrics.accuracy} vs ${viaEmbedded.metrics.accuracy}`,
    );
  });
});
