// The run lifecycle of the layer panel and inline steering: the latest run wins (the one it
// supersedes stops and delivers nothing), user cancel, and the error policy.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CancelledError, throwIfCancelled, UserError } from '../../src/core/errors';
import { failureReport, isCancellation, RunSlot, type Run } from '../../src/host/runLifecycle';

/** A promise and its resolver: lets a test hold a run in flight. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Work that waits for `g`, then checks its cancellation (as the core does between batches) and returns `value`. */
const held =
  <T>(g: { opened: Promise<void> }, value: T) =>
  async (run: Run) => {
    await g.opened;
    throwIfCancelled(run);
    return value;
  };

describe('RunSlot', () => {
  test('the latest run wins: the earlier one is superseded, the next waits for it, only the latest delivers', async () => {
    const slot = new RunSlot(4);
    const g = gate();
    const order: string[] = [];
    const aStarted = gate();
    const a = slot.start(async (run) => {
      order.push('a starts');
      aStarted.open();
      await g.opened;
      order.push(`a sees cancelled=${run.cancelled}`);
      return 'a'; // finishes without throwing: still dropped
    });
    await aStarted.opened;
    const b = slot.start(async () => {
      order.push('b starts');
      return 'b';
    });
    assert.deepEqual([a.run.id, b.run.id], [5, 6], 'ids grow from the last one');
    assert.ok(a.run.superseded && a.run.cancelled);
    assert.ok(!b.run.superseded && !b.run.cancelled);
    assert.equal(slot.current, b.run);
    g.open();
    assert.deepEqual(await a.outcome, { status: 'superseded' });
    assert.deepEqual(await b.outcome, { status: 'done', value: 'b' });
    assert.deepEqual(order, ['a starts', 'a sees cancelled=true', 'b starts'], 'one run at a time');
    assert.equal(slot.current, undefined, 'settled');
  });

  test('a run superseded while it waits for its turn never starts', async () => {
    const slot = new RunSlot();
    const g = gate();
    let started = false;
    const a = slot.start(held(g, 'a'));
    const b = slot.start(async () => {
      started = true;
      return 'b';
    });
    const c = slot.start(async () => 'c');
    g.open();
    assert.deepEqual(await a.outcome, { status: 'superseded' });
    assert.deepEqual(await b.outcome, { status: 'superseded' });
    assert.deepEqual(await c.outcome, { status: 'done', value: 'c' });
    assert.equal(started, false);
  });

  test('cancel: the run stops at its next check and ends cancelled; so does one whose followed token fires', async () => {
    const slot = new RunSlot();
    const g = gate();
    const a = slot.start(held(g, 'a'));
    slot.cancel();
    assert.ok(a.run.cancelled && !a.run.superseded);
    g.open();
    assert.deepEqual(await a.outcome, { status: 'cancelled' });

    const token = { cancelled: false };
    const h = gate();
    const b = slot.start(async (run) => {
      run.follow(token);
      return held(h, 'b')(run);
    });
    await Promise.resolve();
    token.cancelled = true;
    h.open();
    assert.deepEqual(await b.outcome, { status: 'cancelled' });

    // A newer run after a cancel: nobody waits for the cancelled one any more.
    const k = gate();
    const c = slot.start(held(k, 'c'));
    slot.cancel();
    const d = slot.start(async () => 'd');
    k.open();
    assert.deepEqual(await c.outcome, { status: 'superseded' });
    assert.deepEqual(await d.outcome, { status: 'done', value: 'd' });
  });

  test('errors: a failure is delivered as failed, a cancellation as cancelled, any error of a superseded run is dropped', async () => {
    const slot = new RunSlot();
    const problem = new UserError('no such file', { file: 'x.jsonl' });
    assert.deepEqual(await slot.start(() => Promise.reject(problem)).outcome, { status: 'failed', error: problem });
    assert.deepEqual(await slot.start(() => Promise.reject(new CancelledError())).outcome, { status: 'cancelled' });
    const g = gate();
    const a = slot.start(async () => {
      await g.opened;
      throw new Error('disposed under it');
    });
    slot.start(async () => 'b');
    g.open();
    assert.deepEqual(await a.outcome, { status: 'superseded' });
  });

  test('dispose supersedes the run in flight and every later one', async () => {
    const slot = new RunSlot();
    const g = gate();
    const a = slot.start(held(g, 'a'));
    slot.dispose();
    let started = false;
    const b = slot.start(async () => {
      started = true;
      return 'b';
    });
    slot.cancel(); // a Cancel arriving after the panel closed: b stays superseded
    g.open();
    assert.deepEqual(await a.outcome, { status: 'superseded' });
    assert.deepEqual(await b.outcome, { status: 'superseded' });
    assert.equal(started, false);
  });
});

describe('error policy', () => {
  test('a UserError is shown as is, anything else is logged with its stack, a cancellation is quiet', () => {
    const user = new UserError('malformed JSON', { file: 'data.jsonl', line: 2 });
    assert.deepEqual(failureReport('extract', user), {
      log: 'extract: data.jsonl, line 2: malformed JSON',
      message: 'extract: data.jsonl, line 2: malformed JSON',
    });
    const bug = new TypeError('x is undefined');
    const r = failureReport('layer effects of a.ivec.safetensors', bug)!;
    assert.equal(r.message, 'layer effects of a.ivec.safetensors failed: x is undefined');
    assert.ok(r.log.startsWith('layer effects of a.ivec.safetensors failed: TypeError: x is undefined\n    at '), r.log);
    assert.equal(failureReport('inline steering', 'boom')?.message, 'inline steering failed: boom');
    assert.equal(failureReport('inline steering', new CancelledError()), undefined);
    // vscode.CancellationError, as VS Code builds it.
    const canceled = Object.assign(new Error('Canceled'), { name: 'Canceled' });
    assert.ok(isCancellation(canceled));
    assert.equal(failureReport('x', canceled), undefined);
    assert.ok(!isCancellation(new Error('cancelled')));
  });
});
