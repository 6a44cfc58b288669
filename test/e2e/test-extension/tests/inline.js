// Inline prompt steering in notes/prompt.md: the CodeLens above each prompt block, compare
// (programmatic and by clicking the lens), the diff of two iv-steer: documents, the heatmap.
'use strict';
const { helpers: h } = require('./_helpers');

const PROMPT = 'Review: The soundtrack was lovely but the story never came together.\nSentiment:';

async function openPrompt(vscode, options = {}) {
  const uri = vscode.Uri.joinPath(h.folder(), 'notes/prompt.md');
  const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), options);
  const line = editor.document
    .getText()
    .split('\n')
    .findIndex((l) => l.startsWith('Review:'));
  return { uri, editor, line };
}

/** The diff tabs showing iv-steer: documents. */
const steerDiffTabs = (vscode) => h.allTabs().filter((tab) => tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.scheme === 'iv-steer');

async function diffTexts(vscode, tab) {
  const [left, right] = await Promise.all([vscode.workspace.openTextDocument(tab.input.original), vscode.workspace.openTextDocument(tab.input.modified)]);
  return { left: left.getText(), right: right.getText() };
}

module.exports = {
  'the CodeLens offers "Run steered" and "Compare" above the prompt block': async (vscode, t) => {
    await h.activate();
    await h.closeAllEditors();
    const { uri, line } = await openPrompt(vscode);
    t.assert.ok(line > 0, 'no Review: line in notes/prompt.md');
    const lenses = await t.waitFor(
      async () => {
        const l = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', uri);
        return l && l.some((x) => x.command?.title.includes('Run steered')) ? l : undefined;
      },
      { timeout: 20_000, message: 'no Run steered lens' },
    );
    const atPrompt = lenses.filter((l) => l.range.start.line === line);
    const titles = atPrompt.map((l) => l.command.title);
    t.log('lenses above the prompt:', titles);
    t.assert.ok(
      titles.some((x) => /^\$\(play\) Run steered \(a=0\.3\)$/.test(x)),
      titles.join(' | '),
    );
    t.assert.ok(titles.includes('Compare'), titles.join(' | '));
    t.assert.ok(titles.includes('Show layers'), titles.join(' | '));
    const compare = atPrompt.find((l) => l.command.title === 'Compare').command;
    t.assert.equal(compare.command, 'iterativeVectors.compare');
    t.assert.deepEqual(compare.arguments[0].range, { start: { line, character: 0 }, end: { line: line + 1, character: 'Sentiment:'.length } });
    // The lenses are drawn in the editor.
    await t.ui.waitForSelector('.monaco-editor .codelens-decoration a:has-text("Run steered")', { timeout: 20_000 });
  },

  'compare (programmatic, a=0.3): a diff of two different iv-steer: completions opens; screenshot inline.png': async (vscode, t) => {
    const vector = await h.ensureVector(t);
    await h.closeAllEditors();
    await h.clearNotifications();
    const { uri, line } = await openPrompt(vscode);
    const range = { start: { line, character: 0 }, end: { line: line + 1, character: 'Sentiment:'.length } };
    const r = await vscode.commands.executeCommand('iterativeVectors.compare', { uri: uri.toString(), range, vector, strength: 0.3 });
    t.log('compare:', {
      unsteered: r?.unsteered,
      steered: r?.steered,
      firstDifference: r?.firstDifference,
      meanKl: r?.effects?.meanKl,
      ms: r?.ms,
      diff: r?.diff,
    });
    t.assert.equal(r.prompt, PROMPT);
    t.assert.equal(r.vector, vector);
    t.assert.equal(r.strength, 0.3);
    t.assert.equal(r.row, 'query');
    t.assert.ok(r.unsteered.length > 0 && r.steered.length > 0, 'an empty completion');
    t.assert.notEqual(r.steered, r.unsteered, 'steering at a=0.3 did not change the completion');
    t.assert.equal(r.differ, true);
    t.assert.ok(r.firstDifference >= 0);
    t.assert.ok(r.effects.perToken.length > 10, 'no per-token effects');
    // The diff: iv-steer:/<id>/unsteered.txt <-> iv-steer:/<id>/steered.txt, prompt + completion each.
    const tab = await t.waitFor(() => steerDiffTabs(vscode).find((x) => x.input.modified.toString() === r.diff.right), {
      timeout: 15_000,
      message: 'no iv-steer diff tab',
    });
    t.assert.equal(tab.input.original.toString(), r.diff.left);
    t.assert.equal(tab.input.original.scheme, 'iv-steer');
    t.assert.equal(tab.label, r.diff.title);
    t.assert.ok(tab.isActive, 'the diff is not the active tab');
    const texts = await diffTexts(vscode, tab);
    t.assert.equal(texts.left, PROMPT + r.unsteered);
    t.assert.equal(texts.right, PROMPT + r.steered);
    t.assert.notEqual(texts.left, texts.right);
    await t.ui.waitForSelector('.monaco-diff-editor');
    // The prompt below the diff (the diff keeps the full width: side by side), with its heatmap
    // (decorations over the prompt's tokens, the steered line after it).
    await vscode.commands.executeCommand('vscode.setEditorLayout', { orientation: 1, groups: [{ size: 0.5 }, { size: 0.5 }] });
    await openPrompt(vscode, { viewColumn: vscode.ViewColumn.Two, preserveFocus: true });
    await vscode.commands.executeCommand('workbench.action.closeSidebar');
    try {
      await t.ui.waitForSelector('.monaco-diff-editor.side-by-side');
      await t.sleep(1000);
      await h.screenshotAs(t, 'inline');
    } finally {
      await vscode.commands.executeCommand('workbench.view.explorer');
      await h.closeAllEditors();
      await vscode.commands.executeCommand('vscode.setEditorLayout', { orientation: 0, groups: [{}] });
    }
  },

  'compare from the lens (real UI): select the prompt, click "Compare (selection)", pick the vector; the diff opens': async (vscode, t) => {
    const vector = await h.ensureVector(t);
    await h.closeAllEditors();
    await h.clearNotifications();
    const { editor, line } = await openPrompt(vscode);
    editor.selection = new vscode.Selection(line, 0, line + 1, 'Sentiment:'.length);
    const lens = '.monaco-editor .codelens-decoration a:has-text("Compare (selection)")';
    await t.ui.waitForSelector(lens, { timeout: 20_000 });
    await t.ui.click(lens);
    // Several vectors in the workspace and none chosen yet: a QuickPick asks which (unless one was remembered).
    const vectorName = vector
      .split('/')
      .pop()
      .replace(/\.ivec\.safetensors$/, '');
    const picked = await t.waitFor(
      async () => {
        if (steerDiffTabs(vscode).length) return 'remembered';
        try {
          await t.ui.waitForSelector(h.quickInput('Pick a .ivec.safetensors'), { timeout: 1000 });
          return 'asked';
        } catch {
          return undefined;
        }
      },
      { timeout: 20_000, message: 'neither a vector QuickPick nor a diff' },
    );
    if (picked === 'asked') {
      await t.ui.type(vectorName);
      await t.ui.waitForSelector(`.quick-input-list .monaco-list-row:has-text(".iv/${vectorName}.ivec.safetensors")`);
      await t.ui.press('Enter');
    }
    t.log('vector', picked, vectorName);
    const tab = await t.waitFor(() => steerDiffTabs(vscode)[0], { timeout: 60_000, message: 'the lens opened no diff' });
    t.assert.match(tab.label, /^unsteered ↔ steered \(a=0\.3\) · /);
    t.assert.ok(tab.label.includes(vectorName), tab.label);
    const texts = await diffTexts(vscode, tab);
    t.assert.ok(texts.left.startsWith(PROMPT) && texts.right.startsWith(PROMPT));
    t.assert.notEqual(texts.left, texts.right);
    await t.ui.waitForSelector('.monaco-diff-editor');
    await t.ui.screenshot('inline-lens-diff');
    // The status bar shows the strength (click: set it).
    await t.ui.waitForSelector('.statusbar-item:has-text("IV a=0.3")', { timeout: 10_000 });
    await h.clearNotifications();
    await h.closeAllEditors();
  },

  'run steered from the lens on the selected prompt (real UI): the token hover shows per-layer bars; Set Strength re-runs the prompt at the new strength':
    async (vscode, t) => {
      const vector = await h.ensureVector(t);
      await h.closeAllEditors();
      await h.clearNotifications();
      const { uri, editor, line } = await openPrompt(vscode);
      const position = new vscode.Position(line, 1);
      const hoverText = async () => {
        const hovers = (await vscode.commands.executeCommand('vscode.executeHoverProvider', uri, position)) ?? [];
        return hovers.flatMap((hv) => hv.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
      };
      // No heatmap left from earlier runs: the hover below comes from this run.
      await vscode.commands.executeCommand('iterativeVectors.inline.clear', uri);
      t.assert.equal(await hoverText(), '');
      editor.selection = new vscode.Selection(line, 0, line + 1, 'Sentiment:'.length);
      const lens = '.monaco-editor .codelens-decoration a:has-text("Run steered (selection)")';
      await t.ui.waitForSelector(lens, { timeout: 20_000 });
      await t.ui.click(lens);
      const vectorName = vector
        .split('/')
        .pop()
        .replace(/\.ivec\.safetensors$/, '');
      // The vector may be remembered from an earlier test; otherwise a QuickPick asks.
      await t.waitFor(
        async () => {
          if ((await hoverText()).includes('Strength')) return true;
          try {
            await t.ui.waitForSelector(h.quickInput('Pick a .ivec.safetensors'), { timeout: 500 });
            await t.ui.type(vectorName);
            await t.ui.waitForSelector(`.quick-input-list .monaco-list-row:has-text(".iv/${vectorName}.ivec.safetensors")`);
            await t.ui.press('Enter');
          } catch {
            // no QuickPick: still running
          }
          return undefined;
        },
        { timeout: 90_000, interval: 500, message: 'no token hover after Run steered' },
      );
      const first = await hoverText();
      t.log('hover:', first.slice(0, 300));
      t.assert.match(first, /‖Δ resid_post‖ per layer:/);
      t.assert.match(first, /L0 /);
      t.assert.match(first, /· a=0\.3 · \[Compare\]/);

      // The same hover in the editor, shown at the cursor.
      editor.selection = new vscode.Selection(position, position);
      await vscode.commands.executeCommand('editor.action.showHover');
      await t.ui.waitForSelector('.monaco-hover:has-text("per layer")', { timeout: 10_000 });
      await t.ui.screenshot('inline-hover');
      await t.ui.press('Escape');

      // Set Strength: the status bar follows at once, and the last prompt re-runs (debounced) at a=0.6.
      try {
        t.assert.deepEqual(await vscode.commands.executeCommand('iterativeVectors.setStrength', { strength: 0.6 }), { strength: 0.6 });
        await t.ui.waitForSelector('.statusbar-item:has-text("IV a=0.6")', { timeout: 10_000 });
        await t.waitFor(async () => ((await hoverText()).includes('· a=0.6 ·') ? true : undefined), {
          timeout: 60_000,
          interval: 500,
          message: 'the prompt did not re-run at a=0.6',
        });
      } finally {
        await vscode.commands.executeCommand('iterativeVectors.setStrength', { strength: 0.3 });
      }
      await h.clearNotifications();
      await h.closeAllEditors();
    },
};
module.exports.timeout = 150_000;
