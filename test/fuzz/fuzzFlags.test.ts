/**
 * Fuzz: options and CLI flags. Every field of every command, through each face of the one parser: CLI flag
 * values (strings from parseArgs), programmatic options (any JSON), text typed in the palette, settings
 * (any JSON a user typed); combinations of flags through to the requests they build; whole argument lists
 * through parseArgs; the numeric flags of the commands outside the spec; and real `node dist/cli.js` runs
 * with random flags (exit 0 or 2, no stack trace). Property: a value of the field's kind within its range,
 * or a UserError naming the flag (or field), never another exception.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe } from 'node:test';
import fc from 'fast-check';
import { UserError } from '../../src/core/errors';
import {
  checkOptions,
  CLI_COMMANDS,
  cliFields,
  COMMAND_FIELDS,
  datasetRequest,
  defaultsFromSettings,
  evalOptionsOf,
  extractRequestOf,
  FIELDS,
  optionsFromFlags,
  parseField,
  parseFieldText,
  parseSetting,
  resolveOptions,
  SETTING_FIELDS,
  specFor,
  sweepGridOf,
  validationOptionsOf,
  type CommandName,
  type FieldName,
  type FieldSpec,
} from '../../src/core/experiment/spec';
import { sweepPlan } from '../../src/core/experiment/sweep';
import { HelpRequested, parseCommand } from '../../src/cli/options';
import { MODEL_OPTIONS, num, parse } from '../../src/cli/modelFlags';
import { extremeNumber, numberText, weirdString, word } from '../fuzz/arbitraries';
import { fuzzTest, fuzzTestAsync, invariant, noThrow, userErrorOrSuccess, userErrorOrSuccessAsync, type Expect } from '../fuzz/property';
import { artifactSeeds, datasetSeedFiles } from '../fuzz/seeds';
import { mutate, byteOps } from '../fuzz/arbitraries';

const COMMANDS = Object.keys(COMMAND_FIELDS) as CommandName[];
const PAIRS: [CommandName, FieldName][] = COMMANDS.flatMap((c) => COMMAND_FIELDS[c].map((f) => [c, f] as [CommandName, FieldName]));
const FLAG_PAIRS: [CommandName, FieldName][] = COMMANDS.flatMap((c) => cliFields(c).map((f) => [c, f] as [CommandName, FieldName]));

// ---------------------------------------------------------------------------------------------
// Values by kind: as text (flags, the palette) and as JSON (options objects, settings)

/** Text a user may type for a field of this kind: the edges of its range, other notations, lists with bad items. */
function textFor(spec: FieldSpec): fc.Arbitrary<string> {
  switch (spec.kind) {
    case 'int':
    case 'number': {
      const edges = [
        spec.min,
        spec.max,
        spec.min - 1,
        spec.max + 1,
        spec.max + 0.5,
        spec.min - 0.5,
        (spec.min + spec.max) / 2,
        Math.floor((spec.min + spec.max) / 2),
      ];
      return fc.oneof(numberText, fc.constantFrom(...edges.map(String), ...edges.map((e) => e.toExponential()), ...edges.map((e) => ` ${e} `)));
    }
    case 'numbers': {
      const r = spec.range;
      const item = fc.oneof(
        numberText,
        fc.constantFrom(String(r.min), String(r.max), String(r.max + 1), String(r.min - 1), String((r.min + r.max) / 2), '', ' '),
      );
      return fc.oneof(
        fc.array(item, { maxLength: 5 }).map((xs) => xs.join(',')),
        fc.constantFrom(',', ',,', '1,', ',1', '1,,2', ' , ', '1;2', '[1,2]'),
      );
    }
    case 'enum':
      return fc.oneof(
        fc.constantFrom(...spec.values),
        fc.constantFrom(...spec.values.map((v) => v.toUpperCase()), ...spec.values.map((v) => ` ${v}`), ''),
        weirdString,
      );
    case 'mapping':
      return fc.oneof(
        fc.array(fc.tuple(fc.oneof(word, weirdString), fc.oneof(word, weirdString)), { maxLength: 3 }).map((ps) => ps.map(([k, v]) => `${k}=${v}`).join(',')),
        fc.constantFrom('a=b', 'a=b,c=d', '=x', 'a=', 'a==b', ',', 'a=b,a=c', '__proto__=x', 'constructor=y', 'toString=z', 'a=b,', ' a = b '),
      );
    case 'list':
      return fc.oneof(
        fc.array(fc.oneof(word, weirdString), { maxLength: 4 }).map((xs) => xs.join(',')),
        fc.constantFrom('a,b', ',', 'a,,b', ' ', '__proto__', 'a,a'),
      );
    case 'pattern':
      return fc.oneof(
        fc.constantFrom('', ' ', '{l}', '^/model/layers\\.{l}/attn/o_proj/MatMul$', '(', '{l}(', '[{l}', '(a+)+{l}', '{l}{l}', '\\{l}', '{L}', '{l', 'l}'),
        weirdString,
      );
    case 'row':
      return fc.oneof(
        fc.constantFrom('query', '0', '1', '-1', '1.5', ' 2 ', '99999999999999999999', 'x', '{"positive":0,"negative":1}', '0x1', ''),
        weirdString,
      );
    case 'boolean':
      return fc.constantFrom('true', 'false', 'TRUE', '1', '0', '', 'yes');
    default:
      return weirdString;
  }
}

