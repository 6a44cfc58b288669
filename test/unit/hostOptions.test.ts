import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { userError } from './assertions';
import { PAPER_GRID } from '../../src/core/experiment/sweep';
import type { ArtifactMetadata, VectorArtifact } from '../../src/core/vectors/artifact';
import { DEVICE_SETTINGS, DTYPE_SETTINGS, HUB_DTYPES, TOKENIZER_SETTINGS } from '../../src/core/modelSettings';
import {
  BUILTIN_DEFAULTS,
  COMMAND_FIELDS,
  datasetRequest,
  defaultsFromSettings,
  effectiveValue,
  evalOptionsOf,
  evalStrengthOf,
  evaluateMethodOf,
  extractRequestOf,
  optionsFromArtifact,
  parseFieldText,
  resolveOptions,
  storedDatasetOptions,
  sweepGridOf,
  type CheckedOptions,
  type CommandName,
  type Defaults,
} from '../../src/core/experiment/spec';
import { artifactBase, checkArtifactName, defaultArtifactName, numberedName, safeStem } from '../../src/core/experiment/fileNames';
import { resolveRow, rowChoices } from '../../src/core/vectors/rows';
import { checkCommandOptions } from '../../src/host/commands/checkOptions';
import {
  builtinDatasetItems,
  fieldChoices,
  fieldTitle,
  formatValue,
  reviewFieldNames,
  reviewFields,
  stepApplies,
  wizardSteps,
  type WizardCommand,
} from '../../src/host/commands/wizardPlan';
import {
  DEFAULT_MODEL_SETTINGS,
  hubIdProblem,
  loadOptionsOf,
  MODEL_SETTING_KEYS,
  modelFileProblem,
  modelFolderProblem,
  modelKind,
  modelLabel,
  providerSummary,
  sanitizeModelSettings,
  type ModelSettings,
} from '../../src/host/commands/modelSpec';
import { evalResultJson } from '../../src/core/experiment/resultJson';
import { describeRow, sweepCsv, sweepTable, toJsonText } from '../../src/core/experiment/sweepReport';
import { actionOfMessage, escapeHtml, renderErrorPage, renderVectorPage } from '../../src/host/vectorEditorHtml';
import { cutStats } from '../../src/core/icl/prompt';

/** The options check as the extension calls it: errors name the command by its id. */
const checkOptions = checkCommandOptions;
/** Settings as a user typed them (keys under iterativeVectors.) -> the defaults of a run. */
const fromSettings = (values: Record<string, unknown>) => defaultsFromSettings((key) => values[key]);
const extractOf = (command: CommandName, o: CheckedOptions, d: Defaults, method: 'iv' | 'tv' | 'fv') => extractRequestOf(resolveOptions(command, o, d), method);
const evalOf = (o: CheckedOptions, d: Defaults) => evalOptionsOf(resolveOptions('evaluate', o, d));

describe('host options: checking programmatic options objects', () => {
  test('an unknown field is an error naming it and listing the known ones', () => {
    const e = userError(
      () => checkOptions('extract', { dataset: 'stdlib:spam', epsiodes: 3 }),
      /unknown option "epsiodes" for iterativeVectors\.extract; it takes .*episodes/,
      'epsiodes',
    );
    assert.match(e.message, /^field "epsiodes": /);
    userError(() => checkOptions('exportGguf', { strength: 1 }), /unknown option "strength" for iterativeVectors\.exportGguf/, 'strength');
    userError(() => checkOptions('sweep', { method: 'iv' }), /unknown option "method"/, 'method');
  });

  test('the options must be an object', () => {
    userError(() => checkOptions('extract', 'stdlib:spam'), /iterativeVectors\.extract takes an options object/);
    userError(() => checkOptions('extract', [1]), /takes an options object/);
    assert.deepEqual(checkOptions('extract', undefined), {});
  });

  test('values are checked and normalised; errors name the field and say what was expected', () => {
    const o = checkOptions('extract', {
      dataset: ' data/pets.jsonl ',
      episodes: '8',
      shots: 2,
      batch: 0,
      extStrength: 0.25,
      bos: 'true',
      labelWords: 'happy=good, sad=bad',
      labelNames: 'negative,positive',
      method: 'tv',
      zeroShotPosition: 'before-separator',
      seed: 7,
      textField: undefined,
    });
    assert.deepEqual(o, {
      dataset: 'data/pets.jsonl',
      episodes: 8,
      shots: 2,
      batch: 0,
      extStrength: 0.25,
      bos: true,
      labelWords: { happy: 'good', sad: 'bad' },
      labelNames: ['negative', 'positive'],
      method: 'tv',
      zeroShotPosition: 'before-separator',
      seed: 7,
    });
    userError(() => checkOptions('extract', { episodes: 2.5 }), /must be an integer in \[1, 1000000\], got 2\.5/, 'episodes');
    userError(() => checkOptions('extract', { shots: 0 }), /must be an integer in \[1, 64\]/, 'shots');
    assert.equal(checkOptions('evaluate', { shots: 0 }).shots, 0, 'evaluation allows 0-shot');
    userError(() => checkOptions('extract', { method: 'icl' }), /must be one of iv, tv, fv/, 'method');
    assert.equal(checkOptions('evaluate', { method: 'icl-calibrated' }).method, 'icl-calibrated');
    userError(() => checkOptions('evaluate', { split: 'dev' }), /must be one of train, validation, test, got "dev"/, 'split');
    userError(() => checkOptions('extract', { bos: 1 }), /must be true or false/, 'bos');
    userError(() => checkOptions('extract', { labelWords: ['she'] }), /must be an object of label -> word/, 'labelWords');
    userError(() => checkOptions('extract', { labelWords: { female: 3 } }), /"female" maps to 3/, 'labelWords');
    userError(() => checkOptions('extract', { labelWords: 'female:she' }), /label=word pairs/, 'labelWords');
    userError(() => checkOptions('extract', { dataset: '' }), /must be a path or a URI/, 'dataset');
    userError(() => checkOptions('extract', { extStrength: 'strong' }), /must be a number in \[0, 100\], got "strong"/, 'extStrength');
    userError(() => checkOptions('extract', { device: 'tpu' }), /must be one of cpu, cuda, dml, coreml, webgpu, auto/, 'device');
  });

  test('URIs (or their JSON form) are accepted where a path is', () => {
    const uri = { scheme: 'file', path: '/data/pets.jsonl', fsPath: '/data/pets.jsonl' };
    assert.equal(checkOptions('evaluate', { vector: uri }).vector, uri);
    userError(() => checkOptions('evaluate', { vector: { path: '/x' } }), /must be a path or a URI/, 'vector');
  });

  test('grids: lists or comma strings; only noIterGrid may be empty', () => {
    const o = checkOptions('sweep', { shotsGrid: [1, 2], extGrid: '0.1, 0.3', evalGrid: [0.5], noIterGrid: '' });
    assert.deepEqual(sweepGridOf(resolveOptions('sweep', o)), { shots: [1, 2], extStrengths: [0.1, 0.3], evalStrengths: [0.5], noIterationStrengths: [] });
    assert.deepEqual(sweepGridOf(resolveOptions('sweep', {})), PAPER_GRID);
    userError(() => checkOptions('sweep', { evalGrid: [] }), /needs at least one value/, 'evalGrid');
    userError(() => checkOptions('sweep', { extGrid: [0.1, 'x'] }), /must be a list of numbers/, 'extGrid');
  });
});

