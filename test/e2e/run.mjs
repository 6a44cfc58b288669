#!/usr/bin/env node
// End-to-end tests in a real VS Code (code-server in headless Chromium, driven by playwright-core).
//
//   scripts/e2e-setup.sh && scripts/package-vsix.sh && node test/e2e/run.mjs [options]
//
// Installs the packaged .vsix and the test-only extension (test/e2e/test-extension) into a fresh
// extensions folder, copies test/e2e/fixtures/workspace to a temp folder, starts code-server on
// 127.0.0.1 (auth none, a config file of its own), opens the workspace in Chromium, performs the
// UI actions the tests ask for (ui-request-<n>.json -> ui-response-<n>.json in the control folder),
// and waits for the results file, whose last line is `N passed, N failed`. Screenshots and logs go
// to test/e2e/artifacts/. Exits 0 only when every test passed.
//
// Options: --vsix PATH (default .e2e/iterative-vectors-linux-x64.vsix; env E2E_VSIX)
//          --filter REGEX (only tests whose "file: name" matches; env E2E_FILTER)
//          --timeout SECONDS (whole run, default 300; env E2E_TIMEOUT)
//          --artifacts DIR (screenshots, logs, results; emptied first; default test/e2e/artifacts;
//                           env E2E_ARTIFACTS)
//          --keep (keep the temp folder)   --headed (show the browser; needs a display)
// Env:     IV_SHARED_DIR (default <repo>/../shared): the shared fixtures (third-party ONNX models).
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { packVsix } from './vsix.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const E2E = process.env.E2E_DIR ? resolve(process.env.E2E_DIR) : join(ROOT, '.e2e');
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

const { values: opts } = parseArgs({
  options: {
    vsix: { type: 'string', default: process.env.E2E_VSIX ?? join(E2E, 'iterative-vectors-linux-x64.vsix') },
    filter: { type: 'string', default: process.env.E2E_FILTER },
    timeout: { type: 'string', default: process.env.E2E_TIMEOUT ?? '300' },
    keep: { type: 'boolean', default: false },
    headed: { type: 'boolean', default: false },
    artifacts: { type: 'string', default: process.env.E2E_ARTIFACTS ?? join(HERE, 'artifacts') },
  },
});
const ARTIFACTS = resolve(opts.artifacts);