/** JSON a user may put in an options object or a setting for a field of this kind. */
function jsonFor(spec: FieldSpec): fc.Arbitrary<unknown> {
  return fc.oneof(
    textFor(spec),
    extremeNumber,
    fc.constantFrom(
      null,
      true,
      false,
      [],
      {},
      [1, 2],
      ['a', 'b'],
      [''],
      [NaN],
      { positive: 0, negative: 1 },
      { positive: 'a' },
      { a: 'b' },
      { a: 1 },
      { '': 'x' },
      { scheme: 'file', path: '/x' },
    ),
    fc.array(fc.oneof(extremeNumber, weirdString), { maxLength: 4 }),
    fc.dictionary(fc.oneof(word, weirdString), fc.oneof(word, weirdString, extremeNumber), { maxKeys: 3 }),
    fc.jsonValue({ maxDepth: 2 }),
  );
}

/** What a checked value of this kind must be. */
function wellFormed(spec: FieldSpec, v: unknown, raw: unknown): string | undefined {
  const show = () => `${JSON.stringify(v)} (from ${JSON.stringify(raw)})`;
  const inRange = (x: unknown, r: { min: number; max: number; integer?: boolean }) =>
    typeof x === 'number' && Number.isFinite(x) && x >= r.min && x <= r.max && (!r.integer || Number.isInteger(x)) && !Object.is(x, -0);
  switch (spec.kind) {
    case 'int':
    case 'number':
      return inRange(v, { min: spec.min, max: spec.max, integer: spec.kind === 'int' }) ? undefined : `not a number in range: ${show()}`;
    case 'numbers':
      return Array.isArray(v) && v.every((x) => inRange(x, spec.range)) && (v.length > 0 || spec.allowEmpty)
        ? undefined
        : `not a list of numbers in range: ${show()}`;
    case 'enum':
      return spec.values.includes(v as string) ? undefined : `not one of the values: ${show()}`;
    case 'string':
    case 'path':
      return (typeof v === 'string' && v !== '' && v === v.trim()) || (typeof v === 'object' && v !== null) ? undefined : `not a non-empty string: ${show()}`;
    case 'boolean':
      return typeof v === 'boolean' ? undefined : `not a boolean: ${show()}`;
    case 'list':
      return Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== '' && x === x.trim()) ? undefined : `not a list of words: ${show()}`;
    case 'mapping': {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) return `not a mapping: ${show()}`;
      // Every pair given is kept (a key such as "__proto__" must not vanish).
      const keys = typeof raw === 'string' ? raw.split(',').map((p) => p.slice(0, p.indexOf('=')).trim()) : Object.keys(raw as object);
      const lost = keys.find((k) => !Object.hasOwn(v, k));
      return lost === undefined ? undefined : `the pair for ${JSON.stringify(lost)} was dropped: ${show()}`;
    }
    case 'pattern':
      return typeof v === 'string' && (v === '' || v.includes('{l}')) ? undefined : `not a site pattern: ${show()}`;
    case 'row':
      return (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && v !== '') || (typeof v === 'object' && v !== null)
        ? undefined
        : `not a row: ${show()}`;
  }
}

