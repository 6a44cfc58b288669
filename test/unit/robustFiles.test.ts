import assert from 'node:assert/strict';
import { constants as bufferConstants } from 'node:buffer';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MAX_TEXT_CHARS } from '../../src/core/datasets';
import { encodeArtifactFiles, type VectorArtifact } from '../../src/core/vectors/artifact';
import { readArtifact, writeArtifact } from '../../src/node/artifactFiles';
import { loadDataset } from '../../src/node/datasets';
import { checkWritableOutputs, readUserFile, writeAtomic } from '../../src/node/files';
import { userError } from './assertions';
import { REPO, SHARED } from './fixtures';

/**
 * Files that are not what they seem (a named pipe, a link to /dev/zero, a folder, a file larger than
 * a JavaScript string), outputs that cannot be written, and interruptions: each a clear UserError
 * (the CLI: exit 2, the message, no stack trace) or a clean stop (exit 130), with nothing half-written.
 */
const CLI = join(REPO, 'dist', 'cli.js');
const SST2 = join(SHARED, 'datasets', 'sst2');
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'iv-robust-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const fifo = (path: string) => execFileSync('mkfifo', [path]);
const pets = (n: number, labels = ['happy', 'sad']) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ text: `a story ${i}`, label: labels[i % labels.length] })).join('\n') + '\n';

/** A pid that no process has any more. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The CLI as a child process, killed after `timeoutMs` (a run that blocks fails the test instead of hanging it); `onStderr` sees its stderr as it comes. */
function iv(
  args: string[],
  { timeoutMs = 120_000, onStderr }: { timeoutMs?: number; onStderr?: (text: string, signal: (s: NodeJS.Signals) => void) => void } = {},
): Promise<Run> {
  const start = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    onStderr?.(stderr, (s) => child.kill(s));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - start });
    }),
  );
}

