// Select Model with an exported model folder: the tiny GPT-2 of ../shared/fixtures/third-party-onnx
// (onnxruntime-genai layout: genai_config.json + past.onnx + tokenizer.json), chosen programmatically,
// then evaluated, extracted from and steered through the commands' options objects. That model only
// has 1000 embeddings while its tokenizer is GPT-2's: every text here tokenizes to ids < 1000.
// The model settings are put back to their defaults afterwards, so later tests run on stories15M.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { helpers: h } = require('./_helpers');

const GPT2 = 'tiny-random-gpt2-ort-fused';
/** The model settings selectModel may write (all machine-scoped), reset after the test. */
const MODEL_SETTINGS = ['model', 'device', 'hub.dtype', 'hub.offline', 'sitePattern', 'tokenizer'];

/** 60 rows, two classes "A" / "B"; first words without a leading space (it, in, on, ...) and the rest with one are all GPT-2 ids < 1000. */
function tinyDataset() {
  const first = ['it', 'in', 'on', 'at', 'is', 'he', 'an', 'or'];
  const words = ['the', 'in', 'on', 'at', 'and', 'of', 'to', 'is', 'was', 'it', 'he', 'she', 'for', 'that', 'with', 'you', 'this', 'be', 'as', 'not'];
  const rows = [];
  for (let i = 0; i < 60; i++) {
    const n = 2 + (i % 4);
    const text = [first[i % first.length], ...Array.from({ length: n }, (_, j) => words[(i * 7 + j * 3) % words.length])].join(' ');
    rows.push(JSON.stringify({ text, label: i % 2 === 0 ? 'A' : 'B' }));
  }
  return rows.join('\n') + '\n';
}

async function resetModelSettings(vscode) {
  const config = vscode.workspace.getConfiguration('iterativeVectors');
  for (const key of MODEL_SETTINGS) await config.update(key, undefined, vscode.ConfigurationTarget.Global);
}