function checkValue(spec: FieldSpec, v: unknown, raw: unknown): void {
  const problem = wellFormed(spec, v, raw);
  invariant(problem === undefined, () => `${spec.flag ?? '(no flag)'}: ${problem}`);
}

// ---------------------------------------------------------------------------------------------

describe('fuzz: every field of every command', () => {
  const flagCase = fc.constantFrom(...FLAG_PAIRS).chain(([command, field]) => {
    const spec = specFor(command, field);
    return fc.tuple(fc.constant(command), fc.constant(field), spec.kind === 'boolean' ? fc.boolean() : textFor(spec));
  });
  fuzzTest(
    'CLI flag values (optionsFromFlags): a value of the flag\u2019s kind in range, or a UserError naming the flag',
    flagCase,
    ([command, field, raw]) => {
      const spec = specFor(command, field);
      const out = userErrorOrSuccess(() => optionsFromFlags(command, { [spec.flag!]: raw }), {
        flags: [spec.flag!],
        input: () => `${command} --${spec.flag} ${JSON.stringify(raw)}`,
      });
      if (!(out instanceof UserError)) checkValue(spec, (out as Record<string, unknown>)[field], raw);
    },
    { runs: 1500 },
  );

  const fieldCase = fc.constantFrom(...PAIRS).chain(([command, field]) => fc.tuple(fc.constant(command), fc.constant(field), jsonFor(specFor(command, field))));
  fuzzTest(
    'options objects (checkOptions, parseField) and palette text (parseFieldText): a value in range, or a UserError naming the field',
    fieldCase,
    ([command, field, raw]) => {
      const spec = specFor(command, field);
      const expect: Expect = { fields: [field], input: () => `${command}.${field} = ${JSON.stringify(raw)}` };
      const out = userErrorOrSuccess(() => checkOptions(command, { [field]: raw }), expect);
      if (!(out instanceof UserError) && raw !== undefined) checkValue(spec, (out as Record<string, unknown>)[field], raw);
      const one = userErrorOrSuccess(() => parseField(command, field, raw), expect);
      if (!(one instanceof UserError)) checkValue(spec, one, raw);
      if (typeof raw === 'string') {
        const typed = userErrorOrSuccess(() => parseFieldText(command, field, raw), expect);
        if (!(typed instanceof UserError) && typed !== undefined) checkValue(spec, typed, raw);
      }
    },
    { runs: 1500 },
  );

  fuzzTest(
    'unknown option names and non-object options: a UserError naming the option',
    fc.tuple(fc.constantFrom(...COMMANDS), fc.oneof(weirdString, word), fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constant(undefined))),
    ([command, key, value]) => {
      const known = (COMMAND_FIELDS[command] as readonly string[]).includes(key);
      userErrorOrSuccess(() => checkOptions(command, { [key]: value }), { fields: [key] });
      userErrorOrSuccess(() => checkOptions(command, value), {});
      if (!known) userErrorOrSuccess(() => optionsFromFlags(command, { [key]: value }), { flags: [key] });
    },
    { runs: 500 },
  );

  fuzzTest(
    'settings as a user typed them (parseSetting, defaultsFromSettings): a default in range for every field, bad ones reported, never an exception',
    fc.tuple(
      fc.constantFrom(...SETTING_FIELDS),
      fc.array(fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 1 }), extremeNumber, weirdString), {
        minLength: SETTING_FIELDS.length,
        maxLength: SETTING_FIELDS.length,
      }),
    ),
    ([{ field }, values]) => {
      const spec = FIELDS[field];
      for (const raw of values) {
        const r = noThrow(() => parseSetting(field, raw), `parseSetting(${field})`);
        if ('value' in r && r.value !== spec.default) checkValue(spec, r.value, raw);
      }
      const byKey = new Map(SETTING_FIELDS.map(({ key }, i) => [key, values[i]]));
      const { defaults } = noThrow(() => defaultsFromSettings((key) => byKey.get(key)), 'defaultsFromSettings');
      for (const { field: f } of SETTING_FIELDS) {
        const v = (defaults as Record<string, unknown>)[f];
        if (v !== undefined && v !== FIELDS[f].default) checkValue(FIELDS[f], v, byKey.get(SETTING_FIELDS.find((s) => s.field === f)!.key));
      }
    },
    { runs: 300 },
  );
});

