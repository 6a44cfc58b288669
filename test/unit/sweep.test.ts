// The sweep's results file: its header of settings, resume only with the same settings, and the
// parser every reader uses. runSweep runs on the embedded model (real ONNX Runtime sessions).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Dataset } from '../../src/core/datasets';
import { CancelledError, UserError } from '../../src/core/errors';
import { runSweep, type SweepGrid, type SweepOptions, type SweepRow } from '../../src/core/experiment/sweep';
import { parseSweepResults, settingsDifferences, sweepHeaderLine, SWEEP_FORMAT } from '../../src/core/experiment/sweepResults';
import { prepareTask, type Task } from '../../src/core/experiment/task';
import type { ResultsStore } from '../../src/core/ports';
import { loadDataset } from '../../src/node/datasets';
import { resultsFile } from '../../src/node/sweepResults';
import type { LoadedModel } from '../../src/runtime/loadModel';
import { embeddedModel } from './fixtures';

let dir: string;
let loaded: LoadedModel;
let dataset: Dataset;
let task: Task;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'iv-sweep-'));
  const data = join(dir, 'pets.jsonl');
  const happy = ['The dog played in the sun', 'Lily got a new toy', 'They ate cake at the party', 'Tom found his ball', 'The bird sang a song'];
  const sad = ['The toy broke', 'Ben lost his hat', 'It rained all day', 'The cat was sick', 'Mia dropped her ice cream'];
  writeFileSync(
    data,
    `${Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `${(i % 2 ? sad : happy)[i % 5]} ${i}`, label: i % 2 ? 'sad' : 'happy' })).join('\n')}\n`,
  );
  loaded = await embeddedModel();
  dataset = await loadDataset(data);
  task = prepareTask(dataset, loaded.tokenizer, loaded.model.info);
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await loaded?.model.dispose();
});

// One extraction (k = 1, a1 = 0.3) evaluated at two a2 values: two rows.
const GRID: SweepGrid = { shots: [1], extStrengths: [0.3], evalStrengths: [0.5, 0.9], noIterationStrengths: [] };

function options(
  results: string | ResultsStore,
  over: { extract?: Partial<SweepOptions['extract']>; eval?: Partial<SweepOptions['eval']> } = {},
): SweepOptions {
  return {
    extract: { episodes: 4, seed: 42, zeroShotPosition: 'separator', refreshEvery: 2, ...over.extract },
    eval: { shots: 1, episodes: 6, seed: 42, demoOrder: 'shuffled', resamples: 0, ...over.eval },
    injectAt: 'all',
    results: typeof results === 'string' ? resultsFile(results) : results,
  };
}

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n');

const userError = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
  assert.match(e.message, pattern);
  return true;
};

