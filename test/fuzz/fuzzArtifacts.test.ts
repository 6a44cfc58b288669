/**
 * Fuzz: vector artifacts and the files next to them. Safetensors bytes written by the project's writer
 * (mutated, with headers rewritten and huge declared sizes), the `iv` metadata (every field), the JSON
 * reader for sidecars and other user JSON, the GGUF export of whatever an artifact decodes to (and the
 * GGUF reader on the result), and sweep results files. Property: success, or a UserError naming the
 * file (the row or field for options), never another exception.
 */
import { join } from 'node:path';
import { after, describe } from 'node:test';
import fc from 'fast-check';
import { UserError } from '../../src/core/errors';
import { parseJson } from '../../src/core/json';
import { controlVectorFromArtifact, encodeArtifactFiles } from '../../src/core/vectors';
import { checkSweepSettings, parseSweepResults } from '../../src/core/experiment/sweepResults';
import { sweepHeatmaps } from '../../src/core/experiment/layerEffects';
import { bestRow } from '../../src/core/experiment/sweep';
import { updateMessage } from '../../src/host/panel/wire';
import { decodeGguf } from '../unit/ggufReader';
import {
  applyJsonEdits,
  Entries,
  extremeNumber,
  HEADER_INTEGERS,
  jsonEdits,
  jsonText,
  mutated,
  mutation,
  preview,
  weirdString,
  word,
  type JsonNode,
  type Seed,
} from '../fuzz/arbitraries';
import { exportOptions, type ExportOptions } from '../fuzz/artifactUse';
import { fuzzTest, fuzzTestAsync, invariant, noThrow, userErrorOrSuccess, userErrorOrSuccessAsync } from '../fuzz/property';
import { Sandbox } from '../fuzz/sandbox';
import { artifactSeeds, otherDtypeSeeds, safetensorsBytes, SWEEP_SETTINGS, sweepSeeds } from '../fuzz/seeds';

const { artifacts: ARTIFACTS, files: ARTIFACT_FILES, sidecars: SIDECARS } = artifactSeeds();
const SAFETENSORS: Seed[] = [...ARTIFACT_FILES, ...otherDtypeSeeds()];
const FILE = '/work/v.ivec.safetensors';
const decoder = new TextDecoder();