// ---------------------------------------------------------------------------------------------

const CLI = Object.entries(CLI_COMMANDS) as [string, CommandName][];

/** A few flags of a command with values of their kinds (`--flag value` pairs as parseArgs returns them). */
const flagSet = (command: CommandName) =>
  fc.uniqueArray(fc.constantFrom(...cliFields(command)), { maxLength: 6 }).chain((fields) =>
    fc.tuple(
      ...fields.map((f) => {
        const spec = specFor(command, f);
        return fc.tuple(
          fc.constant(spec.flag!),
          spec.kind === 'boolean' ? fc.boolean() : fc.oneof(textFor(spec), spec.default !== undefined ? fc.constant(String(spec.default)) : textFor(spec)),
        );
      }),
    ),
  );

describe('fuzz: flags to requests', () => {
  fuzzTest(
    'several flags of one command through to the requests (extraction, evaluation, validation, sweep grid and plan, dataset): built, or a UserError naming a flag',
    fc.constantFrom(...CLI).chain(([cli, command]) => fc.tuple(fc.constant(cli), fc.constant(command), flagSet(command))),
    ([cli, command, pairs]) => {
      const values = Object.fromEntries(pairs);
      const flags = pairs.map(([f]) => f);
      const given = userErrorOrSuccess(() => optionsFromFlags(command, values), { flags, input: () => `iv ${cli} ${JSON.stringify(values)}` });
      if (given instanceof UserError) return;
      const r = noThrow(() => resolveOptions(command, given), 'resolveOptions');
      for (const method of ['iv', 'tv', 'fv'] as const) noThrow(() => extractRequestOf(r, method), `extractRequestOf ${method}`);
      noThrow(() => evalOptionsOf(r), 'evalOptionsOf');
      noThrow(() => validationOptionsOf(r), 'validationOptionsOf');
      userErrorOrSuccess(() => datasetRequest(r), { fields: ['dataset'] });
      if (command === 'sweep' || command === 'compare') {
        const grid = noThrow(() => sweepGridOf(r), 'sweepGridOf');
        const ranges = { shots: FIELDS.shotsGrid, extStrengths: FIELDS.extGrid, evalStrengths: FIELDS.evalGrid, noIterationStrengths: FIELDS.noIterGrid };
        for (const [k, spec] of Object.entries(ranges)) checkValue(spec, grid[k as keyof typeof grid], values[spec.flag!]);
        const plan = userErrorOrSuccess(() => sweepPlan(grid, r.batch!), { flags });
        if (!(plan instanceof UserError))
          invariant(
            plan.every((p) => p.evalStrengths.length > 0),
            'a sweep plan entry has no evaluation strengths',
          );
      }
    },
    { runs: 600 },
  );

  const ARG_TOKENS = ['--help', '-h', '--', '-x', '--unknown', '--no-bos', '--bos=false', '--json=1', '-', '--=', '---x', '--dataset=', '--out='];
  const argv = (command: CommandName) =>
    fc.array(
      fc.oneof(
        fc.constantFrom(...ARG_TOKENS),
        fc.constantFrom(...cliFields(command)).map((f) => `--${specFor(command, f).flag}`),
        fc.constantFrom(...cliFields(command)).chain((f) => textFor(specFor(command, f)).map((v) => `--${specFor(command, f).flag}=${v}`)),
        weirdString,
      ),
      { maxLength: 6 },
    );
  fuzzTest(
    'whole argument lists (parseArgs, then the spec): options, --help, or an error the CLI reports without a stack (UserError, ERR_PARSE_ARGS_*)',
    fc.constantFrom(...CLI).chain(([cli, command]) => fc.tuple(fc.constant(cli), fc.constant(command), argv(command), fc.boolean())),
    ([cli, command, args, positionals]) => {
      try {
        parseCommand(cli, command, 'summary', args, positionals);
      } catch (e) {
        if (e instanceof HelpRequested || e instanceof UserError) return;
        const code = (e as { code?: unknown }).code;
        if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return;
        throw e;
      }
    },
    { runs: 600 },
  );

  fuzzTest(
    'the numeric flags of generate, bench, check-device and demo (num): a number in range written in decimal, or a UserError naming the flag',
    fc.tuple(
      fc.constantFrom(
        { flag: 'max-new-tokens', range: { min: 1, max: 1 << 20, integer: true } },
        { flag: 'temperature', range: { min: 0, max: 100 } },
        { flag: 'top-p', range: { min: Number.MIN_VALUE, max: 1 } },
        { flag: 'seed', range: { min: 0, max: 2 ** 32 - 1, integer: true } },
        { flag: 'runs', range: { min: 1, max: 1000, integer: true } },
        { flag: 'tolerance', range: { min: 0, max: 1 } },
        { flag: 'episodes', range: { min: 10, max: 1e6, integer: true } },
      ),
      numberText,
    ),
    ([{ flag, range }, raw]) => {
      const n = userErrorOrSuccess(() => num({ [flag]: raw }, flag, 7, range), { flags: [flag], input: () => `--${flag} ${JSON.stringify(raw)}` });
      if (n instanceof UserError) return;
      invariant(/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw.trim()), () => `--${flag} ${JSON.stringify(raw)} was read as ${n}`);
      invariant(
        Number.isFinite(n) && n >= range.min && n <= range.max && (!range.integer || Number.isInteger(n)),
        () => `--${flag} ${JSON.stringify(raw)} gave ${n}, out of range`,
      );
    },
    { runs: 600 },
  );

  fuzzTest(
    'the model flags of generate, bench and inspect (parseArgs with their options): values, or an error the CLI reports without a stack',
    fc.array(
      fc.oneof(
        fc.constantFrom(...Object.keys(MODEL_OPTIONS)).map((f) => `--${f}`),
        fc.constantFrom(...Object.keys(MODEL_OPTIONS)).chain((f) => weirdString.map((v) => `--${f}=${v}`)),
        fc.constantFrom('--ids', '-h', '--', 'x'),
      ),
      { maxLength: 5 },
    ),
    (args) => {
      try {
        parse(args, MODEL_OPTIONS, true);
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return;
        throw e;
      }
    },
    { runs: 300 },
  );
});

