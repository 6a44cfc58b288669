import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';

// The CLI as users run it: the bundle that `npm test` builds first.
const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

async function iv(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('iv generate', () => {
  test('--json prints one object with text, tokens and timings', async () => {
    const r = await iv('generate', 'Once upon a time', '--max-new-tokens', '12', '--json', '--threads', '2');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.text, ', there was a little girl named Lily. She loved');
    assert.equal(out.tokens.length, 12);
    assert.equal(out.timings.executionProvider, 'cpu');
    for (const k of ['prefillMs', 'decodeMs', 'decodeTokensPerSecond']) assert.ok(out.timings[k] > 0, k);
  });

  test('plain output streams the prompt and its continuation', async () => {
    const r = await iv('generate', 'Once upon a time', '--max-new-tokens', '6');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Once upon a time, there was a little girl\n');
  });

  test('an unavailable device falls back to cpu and says so', async () => {
    const r = await iv('generate', 'Hello', '--max-new-tokens', '2', '--device', 'cuda', '--json');
    assert.equal(r.code, 0, r.stderr);
    const provider = JSON.parse(r.stdout).timings.executionProvider;
    if (provider !== 'cuda') assert.match(r.stderr, /Execution provider cuda: .*falling back/);
  });

  for (const [name, args, message] of [
    ['empty prompt', ['generate', '  '], /the prompt is empty/],
    ['no prompt', ['generate'], /exactly one prompt/],
    ['bad number', ['generate', 'x', '--max-new-tokens', 'many'], /--max-new-tokens must be an integer/],
    ['unknown flag', ['generate', 'x', '--nope'], /Unknown option '--nope'/],
    ['unknown device', ['generate', 'x', '--device', 'tpu'], /--device must be one of cpu, cuda, dml, coreml, webgpu, auto/],
    ['unknown command', ['frobnicate'], /unknown command "frobnicate"/],
  ] as const) {
    test(`${name} exits with 2 and a clear message`, async () => {
      const r = await iv(...args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }
});
