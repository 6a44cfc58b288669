// iterativeVectors.evaluate through the command palette's multi-step QuickPick (driven with the
// keyboard): pick the vector, keep the dataset its provenance names, edit the episodes in the
// review, run; the results JSON lands next to the vector.
'use strict';
const path = require('node:path');
const { helpers: h } = require('./_helpers');
const { pickStep, editField } = h;

module.exports = {
  'palette: F1 > Evaluate, pick the vector, 8 episodes in the review: a results JSON next to the vector': async (vscode, t) => {
    const vector = await h.ensureVector(t);
    await h.clearNotifications();
    const before = await h.listIv();
    await t.ui.press('Escape');
    await t.ui.press('F1');
    await t.ui.waitForSelector('.quick-input-widget .quick-input-box input');
    await t.ui.type('Iterative Vectors: Evaluate');
    await t.ui.waitForSelector('.quick-input-list .monaco-list-row:has-text("Iterative Vectors: Evaluate")');
    await t.ui.press('Enter');
    const name = path.basename(vector);
    await pickStep(t, 'Vectors to evaluate', name.replace(/\.ivec\.safetensors$/, ''), name);
    // The vector's provenance names its dataset: it is the active row.
    await pickStep(t, 'Dataset', undefined);
    await editField(t, 'episodes', 8);
    await t.ui.waitForSelector('.quick-input-list .monaco-list-row:has-text("episodes = 8")');
    await t.ui.screenshot('evaluate-review');
    await t.ui.type('Evaluate');
    await t.ui.waitForSelector('.quick-input-list .monaco-list-row:has-text("Evaluate")');
    await t.ui.press('Enter');
    await t.ui.waitForSelector('.quick-input-widget', { state: 'hidden' });
    const written = await t.waitFor(
      async () => {
        const now = (await h.listIv()).filter((n) => n.endsWith('.json') && !n.endsWith('.ivec.json') && !before.includes(n));
        return now.length ? now : undefined;
      },
      { timeout: 120_000, interval: 250, message: 'no results JSON in .iv after the palette run' },
    );
    t.log('results:', written);
    const results = await h.readJson(vscode.Uri.joinPath(h.folder(), '.iv', written[0]));
    t.assert.equal(results.n, 8);
    t.assert.equal(results.settings.method, 'iv');
    t.assert.ok(results.accuracy >= 0 && results.accuracy <= 1);
    t.assert.ok(Array.isArray(results.ci.accuracy), 'intervals');
    await h.clearNotifications();
  },
};
module.exports.timeout = 150_000;