describe('host options: requests', () => {
  test('extract: the options become the request every face sends (E, k, b, a1, seed, validation, FV)', () => {
    const options = checkOptions('extract', {
      dataset: 'x.jsonl',
      episodes: 12,
      shots: 3,
      batch: 4,
      extStrength: 0.7,
      seed: 9,
      zeroShotPosition: 'before-separator',
      valEpisodes: 50,
      effectEpisodes: 5,
      topHeads: 2,
      demoOrder: 'class-order',
    });
    const r = extractOf('extract', options, BUILTIN_DEFAULTS, 'fv');
    assert.deepEqual(r.iv, { episodes: 12, shots: 3, refreshEvery: 4, strength: 0.7, seed: 9, zeroShotPosition: 'before-separator' });
    assert.deepEqual(r.validation, { shots: 1, episodes: 50, seed: 9, demoOrder: 'class-order', resamples: 0 });
    assert.deepEqual(r.fv, { variant: 'official', shots: 1, effectEpisodes: 5, topHeads: 2 });
    assert.deepEqual(r.tv, { shotsGrid: [1, 2, 3, 4] });
  });

  test("defaults (no options) are the paper's and the table's", () => {
    assert.deepEqual(extractOf('extract', {}, BUILTIN_DEFAULTS, 'iv').iv, {
      episodes: 200,
      shots: 4,
      refreshEvery: 10,
      strength: 0.3,
      seed: 42,
      zeroShotPosition: 'separator',
    });
    assert.deepEqual(evalOf({}, BUILTIN_DEFAULTS), { split: 'test', shots: 1, episodes: 1000, seed: 42, demoOrder: 'shuffled', resamples: 1000 });
    assert.equal(evalStrengthOf('iv', {}, BUILTIN_DEFAULTS).strength, 0.5);
    assert.equal(evalStrengthOf('fv', {}, BUILTIN_DEFAULTS).strength, 1);
  });

  test("evaluate: episodes/shots are the evaluation's, extEpisodes/extShots the extraction's", () => {
    const o = checkOptions('evaluate', { episodes: 300, shots: 0, extEpisodes: 20, extShots: 2, split: 'validation', resamples: 10, seed: 3 });
    assert.deepEqual(evalOf(o, BUILTIN_DEFAULTS), { split: 'validation', shots: 0, episodes: 300, seed: 3, demoOrder: 'shuffled', resamples: 10 });
    const r = extractOf('evaluate', o, BUILTIN_DEFAULTS, 'iv');
    assert.deepEqual([r.iv.episodes, r.iv.shots], [20, 2]);
    assert.equal(r.validation.shots, 0, "Task Vectors are chosen on validation with the evaluation's shots");
  });

  test('settings seed the defaults; given options win', () => {
    const { defaults, problems } = fromSettings({
      extStrength: 0.1,
      evalStrength: 0.9,
      episodes: 50,
      shots: 2,
      batch: 5,
      seed: 1,
      bos: true,
      zeroShotPosition: 'before-separator',
      evalEpisodes: 100,
      evalShots: 0,
    });
    assert.deepEqual(problems, []);
    const r = extractOf('extract', {}, defaults, 'iv');
    assert.deepEqual(r.iv, { episodes: 50, shots: 2, refreshEvery: 5, strength: 0.1, seed: 1, zeroShotPosition: 'before-separator' });
    assert.deepEqual(extractOf('extract', { episodes: 7, seed: 2 }, defaults, 'iv').iv.episodes, 7);
    assert.deepEqual(evalOf({}, defaults), { split: 'test', shots: 0, episodes: 100, seed: 1, demoOrder: 'shuffled', resamples: 1000 });
    assert.equal(evalStrengthOf('iv', {}, defaults).strength, 0.9);
    const data = (o: CheckedOptions) => datasetRequest(resolveOptions('extract', o, defaults));
    assert.equal(data({ dataset: 'stdlib:spam' }).bos, true);
    assert.equal(data({ dataset: 'stdlib:spam', bos: false }).bos, false);
    assert.equal(data({ dataset: 'stdlib:spam' }).load.seed, 1);
  });

  test('a bad setting falls back to the built-in default and says so', () => {
    const { defaults, problems } = fromSettings({ shots: 0, extStrength: 'x', seed: null });
    assert.equal(defaults.extShots, 4);
    assert.equal(defaults.extStrength, 0.3);
    assert.equal(defaults.seed, 42);
    assert.equal(problems.length, 2);
    assert.ok(
      problems.some((p) => /^setting iterativeVectors\.extStrength: must be a number .*; using 0\.3$/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /^setting iterativeVectors\.shots: must be an integer in \[1, 64\], got 0; using 4$/.test(p)),
      problems.join('\n'),
    );
  });

  test('dataset is required', () => {
    userError(() => datasetRequest(resolveOptions('extract', {})), /^field "dataset": required: a folder/, 'dataset');
  });

  test("evaluate's method: the option or the vector file's, never two different ones", () => {
    assert.equal(evaluateMethodOf({ vector: 'a.ivec.safetensors' }, 'task-vector'), 'tv');
    assert.equal(evaluateMethodOf({ method: 'iv', vector: 'a' }, 'iterative-vectors'), 'iv');
    userError(() => evaluateMethodOf({ method: 'fv', vector: 'a' }, 'iterative-vectors'), /holds a iv artifact, not fv/, 'method');
    assert.equal(evaluateMethodOf({}, undefined), undefined);
  });
});

