import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import * as ort from 'onnxruntime-node';
import { ModelProtoSchema, StringStringEntryProtoSchema, TensorProto_DataLocation, type ModelProto } from 'onnx-buf';
import { UserError } from '../../src/core/errors';
// Namespace imports: on code without a check, its test fails on its own instead of the whole file failing to load.
import * as checkpointModule from '../../src/runtime/embedded/checkpoint';
import { inspectModel } from '../../src/runtime/hub/inspect';
import { loadHubModel } from '../../src/runtime/hub/loadHubModel';
import * as modelFolder from '../../src/runtime/hub/modelFolder';
import { loadModel, type LoadedModel } from '../../src/runtime/loadModel';
import * as requestValidation from '../../src/runtime/requestValidation';
import { embeddedFiles, maxAbsDiff, REPO } from './fixtures';

// Broken model inputs, made from real exporters' fixtures (optimum-onnx's tiny Llama) and llama2.c
// checkpoints, through the API the CLI uses and through the CLI: each must be a UserError naming the
// file (and field), never a hang, a raw ONNX Runtime error or a silent fallback.

const LLAMA = join(REPO, 'test', 'fixtures', 'exports', 'llama');
const CLI = join(REPO, 'dist', 'cli.js');
const POSIX = process.platform !== 'win32';

let dir: string;
let cacheDir: string;
let serial = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'iv-robust-'));
  cacheDir = join(dir, 'cache');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh copy of the Llama fixture. */
function copyLlama(name: string): string {
  const d = join(dir, `${serial++}-${name}`);
  cpSync(LLAMA, d, { recursive: true });
  return d;
}

function editGraph(folder: string, edit: (m: ModelProto) => void): void {
  const file = join(folder, 'model.onnx');
  const m = fromBinary(ModelProtoSchema, readFileSync(file));
  edit(m);
  writeFileSync(file, toBinary(ModelProtoSchema, m));
}

function editJson(file: string, edit: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(json);
  writeFileSync(file, JSON.stringify(json, null, 2));
}

/** Moves the graph's weights into one external data file, as exporters do for large models. */
function externalize(folder: string, location = 'model.onnx.data'): string {
  const chunks: Buffer[] = [];
  let offset = 0;
  editGraph(folder, (m) => {
    for (const t of m.graph!.initializer) {
      if (t.rawData.length < 64) continue;
      const bytes = Buffer.from(t.rawData);
      chunks.push(bytes);
      t.rawData = new Uint8Array();
      t.dataLocation = TensorProto_DataLocation.EXTERNAL;
      t.externalData = Object.entries({ location, offset: String(offset), length: String(bytes.length) }).map(([key, value]) =>
        create(StringStringEntryProtoSchema, { key, value }),
      );
      offset += bytes.length;
    }
  });
  const data = join(folder, 'model.onnx.data');
  writeFileSync(data, Buffer.concat(chunks));
  return data;
}

