/**
 * Fuzz: messages across thread and process boundaries. The layer panel's messages both ways (anything
 * postMessage can deliver, and valid messages with one value broken), folded through the webview's
 * reducer and drawn as chart specs; saved webview state; the host's conversion of core results into
 * messages; the model worker's error wire format; forward requests checked before any tensor is built.
 * Property: the guards decide without throwing, what they accept the reducer and the charts take (the
 * state stays well-formed), and requests are run or refused with a UserError.
 */
import { describe } from 'node:test';
import fc from 'fast-check';
import { UserError } from '../../src/core/errors';
import type { ForwardRequest, ModelInfo } from '../../src/core/model';
import { convergencePoints, sweepHeatmaps } from '../../src/core/experiment/layerEffects';
import { envelopeProblem, updateMessage } from '../../src/host/panel/wire';
import {
  CancelCommand,
  ConfusionsNotification,
  ConvergenceNotification,
  DataReportCommand,
  EnvelopeSavedNotification,
  ErrorNotification,
  HeatmapNotification,
  HOST_TO_WEBVIEW,
  LayerEffectNotification,
  NormsNotification,
  ProgressNotification,
  ReadyCommand,
  rejection,
  RerunCommand,
  SaveEnvelopeCommand,
  SetEnvelopeCommand,
  StateNotification,
  WEBVIEW_TO_HOST,
  type IpcMessage,
} from '../../src/protocol';
import { validateRequest, validateStep } from '../../src/runtime/requestValidation';
import { fromWireError, toWireError, type WireError } from '../../src/runtime/worker/messages';
import { chartSpecs, gridSpecs, sectionNotes } from '../../webview/specs';
import { INITIAL_STATE, isViewState, reduce, restoreState, type ViewState } from '../../webview/state';
import { clampEnvelopeValue } from '../../webview/envelope';
import { clonable, extremeNumber, jsonPaths, weirdString } from '../fuzz/arbitraries';
import { fuzzTest, invariant, noThrow, userErrorOrSuccess } from '../fuzz/property';

// ---------------------------------------------------------------------------------------------
// Valid messages of every type, and values to break them with

const score = { accuracy: 0.5, macroF1: 0.4, meanMargin: null };
const info = {
  file: '/w/a.ivec.safetensors',
  uri: 'file:///w/a.ivec.safetensors',
  name: 'a',
  labels: ['neg', 'pos'],
  nLayers: 3,
  model: 'm',
  dataset: 'sst2',
  strength: 0.5,
  injectAt: 'all',
  split: 'validation',
  shots: 1,
  episodes: 50,
  seed: 42,
  sweepResults: null,
  runtime: { model: 'm', executionProvider: 'cpu', fallbacks: [] },
};
const norms = {
  runId: 1,
  rowLabels: ['neg', 'pos', '(query)'],
  norms: [
    [1, 2, 3],
    [1, 2, 3],
    [0, 0, 0],
  ],
};
const convergence = {
  runId: 1,
  points: [
    { episode: 10, relativeChange: null },
    { episode: 20, relativeChange: 0.1 },
  ],
};
const grid = { shots: 1, refreshEvery: 10, extStrengths: [0.1, 0.3], evalStrengths: [0.5], macroF1: [[0.5], [null]], accuracy: [[0.6], [0.7]] };
const heatmap = { runId: 1, source: '/w/sweep.jsonl', grids: [grid, { ...grid, refreshEvery: 0 }] };
const confusions = {
  runId: 1,
  labels: ['neg', 'pos'],
  icl: {
    confusion: [
      [1, 0],
      [0, 1],
    ],
    score,
  },
  iv: {
    confusion: [
      [2, 0],
      [1, 1],
    ],
    score,
  },
};
const layerEffect = { runId: 1, effect: { layer: 0, only: score, allBut: score }, done: 1, total: 3 };
const progress = { runId: 1, status: 'running' as const, done: 0, total: 10, message: 'x' };
const results = { runId: 1, norms, convergence, heatmap, confusions, effects: [layerEffect.effect] };

