import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancelledError, UserError } from '../../src/core/errors';
import type { SteerableModel } from '../../src/core/model';
import { defaultCacheDir } from '../../src/runtime/embedded/embeddedModel';
import { fromWireError, toWireError } from '../../src/runtime/worker/messages';
import { loadModelInWorker } from '../../src/runtime/worker/workerModel';
import { bitwiseEqual, embeddedModel } from './fixtures';

const WORKER = join(__dirname, '..', '..', 'dist', 'modelWorker.js');

describe('model worker protocol: errors as values', () => {
  test('each kind survives structured cloning as its own class, with message, location and stack', () => {
    const user = new UserError('no such column', { file: 'data.csv', line: 3, field: 'label' });
    const back = fromWireError(structuredClone(toWireError(user)));
    assert.ok(back instanceof UserError);
    assert.equal(back.message, user.message);
    assert.deepEqual(back.location, user.location);
    assert.equal(back.stack, user.stack);
    assert.ok(fromWireError(structuredClone(toWireError(new CancelledError()))) instanceof CancelledError);
    const bug = fromWireError(structuredClone(toWireError(new TypeError('x is undefined'))));
    assert.ok(!(bug instanceof UserError) && !(bug instanceof CancelledError));
    assert.equal(bug.message, 'x is undefined');
  });
});

describe('model worker protocol: the real worker', () => {
  let model: SteerableModel;
  before(async () => {
    assert.ok(existsSync(WORKER), 'build first: node esbuild.mjs');
    ({ model } = await loadModelInWorker({ cacheDir: defaultCacheDir(), threads: 2 }, { workerFile: WORKER }));
  });
  after(() => model?.dispose());

  test('a UserError with a location thrown in the worker comes back as a UserError with that location', async () => {
    const missing = join(__dirname, 'no-such-model.onnx');
    await assert.rejects(loadModelInWorker({ model: missing, cacheDir: defaultCacheDir() }, { workerFile: WORKER }), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.deepEqual(e.location, { file: missing });
      assert.match(e.message, /model not found/);
      return true;
    });
  });

  test("replies are the in-thread model's results; a bad edit is a UserError naming its site; a bug is a plain Error", async () => {
    const { model: local } = await embeddedModel();
    const req = { tokens: [[1, 9038, 2501, 263]], logits: [{ seq: 0, pos: 3 }], taps: [{ seq: 0, pos: 2 }], tapSites: ['head_out' as const] };
    const [here, there] = [await local.forward(req), await model.forward(req)];
    assert.ok(bitwiseEqual(here.logits[0], there.logits[0]));
    assert.ok(bitwiseEqual(here.taps.head_out!.data, there.taps.head_out!.data));
    await assert.rejects(
      model.forward({ ...req, edits: [{ site: 'resid_post', seq: 0, pos: 1, layer: 9, vector: new Float32Array(288) }] }),
      (e: unknown) => e instanceof UserError && /edits\[0\] at resid_post: layer 9/.test(e.message),
    );
    const session = await model.startDecoding();
    session.dispose();
    await assert.rejects(session.step(5), (e: unknown) => e instanceof Error && !(e instanceof UserError) && /no decoding session/.test(e.message));
    await local.dispose();
  });
});

describe('model worker: when it dies', () => {
  test('a call in flight fails with a UserError that says so, later calls fail at once, onExit is told once, a new worker runs', async () => {
    // The real worker, killed the moment a forward request reaches it (as an out-of-memory kill or a native crash would).
    const dir = mkdtempSync(join(tmpdir(), 'iv-worker-'));
    const dying = join(dir, 'dyingWorker.js');
    writeFileSync(
      dying,
      `require(${JSON.stringify(WORKER)});\nrequire('node:worker_threads').parentPort.on('message', (m) => m.type === 'forward' && process.exit(137));\n`,
    );
    const exits: Error[] = [];
    const { model } = await loadModelInWorker({ cacheDir: defaultCacheDir(), threads: 2 }, { workerFile: dying, onExit: (e) => exits.push(e) });
    const req = { tokens: [[1, 9038]], logits: [{ seq: 0, pos: 1 }] };
    const dead = (e: unknown) =>
      e instanceof UserError && /^the model worker exited with code 137: it was killed, ran out of memory or crashed/.test(e.message);
    await assert.rejects(model.forward(req), dead);
    await assert.rejects(model.startDecoding(), dead);
    assert.equal(exits.length, 1);
    assert.ok(dead(exits[0]));
    await model.dispose();
    const { model: next } = await loadModelInWorker({ cacheDir: defaultCacheDir(), threads: 2 }, { workerFile: WORKER });
    assert.equal((await next.forward(req)).logits.length, 1);
    await next.dispose();
    assert.equal(exits.length, 1, 'disposing is not a death');
    rmSync(dir, { recursive: true, force: true });
  });
});