describe('host options: the QuickPick plan', () => {
  test('steps per command; preset fields are not asked; a vector file makes the method step go away', () => {
    const fields = (c: WizardCommand, state = {}, preset: string[] = []) =>
      wizardSteps(c)
        .filter((s) => stepApplies(c, s, state, new Set(preset)))
        .map((s) => s.field);
    assert.deepEqual(fields('extract'), ['dataset', 'method']);
    assert.deepEqual(fields('extract', {}, ['dataset']), ['method']);
    assert.deepEqual(fields('sweep'), ['dataset']);
    assert.deepEqual(fields('compare'), ['dataset']);
    assert.deepEqual(fields('compare', {}, ['dataset']), []);
    assert.deepEqual(fields('evaluate'), ['vector', 'method', 'dataset']);
    assert.deepEqual(fields('evaluate', { vector: 'a.ivec.safetensors' }), ['vector', 'dataset']);
    assert.deepEqual(fields('evaluate', { vector: 'a.ivec.safetensors', method: 'iv' }, ['vector', 'method']), ['dataset']);
  });

  test('the review lists what applies to the method and the data', () => {
    assert.deepEqual(reviewFieldNames('extract', { dataset: 'stdlib:first-names' }), [
      'episodes',
      'shots',
      'batch',
      'extStrength',
      'zeroShotPosition',
      'seed',
      'bos',
      'tokenization',
      'labelWords',
      'out',
    ]);
    assert.deepEqual(reviewFieldNames('extract', { dataset: 'a.csv', method: 'fv' }), [
      'episodes',
      'fvVariant',
      'fvShots',
      'effectEpisodes',
      'topHeads',
      'seed',
      'bos',
      'tokenization',
      'labelWords',
      'textField',
      'labelField',
      'labelNames',
      'out',
    ]);
    assert.deepEqual(reviewFieldNames('extract', { dataset: 'stdlib:spam', method: 'tv' }), [
      'episodes',
      'tvShotsGrid',
      'valEpisodes',
      'valShots',
      'demoOrder',
      'seed',
      'bos',
      'tokenization',
      'labelWords',
      'out',
    ]);
    const withVector = reviewFieldNames('evaluate', { method: 'iv', vector: 'a.ivec.safetensors', dataset: 'stdlib:spam' });
    assert.ok(withVector.includes('strength') && withVector.includes('injectAt') && !withVector.includes('extEpisodes'));
    const extractNow = reviewFieldNames('evaluate', { method: 'iv', dataset: 'stdlib:spam' });
    assert.ok(extractNow.includes('extEpisodes') && extractNow.includes('extStrength'));
    assert.ok(!reviewFieldNames('evaluate', { method: 'icl', dataset: 'stdlib:spam' }).includes('strength'));
    for (const c of ['extract', 'evaluate', 'sweep', 'compare'] as const) {
      for (const state of [{ method: 'iv' }, { method: 'fv' }, { method: 'tv', dataset: 'a.csv' }, { sweep: true }] as CheckedOptions[]) {
        const names = c === 'compare' || c === 'sweep' ? reviewFieldNames(c, { ...state, method: undefined }) : reviewFieldNames(c, state);
        for (const f of names) assert.ok((COMMAND_FIELDS[c] as readonly string[]).includes(f), `${c} reviews ${f} but does not take it`);
        assert.equal(new Set(names).size, names.length, `${c} lists a field twice: ${names.join(', ')}`);
      }
    }
  });

  test('compare: the grids are listed only when a sweep chooses the IV configuration', () => {
    const plain = reviewFieldNames('compare', { dataset: 'stdlib:spam' });
    assert.ok(plain.includes('strength') && plain.includes('sweep') && plain.includes('extEpisodes'));
    assert.ok(!plain.includes('shotsGrid') && !plain.includes('injectAt') && !plain.includes('textField'));
    const swept = reviewFieldNames('compare', { dataset: 'a.jsonl', sweep: true });
    assert.deepEqual(
      swept.filter((f) => f.endsWith('Grid')),
      ['shotsGrid', 'extGrid', 'evalGrid', 'noIterGrid'],
    );
    assert.ok(swept.includes('textField') && swept.includes('labelNames'), 'a file dataset lists its columns');
    const r = reviewFields('compare', { dataset: 'stdlib:spam', sweep: true }, BUILTIN_DEFAULTS);
    assert.equal(r.find((f) => f.field === 'sweep')?.value, 'true');
    assert.equal(r.find((f) => f.field === 'evalGrid')?.value, PAPER_GRID.evalStrengths.join(','));
    assert.equal(r.find((f) => f.field === 'strength')?.value, '0.5');
  });

  test('review rows: choices of enum and boolean fields, titles from the table, values as typed back', () => {
    assert.deepEqual(fieldChoices('extract', 'method'), ['iv', 'tv', 'fv']);
    assert.deepEqual(fieldChoices('evaluate', 'method'), ['icl', 'icl-calibrated', 'iv', 'tv', 'fv']);
    assert.deepEqual(fieldChoices('extract', 'bos'), ['true', 'false']);
    assert.deepEqual(fieldChoices('evaluate', 'split'), ['train', 'validation', 'test']);
    assert.equal(fieldChoices('extract', 'episodes'), undefined);
    assert.equal(fieldTitle('extract', 'episodes'), 'extraction episodes (E)');
    assert.equal(fieldTitle('evaluate', 'episodes'), 'evaluation episodes (the paper uses 10,000 on test)');
    assert.equal(formatValue(undefined), '');
    assert.equal(formatValue([1, 2, 4]), '1,2,4');
    assert.equal(formatValue({ female: 'she', male: 'he' }), 'female=she,male=he');
    assert.equal(formatValue({ scheme: 'file', path: '/d/x.jsonl', fsPath: '/d/x.jsonl' }), '/d/x.jsonl');
    assert.equal(formatValue({ scheme: 'vscode-vfs', path: '/r/x.jsonl' }), '/r/x.jsonl');
    assert.equal(formatValue(0.3), '0.3');
    // What formatValue writes, parseFieldText reads back.
    assert.deepEqual(parseFieldText('extract', 'labelWords', formatValue({ female: 'she', male: 'he' })), { female: 'she', male: 'he' });
    assert.deepEqual(parseFieldText('sweep', 'extGrid', formatValue(PAPER_GRID.extStrengths)), PAPER_GRID.extStrengths);
    const items = builtinDatasetItems();
    assert.ok(items.some((i) => i.value === 'stdlib:first-names' && i.label === 'stdlib:first-names'));
    for (const i of items) assert.deepEqual(checkOptions('extract', { dataset: i.value }), { dataset: i.value });
  });

  test('review values come from the settings until changed', () => {
    const { defaults } = fromSettings({ episodes: 64, evalStrength: 0.7, evalEpisodes: 300 });
    const r = reviewFields('extract', { dataset: 'stdlib:spam' }, defaults);
    assert.deepEqual(
      r.find((f) => f.field === 'episodes'),
      { field: 'episodes', title: 'extraction episodes (E)', value: '64', isDefault: true },
    );
    assert.equal(r.find((f) => f.field === 'out')?.value, 'auto, in the artifacts folder');
    const changed = reviewFields('extract', { dataset: 'stdlib:spam', episodes: 10, labelWords: { ham: 'ok', spam: 'junk' } }, defaults);
    assert.deepEqual(
      changed.find((f) => f.field === 'episodes'),
      { field: 'episodes', title: 'extraction episodes (E)', value: '10', isDefault: false },
    );
    assert.equal(changed.find((f) => f.field === 'labelWords')?.value, 'ham=ok,spam=junk');
    assert.equal(effectiveValue('evaluate', 'strength', { method: 'iv' }, defaults), 0.7);
    assert.equal(effectiveValue('evaluate', 'episodes', {}, defaults), 300);
    assert.equal(effectiveValue('evaluate', 'extEpisodes', {}, defaults), 64);
    assert.deepEqual(effectiveValue('sweep', 'shotsGrid', {}, defaults), [1, 2, 3, 4]);
  });

  test('typed text is checked as the options are; empty means the default', () => {
    assert.equal(parseFieldText('extract', 'episodes', ' 30 '), 30);
    assert.equal(parseFieldText('extract', 'episodes', ''), undefined);
    assert.deepEqual(parseFieldText('sweep', 'noIterGrid', ''), []);
    assert.deepEqual(parseFieldText('extract', 'labelWords', 'female=she,male=he'), { female: 'she', male: 'he' });
    userError(() => parseFieldText('extract', 'shots', '65'), /must be an integer in \[1, 64\]/, 'shots');
  });
});