const t0 = Date.now();
const log = (msg) => console.log(`[e2e +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fail = (msg) => {
  console.error(`e2e: ${msg}`);
  process.exit(1);
};

// --- what scripts/e2e-setup.sh installed ------------------------------------------------------
function readEnvFile() {
  const file = join(E2E, 'env.sh');
  const env = {};
  if (existsSync(file)) for (const m of readFileSync(file, 'utf8').matchAll(/^(\w+)='([^']*)'$/gm)) env[m[1]] = m[2];
  return env;
}
const setup = readEnvFile();
const NODE = process.env.E2E_NODE ?? setup.E2E_NODE;
const CODE_SERVER = process.env.E2E_CODE_SERVER ?? setup.E2E_CODE_SERVER;
const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
if (!NODE || !existsSync(NODE) || !CODE_SERVER || !existsSync(CODE_SERVER)) fail('code-server is not installed: run scripts/e2e-setup.sh');
if (!existsSync(CHROMIUM)) fail(`no browser at ${CHROMIUM}: run scripts/e2e-setup.sh`);
if (!existsSync(opts.vsix)) fail(`no ${opts.vsix}: run scripts/package-vsix.sh`);

function loadPlaywright() {
  for (const base of [join(E2E, 'pw') + '/', ROOT + '/']) {
    try {
      return createRequire(base)('playwright-core');
    } catch {}
  }
  fail('playwright-core is not installed: run scripts/e2e-setup.sh');
}
const { chromium } = loadPlaywright();

// --- the run folder ----------------------------------------------------------------------------
const run = mkdtempSync(join(tmpdir(), 'iv-e2e-'));
const dirs = {
  workspace: join(run, 'workspace'),
  control: join(run, 'control'),
  userData: join(run, 'user-data'),
  extensions: join(run, 'extensions'),
};
for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
mkdirSync(ARTIFACTS, { recursive: true });
// Empty the artifacts folder of what an earlier run left (only the kinds of files written here).
for (const f of readdirSync(ARTIFACTS)) {
  if (/\.(png|log)$|^results\.txt$|^vscode-logs$/.test(f)) rmSync(join(ARTIFACTS, f), { recursive: true, force: true });
}
cpSync(join(HERE, 'fixtures/workspace'), dirs.workspace, { recursive: true });
// The third-party fixtures some tests read in place (tests skip, saying so, when they are not there).
const SHARED = resolve(process.env.IV_SHARED_DIR ?? join(ROOT, '..', 'shared'));
writeFileSync(
  join(dirs.control, 'config.json'),
  JSON.stringify({ workspace: dirs.workspace, artifactsDir: ARTIFACTS, sharedDir: SHARED, filter: opts.filter ?? null }, null, 2),
);
mkdirSync(join(dirs.userData, 'User'), { recursive: true });
writeFileSync(
  join(dirs.userData, 'User/settings.json'),
  JSON.stringify(
    {
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.welcomePage.walkthroughs.openOnInstall': false,
      'security.workspace.trust.enabled': false,
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'extensions.ignoreRecommendations': true,
      'update.mode': 'none',
      'telemetry.telemetryLevel': 'off',
      'chat.disableAIFeatures': true,
      'git.enabled': false,
      'terminal.integrated.shell.linux': '/bin/bash',
      'window.restoreWindows': 'none',
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
    },
    null,
    2,
  ),
);

let server;
let browser;
let cleaning = false;
async function cleanup() {
  if (cleaning) return;
  cleaning = true;
  await browser?.close().catch(() => {});
  if (server && server.exitCode === null && server.signalCode === null) {
    // code-server runs in a process group of its own (detached): stop the group by its PID.
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {}
    for (let i = 0; i < 50 && server.exitCode === null && server.signalCode === null; i++) await sleep(100);
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {}
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => cleanup().then(() => process.exit(130)));

// --- install the extensions --------------------------------------------------------------------
const testVsix = join(run, 'iv-e2e-tests.vsix');
packVsix(join(HERE, 'test-extension'), testVsix);
const csArgs = ['--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
{
  const r = spawnSync(NODE, [CODE_SERVER, ...csArgs, '--force', '--install-extension', opts.vsix, '--install-extension', testVsix], {
    encoding: 'utf8',
    timeout: 180_000,
  });
  const installed = (r.stdout.match(/was successfully installed/g) ?? []).length;
  if (r.status !== 0 || installed !== 2) fail(`installing the extensions failed (status ${r.status}):\n${r.stdout}${r.stderr}`);
}
log(`installed ${opts.vsix} and the test extension`);

// --- start code-server -------------------------------------------------------------------------
const port = await new Promise((res, rej) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
  s.on('error', rej);
});
const configFile = join(run, 'code-server.yaml');
writeFileSync(configFile, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
const serverLog = join(ARTIFACTS, 'code-server.log');
writeFileSync(serverLog, '');
server = spawn(
  NODE,
  [
    CODE_SERVER,
    '--config',
    configFile,
    ...csArgs,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
  ],
  { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, IV_E2E_CONTROL: dirs.control } },
);
for (const stream of [server.stdout, server.stderr]) stream.on('data', (d) => appendFileSync(serverLog, d));
const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(dirs.workspace)}`;

const deadline = Date.now() + Number(opts.timeout) * 1000;
let status = 'timeout';
let resultsText = '';
try {
  for (;;) {
    if (server.exitCode !== null) throw new Error(`code-server exited with ${server.exitCode}; see ${serverLog}`);
    if (Date.now() > deadline) throw new Error('code-server did not answer on /healthz');
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {}
    await sleep(200);
  }
  log(`code-server ${setup.E2E_CODE_SERVER_VERSION ?? ''} on 127.0.0.1:${port} (pid ${server.pid})`);

  // --- open the workspace in Chromium ----------------------------------------------------------
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: !opts.headed, args: CHROMIUM_FLAGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const consoleLog = join(ARTIFACTS, 'browser-console.log');
  page.on('console', (m) => appendFileSync(consoleLog, `[${m.type()}] ${m.text()}\n`));
  page.on('pageerror', (e) => appendFileSync(consoleLog, `[pageerror] ${e.stack ?? e}\n`));
  await page.goto(url);
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: Math.max(1000, deadline - Date.now()) });
  log('workbench loaded');
  await page.screenshot({ path: join(ARTIFACTS, '00-workbench.png') });

  // --- serve UI requests until the results are in ----------------------------------------------
  const resultsFile = join(dirs.control, 'results.txt');
  let printed = 0;
  let shots = 0;
  for (;;) {
    for (const f of readdirSync(dirs.control)
      .filter((n) => /^ui-request-\d+\.json$/.test(n))
      .sort()) {
      const file = join(dirs.control, f);
      const req = JSON.parse(readFileSync(file, 'utf8'));
      rmSync(file);
      let response;
      try {
        response = { ok: true, result: await performUi(page, req, () => ++shots) };
      } catch (e) {
        response = { ok: false, error: String(e?.message ?? e).split('\n')[0] };
        await page.screenshot({ path: join(ARTIFACTS, `ui-error-${req.id}.png`) }).catch(() => {});
      }
      const out = join(dirs.control, `ui-response-${req.id}.json`);
      writeFileSync(out + '.tmp', JSON.stringify(response));
      renameSync(out + '.tmp', out);
    }
    if (existsSync(resultsFile)) {
      resultsText = readFileSync(resultsFile, 'utf8');
      const lines = resultsText.split('\n');
      const complete = lines.slice(0, -1); // print whole lines only
      for (; printed < complete.length; printed++) console.log(`  ${complete[printed]}`);
      const m = /^(\d+) passed, (\d+) failed$/m.exec(lines.filter(Boolean).at(-1) ?? '');
      if (m && resultsText.endsWith('\n')) {
        status = Number(m[2]) === 0 && Number(m[1]) > 0 ? 'passed' : 'failed';
        log('results complete');
        break;
      }
    }
    if (server.exitCode !== null) throw new Error(`code-server exited with ${server.exitCode}; see ${serverLog}`);
    if (Date.now() > deadline) throw new Error(`no results after ${opts.timeout} s (the test extension writes ${resultsFile})`);
    await sleep(200);
  }
  await page.screenshot({ path: join(ARTIFACTS, 'zz-final.png') });
} catch (e) {
  status = status === 'timeout' ? 'error' : status;
  console.error(`e2e: ${e?.message ?? e}`);
  const page = browser?.contexts()[0]?.pages()[0];
  await page?.screenshot({ path: join(ARTIFACTS, 'zz-error.png') }).catch(() => {});
}