const HOST_MESSAGES: IpcMessage[] = [
  StateNotification.create({ info, envelope: [1, 1, 1], savedEnvelope: null, progress, error: null, results }),
  StateNotification.create({ info, envelope: [1, 0.5, 2], savedEnvelope: [1, 1, 1], progress: { ...progress, status: 'done' }, error: 'e', results: null }),
  NormsNotification.create(norms),
  ConvergenceNotification.create(convergence),
  HeatmapNotification.create(heatmap),
  ConfusionsNotification.create(confusions),
  LayerEffectNotification.create(layerEffect),
  ProgressNotification.create(progress),
  ProgressNotification.create({ runId: 2, status: 'running', done: 0, total: 0 }),
  ErrorNotification.create({ runId: null, message: 'boom' }),
  EnvelopeSavedNotification.create({ file: '/w/a', envelope: [1, 1, 1] }),
];
const report = {
  runId: 1,
  status: 'done' as const,
  file: '/w/a',
  envelope: [1, 1, 1],
  charts: [{ id: 'norms', kind: 'line' as const, labels: ['L0'], datasets: [{ label: 'a', length: 1, points: 1 }] }],
  error: null,
  restored: false,
  sequence: 1,
};
const WEBVIEW_MESSAGES: IpcMessage[] = [
  ReadyCommand.create({}),
  SetEnvelopeCommand.create({ values: [1, 0.5, 2] }),
  SaveEnvelopeCommand.create({ values: [1, 1, 1] }),
  SaveEnvelopeCommand.create({}),
  RerunCommand.create({}),
  CancelCommand.create({}),
  DataReportCommand.create(report),
];

const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      NaN,
      -0,
      Infinity,
      -Infinity,
      -1,
      1.5,
      2 ** 53 + 2,
      0,
      '',
      null,
      undefined,
      true,
      [],
      {},
      [[]],
      [NaN],
      [-1],
      [null],
      [1.5],
      ['x'],
    ),
    weight: 5,
  },
  { arbitrary: extremeNumber, weight: 2 },
  { arbitrary: weirdString, weight: 2 },
  { arbitrary: clonable, weight: 2 },
);

type Path = (string | number)[];
export interface ValueEdit {
  at: number;
  op: 'replace' | 'delete' | 'push';
  value: unknown;
}
const valueEdit: fc.Arbitrary<ValueEdit> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('replace' as const, 'replace' as const, 'delete' as const, 'push' as const),
  value: weirdValue,
});

/** The value (a copy) with the edits applied at paths of the original. */
function edited<T>(value: T, edits: readonly ValueEdit[]): T {
  const paths: Path[] = jsonPaths(value);
  let root: unknown = structuredClone(value);
  for (const e of edits) {
    const path = paths[e.at % paths.length];
    if (path.length === 0) {
      if (e.op === 'replace') root = e.value;
      continue;
    }
    let parent: unknown = root;
    for (const k of path.slice(0, -1)) parent = parent !== null && typeof parent === 'object' ? (parent as Record<string | number, unknown>)[k] : undefined;
    if (parent === null || typeof parent !== 'object') continue;
    const last = path[path.length - 1];
    const p = parent as Record<string | number, unknown>;
    // An earlier edit may have put an array where this path saw an object (its key could be "length").
    if (Array.isArray(p) !== (typeof last === 'number')) continue;
    if (e.op === 'replace') p[last] = e.value;
    else if (e.op === 'delete') {
      if (Array.isArray(p) && typeof last === 'number') p.splice(last, 1);
      else delete p[last];
    } else if (Array.isArray(p[last])) (p[last] as unknown[]).push(e.value);
    else p[last] = [p[last], e.value];
  }
  return root as T;
}

/** A message as the other side receives it: valid, one with values broken, or anything postMessage can carry. */
const message = (valid: readonly IpcMessage[]) =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...valid), weight: 2 },
    { arbitrary: fc.tuple(fc.constantFrom(...valid), fc.array(valueEdit, { minLength: 1, maxLength: 3 })).map(([m, edits]) => edited(m, edits)), weight: 6 },
    { arbitrary: clonable, weight: 1 },
    {
      arbitrary: fc.record(
        { id: fc.oneof(weirdString, clonable), method: fc.oneof(fc.constantFrom(...valid.map((m) => m.method)), weirdString), params: clonable },
        { requiredKeys: [] },
      ),
      weight: 1,
    },
  );

