// Issue 13, "Broken": a sweep run from the palette command is found by the layer-effects panel
// (the vectors it writes record their rows file); the vector editor's "Steer a prompt" shows both
// completions side by side (the diff inline steering's Compare opens); and vectors made with another
// tokenizer are refused by inline steering and the panel, as evaluate refuses them.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { helpers: h } = require('./_helpers');

const PROMPT = 'Review: The soundtrack was lovely but the story never came together. Sentiment:';

/** Small sweep options: 2 configurations of 4 extraction episodes, 4 validation and 4 test episodes. */
const SMALL_SWEEP = {
  dataset: 'data/sentiment.jsonl',
  shotsGrid: [1],
  extGrid: [0.3],
  evalGrid: [0.5, 1],
  noIterGrid: [],
  extEpisodes: 4,
  batch: 2,
  valEpisodes: 4,
  episodes: 4,
  resamples: 0,
};

/** The diff tabs showing iv-steer: documents. */
const steerDiffTabs = (vscode) => h.allTabs().filter((tab) => tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.scheme === 'iv-steer');

/** Text as compared with what the editor shows: no white space (the view puts each line in its own element, spaces as U+00A0). */
const squeeze = (s) => s.replace(/[\s\u00a0]+/g, '');

module.exports = {
  'a sweep from the palette command (iterativeVectors.sweep), then showLayers on its vectors: the panel finds that sweep; screenshot issue13-sweep-panel.png':
    async (vscode, t) => {
      await h.activate();
      await h.closeAllEditors();
      await h.clearNotifications();
      const before = new Set(await h.listIv());
      const started = Date.now();
      const r = await vscode.commands.executeCommand('iterativeVectors.sweep', SMALL_SWEEP);
      t.log(`sweep in ${Date.now() - started} ms:`, r && { artifact: r.artifact, rowsFile: r.rowsFile, rows: r.rows?.length });
      t.assert.ok(r && r.artifact && r.rowsFile, `the sweep returned ${JSON.stringify(r)}`);
      const written = (await h.listIv()).filter((n) => !before.has(n));
      try {
        t.assert.equal(r.rows.length, 2);
        const vectors = vscode.Uri.parse(r.artifact);
        const rows = vscode.Uri.parse(r.rowsFile);
        t.assert.match(path.basename(vectors.fsPath), /^sentiment(-\d+)?\.iv-sweep\.ivec\.safetensors$/);
        t.assert.equal(path.dirname(rows.fsPath), path.dirname(vectors.fsPath));
        const shown = await vscode.commands.executeCommand('iterativeVectors.showLayers', { vector: vectors, episodes: 2 });
        t.assert.ok(shown && shown.panelId, `showLayers returned ${JSON.stringify(shown)}`);
        const rep = await vscode.commands.executeCommand('iterativeVectors.internal.lastPanelReport', {
          panelId: shown.panelId,
          status: ['done', 'failed'],
          runId: shown.runId,
          timeoutMs: 150_000,
        });
        t.log('panel report:', rep && { status: rep.status, error: rep.error, sweepResults: rep.sweepResults, charts: rep.charts.map((c) => c.id) });
        t.assert.ok(rep && !rep.timedOut, 'no report from the panel');
        t.assert.equal(rep.status, 'done', rep.error ?? undefined);
        // The panel draws the sweep's grid (k=1, b=2): a1 0.3 by a2 0.5 and 1, both scored.
        const id = `heatmap-k${SMALL_SWEEP.shotsGrid[0]}-b${SMALL_SWEEP.batch}`;
        const heatmap = rep.charts.find((c) => c.id === id);
        t.assert.ok(heatmap, `no sweep heatmap ${id}; charts: ${rep.charts.map((c) => c.id).join(', ')}`);
        t.assert.deepEqual(heatmap.labels, ['0.5', '1']);
        t.assert.deepEqual(
          heatmap.datasets.map((d) => [d.label, d.points]),
          [['0.3', 2]],
        );
        // What the panel shows under the heading.
        t.assert.equal(await t.ui.text('#section-heatmap .note', { webview: true }), `From ${rows.fsPath}.`);
        // The report names the rows file; one stem names both files, and the vectors record their rows file.
        t.assert.equal(rep.sweepResults, rows.fsPath);
        t.assert.equal(path.basename(rows.fsPath), path.basename(vectors.fsPath).replace(/\.iv-sweep\.ivec\.safetensors$/, '.sweep.jsonl'));
        const sidecar = JSON.parse(fs.readFileSync(vectors.fsPath.replace(/\.safetensors$/, '.json'), 'utf8'));
        t.assert.equal(sidecar.options.sweepResults, path.basename(rows.fsPath));

        await t.ui.waitForSelector('#section-heatmap table.grid', { webview: true });
        await vscode.commands.executeCommand('workbench.action.closeSidebar');
        await t.ui.click('#section-heatmap h2', { webview: true });
        await t.sleep(500);
        await h.screenshotAs(t, 'issue13-sweep-panel');
      } finally {
        await vscode.commands.executeCommand('workbench.view.explorer');
        await h.closeAllEditors();
        for (const name of written) await vscode.workspace.fs.delete(vscode.Uri.joinPath(h.ivDir(), name), { useTrash: false });
      }
    },

  'the vector editor\'s "Steer a prompt": asks for a prompt, then the unsteered and steered completions show side by side; screenshot issue13-steer-from-editor.png':
    async (vscode, t) => {
      const file = await h.ensureVector(t);
      await h.closeAllEditors();
      await h.clearNotifications();
      const uri = vscode.Uri.file(file);
      await vscode.commands.executeCommand('vscode.openWith', uri, 'iterativeVectors.vectorEditor');
      await t.waitFor(
        () => {
          const x = vscode.window.tabGroups.activeTabGroup.activeTab;
          return x && x.input instanceof vscode.TabInputCustom && x.input.uri.toString() === uri.toString() ? x : undefined;
        },
        { timeout: 15_000, message: 'the vector editor did not open' },
      );
      await t.ui.waitForSelector('button:has-text("Steer a prompt"):not([disabled])', { webview: true });
      await t.ui.click('button:has-text("Steer a prompt")', { webview: true });
      // The prompt InputBox (it may hold the last prompt run: replaced).
      await t.ui.waitForSelector('.quick-input-widget:has-text("prompt to steer") .quick-input-box input', { timeout: 20_000 });
      await t.ui.press('Control+A');
      await t.ui.type(PROMPT);
      await t.ui.press('Enter');
      try {
        const tab = await t.waitFor(() => steerDiffTabs(vscode)[0], { timeout: 90_000, message: '"Steer a prompt" showed no completions (no diff opened)' });
        t.assert.match(tab.label, /^unsteered ↔ steered \(a=[-0-9.]+\) · /);
        t.assert.ok(tab.label.includes(path.basename(file).replace(/\.ivec\.safetensors$/, '')), tab.label);
        const [left, right] = await Promise.all([vscode.workspace.openTextDocument(tab.input.original), vscode.workspace.openTextDocument(tab.input.modified)]);
        const unsteered = left.getText();
        const steered = right.getText();
        t.log('completions:', { unsteered: unsteered.slice(PROMPT.length), steered: steered.slice(PROMPT.length) });
        t.assert.ok(unsteered.startsWith(PROMPT) && steered.startsWith(PROMPT), 'the documents do not start with the prompt');
        t.assert.ok(unsteered.length > PROMPT.length && steered.length > PROMPT.length, 'an empty completion');
        // Both completions are on screen, side by side.
        await t.ui.waitForSelector('.monaco-diff-editor.side-by-side', { timeout: 20_000 });
        await t.sleep(1000);
        const shown = {
          unsteered: await t.ui.text('.monaco-diff-editor .editor.original .view-lines'),
          steered: await t.ui.text('.monaco-diff-editor .editor.modified .view-lines'),
        };
        t.assert.equal(squeeze(shown.unsteered), squeeze(unsteered), `the left side shows ${JSON.stringify(shown.unsteered)}`);
        t.assert.equal(squeeze(shown.steered), squeeze(steered), `the right side shows ${JSON.stringify(shown.steered)}`);
        // For the screenshot: the full width, and the completions wrapped so that all of them shows.
        await vscode.commands.executeCommand('workbench.action.closeSidebar');
        await vscode.commands.executeCommand('editor.action.toggleWordWrap');
        await t.sleep(800);
        await h.screenshotAs(t, 'issue13-steer-from-editor');
        await vscode.commands.executeCommand('editor.action.toggleWordWrap');
      } finally {
        await vscode.commands.executeCommand('workbench.view.explorer');
        await h.clearNotifications();
        await h.closeAllEditors();
      }
    },

  'vectors made with another tokenizer: inline steering and the layer panel refuse them, naming both tokenizer hashes': async (vscode, t) => {
    const file = await h.ensureVector(t);
    await h.closeAllEditors();
    // A copy whose metadata names another tokenizer (same length: the header keeps its size).
    const sidecar = JSON.parse(fs.readFileSync(file.replace(/\.safetensors$/, '.json'), 'utf8'));
    const ours = sidecar.tokenizerSha256;
    t.assert.match(ours, /^[0-9a-f]{64}$/);
    const other = ours.replace(/[0-9a-f]/g, (c) => (c === 'f' ? '0' : 'f'));
    const bytes = fs.readFileSync(file);
    const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
    const header = bytes.subarray(8, headerEnd).toString('utf8');
    t.assert.ok(header.includes(ours), 'the header does not hold the tokenizer hash');
    const dir = path.join(t.workspace, 'tmp-issue13');
    const copy = path.join(dir, 'other-tokenizer.ivec.safetensors');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(copy, Buffer.concat([bytes.subarray(0, 8), Buffer.from(header.split(ours).join(other), 'utf8'), bytes.subarray(headerEnd)]));
    const mismatch = new RegExp(`tokenizer sha256 ${other} vs ${ours} differ`);
    try {
      await t.assert.rejects(
        Promise.resolve(vscode.commands.executeCommand('iterativeVectors.steerPrompt', { text: PROMPT, vector: copy, maxNewTokens: 4 })),
        (e) => {
          t.log('steerPrompt:', e.message);
          return mismatch.test(e.message) && e.message.includes('other-tokenizer.ivec.safetensors');
        },
      );
      const shown = await vscode.commands.executeCommand('iterativeVectors.showLayers', { vector: copy, episodes: 2 });
      const rep = await vscode.commands.executeCommand('iterativeVectors.internal.lastPanelReport', {
        panelId: shown.panelId,
        status: ['done', 'failed'],
        runId: shown.runId,
        timeoutMs: 60_000,
      });
      t.log('panel:', rep && { status: rep.status, error: rep.error });
      t.assert.ok(rep && !rep.timedOut, 'no report from the panel');
      t.assert.equal(rep.status, 'failed');
      t.assert.match(rep.error, mismatch);
      // These vectors have no sweep: the note says how to make one, from the palette or the CLI.
      const note = await t.ui.text('#section-heatmap .note', { webview: true });
      t.assert.ok(note.includes('"Iterative Vectors: Sweep Hyperparameters…" from the Command Palette') && note.includes('CLI: iv sweep'), note);
      // No evaluation ran: the effects charts have no points.
      t.assert.ok(!rep.charts.some((c) => c.id.startsWith('effect-') && c.datasets.some((d) => d.points > 0)), 'the panel evaluated the vectors');
    } finally {
      await h.clearNotifications();
      await h.closeAllEditors();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
module.exports.timeout = 240_000;
