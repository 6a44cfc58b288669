// The custom editor of *.ivec.safetensors (viewType iterativeVectors.vectorEditor): provenance,
// per-layer norms, cosines, and buttons that run the other commands with the file.
'use strict';
const path = require('node:path');
const { helpers: h } = require('./_helpers');

module.exports = {
  'vscode.openWith opens a vector file in the vector editor; screenshot vector-editor.png': async (vscode, t) => {
    const file = await h.ensureVector(t);
    await h.closeAllEditors();
    await h.clearNotifications();
    const uri = vscode.Uri.file(file);
    await vscode.commands.executeCommand('vscode.openWith', uri, 'iterativeVectors.vectorEditor');
    const tab = await t.waitFor(
      () => {
        const x = vscode.window.tabGroups.activeTabGroup.activeTab;
        return x && x.input instanceof vscode.TabInputCustom ? x : undefined;
      },
      { timeout: 15_000, message: 'the active tab is not a custom editor' },
    );
    t.assert.equal(tab.input.viewType, 'iterativeVectors.vectorEditor');
    t.assert.equal(tab.input.uri.toString(), uri.toString());
    t.assert.equal(tab.label, path.basename(file));
    // The webview shows the file's name, its provenance and the per-layer tables.
    t.assert.equal(await t.ui.text('h1', { webview: true }), path.basename(file));
    const body = await t.ui.text('body', { webview: true });
    for (const s of ['stories15M', 'sentiment', 'Per-layer norms', 'Cosine similarity between class rows'])
      t.assert.ok(body.includes(s), `the editor does not show "${s}"`);
    for (const button of ['Evaluate', 'Steer a prompt', 'Show layers', 'Export GGUF'])
      await t.ui.waitForSelector(`button:has-text("${button}"):not([disabled])`, { webview: true });
    await h.screenshotAs(t, 'vector-editor');
    // Its "Show layers" button opens the layer-effects panel on this file, and a run starts.
    await t.ui.click('button:has-text("Show layers")', { webview: true });
    const panelTab = await t.waitFor(
      () => h.allTabs().find((x) => x.input instanceof vscode.TabInputWebview && x.input.viewType.endsWith('iterativeVectors.layers')),
      { timeout: 15_000, message: 'Show layers opened no panel' },
    );
    t.assert.equal(panelTab.label, `Layers: ${path.basename(file).replace(/\.ivec\.safetensors$/, '')}`);
    const rep = await vscode.commands.executeCommand('iterativeVectors.internal.lastPanelReport', { status: ['running', 'done'], timeoutMs: 30_000 });
    t.assert.ok(rep && !rep.timedOut, `no running report: ${JSON.stringify(rep && { status: rep.status, error: rep.error })}`);
    t.assert.equal(rep.file, file);
    await h.closeAllEditors();
  },

  'the vector editor is the default editor of *.ivec.safetensors (vscode.open)': async (vscode, t) => {
    await h.activate();
    await h.closeAllEditors();
    const uri = vscode.Uri.joinPath(h.folder(), 'vec/names.ivec.safetensors');
    await vscode.commands.executeCommand('vscode.open', uri);
    const tab = await t.waitFor(
      () => {
        const x = vscode.window.tabGroups.activeTabGroup.activeTab;
        return x && x.input instanceof vscode.TabInputCustom && x.input.uri.toString() === uri.toString() ? x : undefined;
      },
      { timeout: 15_000, message: 'vscode.open did not open the vector editor' },
    );
    t.assert.equal(tab.input.viewType, 'iterativeVectors.vectorEditor');
    t.assert.equal(await t.ui.text('h1', { webview: true }), 'names.ivec.safetensors');
    await h.closeAllEditors();
  },
};
module.exports.timeout = 90_000;
