import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { userError } from './assertions';
import { recipeOf, tensorDifference } from '../../src/core/experiment/recipe';
import {
  BUILTIN_DEFAULTS,
  checkNumber,
  checkOptions,
  cliFields,
  cliHelp,
  cliParseOptions,
  defaultsFromSettings,
  evalStrengthOf,
  extractRequestOf,
  FIELDS,
  optionsFromFlags,
  resolveOptions,
  SEED_RANGE,
  SETTING_FIELDS,
  specFor,
} from '../../src/core/experiment/spec';
import type { ArtifactMetadata, VectorArtifact } from '../../src/core/vectors/artifact';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, Record<string, unknown>> } };
};
const settings = pkg.contributes.configuration.properties;

describe('experiment spec: one table', () => {
  test("package.json's settings are the table's: same defaults, ranges and values, and nothing the table does not know", () => {
    for (const { field, key } of SETTING_FIELDS) {
      const s = settings[`iterativeVectors.${key}`];
      assert.ok(s, `package.json lacks iterativeVectors.${key} (field ${field})`);
      const spec = FIELDS[field];
      assert.deepEqual(s.default, BUILTIN_DEFAULTS[field as keyof typeof BUILTIN_DEFAULTS], `default of iterativeVectors.${key}`);
      if (spec.kind === 'int' || spec.kind === 'number') {
        assert.equal(s.minimum, spec.min, `minimum of iterativeVectors.${key}`);
        assert.equal(s.maximum, spec.max, `maximum of iterativeVectors.${key}`);
        assert.equal(s.type, spec.kind === 'int' ? 'integer' : 'number', `type of iterativeVectors.${key}`);
      }
      if (spec.kind === 'enum') assert.deepEqual(s.enum, [...spec.values], `values of iterativeVectors.${key}`);
      if (spec.kind === 'boolean') assert.equal(s.type, 'boolean');
    }
    const known = new Set([...SETTING_FIELDS.map((s) => s.key), 'model', 'device', 'hub.dtype', 'hub.offline', 'sitePattern', 'tokenizer', 'artifactsFolder']);
    for (const key of Object.keys(settings))
      assert.ok(known.has(key.replace(/^iterativeVectors\./, '')), `${key} is in package.json but not in the experiment spec`);
  });

  test('the CLI flags and help come from the table; errors name the flag', () => {
    const flags = cliParseOptions('extract');
    for (const f of cliFields('extract')) assert.ok(flags[specFor('extract', f).flag!], `--${specFor('extract', f).flag} missing`);
    assert.equal(flags.bos.type, 'boolean');
    assert.equal(flags['ext-strength'].type, 'string');
    userError(() => optionsFromFlags('evaluate', { 'ext-strength': 'x' }), /^--ext-strength must be a number in \[0, 100\], got "x"$/);
    const help = cliHelp('extract', 'extract', 'x');
    assert.match(help, /--episodes N +extraction episodes \(E\) \(default 200\)/);
    assert.match(help, /--ext-strength X +extraction strength \(a1\) \(default 0\.3\)/);
    assert.doesNotMatch(help, /--ext-episodes/, "extract's own --episodes are E");
  });

  test("extract's --episodes and --shots are E and k; evaluate's are the evaluation's", () => {
    const x = resolveOptions('extract', optionsFromFlags('extract', { episodes: '7', shots: '2' }));
    assert.deepEqual([x.extEpisodes, x.extShots, x.episodes, x.shots], [7, 2, 1000, 1]);
    assert.deepEqual([extractRequestOf(x, 'iv').iv.episodes, extractRequestOf(x, 'iv').iv.shots], [7, 2]);
    const e = resolveOptions('evaluate', optionsFromFlags('evaluate', { episodes: '7', shots: '0', 'ext-episodes': '9' }));
    assert.deepEqual([e.episodes, e.shots, e.extEpisodes, e.extShots], [7, 0, 9, 4]);
    assert.equal(extractRequestOf(e, 'tv').validation.shots, 0, "Task Vectors are chosen with the evaluation's shots");
    userError(() => optionsFromFlags('extract', { shots: '0' }), /^--shots must be an integer in \[1, 64\]/);
  });

  test('a2 has one definition: the CLI and the extension parse, range-check and default it alike', () => {
    const cli = optionsFromFlags('evaluate', { strength: '0.7' });
    const ext = checkOptions('evaluate', { strength: 0.7 });
    assert.deepEqual(cli, ext);
    userError(() => optionsFromFlags('evaluate', { strength: '200' }), /^--strength must be a number in \[-100, 100\]/);
    userError(() => checkOptions('evaluate', { strength: 200 }), /^field "strength": must be a number in \[-100, 100\]/);
    const artifact = { metadata: { options: { evalStrength: 0.9 } } } as unknown as VectorArtifact;
    assert.deepEqual(evalStrengthOf('iv', {}, BUILTIN_DEFAULTS, artifact), { strength: 0.9, source: 'artifact' });
    assert.deepEqual(evalStrengthOf('iv', { strength: 0.2 }, BUILTIN_DEFAULTS, artifact), { strength: 0.2, source: 'given' });
    assert.deepEqual(evalStrengthOf('iv', {}, BUILTIN_DEFAULTS), { strength: 0.5, source: 'default' });
    assert.deepEqual(evalStrengthOf('fv', {}, BUILTIN_DEFAULTS), { strength: 1, source: 'default' });
    const { defaults, problems } = defaultsFromSettings((k) => ({ evalStrength: 0.8, 'inline.strength': 'loud' })[k]);
    assert.equal(defaults.strength, 0.8);
    assert.equal(defaults.inlineStrength, 0.3);
    assert.deepEqual(problems, ['setting iterativeVectors.inline.strength: must be a number in [-100, 100], got "loud"; using 0.3']);
  });
});

