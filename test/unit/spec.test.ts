/**
 * The experiment spec (src/core/experiment/spec) as one definition: the table's own consistency, how
 * a command reads an aliased field, settings keys -> field names, the CLI face generated from the
 * table, and an artifact's recipe read back into the same request. The package.json check, the
 * `--ext-strength` / `--episodes` flag cases and a2's two faces are in experimentSpec.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { userError } from './assertions';
import { makeArtifact } from '../../src/core/experiment/artifacts';
import { recipeOf, tensorDifference } from '../../src/core/experiment/recipe';
import {
  BUILTIN_DEFAULTS,
  canonicalField,
  checkOptions,
  CLI_COMMANDS,
  cliFields,
  cliHelp,
  cliParseOptions,
  COMMAND_FIELDS,
  defaultsFromSettings,
  effectiveValue,
  evalStrengthOf,
  extractRequestOf,
  FIELDS,
  optionsFromFlags,
  parseField,
  resolveOptions,
  SETTING_FIELDS,
  specFor,
  validationOptionsOf,
  type CommandName,
  type FieldName,
} from '../../src/core/experiment/spec';
import type { Task } from '../../src/core/experiment/task';
import type { VectorArtifact, VectorMethod } from '../../src/core/vectors/artifact';

const FIELD_NAMES = Object.keys(FIELDS) as FieldName[];
const COMMANDS = Object.keys(COMMAND_FIELDS) as CommandName[];

describe('experiment spec: the table is consistent', () => {
  test('every built-in default is a value of its field (range, values), reading back as itself', () => {
    // inline.vector's "" is the "pick one" sentinel: a valid setting (see the next test), not a vector path one passes.
    const SENTINELS: Partial<Record<FieldName, unknown>> = { inlineVector: '' };
    const bad: string[] = [];
    for (const [field, value] of Object.entries(BUILTIN_DEFAULTS) as [FieldName, unknown][]) {
      if (field in SENTINELS && SENTINELS[field] === value) continue;
      try {
        const back = parseField('model', field, Array.isArray(value) ? value.join(',') : typeof value === 'object' ? value : String(value));
        if (JSON.stringify(back) !== JSON.stringify(value)) bad.push(`${field}: default ${JSON.stringify(value)} reads back as ${JSON.stringify(back)}`);
      } catch (e) {
        bad.push(`${field}: default ${JSON.stringify(value)}: ${(e as Error).message}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  test("package.json's defaults, as VS Code returns them for unset settings, are taken without a problem", () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
    };
    const props = pkg.contributes.configuration.properties;
    const { defaults, problems } = defaultsFromSettings((key) => props[`iterativeVectors.${key}`]?.default);
    assert.deepEqual(problems, []);
    assert.deepEqual(defaults, BUILTIN_DEFAULTS);
  });

  test('each setting key seeds one field; each command lists a field once, and only fields of the table', () => {
    const keys = SETTING_FIELDS.map((s) => s.key);
    assert.equal(new Set(keys).size, keys.length, `a settings key seeds two fields: ${keys.join(', ')}`);
    for (const c of COMMANDS) {
      const fields = COMMAND_FIELDS[c];
      assert.equal(new Set(fields).size, fields.length, `${c} lists a field twice`);
      for (const f of fields) assert.ok(f in FIELDS, `${c} takes ${f}, which the table lacks`);
    }
    // Every field is taken somewhere: by a command, through an alias, or by the CLI alone.
    const reached = new Set<string>(['cacheDir', 'json']);
    for (const c of COMMANDS) for (const f of COMMAND_FIELDS[c]) reached.add(canonicalField(c, f)).add(f);
    assert.deepEqual(
      FIELD_NAMES.filter((f) => !reached.has(f)),
      [],
    );
  });

  test('ranges hold their defaults; enums are non-empty and without duplicates', () => {
    for (const f of FIELD_NAMES) {
      const s = FIELDS[f];
      if (s.kind === 'int' || s.kind === 'number') assert.ok(s.min <= s.max, f);
      if (s.kind === 'enum') {
        assert.ok(s.values.length > 0, f);
        assert.equal(new Set(s.values).size, s.values.length, f);
      }
    }
  });
});

describe('experiment spec: a field as a command reads it', () => {
  test("extract's episodes and shots are E and k (range, default, setting), under their own flags", () => {
    assert.deepEqual(specFor('extract', 'episodes'), { ...FIELDS.extEpisodes, flag: 'episodes' });
    assert.deepEqual(specFor('extract', 'shots'), { ...FIELDS.extShots, flag: 'shots' });
    assert.equal(specFor('evaluate', 'episodes'), FIELDS.episodes);
    assert.equal(specFor('layerEffects', 'episodes').setting, 'layerEffects.episodes');
    assert.equal(canonicalField('extract', 'episodes'), 'extEpisodes');
    assert.equal(canonicalField('extract', 'shots'), 'extShots');
    assert.equal(canonicalField('evaluate', 'episodes'), 'episodes');
    assert.equal(canonicalField('layerEffects', 'episodes'), 'layerEpisodes');
    assert.deepEqual(specFor('extract', 'method'), { ...FIELDS.method, values: ['iv', 'tv', 'fv'], default: 'iv', title: 'method: iv, tv, fv' });
    // The ranges follow: extraction needs k >= 1, evaluation allows 0-shot.
    userError(() => checkOptions('extract', { shots: 0 }), /^field "shots": must be an integer in \[1, 64\], got 0$/);
    assert.equal(checkOptions('evaluate', { shots: 0 }).shots, 0);
    userError(() => checkOptions('extract', { episodes: 2e6 }), /^field "episodes": must be an integer in \[1, 1000000\]/);
    assert.equal(checkOptions('evaluate', { episodes: 2e6 }).episodes, 2e6);
  });

  test('resolved options: the aliased field is set, the evaluation fields keep their defaults', () => {
    const r = resolveOptions('extract', checkOptions('extract', { episodes: 7, shots: 3 }));
    assert.deepEqual([r.extEpisodes, r.extShots, r.episodes, r.shots], [7, 3, 1000, 1]);
    assert.deepEqual([extractRequestOf(r, 'iv').iv.episodes, extractRequestOf(r, 'iv').iv.shots], [7, 3]);
    const p = resolveOptions('layerEffects', checkOptions('layerEffects', { episodes: 12 }));
    assert.deepEqual([p.layerEpisodes, p.episodes], [12, 1000]);
    const d = resolveOptions('evaluate', {});
    assert.deepEqual(validationOptionsOf({ ...d, valEpisodes: 30, shots: 2, seed: 3 }), {
      split: 'validation',
      shots: 2,
      episodes: 30,
      seed: 3,
      demoOrder: 'shuffled',
      resamples: 0,
    });
  });

  test('settings are keyed by their settings key; the defaults by field name', () => {
    const values: Record<string, unknown> = {
      episodes: 21,
      shots: 3,
      evalEpisodes: 400,
      evalShots: 2,
      extStrength: 0.2,
      evalStrength: -0.4,
      batch: 0,
      'layerEffects.episodes': 17,
      'inline.strength': 0.1,
      'inline.seed': 9,
      'inline.heatmap': 'residual',
      'inline.vector': 'a.ivec.safetensors',
    };
    const { defaults: d, problems } = defaultsFromSettings((k) => values[k]);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      [
        d.extEpisodes,
        d.extShots,
        d.episodes,
        d.shots,
        d.extStrength,
        d.strength,
        d.batch,
        d.layerEpisodes,
        d.inlineStrength,
        d.inlineSeed,
        d.heatmap,
        d.inlineVector,
      ],
      [21, 3, 400, 2, 0.2, -0.4, 0, 17, 0.1, 9, 'residual', 'a.ivec.safetensors'],
    );
    assert.equal(effectiveValue('extract', 'episodes', {}, d), 21, "extract's episodes: the episodes setting");
    assert.equal(effectiveValue('evaluate', 'episodes', {}, d), 400, "evaluate's episodes: the evalEpisodes setting");
    assert.equal(effectiveValue('layerEffects', 'episodes', {}, d), 17);
    assert.equal(effectiveValue('layerEffects', 'episodes', { episodes: 5 }, d), 5);
    assert.equal(effectiveValue('exportGguf', 'strength', {}, d), undefined, 'not a field of the command');
    const bad = defaultsFromSettings((k) => ({ evalShots: -1, 'layerEffects.episodes': 0, 'inline.heatmap': 'loud' })[k]);
    assert.deepEqual([bad.defaults.shots, bad.defaults.layerEpisodes, bad.defaults.heatmap], [1, 50, 'kl']);
    assert.deepEqual(bad.problems, [
      'setting iterativeVectors.evalShots: must be an integer in [0, 64], got -1; using 1',
      'setting iterativeVectors.layerEffects.episodes: must be an integer in [1, 1000000], got 0; using 50',
      'setting iterativeVectors.inline.heatmap: must be one of kl, residual, got "loud"; using "kl"',
    ]);
  });

  test("a2: Function Vectors default to 1 whatever the setting; an artifact's unusable chosen strength is ignored", () => {
    const { defaults } = defaultsFromSettings((k) => (k === 'evalStrength' ? 0.8 : undefined));
    assert.deepEqual(evalStrengthOf('iv', {}, defaults), { strength: 0.8, source: 'default' });
    assert.deepEqual(evalStrengthOf('fv', {}, defaults), { strength: 1, source: 'default' });
    const art = (evalStrength: unknown) => ({ metadata: { options: { evalStrength } } }) as unknown as VectorArtifact;
    assert.deepEqual(evalStrengthOf('fv', {}, defaults, art(2)), { strength: 2, source: 'artifact' });
    assert.deepEqual(evalStrengthOf('iv', {}, defaults, art('0.9')), { strength: 0.8, source: 'default' });
    assert.deepEqual(evalStrengthOf('iv', {}, defaults, art(NaN)), { strength: 0.8, source: 'default' });
    assert.deepEqual(evalStrengthOf('iv', { strength: 0 }, defaults, art(2)), { strength: 0, source: 'given' }, '0 is a strength, not "unset"');
  });
});

describe('experiment spec: the CLI face', () => {
  test('each CLI command: one flag per field, booleans as switches, and the help lists each flag once', () => {
    for (const [cliName, command] of Object.entries(CLI_COMMANDS)) {
      const fields = cliFields(command);
      const flags = fields.map((f) => specFor(command, f).flag!);
      assert.equal(new Set(flags).size, flags.length, `${cliName}: two fields share a flag (${flags.join(', ')})`);
      const parse = cliParseOptions(command);
      assert.deepEqual(Object.keys(parse).sort(), [...flags].sort(), cliName);
      for (const f of fields) assert.equal(parse[specFor(command, f).flag!].type, FIELDS[f].kind === 'boolean' ? 'boolean' : 'string', `${cliName} --${f}`);
      const help = cliHelp(cliName, command, 'x');
      for (const flag of flags) assert.equal(help.split(new RegExp(`^ {2}--${flag}(?=[ \\n])`, 'm')).length, 2, `${cliName} --help lists --${flag} once`);
    }
  });

  test("eval's help: its own --episodes and --shots, and the extraction's as --ext-*", () => {
    const help = cliHelp('eval', 'evaluate', 'x');
    assert.match(help, /^ {2}--episodes N +evaluation episodes .*\(default 1000\)$/m);
    assert.match(help, /^ {2}--shots N +evaluation demonstrations per class \(0: zero-shot\) \(default 1\)$/m);
    assert.match(help, /^ {2}--ext-episodes N +extraction episodes \(E\) \(default 200\)$/m);
    assert.match(help, /^ {2}--split train\|validation\|test +split evaluated \(default test\)$/m);
    assert.match(help, /^ {2}--strength X +steering strength at evaluation/m);
    assert.match(cliHelp('extract', 'extract', 'x'), /^ {2}--method iv\|tv\|fv +method: iv, tv, fv \(default iv\)$/m);
  });

  test('flags: unknown ones, booleans, lists and mappings; errors name the flag', () => {
    userError(() => optionsFromFlags('extract', { strength: '1' }), /^--strength is not an option of extract$/);
    userError(() => optionsFromFlags('extract', { method: 'icl' }), /^--method must be one of iv, tv, fv, got "icl"$/);
    userError(() => optionsFromFlags('extract', { 'label-words': 'she' }), /^--label-words takes label=word pairs/);
    assert.deepEqual(optionsFromFlags('extract', { bos: true, 'label-words': 'female=she,male=he', 'label-names': 'a, b', episodes: undefined }), {
      bos: true,
      labelWords: { female: 'she', male: 'he' },
      labelNames: ['a', 'b'],
    });
    assert.deepEqual(optionsFromFlags(CLI_COMMANDS['export-gguf'], { row: '2', scale: '-1.5' }), { row: 2, scale: -1.5 });
    // The same value from either face is the same checked option.
    assert.deepEqual(optionsFromFlags('sweep', { 'shots-grid': '1,2', 'no-iter-grid': '' }), checkOptions('sweep', { shotsGrid: [1, 2], noIterGrid: [] }));
  });
});

describe('experiment spec: the recipe an artifact stores, through the same request', () => {
  const task = {
    dataset: { id: 'stdlib:first-names', source: 'stdlib:first-names', sha256: 'ab', counts: { train: { rows: 10 } } },
    labels: ['she', 'he'],
    verbalizer: { options: { bos: true, tokenization: 'segments' } },
  } as unknown as Task;
  const model = { name: 'tiny', sha256: 'cd', nLayers: 1, dModel: 2, vocabSize: 10 } as never;
  const stored = (method: VectorMethod, options: Record<string, unknown>): VectorArtifact => {
    const a = makeArtifact(method, 'attn_out', new Map([[0, new Float32Array([1, 2])]]), 1, { task, model, tokenizerSha256: 'ef', options });
    a.metadata.options = { ...a.metadata.options, datasetOptions: { textField: 'text', labelField: 'label', labelWords: { female: 'she', male: 'he' } } };
    return a;
  };
  const given = (o: Record<string, unknown>) => resolveOptions('extract', checkOptions('extract', { dataset: 'stdlib:first-names', ...o }));
  const rebuilt = (a: VectorArtifact, method: 'iv' | 'tv' | 'fv') => {
    const recipe = recipeOf(a.metadata, 'a.ivec.safetensors');
    // A recipe is valid extract options, as every face checks them.
    assert.deepEqual(checkOptions('extract', recipe), recipe);
    assert.deepEqual([recipe.bos, recipe.tokenization, recipe.labelWords], [true, 'segments', { female: 'she', male: 'he' }]);
    return extractRequestOf(resolveOptions('extract', recipe), method);
  };

  test('Iterative Vectors: the options written as extractArtifact writes them rebuild the same request', () => {
    const req = extractRequestOf(given({ episodes: 20, shots: 2, batch: 5, extStrength: 0.25, seed: 7, zeroShotPosition: 'before-separator' }), 'iv');
    const again = rebuilt(stored('iterative-vectors', { ...req.iv, cut: 0 }), 'iv');
    assert.deepEqual(again.iv, req.iv);
  });

  test('Task Vectors: the shots tried and the validation runs come back', () => {
    const req = extractRequestOf(given({ episodes: 30, seed: 3, tvShotsGrid: [1, 3], valEpisodes: 40, valShots: 0, demoOrder: 'class-order' }), 'tv');
    const options = { episodes: 30, shots: 3, seed: 3, layer: 0, shotsTried: req.tv.shotsGrid, chosenOn: 'validation', validation: req.validation };
    const again = rebuilt(stored('task-vector', options), 'tv');
    assert.deepEqual([again.tv, again.validation, again.iv.episodes, again.iv.seed], [req.tv, req.validation, 30, 3]);
  });

  test('Function Vectors: variant, shots, effect episodes and heads come back; heads chosen by model size may be absent', () => {
    const req = extractRequestOf(given({ episodes: 9, fvVariant: 'official', fvShots: 2, effectEpisodes: 4, topHeads: 3 }), 'fv');
    const written = { episodes: 9, seed: 42, ...req.fv, layer: 0, heads: [] };
    assert.deepEqual(rebuilt(stored('function-vector', written), 'fv').fv, req.fv);
    const { topHeads: _, ...noHeads } = written;
    assert.equal(rebuilt(stored('function-vector', noHeads), 'fv').fv.topHeads, undefined);
  });

  test('a missing or malformed stored value is an error naming the file and the field', () => {
    const iv = { episodes: 20, shots: 2, refreshEvery: 5, strength: 0.3, seed: 7, zeroShotPosition: 'separator' };
    for (const [field, options] of [
      ['episodes', { ...iv, episodes: undefined }],
      ['zeroShotPosition', { ...iv, zeroShotPosition: 'middle' }],
      ['batch', { ...iv, refreshEvery: -1 }],
      ['seed', { ...iv, seed: 1.5 }],
    ] as const) {
      const e = userError(
        () => recipeOf(stored('iterative-vectors', options).metadata, 'x.ivec.safetensors'),
        new RegExp(`cannot be re-run: its recipe's ${field} is `),
      );
      assert.equal(e.location.file, 'x.ivec.safetensors');
    }
  });

  test('tensorDifference: a tensor only on one side, another shape, or the first float that differs', () => {
    const art = (tensors: [string, number[], number[]][]) =>
      ({ tensors: new Map(tensors.map(([n, shape, data]) => [n, { shape, data: Float32Array.from(data) }])) }) as unknown as VectorArtifact;
    const a = art([
      ['blocks.0.attn_out', [1, 2], [1, 2]],
      ['blocks.1.attn_out', [1, 2], [3, 4]],
    ]);
    assert.equal(tensorDifference(a, a), undefined);
    assert.equal(tensorDifference(a, art([['blocks.0.attn_out', [1, 2], [1, 2]]])), 'blocks.1.attn_out is only in the stored artifact');
    assert.equal(
      tensorDifference(
        a,
        art([
          ['blocks.0.attn_out', [2, 1], [1, 2]],
          ['blocks.1.attn_out', [1, 2], [3, 4]],
        ]),
      ),
      'blocks.0.attn_out has shape 1x2 stored and 2x1 re-run',
    );
    assert.match(
      tensorDifference(
        a,
        art([
          ['blocks.0.attn_out', [1, 2], [1, 2]],
          ['blocks.1.attn_out', [1, 2], [3, 4.000001]],
        ]),
      )!,
      /^blocks\.1\.attn_out differs first at float 1 /,
    );
    // -0 and 0 are equal numbers but not the same bytes: a re-run must be byte for byte.
    assert.match(tensorDifference(art([['t', [1], [0]]]), art([['t', [1], [-0]]]))!, /^t differs first at float 0/);
  });
});