describe('runSweep results file', () => {
  let file: string;
  let first: Awaited<ReturnType<typeof runSweep>>;

  before(async () => {
    file = join(dir, 'pets.sweep.jsonl');
    first = await runSweep(loaded.model, task, GRID, options(file));
  });

  test('starts with a header of the settings, then one row per configuration', () => {
    assert.equal(first.rows.length, 2);
    assert.ok(first.stats.forwardPasses > 0);
    const [header, ...rows] = lines(file);
    const h = JSON.parse(header);
    assert.equal(h.format, SWEEP_FORMAT);
    assert.deepEqual(h.settings, first.settings);
    assert.deepEqual(h.settings.model, { name: loaded.model.info.name, sha256: loaded.model.info.sha256 });
    assert.equal(h.settings.dataset.sha256, dataset.sha256);
    assert.deepEqual(h.settings.dataset.labels, ['happy', 'sad']);
    assert.deepEqual(h.settings.verbalizer, JSON.parse(JSON.stringify(task.verbalizer.options)));
    assert.deepEqual(h.settings.extract, { episodes: 4, seed: 42, zeroShotPosition: 'separator', refreshEvery: 2 });
    assert.deepEqual(h.settings.eval, { shots: 1, episodes: 6, seed: 42, demoOrder: 'shuffled' });
    assert.equal(h.settings.injectAt, 'all');
    assert.deepEqual(
      rows.map((r) => JSON.parse(r)),
      first.rows,
    );
    assert.deepEqual(parseSweepResults(readFileSync(file, 'utf8'), file), { settings: first.settings, rows: first.rows });
  });

  test('a resume with the same settings reuses every row: no forward pass, nothing appended', async () => {
    const before = readFileSync(file, 'utf8');
    // Wider option objects, as the commands pass them (an extraction request's shots and strength,
    // a test evaluation's split and resamples), are the same settings: runSweep sets those per row.
    const wide = options(file);
    Object.assign(wide.extract, { shots: 4, strength: 0.7 });
    Object.assign(wide.eval, { split: 'test', resamples: 1000 });
    const again = await runSweep(loaded.model, task, GRID, wide);
    assert.equal(again.stats.forwardPasses, 0);
    assert.deepEqual(again.rows, first.rows);
    assert.equal(readFileSync(file, 'utf8'), before);
  });

  test('a larger grid with the same settings runs only the new configurations', async () => {
    const copy = join(dir, 'grown.sweep.jsonl');
    writeFileSync(copy, readFileSync(file, 'utf8'));
    const grown = await runSweep(loaded.model, task, { ...GRID, evalStrengths: [0.5, 0.9, 0.7] }, options(copy));
    assert.ok(grown.stats.forwardPasses > 0);
    assert.deepEqual(grown.rows.slice(0, 2), first.rows);
    assert.equal(grown.rows[2].evalStrength, 0.7);
    assert.equal(lines(copy).length, 4);
  });

  test('a resume with another seed refuses, naming the file and each differing field with both values', async () => {
    const before = readFileSync(file, 'utf8');
    await assert.rejects(
      runSweep(loaded.model, task, GRID, options(file, { eval: { seed: 7 } })),
      userError(/pets\.sweep\.jsonl: .*other settings.*eval\.seed is 42 there, 7 now.*another results file.*delete/),
    );
    await assert.rejects(
      runSweep(loaded.model, task, GRID, options(file, { extract: { seed: 7, episodes: 8 } })),
      userError(/extract\.episodes is 4 there, 8 now; extract\.seed is 42 there, 7 now/),
    );
    assert.equal(readFileSync(file, 'utf8'), before, 'the file is left as it was');
  });

  test('a resume with other validation episodes, prompt options or injection site refuses', async () => {
    await assert.rejects(runSweep(loaded.model, task, GRID, options(file, { eval: { episodes: 12 } })), userError(/eval\.episodes is 6 there, 12 now/));
    const withBos = prepareTask(dataset, loaded.tokenizer, loaded.model.info, { bos: true });
    await assert.rejects(runSweep(loaded.model, withBos, GRID, options(file)), userError(/verbalizer\.bos is false there, true now/));
    await assert.rejects(runSweep(loaded.model, task, GRID, { ...options(file), injectAt: 'query' }), userError(/injectAt is "all" there, "query" now/));
  });

  test("a file without a header (an older version's) refuses, naming the file and line 1", async () => {
    const old = join(dir, 'old.sweep.jsonl');
    writeFileSync(old, first.rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    await assert.rejects(runSweep(loaded.model, task, GRID, options(old)), userError(/old\.sweep\.jsonl, line 1: .*no header.*older version/));
    assert.equal(lines(old).length, 2, 'nothing appended');
  });

  test('a sweep killed while writing a row resumes: the cut line is dropped with a warning and that row runs again', async () => {
    const text = readFileSync(file, 'utf8');
    const cut = join(dir, 'cut.sweep.jsonl');
    // What a kill leaves: the header, the first row, and the second row cut mid-line (no newline).
    writeFileSync(cut, text.slice(0, text.length - 20));
    const warnings: string[] = [];
    const computed: SweepRow[] = [];
    const resumed = await runSweep(loaded.model, task, GRID, { ...options(cut), warn: (m) => warnings.push(m), onRow: (r) => computed.push(r) });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /cut\.sweep\.jsonl, line 3: dropped the unfinished last line .*runs again/);
    assert.deepEqual(
      computed.map((r) => r.evalStrength),
      [0.9],
      'only the cut row is computed again',
    );
    assert.deepEqual(resumed.rows[0], first.rows[0], 'the whole row is read back');
    assert.deepEqual(
      resumed.rows.map(({ extractMs: _e, evalMs: _v, ...r }) => r),
      first.rows.map(({ extractMs: _e, evalMs: _v, ...r }) => r),
      'the same numbers as the uninterrupted sweep',
    );
    // The file is whole again: a header and two rows, each on its own line, and it reads back without a warning.
    assert.deepEqual(parseSweepResults(readFileSync(cut, 'utf8'), cut), { settings: first.settings, rows: resumed.rows });
    assert.equal(lines(cut).length, 3);

    // A file cut inside its header: the header is written again and the sweep runs from the start.
    const header = join(dir, 'header-cut.sweep.jsonl');
    writeFileSync(header, text.slice(0, 30));
    const again = await runSweep(loaded.model, task, GRID, { ...options(header), warn: (m) => warnings.push(m) });
    assert.match(warnings[1], /header-cut\.sweep\.jsonl, line 1: dropped the unfinished last line/);
    assert.deepEqual(parseSweepResults(readFileSync(header, 'utf8'), header), { settings: first.settings, rows: again.rows });
  });

  test('a cut line that is not the last, a null line or a non-row line refuses with its line number; the file is left as it was', async () => {
    const text = readFileSync(file, 'utf8');
    const [head, row1, row2] = text.trim().split('\n');
    const refused = async (name: string, content: string, pattern: RegExp) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      await assert.rejects(runSweep(loaded.model, task, GRID, options(path)), userError(pattern));
      assert.equal(readFileSync(path, 'utf8'), content, `${name} is left as it was`);
    };
    await refused('middle.sweep.jsonl', `${head}\n${row1.slice(0, 40)}\n${row2}\n`, /middle\.sweep\.jsonl, line 2: not valid JSON at column 41/);
    await refused('null.sweep.jsonl', `${text}null\n`, /null\.sweep\.jsonl, line 4: not a sweep row: not an object/);
    await refused('null-last.sweep.jsonl', `${text}null`, /null-last\.sweep\.jsonl, line 4: not a sweep row: not an object/);
    await refused('null-header.sweep.jsonl', `null\n${row1}\n`, /null-header\.sweep\.jsonl, line 1: .*not a sweep results file/);
    await refused('odd.sweep.jsonl', `${text}[1, 2]\n`, /odd\.sweep\.jsonl, line 4: not a sweep row: not an object/);
    await refused(
      'twice.sweep.jsonl',
      `${text}${row1.replace('{', '{"shots":2,')}\n`,
      /twice\.sweep\.jsonl, line 4, field "shots": the key "shots" appears twice/,
    );
  });

  test('a folder where the results file should be is a UserError naming it', async () => {
    const folder = join(dir, 'folder.sweep.jsonl');
    mkdirSync(folder);
    await assert.rejects(
      runSweep(loaded.model, task, GRID, options(folder)),
      userError(/folder\.sweep\.jsonl: cannot read the sweep results file: it is a folder/),
    );
    const missing = join(dir, 'no-such-folder', 'x.sweep.jsonl');
    await assert.rejects(
      runSweep(loaded.model, task, GRID, options(missing)),
      userError(/x\.sweep\.jsonl: cannot write the sweep results file: its folder does not exist/),
    );
  });
});

