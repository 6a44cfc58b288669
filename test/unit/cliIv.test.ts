import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { tensorsSha256 } from '../../src/core/vectors/artifact';
import { readArtifact, writeArtifact } from '../../src/node/artifactFiles';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
let dir: string;
let data: string;

async function iv(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // Model commands get two threads, as the machines these tests run on have.
  const threads = args[0] === 'export-gguf' ? [] : ['--threads', '2'];
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args, ...threads], { maxBuffer: 1 << 26 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'iv-cli-'));
  data = join(dir, 'pets.jsonl');
  const happy = ['The dog played in the sun', 'Lily got a new toy', 'They ate cake at the party', 'Tom found his ball', 'The bird sang a song'];
  const sad = ['The toy broke', 'Ben lost his hat', 'It rained all day', 'The cat was sick', 'Mia dropped her ice cream'];
  const lines = Array.from({ length: 60 }, (_, i) => JSON.stringify({ text: `${(i % 2 ? sad : happy)[i % 5]} ${i}`, label: i % 2 ? 'sad' : 'happy' }));
  writeFileSync(data, `${lines.join('\n')}\n`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const small = ['--episodes', '8', '--shots', '1', '--batch', '3'];

describe('iv extract / eval / sweep', () => {
  test('extract writes an artifact with provenance; the same seed gives byte-identical tensors', async () => {
    const out = join(dir, 'pets.ivec.safetensors');
    const r = await iv('extract', '--dataset', data, ...small, '--out', out, '--json');
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.method, 'iterative-vectors');
    assert.deepEqual(summary.labels, ['happy', 'sad']);
    assert.ok(summary.timings.forwardPasses === 16 && summary.timings.tokensPerSecond > 0);
    const a = readArtifact(out);
    assert.deepEqual(a.tensors.get('blocks.0.attn_out')?.shape, [3, 288]);
    assert.equal(a.metadata.model.name, 'stories15M');
    assert.equal(a.metadata.options.episodes, 8);
    assert.equal(a.metadata.history?.length, 4, 'refreshes after episodes 0, 3, 6, 7');
    assert.ok(existsSync(out.replace('.safetensors', '.json')));
    const again = join(dir, 'again.ivec.safetensors');
    assert.equal((await iv('extract', '--dataset', data, ...small, '--out', again)).code, 0);
    assert.equal(tensorsSha256(readArtifact(again).tensors), tensorsSha256(a.tensors));
    const other = join(dir, 'other.ivec.safetensors');
    assert.equal((await iv('extract', '--dataset', data, ...small, '--seed', '7', '--out', other)).code, 0);
    assert.notEqual(tensorsSha256(readArtifact(other).tensors), tensorsSha256(a.tensors));
  });

  test('eval prints the metrics as fractions with [low, high] intervals and the settings', async () => {
    const vector = join(dir, 'pets.ivec.safetensors');
    const r = await iv(
      'eval',
      '--dataset',
      data,
      '--method',
      'iv',
      '--vector',
      vector,
      '--episodes',
      '40',
      '--strength',
      '0.7',
      '--inject-at',
      'query',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(r.stdout);
    for (const k of ['accuracy', 'macroF1', 'weightedF1', 'majorityAccuracy']) {
      assert.ok(m[k] >= 0 && m[k] <= 1, k);
      assert.ok(m.ci[k][0] <= m[k] && m[k] <= m.ci[k][1], `${k} inside its interval`);
    }
    assert.equal(m.n, 40);
    assert.equal(m.settings.strength, 0.7);
    assert.equal(m.settings.injectAt, 'query');
    assert.equal(m.settings.split, 'test');
    assert.equal(m.predictionShares.length, 2);
  });

  test('eval --vector uses the strength the vector file chose unless --strength is given, and says which', async () => {
    const chosen = join(dir, 'chosen.ivec.safetensors');
    const a = readArtifact(join(dir, 'pets.ivec.safetensors'));
    a.metadata.options = { ...a.metadata.options, evalStrength: 0.9 };
    writeArtifact(chosen, a);
    const run = async (...extra: string[]) => {
      const r = await iv('eval', '--dataset', data, '--method', 'iv', '--vector', chosen, '--episodes', '6', '--resamples', '0', ...extra, '--json');
      assert.equal(r.code, 0, r.stderr);
      return { settings: JSON.parse(r.stdout).settings, stderr: r.stderr };
    };
    const byFile = await run();
    assert.equal(byFile.settings.strength, 0.9);
    assert.equal(byFile.settings.strengthSource, 'artifact');
    assert.match(byFile.stderr, /Strength 0\.9 \(the vector file's chosen strength\)/);
    const given = await run('--strength', '0.2');
    assert.deepEqual([given.settings.strength, given.settings.strengthSource], [0.2, 'given']);
    const plain = await run().then(() =>
      iv('eval', '--dataset', data, '--method', 'iv', '--vector', join(dir, 'pets.ivec.safetensors'), '--episodes', '6', '--resamples', '0', '--json'),
    );
    assert.deepEqual([JSON.parse(plain.stdout).settings.strength, JSON.parse(plain.stdout).settings.strengthSource], [0.5, 'default']);
  });

  test('--episodes-out writes the rows, token ids and io positions of every episode; the artifact records the tokenization', async () => {
    const out = join(dir, 'episodes.ivec.safetensors');
    const file = join(dir, 'extract-episodes.json');
    const r = await iv('extract', '--dataset', data, ...small, '--out', out, '--episodes-out', file, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readArtifact(out).metadata.options.tokenization, 'segments');
    const x = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(x.format, 'iv-episodes/1');
    assert.equal(x.kind, 'extraction');
    assert.equal(x.tokenization, 'segments');
    assert.equal(x.episodes.length, 8);
    const lines = readFileSync(data, 'utf8').split('\n');
    for (const e of x.episodes) {
      assert.equal(e.support.length, 2);
      for (const row of [...e.support, e.query]) assert.equal(JSON.parse(lines[row.line - 1]).text, row.text, 'rows name their file line');
      assert.equal(e.ioPositions.length, 3);
      assert.deepEqual(e.tokens.slice(e.ioPositions[2] - 1, e.ioPositions[2] + 1), [29871, 13], 'the io separator [▁, \\n]');
      assert.deepEqual(e.zeroShot.tokens, e.tokens.slice(e.tokens.length - e.zeroShot.tokens.length), 'B runs the query tokens of A');
      assert.equal(e.zeroShot.readPosition, e.zeroShot.tokens.length - 1);
    }
    const evalFile = join(dir, 'eval-episodes.json');
    const ev = await iv(
      'eval',
      '--dataset',
      data,
      '--method',
      'iv',
      '--vector',
      out,
      '--episodes',
      '5',
      '--resamples',
      '0',
      '--episodes-out',
      evalFile,
      '--json',
    );
    assert.equal(ev.code, 0, ev.stderr);
    const y = JSON.parse(readFileSync(evalFile, 'utf8'));
    assert.equal(y.kind, 'evaluation');
    assert.equal(y.split, 'test');
    assert.equal(y.strength, 0.5);
    assert.equal(y.episodes.length, 5);
    for (const e of y.episodes) assert.equal(e.predicted, e.labelLogits.indexOf(Math.max(...e.labelLogits)));
    const refused = await iv(
      'extract',
      '--dataset',
      data,
      ...small,
      '--method',
      'tv',
      '--out',
      join(dir, 'tv.ivec.safetensors'),
      '--episodes-out',
      join(dir, 'tv.json'),
    );
    assert.equal(refused.code, 2);
    assert.ok(!existsSync(join(dir, 'tv.ivec.safetensors')));
  });

  test('baselines run on the same episodes: ICL, calibrated ICL, and TV / FV extracted on the fly', async () => {
    const results: Record<string, { n: number; settings: { layer?: number; method?: string } }> = {};
    for (const method of ['icl', 'icl-calibrated', 'tv', 'fv']) {
      const r = await iv(
        'eval',
        '--dataset',
        data,
        '--method',
        method,
        '--episodes',
        '20',
        '--ext-episodes',
        '6',
        '--ext-shots',
        '1',
        '--val-episodes',
        '6',
        '--effect-episodes',
        '2',
        '--top-heads',
        '2',
        '--json',
      );
      assert.equal(r.code, 0, `${method}: ${r.stderr}`);
      results[method] = JSON.parse(r.stdout);
      assert.equal(results[method].n, 20);
    }
    assert.equal(results.fv.settings.layer, 1, 'floor(6 / 3) - 1');
    assert.equal(results.tv.settings.method, 'tv');
    assert.ok(Number.isInteger(results.tv.settings.layer));
  });

  test('sweep appends rows as they finish and resumes without redoing them', async () => {
    const resultsFile = join(dir, 'sweep.jsonl');
    const args = [
      'sweep',
      '--dataset',
      data,
      '--shots-grid',
      '1',
      '--ext-grid',
      '0.3',
      '--eval-grid',
      '0.5,0.9',
      '--no-iter-grid',
      '2',
      '--ext-episodes',
      '4',
      '--val-episodes',
      '6',
      '--episodes',
      '10',
      '--results',
      resultsFile,
      '--json',
    ];
    const first = await iv(...args);
    assert.equal(first.code, 0, first.stderr);
    const out = JSON.parse(first.stdout);
    assert.equal(out.rows.length, 3);
    assert.equal(out.test.n, 10);
    // the header with the settings, then the 3 rows
    assert.equal(readFileSync(resultsFile, 'utf8').trim().split('\n').length, 4);
    assert.equal(JSON.parse(readFileSync(resultsFile, 'utf8').split('\n')[0]).format, 'iv-sweep/1');
    const second = await iv(...args);
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /\[\d+\/3\]/, 'no configuration runs again');
    assert.deepEqual(JSON.parse(second.stdout).rows, out.rows);
    assert.equal(readFileSync(resultsFile, 'utf8').trim().split('\n').length, 4);
    // Other validation episodes: the rows do not apply, a clear message and exit 2, the file untouched.
    const other = await iv(...args.map((a) => (a === '6' ? '8' : a)));
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, /sweep\.jsonl: .*other settings.*eval\.episodes is 6 there, 8 now.*delete/);
    assert.equal(readFileSync(resultsFile, 'utf8').trim().split('\n').length, 4);
  });

  test('rerun rebuilds an artifact from its recipe byte for byte, for iv, tv and fv; a changed dataset or a tampered tensor is refused', async () => {
    const words = ['--label-words', 'happy=good,sad=bad'];
    for (const method of ['iv', 'tv', 'fv']) {
      const file = join(dir, `rerun-${method}.ivec.safetensors`);
      const x = await iv(
        'extract',
        '--dataset',
        data,
        '--method',
        method,
        ...small,
        ...words,
        '--tv-shots-grid',
        '1',
        '--val-episodes',
        '6',
        '--effect-episodes',
        '4',
        '--seed',
        '5',
        '--out',
        file,
      );
      assert.equal(x.code, 0, x.stderr);
      const r = await iv('rerun', file, '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual([JSON.parse(r.stdout).identical, JSON.parse(r.stdout).difference], [true, undefined], method);
    }
    // A tampered tensor: the re-run differs, says where, and exits 1.
    const file = join(dir, 'rerun-iv.ivec.safetensors');
    const a = readArtifact(file);
    const [name, t] = [...a.tensors][0];
    t.data[0] += 1;
    const tampered = join(dir, 'rerun-tampered.ivec.safetensors');
    writeArtifact(tampered, a);
    const bad = await iv('rerun', tampered);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, new RegExp(`the tensors differ: ${name.replace(/\./g, '\\.')} differs first at float 0`));
    // The data changed since the extraction: refused with both hashes, nothing rebuilt.
    const moved = join(dir, 'pets-edited.jsonl');
    writeFileSync(moved, `${readFileSync(data, 'utf8')}${JSON.stringify({ text: 'A new happy row', label: 'happy' })}\n`);
    const changed = await iv('rerun', file, '--dataset', moved);
    assert.equal(changed.code, 2, changed.stderr);
    assert.match(changed.stderr, /cannot be re-run: the dataset .*pets-edited\.jsonl changed since the extraction/);
  });

  test('data problems are reported before any model work', async () => {
    const bad = join(dir, 'broken.jsonl');
    writeFileSync(bad, '{"text": "fine", "label": "a"}\n{"text": broken\n');
    const missingModel = join(dir, 'no-such-model.bin');
    for (const args of [['extract', '--out', join(dir, 'never.ivec.safetensors')], ['eval', '--method', 'icl'], ['sweep']]) {
      const r = await iv(...args, '--dataset', bad, '--model', missingModel);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /broken\.jsonl, line 2: malformed JSON/, args[0]);
      assert.doesNotMatch(r.stderr, /no-such-model/, args[0]);
    }
  });

  test('export-gguf writes a llama.cpp control vector and says it is approximate', async () => {
    const out = join(dir, 'pets.gguf');
    const r = await iv('export-gguf', '--vector', join(dir, 'pets.ivec.safetensors'), '--out', out, '--row', 'happy', '--json');
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.equal(d.approximate, true);
    assert.equal(readFileSync(out).subarray(0, 4).toString(), 'GGUF');
    assert.ok(d.tensors.length >= 5);
    const bad = await iv('export-gguf', '--vector', join(dir, 'pets.ivec.safetensors'), '--out', out, '--row', 'grumpy');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /field "row": "grumpy" is not a class of this artifact \(classes: happy, sad\)/);
  });

  test('bad input: a malformed line is named and nothing is written; a vector for other labels is refused', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, `${readFileSync(data, 'utf8').split('\n').slice(0, 5).join('\n')}\n{"text": "oops", "label": }\n`);
    const out = join(dir, 'bad.ivec.safetensors');
    const r = await iv('extract', '--dataset', bad, '--out', out);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.jsonl, line 6/);
    assert.ok(!existsSync(out));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('bad.ivec')),
      [],
    );

    const relabelled = join(dir, 'relabelled.jsonl');
    writeFileSync(relabelled, readFileSync(data, 'utf8').replaceAll('"sad"', '"gloomy"'));
    const m = await iv('eval', '--dataset', relabelled, '--method', 'iv', '--vector', join(dir, 'pets.ivec.safetensors'), '--episodes', '5');
    assert.equal(m.code, 2);
    assert.match(m.stderr, /extracted for the labels \[happy, sad\] but the dataset's labels are \[happy, gloomy\]/);

    const noMethod = await iv('eval', '--dataset', data);
    assert.equal(noMethod.code, 2);
    assert.match(noMethod.stderr, /--method is required/);
  });
});
