// Shared helpers of the product's e2e tests (no tests here: the runner only runs exported functions,
// and this module exports one object). Loaded once per VS Code session (require cache), so state
// kept here (the vector extract.js wrote) is seen by the files that run after it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');

const ID = 'iterative-vectors.iterative-vectors';
const ARTIFACT = '.ivec.safetensors';
/** Small hyperparameters: an extraction on data/sentiment.jsonl takes seconds on stories15M. */
const SMALL = { episodes: 8, shots: 1, batch: 3 };

const state = {
  /** Absolute path of the vector extract.js wrote programmatically (or ensureVector made). */
  vector: undefined,
};

function folder() {
  const f = vscode.workspace.workspaceFolders?.[0];
  if (!f) throw new Error('no workspace folder open');
  return f.uri;
}

/** The artifacts folder (`.iv`, the default of iterativeVectors.artifactsFolder). */
function ivDir() {
  return vscode.Uri.joinPath(folder(), '.iv');
}

/** File names in `.iv` (through workspace.fs), [] when the folder is not there yet. */
async function listIv() {
  try {
    return (await vscode.workspace.fs.readDirectory(ivDir())).map(([name]) => name).sort();
  } catch {
    return [];
  }
}

const artifactsIn = (names) => names.filter((n) => n.endsWith(ARTIFACT));
/** Temporary files writeFileAtomic leaves only when something went wrong (`<name>.tmp-<pid>-...`). */
const tempFilesIn = (names) => names.filter((n) => /\.tmp(-|$)/.test(n));

async function activate() {
  const ext = vscode.extensions.getExtension(ID);
  if (!ext) throw new Error(`${ID} is not installed`);
  await ext.activate();
  return ext;
}

async function readJson(uri) {
  return JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)));
}

/** A vector extracted on data/sentiment.jsonl: the one extract.js wrote, else a new one (for --filter runs). */
async function ensureVector(t) {
  if (state.vector && fs.existsSync(state.vector)) return state.vector;
  await activate();
  t.log('no shared vector yet: extracting one on data/sentiment.jsonl', SMALL);
  const r = await vscode.commands.executeCommand('iterativeVectors.extract', { dataset: 'data/sentiment.jsonl', ...SMALL });
  if (!r || !r.artifactPath) throw new Error(`extraction returned ${JSON.stringify(r)}`);
  state.vector = r.artifactPath;
  return state.vector;
}

/**
 * A screenshot under a fixed name: run.mjs saves `NN-<name>.png` (numbered in order); this copies it
 * to `<artifacts>/<name>.png` as well. Resolves to the fixed-name path.
 */
async function screenshotAs(t, name) {
  const shot = await t.ui.screenshot(name);
  const fixed = path.join(t.artifactsDir, `${name}.png`);
  fs.copyFileSync(shot.path, fixed);
  return fixed;
}

/** Closes notification toasts (the previous test's "extracted ..." or error messages) so they do not cover the next screenshot. */
async function clearNotifications() {
  await vscode.commands.executeCommand('notifications.clearAll');
}

async function closeAllEditors() {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/** Every tab of every group. */
const allTabs = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs);

/** Playwright selector of a notification toast whose text holds `text`. */
const toast = (text) => `.notifications-toasts .notification-toast:has-text(${JSON.stringify(text)})`;

/** Playwright selector of the quick input (palette, QuickPick, InputBox) with this placeholder. */
const quickInput = (placeholder) => `.quick-input-widget .quick-input-box input[placeholder=${JSON.stringify(placeholder)}]`;

/** Waits for the QuickPick step with this placeholder, types `filter` (if any) and accepts the active item. */
async function pickStep(t, placeholder, filter, rowText = filter) {
  await t.ui.waitForSelector(quickInput(placeholder), { timeout: 20_000 });
  if (filter) {
    await t.ui.type(filter);
    await t.ui.waitForSelector(`.quick-input-list .monaco-list-row:has-text(${JSON.stringify(rowText)})`);
  }
  await t.ui.press('Enter');
}

/** In a wizard's review step: selects `field = ...`, types the new value in its InputBox, accepts; back to the review. */
async function editField(t, field, value) {
  await pickStep(t, 'Review the options, then run', field, `${field} =`);
  await t.ui.waitForSelector('.quick-input-widget .quick-input-message:has-text("Empty: the default")');
  await t.ui.type(String(value));
  await t.ui.press('Enter');
}

module.exports = {
  helpers: {
    ID,
    ARTIFACT,
    SMALL,
    state,
    folder,
    ivDir,
    listIv,
    artifactsIn,
    tempFilesIn,
    activate,
    readJson,
    ensureVector,
    screenshotAs,
    clearNotifications,
    closeAllEditors,
    allTabs,
    toast,
    quickInput,
    pickStep,
    editField,
  },
};