/** What the webview does with a message: the guard, then the reducer and the charts for what it accepts. */
function receive(state: ViewState, msg: unknown): ViewState {
  const delivered = noThrow(() => structuredClone(msg), 'structuredClone');
  const why = noThrow(
    () => rejection(delivered, HOST_TO_WEBVIEW),
    () => `rejection of ${show(delivered)}`,
  );
  if (why !== undefined) {
    invariant(typeof why === 'string' && why.length > 0, 'rejection returned an empty reason');
    return state;
  }
  const next = noThrow(
    () => reduce(state, delivered as IpcMessage),
    () => `reduce of the accepted ${show(delivered)}`,
  );
  invariant(isViewState(next), () => `the state after the accepted ${show(delivered)} is malformed: ${show(next)}`);
  noThrow(
    () => chartSpecs(next),
    () => `chartSpecs after ${show(delivered)}`,
  );
  noThrow(
    () => gridSpecs(next),
    () => `gridSpecs after ${show(delivered)}`,
  );
  noThrow(
    () => sectionNotes(next),
    () => `sectionNotes after ${show(delivered)}`,
  );
  return next;
}

function show(x: unknown): string {
  try {
    const s = JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
    return s === undefined ? String(x) : s.length > 400 ? `${s.slice(0, 400)}…` : s;
  } catch {
    return Object.prototype.toString.call(x);
  }
}

// ---------------------------------------------------------------------------------------------

describe('fuzz: layer panel messages', () => {
  const start = fc.oneof(
    fc.constant(INITIAL_STATE),
    fc.constant(reduce(INITIAL_STATE, HOST_MESSAGES[0])),
    fc.tuple(fc.constant(reduce(INITIAL_STATE, HOST_MESSAGES[0])), fc.array(valueEdit, { maxLength: 2 })).map(([s, e]) => restoreState(edited(s, e))),
  );
  fuzzTest(
    'host -> webview: the guard decides without throwing; the reducer and the charts take what it accepts; the state stays well-formed',
    fc.tuple(start, fc.array(message(HOST_MESSAGES), { minLength: 1, maxLength: 12 })),
    ([state, msgs]) => {
      let s = state;
      for (const m of msgs) s = receive(s, m);
    },
    { runs: 1200 },
  );

  // Messages the guards accept whatever their size: a sweep of 150,000 strengths, a model of 150,000 layers, as many refreshes.
  const N = 150_000;
  const many = Array.from({ length: N }, (_, i) => i / N);
  const BIG: IpcMessage[] = [
    HeatmapNotification.create({
      runId: 1,
      source: null,
      grids: [{ shots: 1, refreshEvery: 10, extStrengths: [0.1], evalStrengths: many, macroF1: [many], accuracy: [many] }],
    }),
    NormsNotification.create({ runId: 1, rowLabels: ['a'], norms: many.map((x) => [x]) }),
    ConvergenceNotification.create({ runId: 1, points: many.map((x, i) => ({ episode: i, relativeChange: x })) }),
  ];
  fuzzTest(
    'host -> webview, large messages (150,000 values): the reducer and the charts take them',
    start,
    (state) => {
      for (const msg of BIG) receive(state, msg);
    },
    { runs: 3, longRuns: 6 },
  );

  fuzzTest(
    'webview -> host: the guard decides without throwing; an accepted envelope is checked without throwing',
    message(WEBVIEW_MESSAGES),
    (msg) => {
      const delivered = noThrow(() => structuredClone(msg), 'structuredClone');
      const why = noThrow(
        () => rejection(delivered, WEBVIEW_TO_HOST),
        () => `rejection of ${show(delivered)}`,
      );
      if (why !== undefined) return;
      if (SetEnvelopeCommand.is(delivered) || SaveEnvelopeCommand.is(delivered)) {
        const values = delivered.params.values ?? [1, 1, 1];
        noThrow(() => envelopeProblem(values, 3), 'envelopeProblem');
        for (const v of values)
          invariant(Number.isFinite(noThrow(() => clampEnvelopeValue(v), 'clampEnvelopeValue')), 'clampEnvelopeValue gave a non-finite value');
      }
    },
    { runs: 800 },
  );

  fuzzTest(
    'saved webview state (restoreState): a well-formed state whatever was saved',
    fc.oneof(
      clonable,
      fc.tuple(fc.constant(reduce(INITIAL_STATE, HOST_MESSAGES[0])), fc.array(valueEdit, { minLength: 1, maxLength: 3 })).map(([s, e]) => edited(s, e)),
    ),
    (saved) => {
      const s = noThrow(
        () => restoreState(saved),
        () => `restoreState(${show(saved)})`,
      );
      invariant(isViewState(s), () => `restoreState gave a malformed state for ${show(saved)}`);
      noThrow(() => chartSpecs(s), 'chartSpecs');
      noThrow(() => gridSpecs(s), 'gridSpecs');
    },
    { runs: 500 },
  );
});

