import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeSafetensors } from '../../src/core/vectors/safetensors';
import { readArtifact } from '../../src/node/artifactFiles';
import { inspectModel } from '../../src/runtime/hub/inspect';

/**
 * Kills extraction, sweep and export at random moments (SIGINT and SIGKILL) and checks what a
 * user relies on: a SIGINT stops with exit 130 and a message, never a stack trace; nothing partial
 * is ever visible (an artifact reads, and its sidecar says what the artifact says; an exported
 * folder is complete or absent); the run repeated afterwards completes, leaves no temporary file
 * (a SIGKILL's are removed by the next run) and gives what an uninterrupted run gives (a sweep
 * resumes). Short mode: two kills per command; `IV_FUZZ=long` (npm run fuzz): 100 per command.
 */
const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const SST2 = join(__dirname, '..', '..', '..', 'shared', 'datasets', 'sst2');
const LONG = process.env.IV_FUZZ === 'long';
const KILLS = LONG ? 100 : 2;
const root = mkdtempSync(join(tmpdir(), 'iv-kills-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
}

/** Runs the CLI; with `killAfter`, sends `signal` that many ms after the start. */
function iv(args: string[], kill?: { afterMs: number; signal: NodeJS.Signals }): Promise<Run> {
  const start = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = kill && setTimeout(() => child.kill(kill.signal), kill.afterMs);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, ms: performance.now() - start });
    }),
  );
}

/** Names a crashed or killed write would leave: writeAtomic's `<name>.tmp-<pid>-<time>`, export's `.exp.tmp-*` folders. */
const TEMP = /\.tmp(-|$)|^\.exp\.tmp/;
const temporaries = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => p.split('/').some((part) => TEMP.test(part)));

/** An artifact reads and its sidecar holds the same metadata; a sidecar alone is a half-written pair. */
function checkArtifacts(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name.endsWith('.ivec.safetensors')) {
      readArtifact(path);
      const sidecar = path.replace(/\.safetensors$/, '.json');
      if (existsSync(sidecar)) {
        const stored = JSON.parse(decodeSafetensors(readFileSync(path), path).metadata.iv!) as unknown;
        assert.deepEqual(JSON.parse(readFileSync(sidecar, 'utf8')), stored, `${sidecar} contradicts ${path}`);
      }
    } else if (name.endsWith('.ivec.json')) {
      assert.ok(existsSync(path.replace(/\.json$/, '.safetensors')), `${name} without its artifact`);
    }
  }
}

/** An exported folder is complete (it inspects) or absent. */
function checkExport(dir: string): void {
  const out = join(dir, 'exported');
  if (existsSync(out)) inspectModel(out);
}