/** A refused run: exit 2, one line naming the problem, no stack trace. */
function assertRefused(r: Run, ...pieces: (string | RegExp)[]): void {
  assert.equal(r.code, 2, `exit ${r.code}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `a stack trace:\n${r.stderr}`);
  for (const p of pieces) assert.ok(typeof p === 'string' ? r.stderr.includes(p) : p.test(r.stderr), `stderr lacks ${String(p)}:\n${r.stderr}`);
}

describe('readUserFile: regular files only, bounded', () => {
  const limit = { maxBytes: 64, what: 'test file', remedy: 'make it smaller' };

  test('a named pipe is refused at once (never waits for a writer), a link to /dev/zero and a folder too', () => {
    const pipe = join(dir, 'pipe.jsonl');
    fifo(pipe);
    userError(() => readUserFile(pipe, limit), /pipe\.jsonl: the test file is a named pipe \(FIFO\), not a regular file/);
    const zero = join(dir, 'zero.jsonl');
    symlinkSync('/dev/zero', zero);
    userError(() => readUserFile(zero, limit), /the test file is a device, not a regular file \(a link to \/dev\/zero\)/);
    userError(() => readUserFile(dir, limit), /the test file is a folder, not a regular file/);
    userError(() => readUserFile(join(dir, 'missing'), limit), /cannot read the test file: no such file/);
  });

  test('a file above the cap is refused with the cap and what to do; one at it is read whole', () => {
    const big = join(dir, 'big.txt');
    writeFileSync(big, 'x'.repeat(65));
    userError(() => readUserFile(big, limit), /the test file is 65 bytes, above the 64 bytes it is read up to: make it smaller/);
    writeFileSync(big, 'y'.repeat(64));
    assert.equal(readUserFile(big, limit).toString(), 'y'.repeat(64));
  });
});

describe('datasets: odd files, links, one class, huge rows and files', () => {
  test('a dataset that is a named pipe or a link to /dev/zero fails with exit 2 at once', async () => {
    const pipe = join(dir, 'data-pipe.jsonl');
    fifo(pipe);
    assertRefused(await iv(['extract', '--dataset', pipe, '--out', join(dir, 'p.ivec.safetensors')], { timeoutMs: 30_000 }), 'named pipe (FIFO)');
    const zero = join(dir, 'data-zero.jsonl');
    symlinkSync('/dev/zero', zero);
    assertRefused(await iv(['extract', '--dataset', zero, '--out', join(dir, 'z.ivec.safetensors')], { timeoutMs: 30_000 }), 'a link to /dev/zero');
    assert.ok(!existsSync(join(dir, 'p.ivec.safetensors')) && !existsSync(join(dir, 'z.ivec.safetensors')));
  });

  test('split files that are symlinks are read; a named pipe among them is named', async () => {
    const linked = join(dir, 'linked');
    mkdirSync(linked);
    symlinkSync(join(SST2, 'train.jsonl'), join(linked, 'train.jsonl'));
    symlinkSync(join(SST2, 'test.jsonl'), join(linked, 'test.jsonl'));
    const d = await loadDataset(linked);
    assert.equal(d.counts.test!.rows, 1821);
    assert.equal(d.counts.train!.rows + d.counts.validation!.rows, 6920);
    fifo(join(linked, 'validation.jsonl'));
    await assert.rejects(loadDataset(linked), /validation\.jsonl: the dataset file is a named pipe/);
  });

  test('a dataset with one label is refused at loading, naming the file and the label', async () => {
    const one = join(dir, 'one-label.jsonl');
    writeFileSync(one, pets(20, ['happy']));
    assertRefused(await iv(['extract', '--dataset', one, '--out', join(dir, 'one.ivec.safetensors')]), one, 'every row has the label "happy"');
  });

  test('a file larger than the longest JavaScript string loads, and its huge rows are cut before tokenizing', { timeout: 120_000 }, async () => {
    // Rows of 1 MiB text, until the file passes V8's string limit (about 512 MiB): as one string, it could not be decoded.
    const path = join(dir, 'huge.jsonl');
    const pad = 'x'.repeat(1 << 20);
    const fd = openSync(path, 'w');
    let n = 0;
    for (let size = 0; size <= bufferConstants.MAX_STRING_LENGTH; n++)
      size += writeSync(fd, `${JSON.stringify({ text: `row ${n} ${pad}`, label: n % 2 ? 'a' : 'b' })}\n`);
    closeSync(fd);
    try {
      const d = await loadDataset(path, { testFraction: 0, validationFraction: 0 });
      const rows = d.splits.train!;
      assert.equal(rows.length, n);
      assert.ok(rows.every((r) => r.text.length === MAX_TEXT_CHARS));
      assert.match(d.notes[0], new RegExp(`^${rows.length} rows longer than ${MAX_TEXT_CHARS} characters cut`));
    } finally {
      rmSync(path, { force: true });
    }
  });
});

describe('outputs are checked before any work', () => {
  test('checkWritableOutputs: a folder for a file, a file for a folder, a missing folder, /sys; good paths leave nothing behind', () => {
    const sub = join(dir, 'outputs');
    mkdirSync(sub);
    const file = join(sub, 'f.txt');
    writeFileSync(file, '');
    userError(() => checkWritableOutputs({ '--out': sub }), /--out names a folder; give the path of a file/);
    userError(() => checkWritableOutputs({ '--cache-dir': file }, { folder: true }), /--cache-dir names a file, not a folder/);
    userError(() => checkWritableOutputs({ '--results': join(sub, 'no', 'r.json') }), /--results is in a folder that does not exist/);
    userError(() => checkWritableOutputs({ '--results': join(file, 'r.json') }), /--results cannot be written: a part of the path is not a folder/);
    userError(() => checkWritableOutputs({ '--out': '/sys/v.ivec.safetensors' }), /--out cannot be written: no file can be created in \/sys/);
    userError(() => checkWritableOutputs({ '--cache-dir': '/sys' }, { folder: true }), /--cache-dir cannot be written/);
    checkWritableOutputs({ '--out': join(sub, 'new.ivec.safetensors'), '--results': file, '--episodes-out': undefined });
    checkWritableOutputs({ '--out': join(sub, 'a', 'b', 'c.json') }, { makeFolders: true });
    checkWritableOutputs({ '--cache-dir': join(sub, 'cache', 'deeper') }, { folder: true });
    checkWritableOutputs({ out: { scheme: 'vscode-remote', fsPath: '/sys/x' } }); // not a local file: the storage's business
    assert.deepEqual(readdirSync(sub), ['f.txt']);
  });

  test('the CLI refuses a bad --out, --results, --episodes-out or --cache-dir with exit 2 before loading the model', async () => {
    const taken = join(dir, 'taken.ivec.safetensors');
    mkdirSync(taken);
    const file = join(dir, 'plain-file');
    writeFileSync(file, '');
    const runs: [string[], string][] = [
      [['extract', '--dataset', SST2, '--out', taken], '--out names a folder'],
      [['extract', '--dataset', SST2, '--out', join(dir, 'none', 'v.ivec.safetensors')], '--out is in a folder that does not exist'],
      [['extract', '--dataset', SST2, '--out', join(dir, 'v.ivec.safetensors'), '--episodes-out', dir], '--episodes-out names a folder'],
      [['eval', '--dataset', SST2, '--method', 'icl', '--results', dir], '--results names a folder'],
      [['sweep', '--dataset', SST2, '--results', '/sys/rows.jsonl'], '--results cannot be written'],
      [['extract', '--dataset', SST2, '--out', join(dir, 'v.ivec.safetensors'), '--cache-dir', '/sys'], '--cache-dir cannot be written'],
      [['generate', 'Once', '--cache-dir', file], '--cache-dir names a file, not a folder'],
      [['export-onnx', '--out', file], '--out names a file, not a folder'],
    ];
    for (const [args, message] of runs) {
      const r = await iv(args);
      assertRefused(r, message);
      assert.doesNotMatch(r.stderr, /runs on cpu|Fetching/, `${args.join(' ')}: the model was loaded first`);
    }
    assert.deepEqual(readdirSync(taken), []);
    assert.ok(!existsSync(join(dir, 'v.ivec.safetensors')));
  });

  test('data problems come before model problems', async () => {
    const tiny = join(dir, 'tiny.jsonl');
    writeFileSync(tiny, pets(6));
    const r = await iv(['extract', '--dataset', tiny, '--shots', '5', '--model', join(dir, 'no-such-model.onnx'), '--out', join(dir, 't.ivec.safetensors')]);
    assertRefused(r, 'train has fewer rows than the 5 shots per label asked for');
    const e = await iv(['eval', '--dataset', tiny, '--method', 'icl', '--shots', '9', '--model', join(dir, 'no-such-model.onnx')]);
    assertRefused(e, 'test has fewer rows than the 9 shots per label');
  });
});

describe('vector artifacts: odd files and contradicting pairs', () => {
  function artifact(seed: number): VectorArtifact {
    const data = Float32Array.from({ length: 12 }, (_, i) => seed + i);
    return {
      tensors: new Map([['blocks.0.attn_out', { shape: [3, 4], data }]]),
      metadata: {
        formatVersion: 1,
        method: 'iterative-vectors',
        site: 'attn_out',
        labels: ['a', 'b'],
        model: { name: 'm', sha256: 'f'.repeat(64), nLayers: 1, dModel: 4, vocabSize: 10 },
        tokenizerSha256: 't',
        dataset: { id: 'd', source: 'd.jsonl', sha256: 'e'.repeat(64), counts: { train: 4 } },
        options: { seed },
        creator: { name: 'iterative-vectors', version: '0.1.0' },
        createdAt: `2025-01-0${seed}T00:00:00.000Z`,
      },
    };
  }

  test('a vector path that is a folder, a named pipe or a link to /dev/zero fails with exit 2 at once', async () => {
    const folder = join(dir, 'folder.ivec.safetensors');
    mkdirSync(folder);
    const pipe = join(dir, 'pipe.ivec.safetensors');
    fifo(pipe);
    const zero = join(dir, 'zero.ivec.safetensors');
    symlinkSync('/dev/zero', zero);
    for (const [vector, what] of [
      [folder, 'is a folder'],
      [pipe, 'is a named pipe'],
      [zero, 'is a device'],
    ]) {
      assertRefused(await iv(['eval', '--vector', vector, '--dataset', SST2], { timeoutMs: 30_000 }), `the vector artifact ${what}`);
      assertRefused(await iv(['export-gguf', '--vector', vector, '--out', join(dir, 'x.gguf')], { timeoutMs: 30_000 }), `the vector artifact ${what}`);
    }
  });

  test('writing replaces the pair so that no moment shows two that disagree; a reader refuses a contradicting pair', () => {
    const sub = join(dir, 'pair');
    mkdirSync(sub);
    const path = join(sub, 'v.ivec.safetensors');
    const sidecar = join(sub, 'v.ivec.json');
    writeArtifact(path, artifact(1));
    writeArtifact(path, artifact(2));
    assert.equal(readArtifact(path).metadata.options.seed, 2);
    assert.deepEqual(readdirSync(sub).sort(), ['v.ivec.json', 'v.ivec.safetensors']);

    // What a writer killed between its two renames leaves when it writes the sidecar first (the old order).
    writeFileSync(sidecar, encodeArtifactFiles(artifact(3)).sidecar);
    userError(() => readArtifact(path), /v\.ivec\.json: does not match v\.ivec\.safetensors beside it .* delete v\.ivec\.json to use the artifact as it is/);
    writeFileSync(sidecar, '{ not json');
    userError(() => readArtifact(path), /does not match/);
    // The artifact alone is complete.
    rmSync(sidecar);
    assert.equal(readArtifact(path).metadata.options.seed, 2);
    writeArtifact(path, artifact(4));
    assert.equal(JSON.parse(readFileSync(sidecar, 'utf8')).options.seed, 4);
  });

  test('the temporary files of a killed writer are removed by the next write; a live one keeps its own', () => {
    const sub = join(dir, 'stale');
    mkdirSync(sub);
    const stale = `x.json.tmp-${deadPid()}-1700000000000`;
    const live = `x.json.tmp-${process.ppid}-1700000000000`;
    const another = `y.json.tmp-${deadPid()}-1700000000000`;
    for (const f of [stale, live, another]) writeFileSync(join(sub, f), 'partial');
    writeAtomic(join(sub, 'x.json'), 'done');
    assert.deepEqual(readdirSync(sub).sort(), ['x.json', live, another].sort());
  });
});

describe('interruption', () => {
  const extractArgs = (out: string) => ['extract', '--dataset', SST2, '--episodes', '2000', '--shots', '1', '--batch', '4', '--threads', '2', '--out', out];

  test('Ctrl-C during an extraction stops it with exit 130, says nothing was written, and leaves no file', { timeout: 180_000 }, async () => {
    const sub = join(dir, 'sigint');
    mkdirSync(sub);
    let sent = false;
    const r = await iv(extractArgs(join(sub, 'v.ivec.safetensors')), {
      onStderr: (text, signal) => {
        if (!sent && text.includes('Extracting iv')) {
          sent = true;
          setTimeout(() => signal('SIGINT'), 500);
        }
      },
    });
    assert.ok(sent, r.stderr);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /iv extract: interrupted: nothing written\n$/);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    assert.deepEqual(readdirSync(sub), []);
  });

  test('a second Ctrl-C stops at once', { timeout: 180_000 }, async () => {
    const sub = join(dir, 'sigint2');
    mkdirSync(sub);
    let sent = false;
    let secondAt = 0;
    const r = await iv(extractArgs(join(sub, 'v.ivec.safetensors')), {
      onStderr: (text, signal) => {
        if (!sent && text.includes('Extracting iv')) {
          sent = true;
          signal('SIGINT');
        }
        if (text.includes('press Ctrl-C again') && secondAt === 0) {
          secondAt = performance.now();
          signal('SIGINT');
        }
      },
    });
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted: nothing written/);
    assert.deepEqual(readdirSync(sub), []);
  });

  test('export-onnx removes what an export killed by SIGKILL left, and puts back a folder it had moved aside', { timeout: 180_000 }, async () => {
    const sub = join(dir, 'export');
    mkdirSync(sub);
    const out = join(sub, 'exp');
    const tmp = join(sub, `.exp.tmp-${deadPid()}-1700000000000`);
    mkdirSync(join(tmp, 'onnx'), { recursive: true });
    writeFileSync(join(tmp, 'onnx', 'model.onnx'), 'partial');
    const r = await iv(['export-onnx', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(sub), ['exp']);
    assert.ok(statSync(join(out, 'onnx', 'model.onnx')).size > 1e6);

    // Killed between moving the earlier export aside and renaming its own in: the earlier one comes back, then is replaced.
    const old = join(sub, `.exp.old-${deadPid()}-1700000000000`);
    execFileSync('mv', [out, old]);
    const again = await iv(['export-onnx', '--out', out]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(readdirSync(sub), ['exp']);
  });
});

describe('packaging', () => {
  test('the build leaves dist/cli.js executable, as package.json bin (npx iv) needs', () => {
    assert.ok(statSync(CLI).mode & 0o111, `${CLI} has no run bit: run npm run build`);
    const r = spawnSync(CLI, ['--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^iv: Iterative Vectors, headless/);
  });
});