/** The header JSON and data section of a safetensors file this project wrote. */
function split(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return { header: JSON.parse(decoder.decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>, data: bytes.subarray(8 + n) };
}

/** Decoding and every reader of the result, in a child process (an artifact may claim sizes whose use aborts the process). */
const sandbox = new Sandbox(join(__dirname, '..', 'fuzz', 'artifactUse.ts'), { process: true });
after(() => sandbox.close());
const decodeAndUse = (bytes: Uint8Array, o: ExportOptions, input: () => string) =>
  userErrorOrSuccessAsync(() => sandbox.call('decode', { bytes, file: FILE, o, input: input() }, 10_000), { files: [FILE], input }, 12_000);

describe('fuzz: safetensors vector artifacts', () => {
  fuzzTestAsync(
    'mutated artifact bytes: an artifact every reader accepts, or a UserError naming the file',
    fc.tuple(mutation(SAFETENSORS, { maxOps: 4 }), exportOptions),
    async ([m, o]) => {
      const bytes = mutated(SAFETENSORS, m);
      await decodeAndUse(bytes, o, () => preview(bytes));
    },
    { runs: 500 },
  );

  const declared = fc.oneof(fc.constant('exact' as const), fc.constant('padded' as const), fc.constantFrom(...HEADER_INTEGERS));
  fuzzTestAsync(
    'rewritten headers (dtype, shape, data_offsets, __metadata__, declared length): an artifact or a UserError naming the file',
    fc.tuple(fc.nat(SAFETENSORS.length - 1), jsonEdits(3), declared, fc.nat(64), exportOptions),
    async ([seed, edits, length, cut, o]) => {
      const { header, data } = split(SAFETENSORS[seed].bytes);
      const text = jsonText(applyJsonEdits(header, edits).node);
      let bytes = safetensorsBytes(
        length === 'padded' ? text + ' '.repeat(8 - (text.length % 8)) : text,
        data.subarray(0, data.length - (cut % 3 === 0 ? cut % 9 : 0)),
      );
      if (typeof length === 'bigint') {
        bytes = Uint8Array.from(bytes);
        new DataView(bytes.buffer).setBigUint64(0, length, true);
      }
      await decodeAndUse(bytes, o, () => preview(bytes));
    },
    { runs: 500 },
  );

  fuzzTestAsync(
    'the "iv" metadata with any field changed: an artifact every reader accepts, or a UserError naming the file',
    fc.tuple(fc.nat(ARTIFACT_FILES.length - 1), jsonEdits(3), exportOptions),
    async ([seed, edits, o]) => {
      const { header, data } = split(ARTIFACT_FILES[seed].bytes);
      const meta = header.__metadata__ as Record<string, string>;
      const { node } = applyJsonEdits(JSON.parse(meta.iv), edits);
      const rebuilt = { ...header, __metadata__: { ...meta, iv: jsonText(node) } };
      const bytes = safetensorsBytes(JSON.stringify(rebuilt), data);
      await decodeAndUse(bytes, o, () => jsonText(node).slice(0, 600));
    },
    { runs: 800 },
  );

  fuzzTestAsync(
    'tensor values (NaN, infinities, subnormals, -0, huge) in a valid artifact: every reader accepts it, or a UserError naming the file',
    fc.tuple(
      fc.nat(ARTIFACTS.length - 1),
      fc.array(fc.tuple(fc.nat(), fc.oneof(extremeNumber, fc.constantFrom(NaN, Infinity, 3e38, -3e38, 1e-45))), { maxLength: 4 }),
      exportOptions,
    ),
    async ([seed, values, o]) => {
      const base = ARTIFACTS[seed];
      const tensors = new Map([...base.tensors].map(([k, t]) => [k, { shape: t.shape, data: Float32Array.from(t.data) }]));
      const all = [...tensors.values()];
      for (const [at, v] of values) {
        const t = all[at % all.length];
        t.data[at % t.data.length] = v;
      }
      const bytes = userErrorOrSuccess(() => encodeArtifactFiles({ metadata: base.metadata, tensors }).safetensors, {});
      if (bytes instanceof UserError) return;
      await decodeAndUse(bytes, o, () => preview(bytes));
    },
    { runs: 300 },
  );
});

// ---------------------------------------------------------------------------------------------

/** JSON trees whose objects may repeat a key; `dup` says whether one does. */
const tree: fc.Arbitrary<JsonNode> = fc.letrec<{ node: JsonNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.oneof(word, weirdString, fc.constantFrom('"', '\\', '\\"', '{', '"a":1')),
    ),
    fc.array(tie('node'), { maxLength: 4 }),
    fc
      .array(fc.tuple(fc.oneof(fc.constantFrom('a', 'b', 'a\u0062', 'ab', '"', '\\', '', '__proto__', '\uD800'), word), tie('node')), { maxLength: 4 })
      .map((entries) => new Entries(entries)),
  ),
})).node;

function duplicate(node: JsonNode): string | undefined {
  if (node instanceof Entries) {
    const seen = new Set<string>();
    for (const [k, v] of node.entries) {
      if (seen.has(k)) return k;
      seen.add(k);
      const inner = duplicate(v);
      if (inner !== undefined) return inner;
    }
    return undefined;
  }
  if (Array.isArray(node)) for (const v of node) if (duplicate(v) !== undefined) return duplicate(v);
  return undefined;
}