describe('fuzz: core results as panel messages (the host side)', () => {
  const safeInt = fc.oneof(fc.constantFrom(0, 1, -1, 10, 2 ** 31, -(2 ** 53) + 1, 2 ** 53 - 1), fc.integer());
  fuzzTest(
    'sweep rows and refresh histories that the readers accept (finite numbers, safe integers): their heatmap and convergence messages pass the webview guards',
    fc.tuple(
      fc.array(
        fc.record({
          shots: fc.oneof(fc.nat(8), extremeNumber.filter(Number.isFinite)),
          refreshEvery: fc.oneof(fc.nat(20), extremeNumber.filter(Number.isFinite)),
          extStrength: extremeNumber.filter(Number.isFinite),
          evalStrength: extremeNumber.filter(Number.isFinite),
          accuracy: extremeNumber.filter(Number.isFinite),
          macroF1: extremeNumber.filter(Number.isFinite),
          predictionShares: fc.constant([0.5, 0.5]),
        }),
        { maxLength: 6 },
      ),
      fc.array(fc.record({ episode: safeInt, relativeChange: fc.oneof(fc.constant(null), extremeNumber) }), { maxLength: 5 }),
      fc.nat(),
    ),
    ([rows, history, runId]) => {
      const grids = noThrow(() => sweepHeatmaps(rows as never), 'sweepHeatmaps');
      noThrow(
        () => updateMessage(runId, { kind: 'heatmap', grids }, null),
        () => `the heatmap message of ${show(rows)}`,
      );
      const points = noThrow(() => convergencePoints(history), 'convergencePoints');
      noThrow(
        () => updateMessage(runId, { kind: 'convergence', points }, null),
        () => `the convergence message of ${show(history)}`,
      );
    },
    { runs: 500 },
  );
});

// ---------------------------------------------------------------------------------------------

