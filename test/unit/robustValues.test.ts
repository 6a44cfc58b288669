// Values a hostile user can hand the CLI: numbers Number() would silently misread, vector files with
// non-finite values, repeated keys or another tokenizer, and sweep results files a kill or a typo
// left behind. Each is a UserError (exit 2, one line naming the flag or file, no stack trace) before
// any model work, or, for a cut last line of a results file, a warning and a resumed sweep.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { encodeSafetensors } from '../../src/core/vectors/safetensors';
import { parseSweepResults } from '../../src/core/experiment/sweepResults';
import { readArtifact, writeArtifact } from '../../src/node/artifactFiles';

// The CLI as users run it: the bundle that `npm test` builds first.
const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
let dir: string;
let data: string;
let vector: string;

async function iv(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { maxBuffer: 1 << 26 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Exit 2 with one line on stderr matching `message`, no stack trace, nothing on stdout. */
async function refused(args: string[], message: RegExp): Promise<string> {
  const r = await iv(...args);
  assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.match(lines[lines.length - 1], message);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.equal(r.stdout, '');
  return r.stderr;
}

const model = ['--threads', '2'];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'iv-robust-'));
  data = join(dir, 'pets.jsonl');
  const happy = ['The dog played in the sun', 'Lily got a new toy', 'They ate cake at the party', 'Tom found his ball', 'The bird sang a song'];
  const sad = ['The toy broke', 'Ben lost his hat', 'It rained all day', 'The cat was sick', 'Mia dropped her ice cream'];
  const lines = Array.from({ length: 60 }, (_, i) => JSON.stringify({ text: `${(i % 2 ? sad : happy)[i % 5]} ${i}`, label: i % 2 ? 'sad' : 'happy' }));
  writeFileSync(data, `${lines.join('\n')}\n`);
  vector = join(dir, 'pets.ivec.safetensors');
  const r = await iv('extract', '--dataset', data, '--episodes', '8', '--shots', '1', '--batch', '3', '--out', vector, ...model);
  assert.equal(r.code, 0, r.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('numbers: no silent coercion, one reader for every flag', () => {
  for (const [args, message] of [
    [['eval', '--method', 'icl', '--seed', ''], /--seed must be an integer in \[0, 4294967295\], got "" \(empty\)$/],
    [['eval', '--method', 'icl', '--shots', ''], /--shots must be an integer in \[0, 64\], got "" \(empty\)$/],
    [['eval', '--method', 'iv', '--strength', ''], /--strength must be a number in \[-100, 100\], got "" \(empty\)$/],
    [
      ['eval', '--method', 'icl', '--seed', '0x10'],
      /--seed must be an integer .*got "0x10" \(write numbers in decimal, not in hexadecimal, octal or binary\)$/,
    ],
    [['eval', '--method', 'icl', '--episodes', '0b11'], /--episodes must be an integer .*got "0b11" \(write numbers in decimal/],
    [['eval', '--method', 'iv', '--strength', '2e-324'], /--strength must be a number .*got "2e-324" \(too small to represent: it would be read as 0\)$/],
    [['eval', '--method', 'iv', '--strength', '1e309'], /--strength must be a number .*got "1e309" \(too large to represent\)$/],
    [['eval', '--method', 'icl', '--seed', '4294967296'], /--seed must be an integer in \[0, 4294967295\], got "4294967296"$/],
    [['sweep', '--shots-grid=-1'], /--shots-grid takes whole numbers from 1 to 64, got "-1"$/],
    [['sweep', '--eval-grid', '0.5,1e300'], /--eval-grid takes numbers from -100 to 100, got "0\.5,1e300"$/],
    [['sweep', '--ext-grid', '0.1,,0.3'], /--ext-grid must be a list of numbers separated by commas, got "0\.1,,0\.3" \("": empty\)$/],
    // The commands outside the spec's table read numbers through the same reader.
    [['generate', 'Once', '--seed', ''], /--seed must be an integer in \[0, 4294967295\], got "" \(empty\)$/],
    [['generate', 'Once', '--seed', '4294967296'], /--seed must be an integer in \[0, 4294967295\], got "4294967296"$/],
    [['generate', 'Once', '--max-new-tokens', '0x3'], /--max-new-tokens must be an integer .*\(write numbers in decimal/],
    [['generate', 'Once', '--temperature', '1e-400'], /--temperature must be a number .*\(too small to represent/],
  ] as const) {
    test(`${args.join(' ')} is refused`, async () => {
      const full = args[0] === 'generate' ? [...args] : [...args, '--dataset', data];
      await refused(full, message);
    });
  }
});

describe('vector artifacts: refused at load, before any model work', () => {
  /** A copy of the extracted artifact, its tensors or metadata changed, written as they are. */
  function variant(
    name: string,
    change: (tensors: Map<string, { shape: number[]; data: Float32Array }>, meta: Record<string, unknown>) => string | void,
  ): string {
    const a = readArtifact(vector);
    const tensors = new Map([...a.tensors].map(([k, t]) => [k, { shape: t.shape, data: Float32Array.from(t.data) }]));
    const meta = JSON.parse(JSON.stringify(a.metadata)) as Record<string, unknown>;
    const iv = change(tensors, meta) ?? JSON.stringify(meta);
    const path = join(dir, name);
    writeFileSync(path, encodeSafetensors(tensors, { iv }));
    return path;
  }

  for (const [what, value, shown] of [
    ['NaN', NaN, 'NaN'],
    ['an infinite value', -Infinity, '-Infinity'],
  ] as const) {
    test(`${what}: eval and export-gguf name the file, tensor, row and index`, async () => {
      // Row 2 is the query row, the one export-gguf takes by default.
      const bad = variant(`${shown}.ivec.safetensors`, (t) => void (t.get('blocks.3.attn_out')!.data[2 * 288 + 17] = value));
      const message = new RegExp(
        `${shown}\\.ivec\\.safetensors: the vectors must be finite numbers: tensor "blocks\\.3\\.attn_out", row 2, index 17 is ${shown}$`,
      );
      const stderr = await refused(['eval', '--vector', bad, '--dataset', data, '--episodes', '5', ...model], message);
      assert.doesNotMatch(stderr, /Model|Dataset|evaluating/, 'refused before the dataset and the model are loaded');
      const gguf = join(dir, `${shown}.gguf`);
      await refused(['export-gguf', '--vector', bad, '--out', gguf], message);
      assert.ok(!existsSync(gguf), 'nothing written');
    });
  }

  test('a metadata key given twice is refused, naming it', async () => {
    const bad = variant('twice.ivec.safetensors', (_t, m) => JSON.stringify(m).replace('{', '{"labels":["sad","happy"],'));
    await refused(['eval', '--vector', bad, '--dataset', data, ...model], /twice\.ivec\.safetensors, field "iv": the key "labels" appears twice in one object/);
  });

  test("another tokenizer than the model's: eval and rerun name both hashes", async () => {
    const ours = readArtifact(vector).metadata.tokenizerSha256;
    const other = 'f'.repeat(64);
    const bad = join(dir, 'tokenizer.ivec.safetensors');
    const a = readArtifact(vector);
    writeArtifact(bad, { ...a, metadata: { ...a.metadata, tokenizerSha256: other } });
    const message = new RegExp(`tokenizer\\.ivec\\.safetensors: .*tokenizer sha256 ${other} vs ${ours} differ$`);
    const stderr = await refused(['eval', '--vector', bad, '--dataset', data, '--episodes', '5', ...model], message);
    assert.doesNotMatch(stderr, /evaluating/);
    await refused(['rerun', bad, ...model], message);
  });
});

describe('sweep results file', () => {
  const sweep = (results: string) => [
    'sweep',
    '--dataset',
    data,
    '--ext-episodes',
    '4',
    '--val-episodes',
    '4',
    '--episodes',
    '5',
    '--shots-grid',
    '1',
    '--ext-grid',
    '0.3',
    '--eval-grid',
    '0.5,0.9',
    '--no-iter-grid=',
    '--results',
    results,
    '--json',
    ...model,
  ];

  test('a results file cut mid-line (a killed sweep) resumes: a warning, the cut row runs again, the file is whole', async () => {
    const file = join(dir, 'pets.sweep.jsonl');
    const first = await iv(...sweep(file));
    assert.equal(first.code, 0, first.stderr);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.slice(0, text.length - 25));
    const resumed = await iv(...sweep(file));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /warning: .*pets\.sweep\.jsonl, line 3: dropped the unfinished last line .*runs again/);
    assert.match(resumed.stderr, /\[2\/2\] k=1 b=10 a1=0\.3 a2=0\.9/, 'the cut row is computed again');
    assert.doesNotMatch(resumed.stderr, /\[1\/2\]/, 'the whole row is not');
    const strip = (rows: { extractMs: number; evalMs: number }[]) => rows.map(({ extractMs: _e, evalMs: _v, ...r }) => r);
    assert.deepEqual(strip(JSON.parse(resumed.stdout).rows), strip(JSON.parse(first.stdout).rows));
    assert.equal(parseSweepResults(readFileSync(file, 'utf8'), file).rows.length, 2);
  });

  test('a null line, or a folder in the file’s place, is refused naming the file', async () => {
    const file = join(dir, 'pets.sweep.jsonl');
    const bad = join(dir, 'null.sweep.jsonl');
    writeFileSync(bad, `${readFileSync(file, 'utf8')}null\n`);
    await refused(sweep(bad), /null\.sweep\.jsonl, line 4: not a sweep row: not an object/);
    const folder = join(dir, 'folder.sweep.jsonl');
    mkdirSync(folder);
    // Refused with the other output paths before any work.
    await refused(sweep(folder), /--results names a folder/);
  });
});
