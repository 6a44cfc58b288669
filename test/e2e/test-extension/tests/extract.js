// iterativeVectors.extract on the embedded model (stories15M) and the fixture data/sentiment.jsonl:
// programmatically (an options object: no prompts, a JSON result), through the command palette's
// multi-step QuickPick (driven with the keyboard), and cancelled from the progress notification.
'use strict';
const path = require('node:path');
const { helpers: h } = require('./_helpers');
const { pickStep, editField } = h;

module.exports = {
  'programmatic: an options object extracts on the embedded model and returns the artifact as JSON': async (vscode, t) => {
    await h.activate();
    const before = await h.listIv();
    const started = Date.now();
    const r = await vscode.commands.executeCommand('iterativeVectors.extract', { dataset: 'data/sentiment.jsonl', ...h.SMALL });
    t.log(`extracted in ${Date.now() - started} ms (model load included):`, {
      artifact: r?.artifactPath,
      method: r?.method,
      labels: r?.labels,
      options: r?.options && { episodes: r.options.episodes, shots: r.options.shots, refreshEvery: r.options.refreshEvery },
      model: r?.model?.name,
      timings: r?.timings && { ms: Math.round(r.timings.ms), forwardPasses: r.timings.forwardPasses },
    });
    t.assert.equal(r.command, 'extract');
    t.assert.equal(r.method, 'iterative-vectors');
    t.assert.deepEqual([...r.labels].sort(), ['negative', 'positive']);
    t.assert.equal(r.model.name, 'stories15M');
    t.assert.equal(r.model.nLayers, 6);
    t.assert.equal(r.options.episodes, 8);
    t.assert.equal(r.options.shots, 1);
    t.assert.equal(r.options.refreshEvery, 3);
    t.assert.ok(r.timings.forwardPasses > 0);
    // The artifact and its sidecar are in the workspace's .iv folder (seen through workspace.fs).
    const ivDir = h.ivDir();
    t.assert.equal(path.dirname(r.artifactPath), ivDir.fsPath);
    const name = path.basename(r.artifactPath);
    t.assert.match(name, /^sentiment\.iv(-\d+)?\.ivec\.safetensors$/);
    const after = await h.listIv();
    t.assert.deepEqual(after.filter((n) => !before.includes(n)).sort(), [name, name.replace(/\.safetensors$/, '.json')].sort());
    t.assert.deepEqual(h.tempFilesIn(after), []);
    const stat = await vscode.workspace.fs.stat(vscode.Uri.joinPath(ivDir, name));
    t.assert.ok(stat.size > 1000, `artifact is ${stat.size} bytes`);
    const sidecar = await h.readJson(vscode.Uri.parse(r.sidecar));
    t.assert.equal(sidecar.method, 'iterative-vectors');
    t.assert.equal(sidecar.model.nLayers, 6);
    t.assert.equal(sidecar.dataset.sha256, r.dataset.sha256);
    h.state.vector = r.artifactPath;
  },

  "one recipe, two faces: the CLI re-runs the extension's artifact from its recipe, byte for byte; so does the Re-run command": async (vscode, t) => {
    await h.activate();
    t.assert.ok(h.state.vector, 'the programmatic extraction ran first');
    const ext = vscode.extensions.all.find((e) => e.packageJSON.name === 'iterative-vectors' && e.packageJSON.publisher === 'iterative-vectors');
    const cli = path.join(ext.extensionPath, 'dist', 'cli.js');
    const { execFileSync } = require('node:child_process');
    // The CLI face: its own parser, the same use case; exit 1 (an exception here) when any tensor byte differs.
    const out = execFileSync(process.execPath, [cli, 'rerun', h.state.vector, '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 240000,
    });
    const report = JSON.parse(out.trim().split('\n').pop());
    t.log('CLI rerun of the extension artifact:', report);
    t.assert.equal(report.identical, true, report.difference);
    // The extension face: the Re-run command (the vector editor's button) on the same file.
    const r = await vscode.commands.executeCommand('iterativeVectors.rerun', { vector: h.state.vector });
    t.assert.equal(r.command, 'rerun');
    t.assert.equal(r.identical, true, r.difference);
  },

  'palette: F1 > Extract Vectors, QuickPick steps (dataset, method, review with edited options) write an artifact to .iv': async (vscode, t) => {
    await h.activate();
    await h.clearNotifications();
    const before = h.artifactsIn(await h.listIv());
    // The palette itself (t.ui.command would wait for the palette to close, which the wizard's QuickPick never lets happen).
    await t.ui.press('Escape');
    await t.ui.press('F1');
    await t.ui.waitForSelector('.quick-input-widget .quick-input-box input');
    await t.ui.type('Iterative Vectors: Extract Vectors');
    await t.ui.waitForSelector('.quick-input-list .monaco-list-row:has-text("Iterative Vectors: Extract Vectors")');
    await t.ui.press('Enter');
    // Step 1: the dataset (the workspace's files are listed, then the built-ins).
    await pickStep(t, 'Dataset', 'sentiment.jsonl');
    // Step 2: the method (iv is preselected).
    await pickStep(t, 'Which vectors to extract', undefined);
    // Step 3: review; small hyperparameters through the fields' InputBoxes.
    await editField(t, 'episodes', 8);
    await editField(t, 'shots', 1);
    await editField(t, 'batch', 3);
    await t.ui.waitForSelector(h.quickInput('Review the options, then run'));
    await t.ui.waitForSelector('.quick-input-list .monaco-list-row:has-text("episodes = 8")');
    await t.ui.waitForSelector('.quick-input-list .monaco-list-row:has-text("batch = 3")');
    await t.ui.screenshot('extract-review');
    await t.ui.type('Extract');
    await t.ui.waitForSelector('.quick-input-list .monaco-list-row:has-text("Extract")');
    await t.ui.press('Enter');
    await t.ui.waitForSelector('.quick-input-widget', { state: 'hidden' });
    // The run reports in a notification, then the artifact appears in .iv.
    const created = await t.waitFor(
      async () => {
        const now = h.artifactsIn(await h.listIv()).filter((n) => !before.includes(n));
        return now.length ? now : undefined;
      },
      { timeout: 120_000, interval: 250, message: 'no new artifact in .iv after the palette run' },
    );
    t.assert.equal(created.length, 1, created.join(', '));
    const name = created[0];
    const sidecarUri = vscode.Uri.joinPath(h.ivDir(), name.replace(/\.safetensors$/, '.json'));
    const sidecar = await t.waitFor(() => h.readJson(sidecarUri), { timeout: 10_000, message: `no sidecar for ${name}` });
    t.log(
      'palette artifact',
      name,
      sidecar.options && { episodes: sidecar.options.episodes, shots: sidecar.options.shots, refreshEvery: sidecar.options.refreshEvery },
    );
    t.assert.equal(sidecar.method, 'iterative-vectors');
    t.assert.equal(sidecar.options.episodes, 8);
    t.assert.equal(sidecar.options.shots, 1);
    t.assert.equal(sidecar.options.refreshEvery, 3);
    t.assert.match(sidecar.dataset.source, /sentiment\.jsonl$/);
    // The "extracted" notification offers Open / Evaluate.
    const done = h.toast(`into ${name}`);
    await t.ui.waitForSelector(done, { timeout: 20_000 });
    t.assert.match(await t.ui.text(done), /extracted iterative-vectors \((positive \/ negative|negative \/ positive)\)/);
    for (const button of ['Open', 'Evaluate']) await t.ui.waitForSelector(`${done} .monaco-button:has-text("${button}")`);
    await t.ui.screenshot('extract-done');
    t.assert.deepEqual(h.tempFilesIn(await h.listIv()), []);
    // Its "Open" button opens the artifact in the vector editor.
    await t.ui.click(`${done} .monaco-button:has-text("Open")`);
    const tab = await t.waitFor(() => h.allTabs().find((x) => x.input instanceof vscode.TabInputCustom && x.input.uri.path.endsWith(`/.iv/${name}`)), {
      timeout: 20_000,
      message: 'Open did not open the artifact',
    });
    t.assert.equal(tab.input.viewType, 'iterativeVectors.vectorEditor');
    t.assert.equal(await t.ui.text('h1', { webview: true }), name);
    await h.clearNotifications();
    await h.closeAllEditors();
  },

  "cancel: the progress notification's Cancel button stops a long extraction and nothing is written": async (vscode, t) => {
    await h.activate();
    await h.clearNotifications();
    const before = await h.listIv();
    const run = vscode.commands.executeCommand('iterativeVectors.extract', { dataset: 'data/sentiment.jsonl', episodes: 20000, shots: 1, batch: 3 });
    let settled;
    run.then(
      (v) => (settled = { value: v }),
      (e) => (settled = { error: e }),
    );
    // Wait until the episodes are running ("extracting iv: n/40000", two passes per episode), then press Cancel on that notification.
    const progress = h.toast('extracting iv: ');
    await t.ui.waitForSelector(progress, { timeout: 60_000 });
    t.log('progress before cancel:', (await t.ui.text(`${progress} .notification-list-item-message`)).trim());
    await t.ui.screenshot('extract-cancelling');
    t.assert.equal(settled, undefined, 'the run ended before it was cancelled');
    await t.ui.click(`${progress} .monaco-button:has-text("Cancel")`);
    const started = Date.now();
    const result = await Promise.race([run, t.sleep(30_000).then(() => 'still running 30 s after Cancel')]);
    t.log(`ended ${Date.now() - started} ms after Cancel:`, result);
    t.assert.deepEqual(result, { cancelled: true });
    await t.ui.waitForSelector(h.toast('extract cancelled; nothing was written'), { timeout: 10_000 });
    // No artifact, no sidecar, no temporary file.
    await t.sleep(500);
    const after = await h.listIv();
    t.assert.deepEqual(
      after.filter((n) => !before.includes(n)),
      [],
      'files written by a cancelled run',
    );
    t.assert.deepEqual(h.tempFilesIn(after), []);
    await h.clearNotifications();
  },
};
module.exports.timeout = 180_000;
