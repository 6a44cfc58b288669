// The layer-effects panel (iterativeVectors.showLayers): the webview reports what it drew through
// iterativeVectors.internal.lastPanelReport. The first test runs on the vector extract.js wrote; the
// second (written by the panel's author against this harness) on the fixture vec/names.ivec.safetensors
// (stdlib:first-names, 30 episodes) with a sweep results file next to it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { helpers: h } = require('./_helpers');

const chartSummary = (charts) => charts.map((c) => [c.id, c.labels.length, c.datasets.map((d) => d.points).join('/')]);

module.exports = {
  'on the extracted vector: every chart has data for the 6 layers, screenshot panel.png': async (vscode, t) => {
    const file = await h.ensureVector(t);
    await h.closeAllEditors();
    await h.clearNotifications();
    const started = Date.now();
    const r = await vscode.commands.executeCommand('iterativeVectors.showLayers', { vector: file, episodes: 12 });
    t.assert.ok(r && r.panelId, `showLayers returned ${JSON.stringify(r)}`);
    t.assert.equal(r.file, file);
    t.assert.equal(typeof r.runId, 'number');
    const rep = await vscode.commands.executeCommand('iterativeVectors.internal.lastPanelReport', {
      panelId: r.panelId,
      status: ['done', 'failed'],
      runId: r.runId,
      timeoutMs: 150_000,
    });
    t.log(`report after ${Date.now() - started} ms:`, { status: rep?.status, error: rep?.error, charts: rep && chartSummary(rep.charts) });
    t.assert.ok(rep && !rep.timedOut, 'no report from the panel');
    t.assert.equal(rep.status, 'done', rep.error ?? undefined);
    t.assert.equal(rep.file, file);
    t.assert.deepEqual(rep.envelope, [1, 1, 1, 1, 1, 1]);
    // Where the model runs, as the panel shows it under the title.
    t.assert.equal(rep.runtime, 'Model stories15M runs on cpu');
    t.assert.equal(await t.ui.text('#runtime', { webview: true }), rep.runtime);
    const byId = new Map(rep.charts.map((c) => [c.id, c]));
    const chart = (id) => {
      const c = byId.get(id);
      t.assert.ok(c, `no chart ${id}; charts: ${[...byId.keys()].join(', ')}`);
      t.assert.ok(c.datasets.length > 0, `${id} has no datasets`);
      return c;
    };
    // Per-layer charts: one label and one point per layer, in every dataset.
    for (const id of ['effect-accuracy', 'effect-macroF1', 'effect-margin', 'norms']) {
      const c = chart(id);
      t.assert.equal(c.labels.length, 6, `${id}: ${c.labels.length} labels`);
      for (const d of c.datasets) t.assert.equal(d.points, 6, `${id} / ${d.label}: ${d.points} points`);
    }
    // Norms: the query row and one row per class.
    t.assert.equal(chart('norms').datasets.length, 3);
    // Convergence: one point per refresh after the first (the sidecar's history).
    const sidecar = JSON.parse(fs.readFileSync(file.replace(/\.safetensors$/, '.json'), 'utf8'));
    const changes = sidecar.history.filter((x) => x.relativeChange !== null).length;
    t.assert.ok(changes > 0, 'no refresh in the history');
    t.assert.equal(chart('convergence').datasets[0].points, changes);
    // Confusion matrices of ICL and IV: 2 classes x 2.
    for (const id of ['confusion-icl', 'confusion-iv']) {
      const c = chart(id);
      t.assert.equal(c.kind, 'grid');
      t.assert.equal(c.labels.length, 2);
      t.assert.equal(c.datasets.length, 2);
      for (const d of c.datasets) t.assert.equal(d.points, 2);
    }
    // The panel is the active tab, a webview of viewType iterativeVectors.layers.
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    t.assert.ok(tab.input instanceof vscode.TabInputWebview && tab.input.viewType.endsWith('iterativeVectors.layers'), `active tab: ${tab.label}`);
    await t.ui.waitForSelector('canvas', { webview: true });
    await t.sleep(500); // the charts' entry animation
    await h.screenshotAs(t, 'panel');
  },

  'layer panel: show, report, envelope rerun, save, cancel': async (vscode, t) => {
    await h.activate();
    await h.closeAllEditors();
    const file = path.join(t.workspace, 'vec/names.ivec.safetensors');
    // The sweep results the panel finds next to the artifact (kept under another name in the fixture, so
    // that the fixture's *.jsonl are the datasets only; removed again at the end).
    const sweep = path.join(t.workspace, 'vec/names.sweep.jsonl');
    fs.copyFileSync(path.join(t.workspace, 'vec/names.sweep-rows.txt'), sweep);
    try {
      const started = Date.now();
      const r = await vscode.commands.executeCommand('iterativeVectors.showLayers', { vector: file, episodes: 12 });
      t.log('show result', r);
      t.assert.ok(r && r.panelId && r.runId !== null);
      const rep = await vscode.commands.executeCommand('iterativeVectors.internal.lastPanelReport', {
        panelId: r.panelId,
        status: ['done', 'failed'],
        timeoutMs: 180000,
      });
      t.log(
        'report after',
        Date.now() - started,
        'ms:',
        JSON.stringify({ status: rep.status, runId: rep.runId, error: rep.error, charts: chartSummary(rep.charts) }),
      );
      await t.ui.screenshot('panel-done');
      t.assert.equal(rep.status, 'done', rep.error);
      const ids = rep.charts.map((c) => c.id);
      for (const id of ['effect-accuracy', 'effect-macroF1', 'effect-margin', 'norms', 'convergence', 'confusion-icl', 'confusion-iv', 'heatmap-k1-b10'])
        t.assert.ok(ids.includes(id), id);
      // A second call with an envelope reruns (the first run is done; a new run id).
      const r2 = await vscode.commands.executeCommand('iterativeVectors.showLayers', { vector: file, envelope: [1, 0, 1, 1, 0.5, 1] });
      t.assert.equal(r2.panelId, r.panelId);
      const rep2 = await vscode.commands.executeCommand('iterativeVectors.internal.lastPanelReport', {
        panelId: r.panelId,
        status: 'done',
        runId: r2.runId,
        timeoutMs: 180000,
      });
      t.log('rerun', JSON.stringify({ status: rep2.status, runId: rep2.runId, envelope: rep2.envelope }));
      t.assert.deepEqual(rep2.envelope, [1, 0, 1, 1, 0.5, 1]);
      // Save from the webview.
      await t.ui.click('#save-envelope', { webview: true });
      await t.waitFor(
        () => {
          const side = JSON.parse(fs.readFileSync(path.join(t.workspace, 'vec/names.ivec.json'), 'utf8'));
          return JSON.stringify(side.layerStrengths) === JSON.stringify([1, 0, 1, 1, 0.5, 1]);
        },
        { timeout: 20000, message: 'layerStrengths saved in the sidecar' },
      );
      await t.waitFor(
        () => {
          const bytes = fs.readFileSync(file);
          const headerLen = Number(bytes.readBigUInt64LE(0));
          const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8'));
          return JSON.stringify(JSON.parse(header.__metadata__.iv).layerStrengths) === JSON.stringify([1, 0, 1, 1, 0.5, 1]);
        },
        { timeout: 20000, message: 'layerStrengths saved in the artifact' },
      );
      t.assert.deepEqual(
        fs.readdirSync(path.join(t.workspace, 'vec')).filter((f) => f.includes('.tmp')),
        [],
      );
      // A long run, cancelled from the webview.
      const r3 = await vscode.commands.executeCommand('iterativeVectors.showLayers', { vector: file, episodes: 400 });
      await vscode.commands.executeCommand('iterativeVectors.internal.lastPanelReport', {
        panelId: r.panelId,
        status: 'running',
        runId: r3.runId,
        timeoutMs: 30000,
      });
      await t.sleep(1500);
      await t.ui.screenshot('panel-running');
      await t.ui.click('#cancel', { webview: true });
      const rep3 = await vscode.commands.executeCommand('iterativeVectors.internal.lastPanelReport', {
        panelId: r.panelId,
        status: ['cancelled', 'done', 'failed'],
        runId: r3.runId,
        timeoutMs: 60000,
      });
      t.log(
        'after cancel',
        JSON.stringify({ status: rep3.status, runId: rep3.runId, charts: rep3.charts.map((c) => [c.id, c.datasets.map((d) => d.points).join('/')]) }),
      );
      t.assert.equal(rep3.status, 'cancelled');
      // A long run superseded by a new one: only the new one finishes.
      const r4 = await vscode.commands.executeCommand('iterativeVectors.showLayers', { vector: file, episodes: 400 });
      await t.sleep(800);
      const r5 = await vscode.commands.executeCommand('iterativeVectors.showLayers', { vector: file, episodes: 12, envelope: [1, 1, 1, 1, 1, 1] });
      const rep5 = await vscode.commands.executeCommand('iterativeVectors.internal.lastPanelReport', {
        panelId: r.panelId,
        status: ['done', 'failed'],
        runId: r5.runId,
        timeoutMs: 120000,
      });
      t.log('superseded', r4.runId, '->', JSON.stringify({ status: rep5.status, runId: rep5.runId, error: rep5.error }));
      t.assert.equal(rep5.runId, r5.runId);
      t.assert.equal(rep5.status, 'done');
      await t.ui.screenshot('panel-cancelled');
      // Hide and show: the webview is rebuilt (retainContextWhenHidden false) and reports again.
      await vscode.commands.executeCommand('workbench.action.files.newUntitledFile');
      await t.sleep(500);
      await vscode.commands.executeCommand('workbench.action.navigateBack');
      await vscode.commands.executeCommand('iterativeVectors.showLayers', { vector: file, run: false });
      const rep4 = await t.waitFor(
        async () => {
          const x = await vscode.commands.executeCommand('iterativeVectors.internal.lastPanelReport', { panelId: r.panelId });
          return x && x.sequence <= 3 && x.charts.length >= 8 ? x : undefined;
        },
        { timeout: 20000, message: 'a rebuilt webview reports its charts' },
      );
      t.log('after re-show', JSON.stringify({ status: rep4.status, seq: rep4.sequence, n: rep4.charts.length }));
    } finally {
      fs.rmSync(sweep, { force: true });
      await h.closeAllEditors();
    }
  },
};
module.exports.timeout = 240_000;
