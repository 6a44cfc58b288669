// Untrusted input in the extension: workspace settings cannot choose the model, and user text
// (label names, file names) reaches the webviews as text under a CSP that runs no inline script.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { helpers: h } = require('./_helpers');

/**
 * Label names a hostile dataset could carry: markup that would run or render if it were not escaped
 * (each starts with its own word, as the label words must start with different tokens).
 */
const HOSTILE = ['good<img src=x onerror="window.__ivPwned=1">', 'bad<b>bold</b>'];

module.exports = {
  "a workspace's settings.json cannot point the extension at a model or a provider": async (vscode, t) => {
    await h.activate();
    const settings = path.join(t.workspace, '.vscode', 'settings.json');
    fs.mkdirSync(path.dirname(settings), { recursive: true });
    fs.writeFileSync(settings, JSON.stringify({ 'iterativeVectors.model': '/tmp/evil/model.onnx', 'iterativeVectors.device': 'cuda' }));
    try {
      // VS Code reads the file (its workspace value is seen) but machine-scoped settings ignore it.
      await t
        .waitFor(() => vscode.workspace.getConfiguration('iterativeVectors').inspect('model')?.workspaceValue === '/tmp/evil/model.onnx', {
          timeout: 15_000,
          message: 'VS Code did not read the workspace settings',
        })
        .catch(() => undefined);
      const config = vscode.workspace.getConfiguration('iterativeVectors');
      t.assert.equal(config.get('model'), 'default');
      t.assert.equal(config.get('device'), 'cpu');
      // A run loads the model of the user settings.
      const r = await vscode.commands.executeCommand('iterativeVectors.extract', { dataset: 'data/sentiment.jsonl', ...h.SMALL });
      t.assert.ok(r && r.artifactPath, `extraction returned ${JSON.stringify(r)}`);
      t.assert.equal(JSON.parse(fs.readFileSync(r.artifactPath.replace(/\.safetensors$/, '.json'), 'utf8')).model.name, 'stories15M');
    } finally {
      fs.rmSync(path.dirname(settings), { recursive: true, force: true });
    }
  },

  'hostile label names are shown as text in the vector editor and the layer panel; an inline script does not run': async (vscode, t) => {
    await h.activate();
    await h.closeAllEditors();
    await h.clearNotifications();
    const rows = Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `Tom had a ${i % 2 ? 'bad' : 'good'} day ${i}`, label: HOSTILE[i % 2] }));
    const data = path.join(t.workspace, 'data', 'hostile.jsonl');
    fs.writeFileSync(data, rows.join('\n') + '\n');
    const r = await vscode.commands.executeCommand('iterativeVectors.extract', { dataset: 'data/hostile.jsonl', ...h.SMALL });
    t.assert.ok(r && r.artifactPath, `extraction returned ${JSON.stringify(r)}`);
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(r.artifactPath), 'iterativeVectors.vectorEditor');
    await t.ui.waitForSelector('h1', { webview: true });
    const body = await t.ui.text('body', { webview: true });
    for (const label of HOSTILE) t.assert.ok(body.includes(label), `the editor does not show the label ${label} as text`);
    t.assert.equal(await t.ui.count('img, b', { webview: true }), 0, 'a label became markup in the vector editor');
    t.assert.deepEqual(await t.ui.inlineScript(), { ran: false }, 'an inline script ran in the vector editor');
    await h.screenshotAs(t, 'security-vector-editor');
    await h.closeAllEditors();

    const panel = await vscode.commands.executeCommand('iterativeVectors.showLayers', { vector: r.artifactPath, episodes: 4 });
    t.assert.ok(panel && panel.panelId, `showLayers returned ${JSON.stringify(panel)}`);
    const rep = await vscode.commands.executeCommand('iterativeVectors.internal.lastPanelReport', {
      panelId: panel.panelId,
      status: ['done', 'failed'],
      runId: panel.runId,
      timeoutMs: 120_000,
    });
    t.assert.equal(rep && rep.status, 'done', rep && rep.error);
    const text = await t.ui.text('body', { webview: true });
    t.assert.ok(text.includes(HOSTILE[1]), 'the panel does not show the label as text');
    t.assert.equal(await t.ui.count('img, b', { webview: true }), 0, 'a label became markup in the panel');
    t.assert.deepEqual(await t.ui.inlineScript(), { ran: false }, 'an inline script ran in the panel');
    await h.closeAllEditors();
    fs.rmSync(data, { force: true });
  },
};
module.exports.timeout = 240_000;