// ---------------------------------------------------------------------------------------------
// Real CLI runs

describe('fuzz: the iv command line (child processes)', () => {
  const CLI_JS = join(__dirname, '..', '..', 'dist', 'cli.js');
  const root = mkdtempSync(join(tmpdir(), 'iv-fuzz-cli-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const data = datasetSeedFiles();
  const artifacts = artifactSeeds().files;
  const NO_MODEL = join(root, 'no-such-model', 'm.bin');
  const COMMAND_LINES = [
    'extract',
    'eval',
    'sweep',
    'compare',
    'rerun',
    'export-gguf',
    'export-onnx',
    'generate',
    'inspect',
    'bench',
    'check-device',
    'demo',
    'help',
    'nope',
    '',
  ];
  const SPEC: Record<string, CommandName | undefined> = Object.fromEntries(CLI);
  let n = 0;

  const run = (args: string[], cwd: string): Promise<{ code: number | null; stderr: string; ms: number }> =>
    new Promise((resolve) => {
      const started = Date.now();
      const child = spawn(process.execPath, [CLI_JS, ...args], {
        cwd,
        env: { PATH: process.env.PATH, HOME: cwd, IV_CACHE_DIR: join(cwd, 'cache'), HF_HUB_OFFLINE: '1', NO_COLOR: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr, ms: Date.now() - started });
      });
    });

  const cliCase = fc.record({
    command: fc.constantFrom(...COMMAND_LINES),
    flags: fc.constantFrom(...CLI).chain(([, c]) => flagSet(c)),
    data: fc.record({ seed: fc.nat(data.jsonl.length - 1), ops: byteOps(3, true) }),
    artifact: fc.record({ seed: fc.nat(artifacts.length - 1), ops: byteOps(2) }),
    prompt: fc.oneof(weirdString, fc.constantFrom('Once upon a time', '')),
    extra: fc.array(
      fc.constantFrom('--help', '--json', '--', 'positional', '--ids=1,2', '--ids=', '--max-new-tokens=', '--runs=0x10', '--temperature=NaN', '--dtype=q3'),
      { maxLength: 2 },
    ),
  });
  fuzzTestAsync(
    'node dist/cli.js <command> <random flags>: exit 0 or 2, a message without a stack trace, within 30 s',
    cliCase,
    async (c) => {
      if (!existsSync(CLI_JS)) throw new Error(`${CLI_JS} is missing: npm run build first`);
      const dir = join(root, `run${n++}`);
      mkdirSync(dir);
      const dataset = join(dir, 'data.jsonl');
      writeFileSync(dataset, mutate(data.jsonl[c.data.seed].bytes, c.data.ops));
      const vector = join(dir, 'v.ivec.safetensors');
      writeFileSync(vector, mutate(artifacts[c.artifact.seed].bytes, c.artifact.ops));
      // Path flags point into the run's folder; the model never loads (a missing checkpoint), so no run does model work.
      const spec = SPEC[c.command];
      const pathFlags = new Set(
        spec
          ? cliFields(spec)
              .filter((f) => FIELDS[f].kind === 'path')
              .map((f) => FIELDS[f].flag!)
          : [],
      );
      const args: string[] = c.command ? [c.command] : [];
      if (c.command === 'generate') args.push(c.prompt);
      if (c.command === 'rerun') args.push(vector);
      for (const [flag, value] of c.flags) {
        if (pathFlags.has(flag) || flag === 'cache-dir') continue;
        args.push(typeof value === 'boolean' ? (value ? `--${flag}` : '') : `--${flag}=${value}`);
      }
      args.push(...c.extra);
      if (['extract', 'eval', 'sweep', 'compare', 'demo', 'bench'].includes(c.command)) args.push(`--dataset=${dataset}`);
      if (['extract', 'eval', 'sweep', 'compare'].includes(c.command))
        args.push(`--out=${join(dir, c.command === 'extract' ? 'o.ivec.safetensors' : 'o.json')}`);
      if (['eval', 'export-gguf'].includes(c.command)) args.push(`--vector=${vector}`);
      if (c.command === 'export-gguf') args.push(`--out=${join(dir, 'o.gguf')}`);
      if (c.command === 'export-onnx') args.push(`--out=${join(dir, 'onnx')}`);
      if (c.command === 'inspect') args.push(`--model=${join(__dirname, '..', 'fixtures', 'exports', 'smollm')}`);
      else if (!['export-gguf', 'help', 'nope', ''].includes(c.command)) args.push(`--model=${NO_MODEL}`);
      // No process argument can hold a NUL byte (the shell could not pass one either).
      const argv = args.filter((a) => a !== '').map((a) => a.replace(/\0/g, ''));
      const expect: Expect = { input: () => `iv ${argv.map((a) => JSON.stringify(a)).join(' ')}` };
      const r = await userErrorOrSuccessAsync(() => run(argv, dir), expect, 35_000);
      if (r instanceof UserError) return;
      invariant(r.code === 0 || r.code === 2, () => `exit code ${r.code} (${r.ms} ms) for ${expect.input!()}\n${r.stderr.slice(0, 1500)}`);
      invariant(!/^\s+at .+/m.test(r.stderr), () => `a stack trace on stderr for ${expect.input!()}\n${r.stderr.slice(0, 1500)}`);
      rmSync(dir, { recursive: true, force: true });
    },
    { runs: 16, longRuns: 160 },
  );
});