module.exports = {
  'an exported model folder (tiny GPT-2): selectModel checks and stores it; evaluate, extract and steerPrompt run on it; settings reset': async (vscode, t) => {
    const folder = t.sharedDir && path.join(t.sharedDir, 'fixtures', 'third-party-onnx', GPT2);
    t.assert.ok(
      folder && fs.existsSync(path.join(folder, 'genai_config.json')),
      `the third-party fixture ${folder} is missing (set IV_SHARED_DIR for run.mjs)`,
    );
    await h.activate();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iv-e2e-gpt2-'));
    const dataset = path.join(tmp, 'tiny.jsonl');
    fs.writeFileSync(dataset, tinyDataset());
    try {
      // A folder that holds no model: the programmatic call rejects naming the folder and what was looked for; nothing is written.
      const notes = path.join(t.workspace, 'notes');
      const bad = await vscode.commands.executeCommand('iterativeVectors.selectModel', { model: notes }).then(
        () => undefined,
        (e) => e,
      );
      t.assert.ok(bad instanceof Error, 'selectModel accepted a folder without a model');
      t.assert.match(bad.message, /field "model": no exported model in .*notes: looked for genai_config\.json .*onnx\/\*\.onnx .*\*\.onnx/);
      t.assert.equal(vscode.workspace.getConfiguration('iterativeVectors').get('model'), 'default');
      const unknown = await vscode.commands.executeCommand('iterativeVectors.selectModel', { model: folder, precision: 'fp16' }).then(
        () => undefined,
        (e) => e,
      );
      t.assert.match(String(unknown && unknown.message), /unknown option "precision"/);

      // The folder, with the loading options given explicitly.
      const selected = await vscode.commands.executeCommand('iterativeVectors.selectModel', { model: folder, device: 'cpu', dtype: 'auto', tokenizer: 'auto' });
      t.log('selectModel:', selected);
      t.assert.equal(selected.command, 'selectModel');
      t.assert.equal(selected.model, folder);
      t.assert.equal(selected.source, 'folder');
      t.assert.equal(selected.device, 'cpu');
      t.assert.equal(selected.dtype, 'auto');
      t.assert.equal(vscode.workspace.getConfiguration('iterativeVectors').get('model'), folder);

      // Evaluate plain ICL on it: the result names the model that ran.
      let started = Date.now();
      const ev = await vscode.commands.executeCommand('iterativeVectors.evaluate', {
        dataset,
        method: 'icl',
        shots: 1,
        episodes: 8,
        resamples: 0,
        results: path.join(tmp, 'tiny.icl.eval.json'),
      });
      t.log(`evaluate in ${Date.now() - started} ms (model load included):`, { model: ev && ev.model, n: ev && ev.n, accuracy: ev && ev.accuracy });
      t.assert.equal(ev.model.name, GPT2);
      t.assert.equal(ev.model.nLayers, 5);
      t.assert.equal(ev.model.dModel, 32);
      t.assert.equal(ev.model.executionProvider, 'cpu');
      t.assert.deepEqual(ev.model.fallbacks, []);
      t.assert.equal(ev.n, 8);
      t.assert.ok(fs.existsSync(ev.resultsPath), 'no results file');

      // Extract a small vector on it and steer a prompt with it (generation with the model's own KV cache).
      started = Date.now();
      const ex = await vscode.commands.executeCommand('iterativeVectors.extract', {
        dataset,
        method: 'iv',
        episodes: 4,
        shots: 1,
        batch: 2,
        out: path.join(tmp, 'tiny.iv.ivec.safetensors'),
      });
      t.log(`extract in ${Date.now() - started} ms:`, { model: ex && ex.model, artifact: ex && ex.artifactPath });
      t.assert.ok(ex && ex.artifactPath && fs.existsSync(ex.artifactPath), `extract returned ${JSON.stringify(ex)}`);
      t.assert.equal(JSON.parse(fs.readFileSync(ex.artifactPath.replace(/\.safetensors$/, '.json'), 'utf8')).model.name, GPT2);
      started = Date.now();
      const steer = await vscode.commands.executeCommand('iterativeVectors.steerPrompt', {
        text: 'it was in the',
        vector: ex.artifactPath,
        strength: 1,
        maxNewTokens: 4,
        temperature: 0,
      });
      t.log(`steerPrompt in ${Date.now() - started} ms:`, {
        steered: steer && steer.steered,
        unsteered: steer && steer.unsteered,
        promptTokens: steer && steer.promptTokens,
      });
      t.assert.equal(steer.prompt, 'it was in the');
      t.assert.equal(steer.promptTokens, 4, 'GPT-2 tokens of "it was in the" (no BOS)');
      t.assert.equal(steer.effects.perToken.length, 4);
      t.assert.equal(typeof steer.steered, 'string');
      t.assert.equal(typeof steer.unsteered, 'string');
    } finally {
      await resetModelSettings(vscode);
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    const config = vscode.workspace.getConfiguration('iterativeVectors');
    t.assert.equal(config.get('model'), 'default');
    t.assert.equal(config.get('hub.dtype'), 'auto');
  },

  'a hub model id typed in Select Model: validated, stored, downloaded from the hub (a local fake in the HF URL layout) and run': async (vscode, t) => {
    const folder = t.sharedDir && path.join(t.sharedDir, 'fixtures', 'third-party-onnx', GPT2);
    t.assert.ok(folder && fs.existsSync(path.join(folder, 'past.onnx')), `the third-party fixture ${folder} is missing (set IV_SHARED_DIR for run.mjs)`);
    // The GPT-2 fixture as a Transformers.js repo: config + tokenizer files and the graph as onnx/model.onnx.
    const files = {
      'config.json': path.join(folder, 'config.json'),
      'tokenizer.json': path.join(folder, 'tokenizer.json'),
      'tokenizer_config.json': path.join(folder, 'tokenizer_config.json'),
      'onnx/model.onnx': path.join(folder, 'past.onnx'),
    };
    const requests = [];
    const server = http.createServer((req, res) => {
      const m = /^\/tiny\/gpt2\/resolve\/main\/(.+)$/.exec(decodeURIComponent(new URL(req.url, 'http://x').pathname));
      requests.push(`${req.method} ${req.url}`);
      const file = m && files[m[1]];
      if (!file) return void res.writeHead(404).end('{"error":"Entry not found"}');
      const body = fs.readFileSync(file);
      // @huggingface/hub reads the size and the ETag of every file from a `Range: bytes=0-0` answer.
      const etag = `"${body.length}"`;
      if (req.headers.range === 'bytes=0-0')
        return void res.writeHead(206, { 'content-length': '1', 'content-range': `bytes 0-0/${body.length}`, etag }).end(body.subarray(0, 1));
      res.writeHead(200, { 'content-length': String(body.length), etag }).end(body);
    });
    await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
    // The model worker is created on the next load and copies this process's environment then.
    const savedEndpoint = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = `http://127.0.0.1:${server.address().port}/`;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iv-e2e-hub-'));
    const dataset = path.join(tmp, 'tiny.jsonl');
    fs.writeFileSync(dataset, tinyDataset());
    try {
      await h.activate();
      await t.ui.press('Escape');
      await t.ui.press('F1');
      await t.ui.waitForSelector('.quick-input-widget .quick-input-box input');
      await t.ui.type('Iterative Vectors: Select Model');
      await t.ui.waitForSelector('.quick-input-list .monaco-list-row:has-text("Iterative Vectors: Select Model")');
      await t.ui.press('Enter');
      await t.ui.waitForSelector(h.quickInput('The model every command runs (a machine setting)'), { timeout: 20_000 });
      await t.ui.type('Hugging Face hub');
      await t.ui.waitForSelector('.quick-input-list .monaco-list-row:has-text("Hugging Face hub model id")');
      await t.ui.press('Enter');
      await t.ui.waitForSelector(h.quickInput('owner/name[@revision]'), { timeout: 20_000 });
      // A malformed id is refused in the box itself.
      await t.ui.type('not a hub id');
      await t.ui.waitForSelector('.quick-input-widget .quick-input-message:has-text("owner/name")', { timeout: 10_000 });
      await t.ui.screenshot('select-model-hub-invalid');
      for (let i = 0; i < 'not a hub id'.length; i++) await t.ui.press('Backspace');
      await t.ui.type('tiny/gpt2');
      await t.ui.press('Enter');
      await t.waitFor(() => vscode.workspace.getConfiguration('iterativeVectors').get('model') === 'tiny/gpt2', {
        timeout: 20_000,
        message: 'the hub id was not stored in iterativeVectors.model',
      });

      // The next run downloads the repo through @huggingface/hub, instruments the graph and runs it.
      const ev = await vscode.commands.executeCommand('iterativeVectors.evaluate', {
        dataset,
        method: 'icl',
        shots: 1,
        episodes: 8,
        resamples: 0,
        results: path.join(tmp, 'hub.icl.eval.json'),
      });
      t.log('evaluate on the hub id:', { model: ev && ev.model, requests });
      t.assert.equal(ev.model.name, 'tiny/gpt2');
      t.assert.equal(ev.model.nLayers, 5);
      t.assert.equal(ev.n, 8);
      t.assert.ok(
        requests.some((r) => r.includes('/onnx/model.onnx')),
        'the graph was downloaded from the hub',
      );
    } finally {
      server.close();
      if (savedEndpoint === undefined) delete process.env.HF_ENDPOINT;
      else process.env.HF_ENDPOINT = savedEndpoint;
      await resetModelSettings(vscode);
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    t.assert.equal(vscode.workspace.getConfiguration('iterativeVectors').get('model'), 'default');
  },
};
module.exports.timeout = 120_000;