/** A sweep's rows without their timings (the one thing a resumed run may not repeat), and its best vector. */
function sweepResult(dir: string): unknown {
  const rows = readFileSync(join(dir, 's.sweep.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line, (k, v: unknown) => (k.endsWith('Ms') ? undefined : v)) as unknown);
  return { rows, best: tensorsOf(join(dir, 's.ivec.safetensors')) };
}

const tensorsOf = (path: string) => [...readArtifact(path).tensors].map(([k, t]) => [k, Array.from(t.data)]);

interface Scenario {
  name: string;
  args: (dir: string) => string[];
  check: (dir: string) => void;
  /** What must equal between the repeated run and an uninterrupted one. */
  result: (dir: string) => unknown;
}

const small = ['--dataset', SST2, '--threads', '2', '--seed', '3'];
const SCENARIOS: Scenario[] = [
  {
    name: 'extract',
    args: (dir) => ['extract', ...small, '--episodes', '12', '--shots', '1', '--batch', '4', '--out', join(dir, 'v.ivec.safetensors')],
    check: checkArtifacts,
    result: (dir) => tensorsOf(join(dir, 'v.ivec.safetensors')),
  },
  {
    name: 'sweep',
    args: (dir) => [
      'sweep',
      ...small,
      '--shots-grid',
      '1',
      '--ext-grid',
      '0.1,0.3,0.5',
      '--eval-grid',
      '0.5',
      '--no-iter-grid',
      '1',
      '--ext-episodes',
      '4',
      '--val-episodes',
      '6',
      '--episodes',
      '8',
      '--resamples',
      '20',
      '--results',
      join(dir, 's.sweep.jsonl'),
      '--out',
      join(dir, 's.ivec.safetensors'),
    ],
    check: checkArtifacts,
    result: sweepResult,
  },
  {
    name: 'export-onnx',
    args: (dir) => ['export-onnx', '--out', join(dir, 'exported')],
    check: checkExport,
    result: (dir) =>
      readdirSync(join(dir, 'exported'), { recursive: true, encoding: 'utf8' })
        .sort()
        .map((f) => [
          f,
          statSync(join(dir, 'exported', f)).isFile()
            ? createHash('sha256')
                .update(readFileSync(join(dir, 'exported', f)))
                .digest('hex')
            : 'folder',
        ]),
  },
];

/** A seeded stream of numbers in [0, 1): the kill moments are the same on every run of the short mode. */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe(`kills: ${KILLS} per command (SIGINT and SIGKILL at random moments)`, () => {
  for (const sc of SCENARIOS) {
    test(sc.name, { timeout: LONG ? 3_600_000 : 300_000 }, async (t) => {
      const reference = join(root, `${sc.name}-reference`);
      const dir = join(root, sc.name);
      for (const d of [reference, dir]) rmSync(d, { recursive: true, force: true });
      mkdirSync(reference);
      mkdirSync(dir);
      const whole = await iv(sc.args(reference));
      assert.equal(whole.code, 0, whole.stderr);
      const expected = sc.result(reference);
      const random = uniform(LONG ? Date.now() : 20261203);
      const outcomes: Record<string, number> = {};
      for (let k = 0; k < KILLS; k++) {
        const signal: NodeJS.Signals = k % 2 === 0 ? 'SIGINT' : 'SIGKILL';
        const afterMs = Math.round(random() * whole.ms * 1.1);
        const killed = await iv(sc.args(dir), { afterMs, signal });
        // A SIGINT in Node's first moments, before the CLI has installed its handler, ends the process by the
        // signal before it has done or printed anything: checked below like every other outcome.
        const early = signal === 'SIGINT' && killed.signal === 'SIGINT' && killed.stderr === '';
        const outcome = killed.code === 0 ? 'finished' : early ? 'SIGINT:before-start' : `${signal}:${killed.code ?? killed.signal}`;
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        const where = `${sc.name}, kill ${k} (${signal} after ${afterMs} ms)`;
        assert.doesNotMatch(killed.stderr, /^\s+at /m, `${where}: a stack trace\n${killed.stderr}`);
        if (signal === 'SIGINT' && killed.code !== 0 && !early) {
          assert.equal(killed.code, 130, `${where}: exit ${killed.code}\n${killed.stderr}`);
          assert.match(killed.stderr, /interrupted/, `${where}: no message`);
          assert.deepEqual(temporaries(dir), [], `${where}: temporary files after a SIGINT`);
        }
        if (early) assert.deepEqual(temporaries(dir), [], `${where}: temporary files after a SIGINT before the start`);
        sc.check(dir);
        // Every kill is followed by the same command run to its end: it resumes or redoes the work, and cleans up.
        const again = await iv(sc.args(dir));
        assert.equal(again.code, 0, `${where}: the repeated run failed\n${again.stderr}`);
        assert.deepEqual(temporaries(dir), [], `${where}: temporary files after the repeated run`);
        sc.check(dir);
        assert.deepEqual(sc.result(dir), expected, `${where}: the repeated run differs from an uninterrupted one`);
      }
      t.diagnostic(`${sc.name}: uninterrupted ${(whole.ms / 1000).toFixed(1)} s; outcomes ${JSON.stringify(outcomes)}`);
    });
  }
});