describe('fuzz: the model worker boundary', () => {
  const thrown = fc.oneof(
    fc
      .tuple(
        weirdString,
        fc.record({
          file: fc.option(weirdString, { nil: undefined }),
          line: fc.option(extremeNumber, { nil: undefined }),
          field: fc.option(weirdString, { nil: undefined }),
        }),
      )
      .map(([m, loc]) => new UserError(m, loc)),
    weirdString.map((m) => new RangeError(m)),
    fc.constant(Object.assign(new Error('with a cause'), { cause: new Error('inner') })),
    fc.constant(
      (() => {
        const e = new Error('cyclic') as Error & { self?: unknown };
        e.self = e;
        return e;
      })(),
    ),
    fc.constant(Object.assign(new UserError('odd location'), { location: { file: 1, line: 'x' } })),
    clonable,
    fc.constant(Symbol('s')),
    fc.constant(() => 1),
  );
  fuzzTest(
    'toWireError on anything thrown: a WireError that survives structured cloning and comes back as the same kind of error',
    thrown,
    (e) => {
      const wire = noThrow(
        () => toWireError(e),
        () => `toWireError(${show(e)})`,
      );
      const copy = noThrow(
        () => structuredClone(wire),
        () => `structuredClone of the WireError of ${show(e)}`,
      );
      const back = noThrow(() => fromWireError(copy), 'fromWireError');
      invariant(back instanceof Error, 'fromWireError gave no Error');
      if (e instanceof UserError) invariant(back instanceof UserError && back.message === e.message, 'a UserError came back as another error or message');
    },
    { runs: 400 },
  );

  fuzzTest(
    'fromWireError on any WireError-shaped value: an Error',
    fc.record(
      {
        kind: fc.oneof(fc.constantFrom('user', 'cancelled', 'internal'), weirdString),
        message: fc.oneof(weirdString, clonable),
        location: clonable,
        stack: fc.oneof(weirdString, clonable),
      },
      { requiredKeys: [] },
    ),
    (w) => {
      const e = noThrow(
        () => fromWireError(w as WireError),
        () => `fromWireError(${show(w)})`,
      );
      invariant(e instanceof Error, 'not an Error');
    },
    { runs: 300 },
  );

  const INFO: ModelInfo = {
    name: 'm',
    sha256: 'x',
    nLayers: 2,
    dModel: 4,
    nHeads: 1,
    nKvHeads: 1,
    headDim: 4,
    vocabSize: 10,
    maxSeqLen: 8,
    bosId: 1,
    eosId: 2,
  };
  const id = fc.oneof(fc.nat(12), fc.constantFrom(-1, 1.5, NaN, Infinity, 2 ** 53, -0));
  const position = fc.record({ seq: id, pos: id });
  const request = fc.record(
    {
      tokens: fc.array(fc.array(id, { maxLength: 10 }), { maxLength: 3 }),
      edits: fc.array(
        fc.record({
          site: fc.oneof(fc.constantFrom('attn_out', 'head_out', 'resid_post'), weirdString),
          layer: id,
          seq: id,
          pos: id,
          vector: fc.oneof(fc.constant(new Float32Array(4)), fc.constant(new Float32Array(3)), fc.constant(Float32Array.of(NaN, 0, 0, Infinity))),
        }),
        { maxLength: 3 },
      ),
      taps: fc.array(position, { maxLength: 3 }),
      tapSites: fc.array(fc.oneof(fc.constantFrom('attn_out', 'head_out', 'resid_post'), weirdString), { maxLength: 2 }),
      logits: fc.array(position, { maxLength: 3 }),
    },
    { requiredKeys: ['tokens'] },
  );
  fuzzTest(
    'forward requests and decoding steps (validateRequest, validateStep): accepted only when every id, position, layer, site and width fits the model, else a UserError',
    fc.tuple(request, id),
    ([req, token]) => {
      const r = req as unknown as ForwardRequest;
      const ok = userErrorOrSuccess(() => validateRequest(r, INFO), {});
      if (!(ok instanceof UserError)) {
        const inVocab = (t: number) => Number.isInteger(t) && t >= 0 && t < INFO.vocabSize;
        invariant(
          r.tokens.length > 0 && r.tokens.every((s) => s.length > 0 && s.length <= INFO.maxSeqLen && s.every(inVocab)),
          () => `accepted tokens ${show(r.tokens)}`,
        );
        const at = (p: { seq: number; pos: number }) =>
          Number.isInteger(p.seq) && p.seq >= 0 && p.seq < r.tokens.length && Number.isInteger(p.pos) && p.pos >= 0 && p.pos < r.tokens[p.seq].length;
        invariant(
          (r.edits ?? []).every((e) => at(e) && Number.isInteger(e.layer) && e.layer >= 0 && e.layer < INFO.nLayers && e.vector.length === INFO.dModel),
          () => `accepted edits ${show(r.edits)}`,
        );
        invariant([...(r.taps ?? []), ...(r.logits ?? [])].every(at), () => `accepted positions ${show([r.taps, r.logits])}`);
        invariant(
          (r.edits ?? []).every((e) => e.vector.every(Number.isFinite)),
          () => `accepted an edit vector with non-finite values: ${show(r.edits?.map((e) => [...e.vector]))}`,
        );
      }
      userErrorOrSuccess(
        () =>
          validateStep(
            token,
            (r.edits ?? []).map(({ site, layer, vector }) => ({ site, layer, vector })),
            INFO,
          ),
        {},
      );
    },
    { runs: 800 },
  );
});
