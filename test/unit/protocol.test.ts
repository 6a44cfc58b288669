// Host <-> webview messages of the layer-effects panel: the guards accept what the senders build and
// reject malformed shapes; the host's conversion of core results passes them; the webview's state
// follows runs (newer runs replace older ones, restored results survive a reload), through the
// snapshot reducer the host keeps its own state with.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { envelopeProblem, sweepCandidates, updateMessage, wireScore } from '../../src/host/panel/wire';
import {
  CancelCommand,
  ConfusionsNotification,
  ConvergenceNotification,
  DataReportCommand,
  EnvelopeSavedNotification,
  ErrorNotification,
  HOST_TO_WEBVIEW,
  HeatmapNotification,
  LayerEffectNotification,
  NormsNotification,
  ProgressNotification,
  ReadyCommand,
  RerunCommand,
  SaveEnvelopeCommand,
  SetEnvelopeCommand,
  StateNotification,
  WEBVIEW_TO_HOST,
  arrayOf,
  emptyResults,
  isIpcMessage,
  isNumber,
  matrixOf,
  nullable,
  object,
  optional,
  reduceSnapshot,
  rejection,
  squareOf,
  type DataReport,
  type IpcMessage,
  type PanelInfo,
  type RunSnapshot,
  type StateParams,
} from '../../src/protocol';
import { INITIAL_STATE, reduce, restoreState, sameEnvelope, withEnvelope, type ViewState } from '../../webview/state';
import { chartSpecs, gridSpecs, sectionNotes } from '../../webview/specs';

const INFO: PanelInfo = {
  file: '/w/sst2.ivec.safetensors',
  uri: 'file:///w/sst2.ivec.safetensors',
  name: 'sst2.ivec.safetensors',
  labels: ['negative', 'positive'],
  nLayers: 3,
  model: 'stories15M',
  dataset: 'stdlib:sentiment-words',
  strength: 0.5,
  injectAt: 'all',
  split: 'validation',
  shots: 1,
  episodes: 50,
  seed: 42,
  sweepResults: null,
};
const score = { accuracy: 0.5, macroF1: 0.4, meanMargin: -0.25 };
const effect = (layer: number) => ({ layer, only: score, allBut: { ...score, meanMargin: null } });
const state = (over: Partial<StateParams> = {}): StateParams => ({
  info: INFO,
  envelope: [1, 1, 1],
  savedEnvelope: null,
  progress: { runId: 1, status: 'idle', done: 0, total: 0 },
  error: null,
  results: emptyResults(1),
  ...over,
});
const report: DataReport = {
  runId: 1,
  status: 'done',
  file: INFO.file,
  envelope: [1, 1, 1],
  charts: [{ id: 'norms', kind: 'line', labels: ['L0', 'L1', 'L2'], datasets: [{ label: 'negative', length: 3, points: 3 }] }],
  error: null,
  restored: false,
  sequence: 4,
};

/** A message as it arrives: a JSON round trip (what postMessage preserves). */
const wire = (m: IpcMessage) => JSON.parse(JSON.stringify(m)) as unknown;
const withParams = (m: IpcMessage, params: unknown) => ({ ...m, params });