const LABELS = ['female', 'male'];
function artifact(over: Partial<ArtifactMetadata> = {}): VectorArtifact {
  const L = 2;
  const d = 3;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (let l = 0; l < L; l++) tensors.set(`blocks.${l}.attn_out`, { shape: [3, d], data: Float32Array.from([1, 0, 0, l, 1, 0, 0, 0, 2]) });
  return {
    tensors,
    metadata: {
      formatVersion: 1,
      method: 'iterative-vectors',
      site: 'attn_out',
      labels: LABELS,
      model: { name: 'tiny<model>', sha256: 'ab', nLayers: L, dModel: d, vocabSize: 10 },
      tokenizerSha256: 'cd',
      dataset: { id: 'stdlib:first-names', source: 'stdlib:first-names', sha256: 'ef', counts: { train: 10 } },
      options: { episodes: 8, seed: 5, bos: true, datasetOptions: { textField: 'text', labelField: 'label', labelWords: { female: 'she', male: 'he' } } },
      creator: { name: 'iterative-vectors', version: '0.1.0' },
      createdAt: '2026-01-01T00:00:00.000Z',
      history: [
        { episode: 0, relativeChange: null },
        { episode: 7, relativeChange: 0.25 },
      ],
      ...over,
    },
  };
}

describe('host options: artifacts', () => {
  test("evaluation strength: the option, else the vector file's chosen one, else the setting (as the CLI)", () => {
    const chosen = artifact();
    chosen.metadata.options = { ...chosen.metadata.options, evalStrength: 0.9 };
    assert.deepEqual(evalStrengthOf('iv', {}, BUILTIN_DEFAULTS, chosen), { strength: 0.9, source: 'artifact' });
    assert.deepEqual(evalStrengthOf('iv', { strength: 0.2 }, BUILTIN_DEFAULTS, chosen), { strength: 0.2, source: 'given' });
    assert.deepEqual(evalStrengthOf('iv', {}, BUILTIN_DEFAULTS, artifact()), { strength: 0.5, source: 'default' });
  });

  test('evaluating an artifact reloads its data with the same words, BOS, tokenization and seed; given options win', () => {
    const m = artifact().metadata;
    // Made before the tokenization was recorded: the joined prompt string.
    assert.deepEqual(
      optionsFromArtifact(m, {}, () => false),
      {
        dataset: 'stdlib:first-names',
        textField: 'text',
        labelField: 'label',
        labelWords: { female: 'she', male: 'he' },
        bos: true,
        tokenization: 'joined',
        seed: 5,
      },
    );
    assert.equal(optionsFromArtifact({ ...m, options: { ...m.options, tokenization: 'segments' } }, {}, () => false).tokenization, 'segments');
    assert.equal(optionsFromArtifact(m, { tokenization: 'segments' }, () => false).tokenization, 'segments');
    assert.deepEqual(optionsFromArtifact(m, { seed: 1 }, () => false).seed, 1);
    const other = optionsFromArtifact(m, { dataset: 'mine.jsonl' }, () => true);
    assert.equal(other.dataset, 'mine.jsonl');
    assert.equal(other.labelWords, undefined);
    const gone = optionsFromArtifact({ ...m, dataset: { ...m.dataset, source: '/gone/data.jsonl' } }, {}, () => false);
    assert.equal(gone.dataset, undefined);
  });

  test('stored dataset options keep label words only where they differ from the labels', () => {
    assert.deepEqual(storedDatasetOptions({ textField: 't', labelField: 'l', labels: ['she', 'he'], sourceLabels: ['female', 'male'] }, {}), {
      textField: 't',
      labelField: 'l',
      labelWords: { female: 'she', male: 'he' },
      labelNames: undefined,
    });
    assert.equal(storedDatasetOptions({ textField: 't', labelField: 'l', labels: ['a'], sourceLabels: ['a'] }, {}).labelWords, undefined);
  });

  test('file names', () => {
    assert.equal(safeStem('stdlib:first-names'), 'first-names');
    assert.equal(safeStem('my data/ü'), 'my-data');
    assert.equal(defaultArtifactName('sst2', 'iv'), 'sst2.iv.ivec.safetensors');
    assert.equal(numberedName('sst2.iv.ivec.safetensors', 2), 'sst2.iv-2.ivec.safetensors');
    assert.equal(numberedName('a.eval-test.json', 3), 'a.eval-test-3.json');
    assert.equal(numberedName('noext', 2), 'noext-2');
    assert.equal(artifactBase('sst2.iv.ivec.safetensors'), 'sst2.iv');
    assert.equal(artifactBase('a.jsonl'), 'a');
    checkArtifactName('x.ivec.safetensors');
    userError(() => checkArtifactName('x.safetensors'), /^field "out": must end with \.ivec\.safetensors, got "x\.safetensors"$/, 'out');
    const cli = userError(() => checkArtifactName('x.bin', 'flag'), /--out must end with \.ivec\.safetensors, got "x\.bin"$/);
    assert.equal(cli.location.field, undefined, 'the CLI names the flag, not a field');
    assert.equal(cli.location.file, 'x.bin');
  });

  test('GGUF rows: query first, differences, classes; by label, index or difference', () => {
    const c = rowChoices('iterative-vectors', LABELS);
    assert.deepEqual(
      c.map((x) => x.tag),
      ['query', 'female-minus-male', 'male-minus-female', 'female', 'male'],
    );
    assert.equal(resolveRow(undefined, 'iterative-vectors', LABELS).row, 'query');
    assert.equal(resolveRow('male', 'iterative-vectors', LABELS).row, 1);
    assert.equal(resolveRow(2, 'iterative-vectors', LABELS).row, 'query');
    assert.deepEqual(resolveRow({ positive: 'female', negative: 1 }, 'iterative-vectors', LABELS).row, { positive: 0, negative: 1 });
    assert.equal(resolveRow({ positive: 'female', negative: 1 }, 'iterative-vectors', LABELS).tag, 'female-minus-male');
    userError(() => resolveRow('other', 'iterative-vectors', LABELS), /"other" is not a class of this artifact \(classes: female, male\)/, 'row');
    userError(() => resolveRow(3, 'iterative-vectors', LABELS), /row 3 does not exist: the artifact has rows 0\.\.2/, 'row');
    userError(() => resolveRow({ positive: 0, negative: 0 }, 'iterative-vectors', LABELS), /two different rows/, 'row');
    assert.deepEqual(
      rowChoices('task-vector', []).map((x) => x.row),
      [0],
    );
    userError(() => resolveRow('query', 'function-vector', []), /only Iterative Vectors have a query row/, 'row');
  });
});