/** A UserError whose location names `file` (and `field`), with a message matching `message`. */
function userError(file: string, message: RegExp, field?: string) {
  return (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${(e as Error).stack}`);
    assert.equal(e.location.file, file);
    if (field !== undefined) assert.equal(e.location.field, field);
    assert.match(e.message, message);
    return true;
  };
}

const load = (model: string, cache = cacheDir): Promise<LoadedModel> => loadModel({ model, cacheDir: cache, threads: 1 });

async function firstLogits(loaded: LoadedModel): Promise<Float32Array> {
  try {
    return (await loaded.model.forward({ tokens: [[1, 450, 4996]], logits: [{ seq: 0, pos: 2 }] })).logits[0];
  } finally {
    await loaded.model.dispose();
  }
}

/** The CLI as a child process, killed after 60 s (a model input that blocks must not hang it). */
async function iv(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args, '--cache-dir', cacheDir], { timeout: 60_000, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number | null; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Exit 2 with the message on stderr and no stack trace. */
async function refusedByCli(args: string[], message: RegExp): Promise<void> {
  const r = await iv(...args);
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
}

describe('external data', () => {
  test('weights moved into external data load and compute as inline weights do', async () => {
    const inline = await firstLogits(await load(LLAMA));
    const folder = copyLlama('external-ok');
    externalize(folder);
    assert.ok(maxAbsDiff(await firstLogits(await load(folder)), inline) < 1e-6);
    assert.deepEqual(inspectModel(folder).externalDataFiles, ['model.onnx.data']);
  });

  test('a missing, empty or truncated data file is refused before ONNX Runtime reads it', async () => {
    const missing = copyLlama('external-missing');
    rmSync(externalize(missing));
    await assert.rejects(load(missing), userError(join(missing, 'model.onnx'), /external data file model\.onnx\.data of tensor "[^"]+" .*does not exist/));
    // inspect reads the graph only: absent weights are no error there.
    assert.equal(inspectModel(missing).layers, 2);

    const empty = copyLlama('external-empty');
    writeFileSync(externalize(empty), '');
    await assert.rejects(load(empty), userError(join(empty, 'model.onnx'), /lies in bytes 0\.\.\d+ of model\.onnx\.data, which has 0 bytes/));
    assert.throws(() => inspectModel(empty), userError(join(empty, 'model.onnx'), /which has 0 bytes/));

    const truncated = copyLlama('external-truncated');
    truncateSync(externalize(truncated), 1000);
    await assert.rejects(load(truncated), userError(join(truncated, 'model.onnx'), /of model\.onnx\.data, which has 1000 bytes: the file is truncated/));
  });

  test('a data file truncated after the graph was instrumented and cached is refused too', async () => {
    const folder = copyLlama('external-later');
    const data = externalize(folder);
    const cache = join(dir, 'cache-later');
    await (await load(folder, cache)).model.dispose();
    truncateSync(data, 4096);
    await assert.rejects(load(folder, cache), userError(join(folder, 'model.onnx'), /which has 4096 bytes/));
  });

  test('locations outside the model folder (../, absolute) are refused, as graphs and inspect see them', async () => {
    const up = copyLlama('external-escape');
    const data = externalize(up, '../outside.data');
    copyFileSync(data, join(dir, 'outside.data'));
    const upFile = join(up, 'model.onnx');
    assert.throws(() => inspectModel(up), userError(upFile, /is "\.\.\/outside\.data", which points outside the model's folder/));
    await assert.rejects(load(up), userError(upFile, /points outside the model's folder/));

    const absolute = copyLlama('external-absolute');
    externalize(absolute, join(dir, 'outside.data'));
    await assert.rejects(load(absolute), userError(join(absolute, 'model.onnx'), /an absolute path: it must be a path relative to the model's folder/));
  });

  test('a folder, a device or a length that contradicts the tensor is refused', { skip: !POSIX && 'POSIX devices' }, async () => {
    const zero = copyLlama('external-dev-zero');
    const data = externalize(zero);
    rmSync(data);
    symlinkSync('/dev/zero', data);
    await assert.rejects(load(zero), userError(join(zero, 'model.onnx'), /is a character device, not a regular file/));

    const folder = copyLlama('external-folder');
    const d = externalize(folder);
    rmSync(d);
    mkdirSync(d);
    await assert.rejects(load(folder), userError(join(folder, 'model.onnx'), /is a folder; expected a file/));

    const length = copyLlama('external-length');
    externalize(length);
    let tensor = '';
    editGraph(length, (m) => {
      const t = m.graph!.initializer.find((x) => x.externalData.length)!;
      tensor = t.name;
      t.externalData.find((e) => e.key === 'length')!.value = '12';
    });
    assert.throws(() => inspectModel(length), userError(join(length, 'model.onnx'), /needs \d+ bytes, but its external data length is 12/, tensor));
  });
});

describe('graphs', () => {
  test('a cycle is refused naming its nodes', async () => {
    const folder = copyLlama('cycle');
    editGraph(folder, (m) => {
      const nodes = m.graph!.node;
      nodes.find((n) => n.opType === 'MatMul')!.input[0] = nodes[nodes.length - 1].output[0];
    });
    assert.throws(() => inspectModel(folder), userError(join(folder, 'model.onnx'), /the graph has a cycle: node "[^"]+" \(\w+\) -> /));
    await assert.rejects(load(folder), userError(join(folder, 'model.onnx'), /has a cycle/));
  });

  test('duplicate initializers, tensors written twice and tensors nothing defines are refused by name', () => {
    const init = copyLlama('duplicate-initializer');
    let name = '';
    editGraph(init, (m) => {
      const inits = m.graph!.initializer.filter((t) => t.dims.length === 2);
      name = inits[0].name;
      inits[1].name = name;
    });
    assert.throws(() => inspectModel(init), userError(join(init, 'model.onnx'), new RegExp(`two initializers named "${name}"`)));

    const output = copyLlama('duplicate-output');
    let tensor = '';
    editGraph(output, (m) => {
      const matmuls = m.graph!.node.filter((n) => n.opType === 'MatMul');
      tensor = matmuls[0].output[0];
      matmuls[1].output[0] = tensor;
    });
    assert.throws(() => inspectModel(output), userError(join(output, 'model.onnx'), /the tensor "[^"]+" is written by both node/));

    const undefinedInput = copyLlama('undefined-input');
    editGraph(undefinedInput, (m) => {
      m.graph!.node.find((n) => n.opType === 'Softmax')!.input[0] = 'no_such_tensor';
    });
    assert.throws(() => inspectModel(undefinedInput), userError(join(undefinedInput, 'model.onnx'), /reads "no_such_tensor", which no node/));
  });

  test('opset 999 is refused naming the opset; the limit is that of the installed ONNX Runtime', async () => {
    const folder = copyLlama('opset-999');
    editGraph(folder, (m) => {
      for (const o of m.opsetImport) if (!o.domain) o.version = 999n;
    });
    assert.throws(() => inspectModel(folder), userError(join(folder, 'model.onnx'), /imports opset 999 .*runs opsets 1\.\.\d+/, 'opset_import'));
    await assert.rejects(load(folder), userError(join(folder, 'model.onnx'), /opset 999/));

    const max = modelFolder.MAX_ONNX_OPSET;
    assert.equal(typeof max, 'number');
    const stamped = (version: number) => {
      const m = fromBinary(ModelProtoSchema, readFileSync(join(LLAMA, 'model.onnx')));
      for (const o of m.opsetImport) if (!o.domain) o.version = BigInt(version);
      return toBinary(ModelProtoSchema, m);
    };
    const session = await ort.InferenceSession.create(stamped(max), { logSeverityLevel: 4 });
    await session.release();
    await assert.rejects(ort.InferenceSession.create(stamped(max + 1), { logSeverityLevel: 4 }), /Opset \d+ is under development/);
  });

  test("an operator ONNX Runtime does not have: its refusal becomes a UserError on the model's file, quoting it", async () => {
    const folder = copyLlama('unknown-op');
    editGraph(folder, (m) => {
      m.graph!.node.find((n) => n.opType === 'Softmax')!.opType = 'FrobnicateX';
    });
    const check = userError(join(folder, 'model.onnx'), /ONNX Runtime cannot load this model: .*No Op registered for FrobnicateX/);
    await assert.rejects(load(folder), check);
    await assert.rejects(loadHubModel({ path: folder, cacheDir, device: 'cpu', threads: 1, log: () => {} }), check);
  });
});

describe('configs against the graph', () => {
  test('num_hidden_layers 1 on a 2-layer graph is refused naming both counts', async () => {
    const folder = copyLlama('layers-1');
    const config = join(folder, 'config.json');
    editJson(config, (c) => (c.num_hidden_layers = 1));
    const check = userError(config, /num_hidden_layers is 1, but the graph has 2 layers/, 'num_hidden_layers');
    assert.throws(() => inspectModel(folder), check);
    await assert.rejects(load(folder), check);
    editJson(config, (c) => (c.num_hidden_layers = 3));
    assert.throws(() => inspectModel(folder), userError(config, /num_hidden_layers is 3, but the graph has 2 layers/));
  });

  test('a hidden_size that contradicts the graph is refused naming the projection that says otherwise', async () => {
    const folder = copyLlama('hidden-size');
    const config = join(folder, 'config.json');
    editJson(config, (c) => (c.hidden_size = 32));
    const check = userError(
      config,
      /hidden_size is 32, but the graph's layers are 16 wide \(the attention output projection "\/model\/layers\.0\/self_attn\/o_proj\/MatMul"/,
      'hidden_size',
    );
    assert.throws(() => inspectModel(folder), check);
    await assert.rejects(load(folder), check);
  });

  test('genai_config.json naming a missing decoder file is refused, not replaced by model.onnx', async () => {
    const folder = copyLlama('genai-missing-decoder');
    const genai = join(folder, 'genai_config.json');
    writeFileSync(genai, JSON.stringify({ model: { type: 'llama', decoder: { filename: 'decoder.onnx' } } }));
    const check = userError(genai, /the decoder graph it names \(.*decoder\.onnx\) does not exist/, 'model.decoder.filename');
    assert.throws(() => inspectModel(folder), check);
    await assert.rejects(load(folder), check);
    writeFileSync(genai, JSON.stringify({ model: { type: 'llama', decoder: { filename: '../model.onnx' } } }));
    assert.throws(() => inspectModel(folder), userError(genai, /points outside the model's folder/, 'model.decoder.filename'));
  });

  test('duplicate keys in config.json, genai_config.json and tokenizer.json are refused', async () => {
    const config = copyLlama('duplicate-config');
    const file = join(config, 'config.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"hidden_size": 16,', '"hidden_size": 16,\n  "hidden_size": 32,'));
    const check = userError(file, /the key "hidden_size" appears twice/, 'hidden_size');
    assert.throws(() => inspectModel(config), check);
    await assert.rejects(load(config), check);

    const genai = copyLlama('duplicate-genai');
    const genaiFile = join(genai, 'genai_config.json');
    writeFileSync(genaiFile, '{"model": {"type": "llama", "decoder": {"filename": "model.onnx", "filename": "other.onnx"}}}');
    assert.throws(() => inspectModel(genai), userError(genaiFile, /the key "filename" appears twice/, 'filename'));

    const tokenizer = copyLlama('duplicate-tokenizer');
    const tokFile = join(tokenizer, 'tokenizer.json');
    writeFileSync(tokFile, readFileSync(tokFile, 'utf8').replace('{', '{"version": "0.9",'));
    await assert.rejects(load(tokenizer), userError(tokFile, /the key "version" appears twice/, 'version'));
  });
});

describe('files that are not files', () => {
  test('a folder where model.onnx or config.json should be', async () => {
    const graph = copyLlama('graph-folder');
    rmSync(join(graph, 'model.onnx'));
    mkdirSync(join(graph, 'model.onnx'));
    const check = userError(join(graph, 'model.onnx'), /model\.onnx is a folder; expected a file/);
    assert.throws(() => inspectModel(graph), check);
    await assert.rejects(load(graph), check);

    const config = copyLlama('config-folder');
    rmSync(join(config, 'config.json'));
    mkdirSync(join(config, 'config.json'));
    assert.throws(() => inspectModel(config), userError(join(config, 'config.json'), /config\.json is a folder; expected a file/));
    await assert.rejects(load(config), userError(join(config, 'config.json'), /is a folder/));
  });

  test('FIFOs and /dev/zero as model.onnx, config.json or tokenizer.json are refused without reading them', { skip: !POSIX && 'POSIX devices' }, async () => {
    for (const name of ['model.onnx', 'config.json']) {
      const fifo = copyLlama(`fifo-${name}`);
      rmSync(join(fifo, name));
      execFileSync('mkfifo', [join(fifo, name)]);
      assert.throws(() => inspectModel(fifo), userError(join(fifo, name), /is a named pipe \(FIFO\), not a regular file: refusing to read it/));
      await assert.rejects(load(fifo), userError(join(fifo, name), /named pipe/));
    }
    for (const name of ['model.onnx', 'config.json', 'tokenizer.json']) {
      const zero = copyLlama(`zero-${name}`);
      rmSync(join(zero, name));
      symlinkSync('/dev/zero', join(zero, name));
      await assert.rejects(load(zero), userError(join(zero, name), /is a character device, not a regular file/));
    }
  });

  test('config and tokenizer JSON files over their size caps are refused, saying the cap', async () => {
    const config = copyLlama('config-huge');
    truncateSync(join(config, 'config.json'), 17 * 2 ** 20);
    assert.throws(
      () => inspectModel(config),
      userError(join(config, 'config.json'), /config\.json is 17\.0 MiB, over the limit of 16\.0 MiB: model configuration files/),
    );
    const tokenizer = copyLlama('tokenizer-huge');
    truncateSync(join(tokenizer, 'tokenizer.json'), 300 * 2 ** 20);
    await assert.rejects(load(tokenizer), userError(join(tokenizer, 'tokenizer.json'), /300\.0 MiB, over the limit of 256\.0 MiB/));
  });
});

/** A llama2.c checkpoint with small random weights (classifier shared with the embedding). */
function checkpoint(name: string, [dim, hidden, layers, heads, kvHeads, vocab, seqLen]: number[], extraBytes = 0): string {
  const kvDim = (dim * kvHeads) / heads;
  const floats =
    vocab * dim + layers * (2 * dim + 2 * dim * dim + 2 * kvDim * dim + 3 * hidden * dim) + dim + seqLen * (Number.isInteger(dim / heads) ? dim / heads : 0);
  const full = Buffer.alloc(28 + Math.max(0, floats) * 4 + Math.max(0, extraBytes));
  const bytes = extraBytes < 0 ? full.subarray(0, full.length + extraBytes) : full;
  [dim, hidden, layers, heads, kvHeads, vocab, seqLen].forEach((v, i) => full.writeInt32LE(v, 4 * i));
  let s = 7;
  for (let i = 0; i < floats; i++) {
    s = (s * 16807) % 2147483647;
    full.writeFloatLE((s / 2147483647 - 0.5) * 0.1, 28 + 4 * i);
  }
  const file = join(dir, `${serial++}-${name}.bin`);
  writeFileSync(file, bytes);
  return file;
}

let small: Promise<string> | undefined;
/** A runnable llama2.c checkpoint of head size 16, with the Llama 2 tokenizer.bin beside it. */
function headSize16(): Promise<string> {
  return (small ??= (async () => {
    const { tokenizerBin } = await embeddedFiles();
    const folder = join(dir, 'head-size-16');
    mkdirSync(folder);
    const file = join(folder, 'model.bin');
    copyFileSync(checkpoint('head-size-16', [32, 64, 1, 2, 1, 32000, 16]), file);
    copyFileSync(tokenizerBin, join(folder, 'tokenizer.bin'));
    return file;
  })());
}

describe('llama2.c checkpoints', () => {
  test('a head size the graphs cannot run (not a multiple of 16) is refused before any graph is built', async () => {
    const file = checkpoint('head-size-8', [32, 64, 1, 4, 4, 512, 16]);
    await assert.rejects(load(file), userError(file, /head size dim \/ n_heads = 32 \/ 4 = 8 is not a multiple of 16: .*GroupQueryAttention/, 'n_heads'));
    assert.equal(checkpointModule.HEAD_SIZE_MULTIPLE, 16);
  });

  test('a head size of 16 builds and runs (the boundary)', async () => {
    const logits = await firstLogits(await load(await headSize16()));
    assert.ok(logits.every(Number.isFinite));
  });

  test('each header field is checked, by name', async () => {
    const cases: [string, number[], RegExp, string][] = [
      ['dim', [-7, 64, 1, 4, 4, 512, 16], /dim is -7; expected 1\.\.65536/, 'dim'],
      ['n-heads', [48, 64, 1, 5, 5, 512, 16], /dim 48 is not a multiple of n_heads 5/, 'n_heads'],
      ['n-kv-heads', [64, 64, 1, 4, 3, 512, 16], /n_heads 4 is not a multiple of n_kv_heads 3/, 'n_kv_heads'],
      ['seq-len', [64, 64, 1, 4, 4, 512, 0], /seq_len is 0/, 'seq_len'],
    ];
    for (const [name, header, message, field] of cases) {
      const file = checkpoint(name, header);
      await assert.rejects(load(file), userError(file, message, field));
    }
    // One token's rows more than vocab_size says: the size names the vocabulary that would fit.
    const vocab = checkpoint('vocab', [64, 64, 1, 4, 4, 512, 16], 64 * 4);
    await assert.rejects(load(vocab), userError(vocab, /a vocab_size of 513 \(not 512\) would match the file size exactly/, 'vocab_size'));
    const cut = checkpoint('cut', [64, 64, 1, 4, 4, 512, 16], -1000);
    await assert.rejects(load(cut), userError(cut, /truncated or corrupt llama2\.c checkpoint/));
  });

  test('a checkpoint over 2 GiB is refused from its size alone, saying why', async () => {
    assert.equal(checkpointModule.LLAMA2C_MAX_BYTES, 2 ** 31 - 1);
    const file = checkpoint('huge', [64, 64, 1, 4, 4, 512, 16]);
    truncateSync(file, 3 * 2 ** 30); // sparse: nothing is written, and nothing may be read
    await assert.rejects(load(file), userError(file, /3\.00 GiB; llama2\.c checkpoints up to 2 GiB .*cannot exceed 2 GiB/));
  });
});

describe('token ids and the cache folder', () => {
  test('prompt ids beyond the vocabulary, negative or not integers are refused naming the id and the vocabulary', () => {
    const info = { name: 'm', vocabSize: 1000 };
    const check = requestValidation.checkPromptIds;
    assert.throws(() => check([1, 99999999], info), /prompt position 1: token id 99999999 is outside the vocabulary 0\.\.999 of m \(1000 tokens\)/);
    assert.throws(() => check([-1], info), /token id -1 is outside the vocabulary/);
    assert.throws(() => check([1.5], info), /token id 1\.5 is not an integer in the vocabulary/);
    assert.throws(() => check([999], info, 500), /token id 999 is beyond the tokenizer's 500 tokens/);
    check([0, 999], info, 1000);
  });

  test('an unwritable cache folder for instrumented graphs (and converted checkpoints) is a UserError naming it', async () => {
    const blocker = join(dir, 'not-a-folder');
    writeFileSync(blocker, '');
    const bad = join(blocker, 'cache');
    await assert.rejects(load(await headSize16(), bad), (e) => {
      assert.ok(e instanceof UserError, String(e));
      assert.match(e.message, /cannot write the model's ONNX graphs into the cache folder .*not-a-folder\/cache\/llama2c-\w+\/graphs-v\d+: ENOTDIR/);
      return true;
    });
    await assert.rejects(loadHubModel({ path: LLAMA, cacheDir: bad, device: 'cpu', threads: 1, log: () => {} }), (e) => {
      assert.ok(e instanceof UserError, String(e));
      assert.match(e.message, /cannot write the instrumented graph into the cache folder .*not-a-folder\/cache\/hub-graphs\/\w+: ENOTDIR/);
      assert.match(e.message, /--cache-dir/);
      return true;
    });
  });
});

describe('through the CLI: exit 2, the message, no stack trace, no hang', () => {
  test('inspect on broken folders', { skip: !POSIX && 'POSIX devices' }, async () => {
    const fifo = copyLlama('cli-fifo');
    rmSync(join(fifo, 'model.onnx'));
    execFileSync('mkfifo', [join(fifo, 'model.onnx')]);
    await refusedByCli(['inspect', '--model', fifo], /model\.onnx: the ONNX graph model\.onnx is a named pipe \(FIFO\)/);

    const layers = copyLlama('cli-layers');
    editJson(join(layers, 'config.json'), (c) => (c.num_hidden_layers = 1));
    await refusedByCli(['inspect', '--model', layers], /config\.json, field "num_hidden_layers": num_hidden_layers is 1, but the graph has 2 layers/);

    const escape = copyLlama('cli-escape');
    externalize(escape, '../weights.data');
    await refusedByCli(['inspect', '--model', escape], /model\.onnx, field "[^"]+": the external data location of tensor .* points outside/);

    const cycle = copyLlama('cli-cycle');
    editGraph(cycle, (m) => {
      const nodes = m.graph!.node;
      nodes.find((n) => n.opType === 'MatMul')!.input[0] = nodes[nodes.length - 1].output[0];
    });
    await refusedByCli(['inspect', '--model', cycle], /model\.onnx: the graph has a cycle/);
  });

  test('generate on a truncated external data file, an unknown op, out-of-vocabulary ids and an unwritable cache', async () => {
    const truncated = copyLlama('cli-truncated');
    truncateSync(externalize(truncated), 1000);
    await refusedByCli(
      ['generate', '--model', truncated, '--ids', '1,2', '--max-new-tokens', '1'],
      /model\.onnx, field "[^"]+": the external data .* which has 1000 bytes/,
    );

    const op = copyLlama('cli-unknown-op');
    editGraph(op, (m) => {
      m.graph!.node.find((n) => n.opType === 'Softmax')!.opType = 'FrobnicateX';
    });
    await refusedByCli(['generate', '--model', op, '--ids', '1,2', '--max-new-tokens', '1'], /ONNX Runtime cannot load this model: .*FrobnicateX/);

    await refusedByCli(
      ['generate', '--model', LLAMA, '--ids', '1,99999999', '--max-new-tokens', '1'],
      /prompt position 1: token id 99999999 is outside the vocabulary 0\.\.31999 of llama \(32000 tokens\)/,
    );

    const blocker = join(dir, 'cli-blocker');
    writeFileSync(blocker, '');
    const gen = await new Promise<{ code: number | null; stderr: string }>((done) =>
      execFile(
        process.execPath,
        [CLI, 'generate', '--model', LLAMA, '--ids', '1', '--max-new-tokens', '1', '--cache-dir', join(blocker, 'cache')],
        { timeout: 60_000 },
        (e, _out, stderr) => done({ code: e ? (e as { code: number | null }).code : 0, stderr }),
      ),
    );
    assert.equal(gen.code, 2, gen.stderr);
    assert.match(gen.stderr, /cli-blocker\/cache/);
    assert.doesNotMatch(gen.stderr, /^\s+at /m);
  });
});