describe('fuzz: the JSON reader of user files (sidecars, configs)', () => {
  fuzzTest(
    'parseJson on JSON with repeated keys: refused exactly when an object repeats a key, naming the file and the key; else what JSON.parse reads',
    fc.tuple(tree, fc.constantFrom(0, 2)),
    ([node, indent]) => {
      const text = jsonText(node, indent);
      const dup = duplicate(node);
      const v = userErrorOrSuccess(() => parseJson(text, { file: 'x.ivec.json' }), { files: ['x.ivec.json'], input: () => text.slice(0, 400) });
      if (dup === undefined) {
        invariant(!(v instanceof UserError), () => `refused JSON without a repeated key: ${(v as UserError).message} in ${text.slice(0, 300)}`);
        invariant(JSON.stringify(v) === JSON.stringify(JSON.parse(text)), 'parseJson and JSON.parse read different values');
      } else {
        invariant(v instanceof UserError, () => `accepted an object that repeats the key ${JSON.stringify(dup)}: ${text.slice(0, 300)}`);
      }
    },
    { runs: 800 },
  );

  fuzzTest(
    'parseJson on mutated sidecars: a value equal to JSON.parse, or a UserError naming the file',
    mutation(SIDECARS, { text: true, maxOps: 4 }),
    (m) => {
      const text = decoder.decode(mutated(SIDECARS, m));
      const v = userErrorOrSuccess(() => parseJson(text, { file: 'x.ivec.json' }), { files: ['x.ivec.json'], input: () => JSON.stringify(text.slice(0, 300)) });
      if (!(v instanceof UserError)) invariant(JSON.stringify(v) === JSON.stringify(JSON.parse(text)), 'parseJson and JSON.parse read different values');
    },
    { runs: 400 },
  );
});

describe('fuzz: GGUF control vectors', () => {
  const gguf: Seed[] = ARTIFACTS.slice(0, 3).map((a, i) => ({
    name: `cv${i}.gguf`,
    bytes: controlVectorFromArtifact(a, { row: a.metadata.method === 'iterative-vectors' ? 'query' : 0 }).bytes,
  }));
  fuzzTest(
    'the GGUF reader on mutated exports (counts, lengths, types, offsets): a file or a UserError naming it',
    mutation(gguf, { maxOps: 4 }),
    (m) => {
      const bytes = mutated(gguf, m);
      userErrorOrSuccess(() => decodeGguf(bytes, 'cv.gguf'), { files: ['cv.gguf'], input: () => preview(bytes) });
    },
    { runs: 400 },
  );
});

describe('fuzz: sweep results files', () => {
  const SWEEPS = sweepSeeds();
  const FILE_S = '/work/sweep.jsonl';
  const use = (text: string, partial: boolean) => {
    const r = userErrorOrSuccess(() => parseSweepResults(text, FILE_S, { partialLastLine: partial ? 'skip' : 'error' }), {
      files: [FILE_S],
      input: () => JSON.stringify(text.slice(0, 400)),
    });
    if (r instanceof UserError) return;
    if (r.settings) userErrorOrSuccess(() => checkSweepSettings(r.settings!, SWEEP_SETTINGS, FILE_S), { files: [FILE_S] });
    if (r.rows.length) noThrow(() => bestRow(r.rows), 'bestRow');
    // The layers panel draws the rows as heatmaps: the message must pass its own guard.
    const grids = noThrow(() => sweepHeatmaps(r.rows), 'sweepHeatmaps');
    noThrow(
      () => updateMessage(1, { kind: 'heatmap', grids }, FILE_S),
      () => `the heatmap message of rows ${JSON.stringify(r.rows).slice(0, 300)}`,
    );
  };
  fuzzTest(
    'mutated results files: rows the panel can draw, or a UserError naming the file and line',
    fc.tuple(mutation(SWEEPS, { text: true, maxOps: 4 }), fc.boolean()),
    ([m, partial]) => use(decoder.decode(mutated(SWEEPS, m)), partial),
    { runs: 400 },
  );
  fuzzTest(
    'rows with any field changed (negative or fractional shots, extreme strengths, missing shares): rows the panel can draw, or a UserError',
    fc.tuple(fc.array(fc.tuple(fc.nat(3), jsonEdits(2)), { minLength: 1, maxLength: 4 }), fc.boolean()),
    ([edits, partial]) => {
      const [header, ...rows] = decoder
        .decode(SWEEPS[0].bytes)
        .split('\n')
        .filter((l) => l !== '');
      const lines = rows.map((l, i) => {
        const e = edits.find(([at]) => at === i);
        return e ? jsonText(applyJsonEdits(JSON.parse(l), e[1]).node) : l;
      });
      use([header, ...lines].join('\n') + '\n', partial);
    },
    { runs: 400 },
  );
});
