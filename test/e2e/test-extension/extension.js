// Test-only extension: runs every tests/*.js inside the extension host of a real VS Code and writes
// the results to <control>/results.txt, ending in a line `N passed, N failed`. Started by
// test/e2e/run.mjs, which sets IV_E2E_CONTROL (the control folder) on code-server's environment.
//
// A test file exports named async functions: `module.exports = { 'does X': async (vscode, t) => {...} }`
// (or `exports.timeout = ms` to change the 60 s per-test limit of that file). `t` is the helper
// context, see makeContext below. UI actions (command palette, screenshots, clicks in webviews) are
// performed by run.mjs with Playwright: the test writes <control>/ui-request-<n>.json, run.mjs
// answers with ui-response-<n>.json.
'use strict';
const vscode = require('vscode');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const DEFAULT_TIMEOUT_MS = 60_000;

function controlDir() {
  if (process.env.IV_E2E_CONTROL) return process.env.IV_E2E_CONTROL;
  // Fallback: run.mjs lays out <run>/workspace and <run>/control side by side.
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const guess = ws && path.join(path.dirname(ws), 'control');
  return guess && fs.existsSync(path.join(guess, 'config.json')) ? guess : undefined;
}

function writeAtomic(file, text) {
  fs.writeFileSync(file + '.tmp', text);
  fs.renameSync(file + '.tmp', file);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function makeContext(dir, config, results) {
  let seq = 0;
  /** Asks run.mjs to perform a UI action with Playwright; resolves to its result. */
  async function request(action, params = {}, { timeout = 30_000 } = {}) {
    const id = String(++seq).padStart(4, '0');
    writeAtomic(path.join(dir, `ui-request-${id}.json`), JSON.stringify({ id, action, ...params }));
    const responseFile = path.join(dir, `ui-response-${id}.json`);
    const deadline = Date.now() + timeout;
    while (!fs.existsSync(responseFile)) {
      if (Date.now() > deadline) throw new Error(`UI action ${action} ${JSON.stringify(params)}: no answer from run.mjs in ${timeout} ms`);
      await sleep(100);
    }
    const response = JSON.parse(fs.readFileSync(responseFile, 'utf8'));
    fs.rmSync(responseFile, { force: true });
    if (!response.ok) throw new Error(`UI action ${action} ${JSON.stringify(params)} failed: ${response.error}`);
    return response.result;
  }
  return {
    /** The workspace folder opened in the window (a temp copy of test/e2e/fixtures/workspace). */
    workspace: config.workspace ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
    /** The control folder (results, UI requests). */
    controlDir: dir,
    /** Where run.mjs keeps screenshots and logs. */
    artifactsDir: config.artifactsDir,
    /** The shared fixtures folder (`$IV_SHARED_DIR`, default <repo>/../shared); it may not exist. */
    sharedDir: config.sharedDir,
    assert,
    sleep,
    /** Polls `predicate` (sync or async) until it returns a truthy value, which it resolves to. */
    async waitFor(predicate, { timeout = 10_000, interval = 100, message } = {}) {
      const deadline = Date.now() + timeout;
      let lastError;
      for (;;) {
        try {
          const value = await predicate();
          if (value) return value;
        } catch (e) {
          lastError = e;
        }
        if (Date.now() > deadline) {
          throw new Error(`waitFor timed out after ${timeout} ms${message ? `: ${message}` : ''}${lastError ? ` (last error: ${lastError.message})` : ''}`);
        }
        await sleep(interval);
      }
    },
    /** Writes a comment line (`# ...`) into the results file. */
    log: (...args) => results.comment(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')),
    ui: {
      request,
      /** Runs a command from the command palette by its title as shown there, e.g. 'View: Toggle Terminal'. */
      command: (title) => request('command', { title }),
      /** Saves a screenshot of the page into the artifacts folder; resolves to its path. */
      screenshot: (name) => request('screenshot', { name }),
      /** Presses a key or chord in the page, e.g. 'Escape', 'Control+S'. */
      press: (key) => request('press', { key }),
      /** Types text into whatever has the focus. */
      type: (text) => request('type', { text }),
      /** Clicks a CSS/Playwright selector; `{ webview: true }` looks inside the visible webview's content frame. */
      click: (selector, opts = {}) => request('click', { selector, ...opts }),
      /** Resolves to the text content of a selector (first match); `{ webview: true }` as for click. */
      text: (selector, opts = {}) => request('text', { selector, ...opts }),
      /** Resolves to how many elements match a selector; `{ webview: true }` as for click. */
      count: (selector, opts = {}) => request('count', { selector, ...opts }),
      /** Appends an inline <script> to the visible webview's document; resolves to `{ ran }`, whether it executed. */
      inlineScript: () => request('inlineScript', { webview: true }),
      /** Waits until a selector is visible (or `{ state: 'hidden' | 'attached' | 'detached' }`). */
      waitForSelector: (selector, opts = {}) => request('waitForSelector', { selector, ...opts }),
    },
  };
}

function makeResults(file) {
  fs.writeFileSync(file, '');
  const append = (line) => fs.appendFileSync(file, line + '\n');
  return {
    comment: (text) =>
      append(
        String(text)
          .split('\n')
          .map((l) => `# ${l}`)
          .join('\n'),
      ),
    append,
  };
}

function loadTests(testsDir, filter) {
  const tests = [];
  for (const file of fs
    .readdirSync(testsDir)
    .filter((f) => f.endsWith('.js'))
    .sort()) {
    const mod = require(path.join(testsDir, file));
    const timeout = typeof mod.timeout === 'number' ? mod.timeout : DEFAULT_TIMEOUT_MS;
    for (const [name, fn] of Object.entries(mod)) {
      if (typeof fn !== 'function') continue;
      const fullName = `${file.replace(/\.js$/, '')}: ${name}`;
      if (filter && !new RegExp(filter).test(fullName)) continue;
      tests.push({ name: fullName, fn, timeout });
    }
  }
  return tests;
}

async function runAll(dir) {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const results = makeResults(path.join(dir, 'results.txt'));
  let passed = 0;
  let failed = 0;
  try {
    const tests = loadTests(path.join(__dirname, 'tests'), config.filter);
    results.comment(`VS Code ${vscode.version}, extension host ${process.version}, ${tests.length} tests`);
    if (tests.length === 0) throw new Error(`no tests${config.filter ? ` match ${config.filter}` : ''}`);
    const t = makeContext(dir, config, results);
    for (const [i, test] of tests.entries()) {
      const start = Date.now();
      let timer;
      try {
        await Promise.race([
          test.fn(vscode, { ...t, name: test.name }),
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${test.timeout} ms`)), test.timeout))),
        ]);
        passed++;
        results.append(`ok ${i + 1} - ${test.name} (${Date.now() - start} ms)`);
      } catch (e) {
        failed++;
        results.append(`not ok ${i + 1} - ${test.name} (${Date.now() - start} ms)`);
        results.comment(`  ${(e && e.stack) || e}`);
      } finally {
        clearTimeout(timer);
      }
    }
  } catch (e) {
    failed++;
    results.comment(`runner error: ${(e && e.stack) || e}`);
  }
  results.append(`${passed} passed, ${failed} failed`);
}

function activate() {
  const dir = controlDir();
  if (!dir) return; // not started by run.mjs: stay inert
  // Run once per test session, even if the window reloads.
  const marker = path.join(dir, 'started');
  if (fs.existsSync(marker)) return;
  fs.writeFileSync(marker, String(Date.now()));
  // Let activation return first; the tests run in the background.
  setTimeout(() => {
    runAll(dir).catch((e) => fs.appendFileSync(path.join(dir, 'results.txt'), `# fatal: ${e && e.stack}\n0 passed, 1 failed\n`));
  }, 0);
}

function deactivate() {}

module.exports = { activate, deactivate };