describe('runSweep results store', () => {
  /** Rows kept in memory: no file behind it, as a workspace of any scheme in the extension. */
  function memoryStore(): ResultsStore & { text?: string } {
    const store: ResultsStore & { text?: string } = {
      name: 'memory:pets.sweep.jsonl',
      read: async () => store.text,
      append: async (text) => void (store.text = (store.text ?? '') + text),
      replace: async (text) => void (store.text = text),
    };
    return store;
  }

  test('a sweep stopped after one row resumes from the store: that row is read back, not computed again', async () => {
    const store = memoryStore();
    const cancellation = { cancelled: false };
    const stopped: SweepRow[] = [];
    await assert.rejects(
      runSweep(loaded.model, task, GRID, { ...options(store), cancellation, onRow: (r) => (stopped.push(r), (cancellation.cancelled = true)) }),
      CancelledError,
    );
    assert.equal(stopped.length, 1);
    assert.deepEqual(parseSweepResults(store.text!, store.name).rows, stopped);

    const computed: SweepRow[] = [];
    const resumed = await runSweep(loaded.model, task, GRID, { ...options(store), onRow: (r) => computed.push(r) });
    assert.deepEqual(
      computed.map((r) => r.evalStrength),
      [0.9],
      'only the configuration the stopped run did not finish is computed',
    );
    assert.deepEqual(resumed.rows[0], stopped[0], 'the finished row comes back as stored (its timings too)');
    assert.deepEqual(parseSweepResults(store.text!, store.name), { settings: resumed.settings, rows: resumed.rows });
  });

  test('a store with other settings refuses, naming the store', async () => {
    const store = memoryStore();
    await runSweep(loaded.model, task, { ...GRID, evalStrengths: [0.5] }, options(store));
    await assert.rejects(
      runSweep(loaded.model, task, GRID, options(store, { eval: { seed: 7 } })),
      userError(/^memory:pets\.sweep\.jsonl: .*eval\.seed is 42 there, 7 now/),
    );
  });
});