describe('experiment spec: the recipe an artifact stores', () => {
  const meta = (options: Record<string, unknown>) =>
    ({
      method: 'iterative-vectors',
      dataset: { id: 'stdlib:first-names', source: 'stdlib:first-names', sha256: 'x', counts: {} },
      options,
    }) as unknown as ArtifactMetadata;
  const ivOptions = {
    episodes: 20,
    shots: 2,
    refreshEvery: 5,
    strength: 0.3,
    seed: 7,
    zeroShotPosition: 'separator',
    bos: true,
    tokenization: 'segments',
    datasetOptions: { labelWords: { female: 'she', male: 'he' } },
  };

  test('recipeOf reads back the extract options, checked by the same parser', () => {
    assert.deepEqual(recipeOf(meta(ivOptions), 'a.ivec.safetensors'), {
      method: 'iv',
      dataset: 'stdlib:first-names',
      seed: 7,
      episodes: 20,
      shots: 2,
      batch: 5,
      extStrength: 0.3,
      zeroShotPosition: 'separator',
      labelWords: { female: 'she', male: 'he' },
      bos: true,
      tokenization: 'segments',
    });
    const e = userError(() => recipeOf(meta({ ...ivOptions, shots: 0 }), 'a.ivec.safetensors'), /cannot be re-run: its recipe's shots is 0/);
    assert.equal(e.location.file, 'a.ivec.safetensors');
  });

  test('tensorDifference: none for the same bytes, else the first tensor and float that differ', () => {
    const art = (x: number) => ({ tensors: new Map([['blocks.0.attn_out', { shape: [1, 2], data: new Float32Array([1, x]) }]]) }) as unknown as VectorArtifact;
    assert.equal(tensorDifference(art(2), art(2)), undefined);
    assert.match(tensorDifference(art(2), art(3))!, /^blocks\.0\.attn_out differs first at float 1 \(2 stored, 3 re-run\)$/);
  });
});

describe('extension: command ids', () => {
  test('every command package.json contributes is in COMMAND_IDS, and every id there is contributed or internal', async () => {
    const { COMMAND_IDS } = await import('../../src/host/commandIds');
    const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { contributes: { commands: { command: string }[] } };
    const contributed = manifest.contributes.commands.map((c) => c.command).sort();
    // Run by CodeLenses and tests only, so not in the palette.
    const hidden = new Set<string>([COMMAND_IDS.inlineShowLayers, COMMAND_IDS.lastPanelReport]);
    const ids = Object.values(COMMAND_IDS)
      .filter((id) => !hidden.has(id))
      .sort();
    assert.deepEqual(ids, contributed);
  });
});

describe('experiment spec: no silent coercion of numbers', () => {
  test('empty, hexadecimal and underflowing numbers are refused, by flag and by field', () => {
    for (const [flag, raw] of [
      ['seed', ''],
      ['shots', ' '],
      ['strength', ''],
      ['seed', '0x10'],
      ['episodes', '0b11'],
      ['strength', '2e-324'],
      ['seed', '4294967296'],
    ] as const) {
      userError(() => optionsFromFlags('evaluate', { [flag]: raw }), new RegExp(`^--${flag} must be (an integer|a number) in \\[`));
    }
    assert.equal(optionsFromFlags('evaluate', { strength: '-0.5e0' }).strength, -0.5);
    assert.equal(optionsFromFlags('evaluate', { strength: '.25' }).strength, 0.25);
    assert.equal(optionsFromFlags('evaluate', { seed: '0' }).seed, 0);
  });

  test('grid values are range-checked like the single values they stand for', () => {
    userError(() => optionsFromFlags('sweep', { 'shots-grid': '-1,2' }), /^--shots-grid takes whole numbers from 1 to 64, got "-1,2"$/);
    userError(() => optionsFromFlags('sweep', { 'eval-grid': '0.5,1e300' }), /^--eval-grid takes numbers from -100 to 100/);
    userError(() => optionsFromFlags('sweep', { 'ext-grid': '0x1' }), /^--ext-grid must be a list of numbers/);
    userError(() => checkOptions('sweep', { noIterGrid: [0.5, 500] }), /^field "noIterGrid": takes numbers from -100 to 100/);
    assert.deepEqual(optionsFromFlags('sweep', { 'no-iter-grid': '' }).noIterGrid, []);
  });

  test('a refusal says why where Number() would have read something else than what was written', () => {
    userError(
      () => optionsFromFlags('evaluate', { seed: '0o17' }),
      /^--seed must be an integer in \[0, 4294967295\], got "0o17" \(write numbers in decimal, not in hexadecimal, octal or binary\)$/,
    );
    userError(() => optionsFromFlags('evaluate', { strength: '-1e-400' }), /got "-1e-400" \(too small to represent: it would be read as 0\)$/);
    userError(() => optionsFromFlags('evaluate', { strength: '1e309' }), /got "1e309" \(too large to represent\)$/);
    userError(() => optionsFromFlags('evaluate', { shots: '' }), /^--shots must be an integer in \[0, 64\], got "" \(empty\)$/);
    userError(
      () => optionsFromFlags('sweep', { 'eval-grid': '0.5,0x1' }),
      /^--eval-grid must be a list of numbers separated by commas, got "0\.5,0x1" \("0x1": write numbers in decimal/,
    );
    userError(() => checkOptions('evaluate', { strength: Infinity }), /^field "strength": must be a number in \[-100, 100\], got Infinity$/);
    userError(() => checkOptions('evaluate', { seed: 2 ** 32 }), /^field "seed": must be an integer in \[0, 4294967295\], got 4294967296$/);
    // A zero written as zero is 0 (and -0 is 0, not a negative zero).
    assert.ok(Object.is(optionsFromFlags('evaluate', { strength: '-0' }).strength, 0));
    assert.equal(optionsFromFlags('evaluate', { strength: '0e5' }).strength, 0);
    // The CLI's other numeric flags read through the same function.
    assert.deepEqual(checkNumber('1e3', { min: 0, max: 1e4, integer: true }), { value: 1000 });
    assert.deepEqual(checkNumber('0x10', SEED_RANGE), {
      error: 'must be an integer in [0, 4294967295], got "0x10" (write numbers in decimal, not in hexadecimal, octal or binary)',
    });
  });
});