describe('host: results and the vector editor page', () => {
  test('evaluation JSON has the CLI fields and parses (NaN -> null)', () => {
    const metrics = {
      n: 2,
      nItems: 2,
      accuracy: 0.5,
      macroF1: NaN,
      weightedF1: 0.5,
      perClass: [],
      confusion: [
        [1, 0],
        [1, 0],
      ],
      predictionShares: [1, 0],
      goldShares: [0.5, 0.5],
      majorityAccuracy: 0.5,
      chance: { predictedShares: { accuracy: 0.5, macroF1: 1 / 3 }, goldShares: { accuracy: 0.5, macroF1: 0.5 } },
      auc: null,
      ci: null,
    };
    const j = evalResultJson('icl', { method: 'icl' }, evalOf({}, BUILTIN_DEFAULTS), {
      metrics,
      predictions: [],
      stats: { forwardPasses: 2, tokens: 20, ms: 10 },
      cut: cutStats([]),
      episodes: [],
      prompts: [],
    });
    assert.equal(j.settings.method, 'icl');
    assert.equal(j.timings.tokensPerSecond, 2000);
    assert.equal(JSON.parse(toJsonText(j)).macroF1, null);
    assert.deepEqual(JSON.parse(toJsonText(j)).chance, metrics.chance);
    const row = {
      shots: 1,
      refreshEvery: 10,
      extStrength: 0.3,
      evalStrength: 0.5,
      accuracy: 0.6,
      macroF1: 0.55,
      auc: null,
      predictionShares: [0.5, 0.5],
      extractMs: 10.4,
      evalMs: 2,
    };
    assert.equal(sweepCsv([row], row).split('\n')[1], '1,10,0.3,0.5,0.55,0.6,,0.5/0.5,10,2,1');
    const noIter = { ...row, refreshEvery: 0, evalStrength: 1, macroF1: 0.4, auc: 0.75 };
    assert.equal(describeRow(row), 'k=1 b=10 a1=0.3 a2=0.5');
    assert.equal(describeRow(noIter), 'k=1 b=0 a2=1');
    const table = sweepTable([row, noIter], row).split('\n');
    assert.equal(table.length, 3);
    assert.match(table[0], /^config +macro-F1 +accuracy +AUC +shares *$/);
    assert.match(table[1], /^\* k=1 b=10 a1=0\.3 a2=0\.5 +0\.550 +0\.600 +n\/a +0\.50\/0\.50 *$/);
    assert.match(table[2], /^ {2}k=1 b=0 a2=1 +0\.400 +0\.600 +0\.750 +0\.50\/0\.50 *$/);
    assert.equal(sweepCsv([row, noIter], noIter).split('\n')[2].endsWith(',1'), true, 'the best row is marked');
  });

  test('the page escapes the metadata, carries the nonce CSP, and lists norms and cosines per layer', () => {
    const html = renderVectorPage(artifact(), {
      cspSource: 'vscode-resource:',
      nonce: 'N0nce',
      fileName: 'a<b>.ivec.safetensors',
      available: new Set(['iterativeVectors.evaluate', 'iterativeVectors.exportGguf']),
    });
    assert.match(html, /content="default-src 'none'; img-src vscode-resource:; style-src 'nonce-N0nce'; script-src 'nonce-N0nce'"/);
    assert.ok(!html.includes('tiny<model>') && html.includes('tiny&lt;model&gt;'));
    assert.ok(html.includes('a&lt;b&gt;.ivec.safetensors'));
    assert.equal((html.match(/<script nonce="N0nce">/g) ?? []).length, 1);
    assert.ok(!/<script(?! nonce="N0nce")/.test(html), 'every script carries the nonce');
    assert.ok(!/ on[a-z]+=/.test(html), 'no inline event handlers');
    // Norms: layer 1, row "male" is (1, 1, 0) -> sqrt 2; cosines: layer 0 rows (1,0,0), (0,1,0) -> 0.
    assert.match(html, /<th>female<\/th><th>male<\/th><th>query<\/th>/);
    assert.ok(html.includes('>1.414<'));
    assert.ok(html.includes('female · male'));
    assert.ok(html.includes('>0.000<') && html.includes('>0.707<'));
    assert.match(html, /data-action="steer"[^>]*disabled/);
    assert.doesNotMatch(html, /data-action="evaluate"[^>]*disabled/);
    const err = renderErrorPage('bad <file>', { cspSource: 'x', nonce: 'n', fileName: 'f' });
    assert.ok(err.includes('bad &lt;file&gt;') && !err.includes('<script'));
  });

  test('only known actions are run from page messages', () => {
    assert.equal(actionOfMessage({ type: 'run', action: 'evaluate' }), 'evaluate');
    assert.equal(actionOfMessage({ type: 'run', action: 'toString' }), undefined);
    assert.equal(actionOfMessage({ type: 'run', action: 'rm' }), undefined);
    assert.equal(actionOfMessage('evaluate'), undefined);
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('host options: model selection and the model settings', () => {
  const pkg = JSON.parse(readFileSync(resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, { scope?: string; default?: unknown; enum?: string[]; type?: string }> } };
    capabilities: { untrustedWorkspaces: { restrictedConfigurations: string[] } };
  };

  test('selectModel takes model, device, dtype, offline, sitePattern and tokenizer, checked; anything else is an error naming it', () => {
    assert.deepEqual(
      checkOptions('selectModel', {
        model: ' onnx-community/SmolLM2-135M@main ',
        device: 'cpu',
        dtype: 'q4',
        offline: 'true',
        sitePattern: ' ^/model/layers\\.{l}/attn/o_proj/MatMul$ ',
        tokenizer: 'bytes',
      }),
      {
        model: 'onnx-community/SmolLM2-135M@main',
        device: 'cpu',
        dtype: 'q4',
        offline: true,
        sitePattern: '^/model/layers\\.{l}/attn/o_proj/MatMul$',
        tokenizer: 'bytes',
      },
    );
    assert.deepEqual(checkOptions('selectModel', { dtype: 'auto', sitePattern: '' }), { dtype: 'auto', sitePattern: '' }, '"" resets the site pattern');
    userError(
      () => checkOptions('selectModel', { model: 'default', revision: 'main' }),
      /unknown option "revision" for iterativeVectors\.selectModel; it takes model, device, dtype, offline, sitePattern, tokenizer/,
      'revision',
    );
    userError(() => checkOptions('selectModel', { dtype: 'fp8' }), /must be one of auto, fp32, fp16, q8, q4, q4f16, int8, uint8, bnb4, got "fp8"/, 'dtype');
    userError(() => checkOptions('selectModel', { tokenizer: 'spm' }), /must be one of auto, bytes/, 'tokenizer');
    userError(() => checkOptions('selectModel', { offline: 'yes' }), /must be true or false/, 'offline');
    userError(() => checkOptions('selectModel', { sitePattern: 'o_proj/MatMul' }), /must contain \{l\} for the layer index/, 'sitePattern');
    userError(() => checkOptions('selectModel', { sitePattern: 'layers\\.{l}/(attn' }), /not a valid regular expression/, 'sitePattern');
    userError(() => checkOptions('selectModel', { sitePattern: 3 }), /a regular expression with \{l\}/, 'sitePattern');
    userError(() => checkOptions('selectModel', { model: '' }), /non-empty string/, 'model');
    // The review's input box: empty text is the default.
    assert.equal(parseFieldText('selectModel', 'sitePattern', '  '), undefined);
    // Only selectModel sets the load options; a run's overrides stay model / device / threads.
    userError(() => checkOptions('extract', { dtype: 'q4' }), /unknown option "dtype"/, 'dtype');
  });

  test('the dtype setting is "auto" or one of the runtime\'s dtypes', () => {
    assert.deepEqual(DTYPE_SETTINGS, ['auto', ...HUB_DTYPES]);
    assert.deepEqual(TOKENIZER_SETTINGS, ['auto', 'bytes']);
  });

  test('what a model string names: the default, a hub id, or a path', () => {
    for (const m of ['default', ' default ', '']) assert.equal(modelKind(m), 'default', m);
    for (const m of ['onnx-community/SmolLM2-135M-Instruct', 'HuggingFaceTB/SmolLM2-135M@main', 'owner/name@refs/pr/1', 'a.b/c_d-e'])
      assert.equal(modelKind(m), 'hub', m);
    for (const m of [
      '/models/gpt2',
      './models/gpt2',
      '../gpt2',
      '~/gpt2',
      'C:\\models\\gpt2',
      'models\\gpt2',
      'out/stories.bin',
      'gpt2/model.onnx',
      'gpt2',
      'a/b/c',
      'owner/name@bad..rev',
    ])
      assert.equal(modelKind(m), 'path', m);
    assert.equal(hubIdProblem('onnx-community/SmolLM2-135M@v1.0'), undefined);
    assert.match(hubIdProblem('') ?? '', /give a model id: owner\/name/);
    assert.match(hubIdProblem('/abs/folder') ?? '', /looks like a file path/);
    assert.match(hubIdProblem('x/model.onnx') ?? '', /looks like a file path/);
    assert.match(hubIdProblem('just-a-name') ?? '', /is not a hub model id/);
    assert.match(hubIdProblem('a/b/c') ?? '', /is not a hub model id/);
    assert.equal(modelLabel('default'), 'stories15M (embedded default)');
    assert.equal(modelLabel('/x/y/tiny-random-gpt2-ort-fused'), 'tiny-random-gpt2-ort-fused');
    assert.equal(modelLabel('owner/name@main'), 'owner/name@main');
  });

  test('an exported model folder: genai_config.json, config.json + onnx/*.onnx, or *.onnx; else the folder and what was looked for', () => {
    assert.equal(modelFolderProblem('/m', ['genai_config.json', 'past.onnx', 'tokenizer.json'], undefined), undefined);
    assert.equal(modelFolderProblem('/m', ['config.json', 'tokenizer.json', 'onnx'], ['model.onnx', 'model_q4.onnx']), undefined);
    assert.equal(modelFolderProblem('/m', ['decoder.onnx'], undefined), undefined);
    const none = modelFolderProblem('/data/notes', ['README.md'], undefined) ?? '';
    assert.match(
      none,
      /^no exported model in \/data\/notes: looked for genai_config\.json \(onnxruntime-genai layout\), config\.json with onnx\/\*\.onnx \(Transformers\.js \/ Optimum layout\) and \*\.onnx files$/,
    );
    assert.match(
      modelFolderProblem('/m', ['config.json', 'onnx'], ['README.md']) ?? '',
      /no exported model in \/m \(it has config\.json, but onnx\/ holds no \.onnx file\)/,
    );
    assert.match(modelFolderProblem('/m', ['config.json'], undefined) ?? '', /\(it has config\.json, but no onnx\/ folder\)/);
    assert.equal(modelFileProblem('/m/stories.bin'), undefined);
    assert.equal(modelFileProblem('/m/onnx/model.ONNX'), undefined);
    assert.match(modelFileProblem('/m/model.safetensors') ?? '', /neither a llama2\.c checkpoint \(\.bin\) nor an ONNX decoder \(\.onnx\)/);
  });

  test('settings -> load options: "auto" dtype and an empty pattern are left to the runtime; bad values fall back and say so', () => {
    const { settings, problems } = sanitizeModelSettings({
      model: ' /m/gpt2 ',
      device: 'cuda',
      dtype: 'q4f16',
      offline: true,
      sitePattern: 'h\\.{l}\\.attn',
      tokenizer: 'bytes',
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(loadOptionsOf(settings), { model: '/m/gpt2', device: 'cuda', dtype: 'q4f16', offline: true, site: 'h\\.{l}\\.attn', tokenizer: 'bytes' });
    const defaults = sanitizeModelSettings({});
    assert.deepEqual(defaults, { settings: DEFAULT_MODEL_SETTINGS, problems: [] });
    assert.deepEqual(loadOptionsOf(defaults.settings), {
      model: 'default',
      device: 'cpu',
      dtype: undefined,
      offline: false,
      site: undefined,
      tokenizer: 'auto',
    });
    assert.equal(loadOptionsOf(defaults.settings, { HF_HUB_OFFLINE: '1' }).offline, true, 'HF_HUB_OFFLINE=1, as in the CLI');
    assert.equal(sanitizeModelSettings({ model: '' }).settings.model, 'default');
    const bad = sanitizeModelSettings({ device: 'tpu', dtype: 'fp8', offline: 'no', sitePattern: 'no-layer', tokenizer: 3 });
    assert.deepEqual(bad.settings, DEFAULT_MODEL_SETTINGS);
    assert.equal(bad.problems.length, 5);
    assert.match(bad.problems.join('\n'), /setting iterativeVectors\.device: "tpu" is not one of cpu, cuda, dml, coreml, webgpu, auto; using "cpu"/);
    assert.match(bad.problems.join('\n'), /setting iterativeVectors\.hub\.dtype: "fp8" is not one of auto, fp32/);
    assert.match(bad.problems.join('\n'), /setting iterativeVectors\.hub\.offline: "no" is not true or false; using false/);
    assert.match(bad.problems.join('\n'), /setting iterativeVectors\.sitePattern: must contain \{l\}.*; using ""/);
    assert.equal(providerSummary('cpu', []), 'cpu');
    assert.equal(providerSummary('cpu', ['cuda: libcudart.so.12 not found']), 'cpu (fallback: cuda: libcudart.so.12 not found)');
  });

  test('package.json: each model setting is machine-scoped, restricted in untrusted workspaces, with the same values and default', () => {
    const props = pkg.contributes.configuration.properties;
    const restricted = pkg.capabilities.untrustedWorkspaces.restrictedConfigurations;
    const values: Partial<Record<keyof ModelSettings, readonly string[]>> = { device: DEVICE_SETTINGS, dtype: DTYPE_SETTINGS, tokenizer: TOKENIZER_SETTINGS };
    for (const [field, key] of Object.entries(MODEL_SETTING_KEYS) as [keyof ModelSettings, string][]) {
      const p = props[`iterativeVectors.${key}`];
      assert.ok(p, `iterativeVectors.${key} is not contributed`);
      assert.equal(p.scope, 'machine', key);
      assert.ok(restricted.includes(`iterativeVectors.${key}`), `${key} is not restricted`);
      assert.deepEqual(p.default, DEFAULT_MODEL_SETTINGS[field], key);
      if (values[field]) assert.deepEqual(p.enum, [...values[field]], key);
    }
  });
});