describe('parseSweepResults', () => {
  const row = (a2: number, f1: number): SweepRow => ({
    shots: 1,
    refreshEvery: 10,
    extStrength: 0.3,
    evalStrength: a2,
    accuracy: f1 + 0.1,
    macroF1: f1,
    auc: null,
    predictionShares: [0.5, 0.5],
    extractMs: 1,
    evalMs: 1,
  });
  const settings = { model: { name: 'm', sha256: 'ab' }, eval: { seed: 1 } };
  const header = sweepHeaderLine(settings);
  const a = row(0.3, 0.5);
  const b = row(0.5, 0.6);

  test('header then rows; blank lines skipped; an empty text has no settings', () => {
    assert.deepEqual(parseSweepResults(`${header}${JSON.stringify(a)}\n\n${JSON.stringify(b)}\n`), { settings, rows: [a, b] });
    assert.deepEqual(parseSweepResults(''), { settings: null, rows: [] });
    assert.deepEqual(parseSweepResults(header), { settings, rows: [] });
  });

  test('an unfinished last line: an error by default, skipped for a reader of a live file', () => {
    const text = `${header}${JSON.stringify(a)}\n{"shots": 1, "refr`;
    assert.throws(
      () => parseSweepResults(text, 'x.jsonl'),
      userError(/x\.jsonl, line 3: not valid JSON at column 19: Unterminated string \(the last line, without its newline/),
    );
    assert.deepEqual(parseSweepResults(text, 'x.jsonl', { partialLastLine: 'skip' }), { settings, rows: [a], partialLine: 3 });
    // whole JSON on the last line is not "unfinished": a null there is refused either way
    assert.throws(
      () => parseSweepResults(`${header}null`, 'x.jsonl', { partialLastLine: 'skip' }),
      userError(/x\.jsonl, line 2: not a sweep row: not an object/),
    );
    // a bad line that is not the last is an error either way
    assert.throws(() => parseSweepResults(`${header}not json\n${JSON.stringify(b)}\n`, 'x.jsonl', { partialLastLine: 'skip' }), userError(/x\.jsonl, line 2/));
  });

  test('refuses a missing header, another format, and lines that are not rows', () => {
    assert.throws(() => parseSweepResults(`${JSON.stringify(a)}\n`, 'x.jsonl'), userError(/x\.jsonl, line 1: .*no header/));
    assert.throws(() => parseSweepResults('{"hello": 1}\n', 'x.jsonl'), userError(/line 1: .*not a sweep results file/));
    assert.throws(() => parseSweepResults('{"format": "iv-sweep/9", "settings": {}}\n', 'x.jsonl'), userError(/line 1: .*"iv-sweep\/9"/));
    assert.throws(() => parseSweepResults(`${header}{"shots": 1}\n`, 'x.jsonl'), userError(/line 2: not a sweep row: refreshEvery must be a number/));
    assert.throws(() => parseSweepResults(`${header}${header}`, 'x.jsonl'), userError(/line 2: not a sweep row/));
  });

  test('settingsDifferences lists leaves by dotted path, arrays whole, absent fields as undefined', () => {
    assert.deepEqual(settingsDifferences({ a: { b: 1, c: [1, 2] }, d: 'x' }, { a: { b: 1, c: [1, 3] }, d: 'x', e: true }), [
      { field: 'a.c', recorded: [1, 2], current: [1, 3] },
      { field: 'e', recorded: undefined, current: true },
    ]);
    assert.deepEqual(settingsDifferences(settings, JSON.parse(JSON.stringify(settings))), []);
  });
});