describe('guards', () => {
  test('combinators: finite numbers, nullable, optional fields, matrices', () => {
    assert.ok(isNumber(1.5));
    assert.ok(!isNumber(NaN) && !isNumber(Infinity) && !isNumber('1'));
    const g = object({ a: isNumber, b: optional(isNumber), c: nullable(isNumber) });
    assert.ok(g({ a: 1, c: null }));
    assert.ok(g({ a: 1, b: 2, c: 3, extra: 'ok' }));
    assert.ok(!g({ a: 1, b: 'x', c: null }));
    assert.ok(!g({ a: 1 }), 'a nullable field must be present');
    assert.ok(!g([1]) && !g(null));
    assert.ok(
      matrixOf(isNumber)([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
    );
    assert.ok(!matrixOf(isNumber)([[1, 2], [3]]), 'ragged');
    assert.ok(!squareOf(isNumber)([[1, 2]]));
    assert.ok(arrayOf(isNumber)([]));
  });

  test('every message type accepts what its sender builds, after a JSON round trip', () => {
    const notifications: IpcMessage[] = [
      StateNotification.create(state()),
      StateNotification.create(state({ results: null, savedEnvelope: [1, 0, 2], error: 'x' })),
      NormsNotification.create({
        runId: 1,
        rowLabels: ['a', 'b', '(query)'],
        norms: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      }),
      LayerEffectNotification.create({ runId: 1, effect: effect(2), done: 1, total: 3 }),
      ConvergenceNotification.create({
        runId: 1,
        points: [
          { episode: 0, relativeChange: null },
          { episode: 10, relativeChange: 0.1 },
        ],
      }),
      ConfusionsNotification.create({
        runId: 1,
        labels: ['a', 'b'],
        icl: {
          confusion: [
            [1, 2],
            [3, 4],
          ],
          score,
        },
        iv: {
          confusion: [
            [2, 1],
            [0, 7],
          ],
          score,
        },
      }),
      HeatmapNotification.create({
        runId: 1,
        source: 'sweep.jsonl',
        grids: [{ shots: 1, refreshEvery: 10, extStrengths: [0.1, 0.3], evalStrengths: [0.5], macroF1: [[0.5], [null]], accuracy: [[0.6], [null]] }],
      }),
      ProgressNotification.create({ runId: 1, status: 'running', done: 3, total: 8, message: 'x' }),
      ErrorNotification.create({ runId: null, message: 'boom' }),
      EnvelopeSavedNotification.create({ file: INFO.file, envelope: [1, 0.5, 0] }),
    ];
    for (const m of notifications) {
      const received = wire(m);
      assert.equal(rejection(received, HOST_TO_WEBVIEW), undefined, m.method);
      assert.equal(HOST_TO_WEBVIEW.filter((t) => t.is(received)).length, 1, `${m.method}: exactly one type matches`);
      assert.equal(rejection(received, WEBVIEW_TO_HOST), `unknown method ${JSON.stringify(m.method)}`, 'directions do not mix');
    }
    const commands: IpcMessage[] = [
      ReadyCommand.create({}),
      SetEnvelopeCommand.create({ values: [1, 0, 2] }),
      SaveEnvelopeCommand.create({}),
      SaveEnvelopeCommand.create({ values: [1, 1, 1] }),
      RerunCommand.create({}),
      CancelCommand.create({}),
      DataReportCommand.create(report),
    ];
    for (const m of commands) assert.equal(rejection(wire(m), WEBVIEW_TO_HOST), undefined, m.method);
    assert.equal(
      new Set([...HOST_TO_WEBVIEW, ...WEBVIEW_TO_HOST].map((t) => t.method)).size,
      HOST_TO_WEBVIEW.length + WEBVIEW_TO_HOST.length,
      'methods are unique',
    );
  });

  test('malformed params are rejected, and named', () => {
    const norms = NormsNotification.create({ runId: 1, rowLabels: ['a', 'b'], norms: [[1, 2]] });
    const bad: [IpcMessage, unknown][] = [
      [norms, { runId: 1, rowLabels: ['a', 'b', 'c'], norms: [[1, 2]] }], // a row per label
      [norms, { runId: -1, rowLabels: ['a', 'b'], norms: [[1, 2]] }],
      [norms, { runId: 1, rowLabels: ['a', 'b'], norms: [[1, null]] }], // NaN arrives as null
      [SetEnvelopeCommand.create({ values: [1] }), { values: [] }],
      [SetEnvelopeCommand.create({ values: [1] }), { values: [1, '2'] }],
      [SetEnvelopeCommand.create({ values: [1] }), {}],
      [ProgressNotification.create({ runId: 1, status: 'done', done: 1, total: 1 }), { runId: 1, status: 'finished', done: 1, total: 1 }],
      [
        ConfusionsNotification.create({
          runId: 1,
          labels: ['a', 'b'],
          icl: {
            confusion: [
              [1, 0],
              [0, 1],
            ],
            score,
          },
          iv: {
            confusion: [
              [1, 0],
              [0, 1],
            ],
            score,
          },
        }),
        {
          runId: 1,
          labels: ['a', 'b', 'c'],
          icl: {
            confusion: [
              [1, 0],
              [0, 1],
            ],
            score,
          },
          iv: {
            confusion: [
              [1, 0],
              [0, 1],
            ],
            score,
          },
        },
      ],
      [
        LayerEffectNotification.create({ runId: 1, effect: effect(0), done: 1, total: 1 }),
        { runId: 1, effect: { layer: 0.5, only: score, allBut: score }, done: 1, total: 1 },
      ],
      [
        HeatmapNotification.create({ runId: 1, source: null, grids: [] }),
        {
          runId: 1,
          source: null,
          grids: [{ shots: 1, refreshEvery: 10, extStrengths: [0.1], evalStrengths: [0.5, 0.7], macroF1: [[0.5]], accuracy: [[0.5]] }],
        },
      ],
      [DataReportCommand.create(report), { ...report, charts: [{ id: 'x', kind: 'pie', labels: [], datasets: [] }] }],
      [StateNotification.create(state()), { ...state(), info: { ...INFO, nLayers: '3' } }],
    ];
    for (const [m, params] of bad) {
      const msg = withParams(m, params);
      const types = [...HOST_TO_WEBVIEW, ...WEBVIEW_TO_HOST];
      assert.ok(!types.some((t) => t.is(msg)), `${m.method} with ${JSON.stringify(params)}`);
      assert.match(rejection(msg, types)!, new RegExp(`^malformed params for ${m.method}`));
    }
    assert.throws(() => SetEnvelopeCommand.create({ values: [NaN] }), /malformed params for layers\/setEnvelope/);
    assert.match(rejection({ method: 'layers/ready' }, WEBVIEW_TO_HOST)!, /not an IPC message/);
    assert.ok(!isIpcMessage('hello') && !isIpcMessage({ id: 1, method: 'x', params: {} }));
  });
});

describe('host conversion of core results', () => {
  test('NaN margins travel as null; effects accumulate sorted by layer; the snapshot passes its guard', () => {
    assert.deepEqual(wireScore({ accuracy: 0.5, macroF1: 0.25, meanMargin: NaN }), { accuracy: 0.5, macroF1: 0.25, meanMargin: null });
    let snap: RunSnapshot = { progress: null, error: null, results: emptyResults(7) };
    for (const layer of [2, 0, 2]) {
      const m = updateMessage(
        7,
        {
          kind: 'layer',
          effect: { layer, only: { accuracy: 1, macroF1: 1, meanMargin: layer }, allBut: { accuracy: 0, macroF1: 0, meanMargin: NaN } },
          done: 1,
          total: 3,
        },
        null,
      );
      assert.ok(LayerEffectNotification.is(wire(m)));
      snap = reduceSnapshot(snap, m);
    }
    assert.deepEqual(
      snap.results?.effects.map((e) => e.layer),
      [0, 2],
    );
    assert.equal(snap.results?.effects[0].allBut.meanMargin, null);
    const h = updateMessage(7, { kind: 'heatmap', grids: [] }, 'a/sweep.jsonl');
    assert.ok(HeatmapNotification.is(wire(h)));
    snap = reduceSnapshot(snap, h);
    assert.deepEqual(snap.results?.heatmap, { runId: 7, source: 'a/sweep.jsonl', grids: [] });
    assert.ok(StateNotification.is(wire(StateNotification.create(state({ results: snap.results })))));
  });

  test('envelope checks and sweep file candidates', () => {
    assert.equal(envelopeProblem([1, 1, 1], 3), undefined);
    assert.match(envelopeProblem([1, 1], 3)!, /2 values but the model has 3 layers/);
    assert.match(envelopeProblem([1, Infinity, 1], 3)!, /value 1/);
    assert.deepEqual(sweepCandidates('sst2'), ['sst2.sweep.jsonl', 'sst2.sweep-results.jsonl', 'sweep.jsonl', 'sweep-results.jsonl']);
  });
});

describe('snapshot reducer', () => {
  const progress = (runId: number, status: 'running' | 'done' | 'cancelled' | 'failed', done = 0, total = 10) =>
    ProgressNotification.create({ runId, status, done, total });
  const run = (s: RunSnapshot, ...msgs: IpcMessage[]) => msgs.reduce(reduceSnapshot, s);
  const idle: RunSnapshot = { progress: { runId: 0, status: 'idle', done: 0, total: 0 }, error: 'an old problem', results: emptyResults(0) };

  test("a run goes running -> done; a new run starts afresh, without the last one's error or results", () => {
    let s = run(idle, progress(1, 'running'));
    assert.deepEqual(s, { progress: { runId: 1, status: 'running', done: 0, total: 10 }, error: null, results: emptyResults(1) });
    s = run(s, LayerEffectNotification.create({ runId: 1, effect: effect(1), done: 1, total: 3 }), progress(1, 'running', 5), progress(1, 'done', 10));
    assert.deepEqual(s.progress, { runId: 1, status: 'done', done: 10, total: 10 });
    assert.deepEqual(
      s.results?.effects.map((e) => e.layer),
      [1],
    );
    s = run(s, ErrorNotification.create({ runId: null, message: 'the save failed' }));
    assert.equal(s.error, 'the save failed', 'an error of no run shows');
    s = run(s, progress(2, 'running'));
    assert.equal(s.error, null);
    assert.deepEqual(s.results, emptyResults(2));
  });

  test('cancelled and failed runs keep what they had; the failure says why', () => {
    const going = run(
      idle,
      progress(3, 'running'),
      NormsNotification.create({ runId: 3, rowLabels: ['a', '(query)'], norms: [[1, 2]] }),
      progress(3, 'running', 4),
    );
    const cancelled = run(going, ProgressNotification.create({ ...going.progress!, status: 'cancelled' }));
    assert.deepEqual(cancelled.progress, { runId: 3, status: 'cancelled', done: 4, total: 10 });
    assert.deepEqual(cancelled.results, going.results, 'partial results stay');
    const failed = run(going, progress(3, 'failed', 4), ErrorNotification.create({ runId: 3, message: 'out of memory' }));
    assert.equal(failed.progress?.status, 'failed');
    assert.equal(failed.error, 'out of memory');
    assert.ok(failed.results?.norms);
  });

  test('messages of a replaced run are dropped; a run heard of first through its results starts afresh', () => {
    const s = run(idle, progress(5, 'running'));
    const late = run(
      s,
      progress(4, 'cancelled'),
      LayerEffectNotification.create({ runId: 4, effect: effect(0), done: 1, total: 3 }),
      ErrorNotification.create({ runId: 4, message: 'x' }),
    );
    assert.equal(late, s, 'the state is unchanged');
    const fresh = run({ progress: null, error: null, results: null }, ConvergenceNotification.create({ runId: 2, points: [] }));
    assert.deepEqual(fresh.results, { ...emptyResults(2), convergence: { runId: 2, points: [] } });
    assert.equal(run(fresh, EnvelopeSavedNotification.create({ file: INFO.file, envelope: [1] })), fresh, 'not a run message');
  });
});

describe('webview state', () => {
  const apply = (s: ViewState, ...msgs: IpcMessage[]) => msgs.reduce((acc, m) => reduce(acc, wire(m) as IpcMessage), s);

  test('a newer run replaces the results; results of an older run are dropped', () => {
    let s = apply(INITIAL_STATE, StateNotification.create(state()), LayerEffectNotification.create({ runId: 1, effect: effect(0), done: 1, total: 3 }));
    assert.deepEqual(
      s.results?.effects.map((e) => e.layer),
      [0],
    );
    s = apply(s, ProgressNotification.create({ runId: 2, status: 'running', done: 0, total: 10 }));
    assert.equal(s.results?.runId, 2);
    assert.deepEqual(s.results?.effects, []);
    s = apply(
      s,
      LayerEffectNotification.create({ runId: 1, effect: effect(1), done: 2, total: 3 }),
      ProgressNotification.create({ runId: 1, status: 'cancelled', done: 5, total: 10 }),
    );
    assert.deepEqual(s.results?.effects, [], 'late results of run 1 are ignored');
    assert.equal(s.progress?.runId, 2);
    s = apply(
      s,
      LayerEffectNotification.create({ runId: 2, effect: effect(2), done: 1, total: 3 }),
      LayerEffectNotification.create({ runId: 2, effect: effect(0), done: 2, total: 3 }),
    );
    assert.deepEqual(
      s.results?.effects.map((e) => e.layer),
      [0, 2],
    );
    s = apply(s, ErrorNotification.create({ runId: 2, message: 'out of memory' }));
    assert.equal(s.error, 'out of memory');
    s = apply(s, ProgressNotification.create({ runId: 3, status: 'running', done: 0, total: 1 }));
    assert.equal(s.error, null, 'a new run clears the error');
  });

  test('a reloaded webview keeps its restored results until the host has results of its own', () => {
    const before = apply(
      INITIAL_STATE,
      StateNotification.create(state({ progress: { runId: 4, status: 'running', done: 1, total: 2 }, results: { ...emptyResults(4), effects: [effect(1)] } })),
    );
    const restored = restoreState(JSON.parse(JSON.stringify(before)));
    assert.equal(restored.restored, true);
    assert.equal(restored.progress?.status, 'idle', 'the run it showed is not running in this instance');
    // The host restored the panel after a reload: it has no results (null) for the same file.
    let s = apply(restored, StateNotification.create(state({ results: null, progress: { runId: 4, status: 'idle', done: 0, total: 0 } })));
    assert.deepEqual(
      s.results?.effects.map((e) => e.layer),
      [1],
    );
    assert.equal(s.restored, true);
    // Another file: nothing is kept.
    assert.equal(apply(restored, StateNotification.create(state({ results: null, info: { ...INFO, file: '/other.ivec.safetensors' } }))).results, null);
    // A new run replaces the restored results even with a lower run id.
    s = apply(s, ProgressNotification.create({ runId: 1, status: 'running', done: 0, total: 8 }));
    assert.equal(s.restored, false);
    assert.deepEqual(s.results?.effects, []);
    assert.equal(restoreState({ version: 99 }), INITIAL_STATE);
    assert.equal(restoreState(undefined), INITIAL_STATE);
  });

  test('envelope edits and saves', () => {
    let s = apply(INITIAL_STATE, StateNotification.create(state()));
    s = withEnvelope(s, [1, 0, 2]);
    assert.deepEqual(s.envelope, [1, 0, 2]);
    s = apply(s, EnvelopeSavedNotification.create({ file: INFO.file, envelope: [1, 0, 2] }));
    assert.ok(sameEnvelope(s.envelope, s.savedEnvelope));
    assert.ok(!sameEnvelope([1], null));
  });

  test('what the charts would draw for partial results', () => {
    const s = apply(
      INITIAL_STATE,
      StateNotification.create(state({ progress: { runId: 1, status: 'running', done: 0, total: 1 } })),
      NormsNotification.create({
        runId: 1,
        rowLabels: ['negative', 'positive', '(query)'],
        norms: [
          [1, 2, 3],
          [1, 2, 3],
          [1, 2, 3],
        ],
      }),
      ConvergenceNotification.create({ runId: 1, points: [] }),
      LayerEffectNotification.create({ runId: 1, effect: effect(1), done: 1, total: 3 }),
    );
    const charts = chartSpecs(s);
    assert.deepEqual(
      charts.map((c) => c.id),
      ['effect-accuracy', 'effect-macroF1', 'effect-margin', 'norms'],
    );
    const acc = charts[0];
    assert.deepEqual(
      acc.series.map((x) => x.data),
      [
        [null, 0.5, null],
        [null, 0.5, null],
        [null, null, null],
        [null, null, null],
      ],
    );
    assert.deepEqual(charts[2].series[1].data, [null, null, null], 'a null margin stays a gap');
    assert.deepEqual(gridSpecs(s), []);
    const notes = sectionNotes(s);
    assert.match(notes.convergence!, /no refresh history/);
    assert.match(notes.heatmap!, /No sweep results/);
  });
});