// --- stop, keep logs, report -------------------------------------------------------------------
await cleanup();
log('code-server and the browser stopped');
if (status !== 'passed') {
  // The extension host's logs tell why a test extension did not run.
  const logs = join(dirs.userData, 'logs');
  if (existsSync(logs)) cpSync(logs, join(ARTIFACTS, 'vscode-logs'), { recursive: true });
}
if (resultsText) writeFileSync(join(ARTIFACTS, 'results.txt'), resultsText);
if (opts.keep || status !== 'passed') log(`run folder kept: ${run}`);
else rmSync(run, { recursive: true, force: true });
log(`artifacts in ${ARTIFACTS}`);
const summary = /^(\d+ passed, \d+ failed)$/m.exec(resultsText.split('\n').filter(Boolean).at(-1) ?? '')?.[1];
console.log(summary ?? '0 passed, 1 failed');
process.exit(status === 'passed' ? 0 : 1);

// --- UI actions --------------------------------------------------------------------------------
async function performUi(page, req, nextShot) {
  const scope = async () => {
    if (!req.webview) return page;
    // A webview is an iframe.webview holding the content iframe #active-frame; take the visible one.
    const outer = page.locator('iframe.webview').filter({ visible: true }).last();
    await outer.waitFor({ state: 'visible', timeout: 15_000 });
    return outer.contentFrame().locator('iframe#active-frame').contentFrame();
  };
  switch (req.action) {
    case 'command': {
      const input = page.locator('.quick-input-widget .quick-input-box input');
      await page.keyboard.press('Escape');
      await page.keyboard.press('F1');
      if (!(await input.isVisible())) {
        await input.waitFor({ state: 'visible', timeout: 3000 }).catch(() => page.keyboard.press('Control+Shift+P'));
      }
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill(`>${req.title}`);
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: req.title }).first();
      try {
        await row.waitFor({ state: 'visible', timeout: req.timeout ?? 10_000 });
      } catch {
        await page.keyboard.press('Escape');
        throw new Error(`no command palette entry matches "${req.title}"`);
      }
      await row.click();
      await input.waitFor({ state: 'hidden', timeout: 10_000 });
      return { title: req.title };
    }
    case 'screenshot': {
      const name = `${String(nextShot()).padStart(2, '0')}-${String(req.name ?? 'shot').replace(/[^\w.-]+/g, '_')}.png`;
      await page.screenshot({ path: join(ARTIFACTS, name) });
      return { path: join(ARTIFACTS, name) };
    }
    case 'press':
      await page.keyboard.press(req.key);
      return {};
    case 'type':
      await page.keyboard.type(req.text);
      return {};
    case 'click':
      await (
        await scope()
      )
        .locator(req.selector)
        .first()
        .click({ timeout: req.timeout ?? 15_000 });
      return {};
    case 'text':
      return (
        (await (
          await scope()
        )
          .locator(req.selector)
          .first()
          .textContent({ timeout: req.timeout ?? 15_000 })) ?? ''
      );
    case 'count':
      return (await scope()).locator(req.selector).count();
    case 'inlineScript': {
      // An inline <script> added to the document as an injected payload would be: the CSP must block it.
      const frame = await scope();
      const marker = `__ivInline${req.id}`;
      await frame
        .locator('body')
        .evaluate((body, name) => {
          const s = body.ownerDocument.createElement('script');
          s.textContent = `window.${name} = true`;
          body.appendChild(s);
        }, marker)
        .catch(() => {});
      return { ran: await frame.locator('body').evaluate((body, name) => body.ownerDocument.defaultView[name] === true, marker) };
    }
    case 'waitForSelector':
      await (
        await scope()
      )
        .locator(req.selector)
        .first()
        .waitFor({ state: req.state ?? 'visible', timeout: req.timeout ?? 15_000 });
      return {};
    default:
      throw new Error(`unknown UI action ${req.action}`);
  }
}
