// Layer effects: which envelopes are evaluated, on which episodes, the margin arithmetic, the
// streaming and cancellation, the sweep grids. A stand-in model and tokenizer make it exact and fast:
// this checks plumbing and arithmetic only (the engine tests run the real model).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Dataset, Example } from '../../src/core/datasets';
import { CancelledError, UserError } from '../../src/core/errors';
import { makeArtifact } from '../../src/core/experiment/artifacts';
import {
  recordedSweepResults,
  relativePath,
  sweepFileNames,
  sweepReportNames,
  sweepRowsCandidates,
  sweepRowsName,
  sweepStem,
  withSweepResults,
} from '../../src/core/experiment/fileNames';
import {
  checkLayerVectors,
  convergencePoints,
  layerEffects,
  layerEffectsInputOf,
  meanGoldMargin,
  onlyLayerEnvelope,
  sweepHeatmaps,
  vectorNorms,
  withoutLayerEnvelope,
  type LayerEffectsUpdate,
} from '../../src/core/experiment/layerEffects';
import type { SweepRow } from '../../src/core/experiment/sweep';
import type { Task } from '../../src/core/experiment/task';
import { sampleEpisodes } from '../../src/core/icl/episodes';
import { Verbalizer } from '../../src/core/icl/prompt';
import { LayerTaps, type ForwardRequest, type ForwardResult, type ModelInfo, type SteerableModel, type Tokenizer } from '../../src/core/model';
import { updateMessage } from '../../src/host/panel/wire';
import { StateNotification, emptyResults, isResultsSnapshot, reduceSnapshot, HOST_TO_WEBVIEW, type IpcMessage, type RunSnapshot } from '../../src/protocol';
import { INITIAL_STATE, reduce } from '../../webview/state';
import { chartSpecs, gridSpecs, sectionNotes, SWEEP_HINT } from '../../webview/specs';
import { readFileSync } from 'node:fs';

// ---------------------------------------------------------------------------------------------
// Stand-ins

/** One token per character (code + 3, so "\n" is 13 as in the Llama vocabulary); no merges. */
const charTokenizer: Tokenizer = {
  encode: (text, o = {}) => [...(o.bos ? [1] : []), ...[...text].map((c) => c.charCodeAt(0) + 3)],
  decode: (ids) => String.fromCharCode(...ids.map((i) => i - 3)),
  tokenText: (id) => String.fromCharCode(id - 3),
  vocabSize: 512,
  sha256: 'chars',
};

const L = 3;
const D = 3;
const INFO: ModelInfo = {
  name: 'stub',
  sha256: 'stub',
  nLayers: L,
  dModel: D,
  nHeads: 1,
  nKvHeads: 1,
  headDim: D,
  vocabSize: 512,
  maxSeqLen: 256,
  bosId: 1,
  eosId: 2,
};
const LABELS = ['yes', 'no'];
const LABEL_TOKENS = LABELS.map((l) => l.charCodeAt(0) + 3);

/** Label logits before steering: a function of the token before the query's separator (the query's last character). */
const baseLogit = (token: number, c: number) => ((token * 7 + c * 3) % 5) - 2;

/**
 * Logits at a requested position: for each label's first token, baseLogit plus component c of every
 * edit at that (sequence, position), summed over layers; 0 for other tokens. Records every request.
 */
class LabelModel implements SteerableModel {
  readonly info = INFO;
  readonly executionProvider = 'none';
  readonly requests: ForwardRequest[] = [];
  onForward?: () => void;

  async forward(req: ForwardRequest): Promise<ForwardResult> {
    this.requests.push(req);
    this.onForward?.();
    const logits = (req.logits ?? []).map((p) => {
      const row = new Float32Array(INFO.vocabSize);
      const before = req.tokens[p.seq][p.pos - 1];
      LABEL_TOKENS.forEach((t, c) => {
        row[t] = baseLogit(before, c);
        for (const e of req.edits ?? []) if (e.seq === p.seq && e.pos === p.pos) row[t] += e.vector[c];
      });
      return row;
    });
    return { logits, taps: { attn_out: new LayerTaps(new Float32Array(0), L, 0, D) } };
  }

  async startDecoding(): Promise<never> {
    throw new Error('not used');
  }

  async dispose(): Promise<void> {}
}

const rows = (texts: [string, number][]): Example[] => texts.map(([text, label], i) => ({ text, label, line: i + 1 }));
const VALIDATION = rows([
  ['ab', 0],
  ['cd', 1],
  ['ef', 0],
  ['gh', 1],
  ['ij', 0],
  ['kl', 1],
  ['mn', 0],
  ['op', 1],
  ['qr', 0],
  ['st', 1],
]);

function makeTask(): Task {
  const counts = (r: Example[]) => ({ rows: r.length, perLabel: LABELS.map((_, c) => r.filter((x) => x.label === c).length) });
  const dataset: Dataset = {
    id: 'toy',
    source: 'toy',
    sha256: 'toy',
    labels: [...LABELS],
    sourceLabels: [...LABELS],
    splits: { train: VALIDATION, validation: VALIDATION },
    counts: { train: counts(VALIDATION), validation: counts(VALIDATION) },
    files: {},
    format: 'jsonl',
    textField: 'text',
    labelField: 'label',
    notes: [],
    warnings: [],
  };
  return {
    dataset,
    verbalizer: new Verbalizer(charTokenizer, LABELS, { bos: false, maxSampleTokens: 256, maxSeqLen: 256, tokenization: 'joined' }),
    labels: LABELS,
  };
}

/** Query rows (row n) chosen so that each layer's edit is recognisable: layer 0 moves class 0, layer 1 class 1, layer 2 both. */
const QUERY_ROWS = [
  [1, 0, 0],
  [0, 2, 0],
  [0.5, 0.5, 0],
];
const VECTORS = QUERY_ROWS.map((q, l) => Float32Array.from([3 + l, 4, 0, 0, 1, l, ...q]));
const A2 = 0.5;

/** The envelope an edit set implies: per layer, the query edit divided by a2 x the query row (undefined: no edits, i.e. ICL). */
function envelopeOf(req: ForwardRequest): number[] | undefined {
  if (!req.edits?.length) return undefined;
  const logitsAt = new Set((req.logits ?? []).map((p) => `${p.seq}/${p.pos}`));
  const env: number[] = new Array(L).fill(NaN);
  for (const e of req.edits) {
    if (!logitsAt.has(`${e.seq}/${e.pos}`)) continue;
    const k = QUERY_ROWS[e.layer][0] !== 0 ? 0 : 1;
    env[e.layer] = e.vector[k] / (A2 * QUERY_ROWS[e.layer][k]);
  }
  return env;
}

const options = (extra: Partial<Parameters<typeof layerEffects>[3]> = {}) => ({ episodes: 6, seed: 3, strength: A2, ...extra });

// ---------------------------------------------------------------------------------------------

describe('layer effects: envelopes and episodes', () => {
  test('ICL, IV with the base envelope, then per layer "only l" and "all but l", each on the same episodes', async () => {
    const model = new LabelModel();
    const base = [1, 0.5, 2];
    await layerEffects(model, makeTask(), { vectors: VECTORS }, options({ envelope: base }));
    const envelopes: (number[] | undefined)[] = [];
    const prompts: string[][] = [];
    for (const req of model.requests) {
      const env = envelopeOf(req);
      const key = JSON.stringify(env ?? null);
      if (JSON.stringify(envelopes.at(-1) ?? null) !== key || envelopes.length === 0) {
        envelopes.push(env);
        prompts.push([]);
      }
      prompts.at(-1)!.push(...req.tokens.map((t) => t.join(',')));
    }
    assert.deepEqual(envelopes, [undefined, [1, 0.5, 2], [1, 0, 0], [0, 0.5, 2], [0, 0.5, 0], [1, 0, 2], [0, 0, 2], [1, 0.5, 0]]);
    for (const p of prompts) assert.deepEqual([...p].sort(), [...prompts[0]].sort(), 'every evaluation scores the same prompts');
    assert.equal(prompts[0].length, 6);
  });

  test('the envelope helpers keep the base value at l (only) or zero it (all but)', () => {
    assert.deepEqual(onlyLayerEnvelope([2, 0.5, 1], 1), [0, 0.5, 0]);
    assert.deepEqual(withoutLayerEnvelope([2, 0.5, 1], 1), [2, 0, 1]);
  });

  test('a subset of layers evaluates only those, in the order given', async () => {
    const model = new LabelModel();
    const updates: LayerEffectsUpdate[] = [];
    const r = await layerEffects(model, makeTask(), { vectors: VECTORS }, options({ layers: [2, 0], onUpdate: (u) => updates.push(u) }));
    assert.deepEqual(
      r.layers.map((e) => e.layer),
      [2, 0],
    );
    assert.deepEqual(
      updates.filter((u) => u.kind === 'layer').map((u) => (u.kind === 'layer' ? [u.effect.layer, u.done, u.total] : [])),
      [
        [2, 1, 2],
        [0, 2, 2],
      ],
    );
  });

  test('bad inputs are clear errors before any forward pass', async () => {
    const model = new LabelModel();
    await assert.rejects(
      layerEffects(model, makeTask(), { vectors: VECTORS }, options({ envelope: [1, 1] })),
      (e: unknown) => e instanceof UserError && /3 finite numbers/.test(e.message),
    );
    await assert.rejects(layerEffects(model, makeTask(), { vectors: VECTORS.slice(0, 2) }, options()), UserError);
    await assert.rejects(layerEffects(model, makeTask(), { vectors: VECTORS }, options({ layers: [3] })), RangeError);
    assert.equal(model.requests.length, 0);
  });
});

describe('layer effects: arithmetic', () => {
  test('gold margin: gold logit minus the best other label logit, averaged', () => {
    const p = (gold: number, logits: number[]) => ({ gold, predicted: 0, labelLogits: logits, item: 0 });
    assert.equal(meanGoldMargin([p(0, [3, 1, 2]), p(2, [3, 1, 2]), p(1, [0, 5, 5])]), (1 + -1 + 0) / 3);
    assert.ok(Number.isNaN(meanGoldMargin([])));
  });

  test('scores equal those computed by hand from the stand-in logits', async () => {
    const task = makeTask();
    const base = [1, 0.5, 2];
    const r = await layerEffects(new LabelModel(), task, { vectors: VECTORS }, options({ envelope: base }));
    const episodes = sampleEpisodes(VALIDATION, 2, 1, 6, 3);
    const expected = (env: number[] | undefined) => {
      let margin = 0;
      let correct = 0;
      for (const e of episodes) {
        const q = VALIDATION[e.query];
        const before = q.text.charCodeAt(q.text.length - 1) + 3;
        const z = [0, 1].map((c) => baseLogit(before, c) + (env ? env.reduce((acc, m, l) => acc + A2 * m * QUERY_ROWS[l][c], 0) : 0));
        margin += z[q.label] - z[1 - q.label];
        if ((z[0] >= z[1] ? 0 : 1) === q.label) correct++;
      }
      return { margin: margin / episodes.length, accuracy: correct / episodes.length };
    };
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`);
    close(r.icl.meanMargin, expected(undefined).margin, 'ICL margin');
    close(r.icl.accuracy, expected(undefined).accuracy, 'ICL accuracy');
    close(r.iv.meanMargin, expected(base).margin, 'IV margin');
    close(r.iv.accuracy, expected(base).accuracy, 'IV accuracy');
    for (const e of r.layers) {
      close(e.only.meanMargin, expected(onlyLayerEnvelope(base, e.layer)).margin, `only ${e.layer}`);
      close(e.allBut.meanMargin, expected(withoutLayerEnvelope(base, e.layer)).margin, `all but ${e.layer}`);
      close(e.only.accuracy, expected(onlyLayerEnvelope(base, e.layer)).accuracy, `only ${e.layer} accuracy`);
    }
    assert.equal(
      r.confusion.icl.flat().reduce((a, b) => a + b, 0),
      6,
    );
    assert.equal(r.confusion.iv.length, 2);
    // The margins really differ between settings (the check above is not vacuous).
    assert.notEqual(r.layers[0].only.meanMargin, r.layers[1].only.meanMargin);
  });

  test('norms per layer and row, convergence from the refresh history', () => {
    const norms = vectorNorms([Float32Array.from([3, 4, 0, 0, 0, 0]), Float32Array.from([1, 0, 0, 0, 2, 0])], 2);
    assert.deepEqual(norms, [
      [5, 0],
      [1, 2],
    ]);
    assert.deepEqual(
      convergencePoints([
        { episode: 0, relativeChange: null },
        { episode: 10, relativeChange: 0.25, rowNorm: 3 },
      ]),
      [
        { episode: 0, relativeChange: null },
        { episode: 10, relativeChange: 0.25 },
      ],
    );
    assert.deepEqual(convergencePoints(undefined), []);
  });
});

describe('layer effects: streaming and cancellation', () => {
  test('updates arrive in order: norms, convergence, heatmap, reference, one per layer; progress reaches the total', async () => {
    const updates: LayerEffectsUpdate['kind'][] = [];
    const progress: [number, number][] = [];
    const sweepRows = [
      {
        shots: 1,
        refreshEvery: 10,
        extStrength: 0.1,
        evalStrength: 0.5,
        accuracy: 0.5,
        macroF1: 0.4,
        auc: null,
        predictionShares: [0.5, 0.5],
        extractMs: 1,
        evalMs: 1,
      },
    ];
    const history = [
      { episode: 0, relativeChange: null },
      { episode: 10, relativeChange: 0.1 },
    ];
    await layerEffects(
      new LabelModel(),
      makeTask(),
      { vectors: VECTORS, history, sweepRows },
      options({ onUpdate: (u) => updates.push(u.kind), onProgress: (d, t) => progress.push([d, t]) }),
    );
    assert.deepEqual(updates, ['norms', 'convergence', 'heatmap', 'reference', 'layer', 'layer', 'layer']);
    assert.ok(
      progress.every(([d], i) => i === 0 || d >= progress[i - 1][0]),
      'progress never goes back',
    );
    assert.deepEqual(progress.at(-1), [(2 + 2 * L) * 6, (2 + 2 * L) * 6]);
  });

  test('cancelling stops at the next batch with CancelledError and no further layer', async () => {
    const model = new LabelModel();
    const flag = { cancelled: false };
    const layers: number[] = [];
    const run = layerEffects(
      model,
      makeTask(),
      { vectors: VECTORS },
      options({
        cancellation: flag,
        onUpdate: (u) => {
          if (u.kind === 'layer') {
            layers.push(u.effect.layer);
            flag.cancelled = true;
          }
        },
      }),
    );
    await assert.rejects(run, CancelledError);
    assert.deepEqual(layers, [0]);
    const before = model.requests.length;
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(model.requests.length, before);
  });

  test('a cancelled flag before the start runs nothing', async () => {
    const model = new LabelModel();
    await assert.rejects(layerEffects(model, makeTask(), { vectors: VECTORS }, options({ cancellation: { cancelled: true } })), CancelledError);
    assert.equal(model.requests.length, 0);
  });
});

describe('sweep results', () => {
  const row = (shots: number, b: number, a1: number, a2: number, f1: number): SweepRow => ({
    shots,
    refreshEvery: b,
    extStrength: a1,
    evalStrength: a2,
    accuracy: f1 + 0.1,
    macroF1: f1,
    auc: null,
    predictionShares: [0.5, 0.5],
    extractMs: 1,
    evalMs: 1,
  });

  test('grids per (k, b): rows a1, columns a2, null where missing, no-iteration groups last', () => {
    const grids = sweepHeatmaps([
      row(2, 10, 0.3, 0.5, 0.7),
      row(1, 0, 0, 1, 0.2),
      row(1, 10, 0.1, 0.5, 0.4),
      row(1, 10, 0.3, 0.1, 0.6),
      row(1, 10, 0.1, 0.1, 0.3),
    ]);
    assert.deepEqual(
      grids.map((g) => [g.shots, g.refreshEvery]),
      [
        [1, 10],
        [1, 0],
        [2, 10],
      ],
    );
    assert.deepEqual(grids[0].extStrengths, [0.1, 0.3]);
    assert.deepEqual(grids[0].evalStrengths, [0.1, 0.5]);
    assert.deepEqual(grids[0].macroF1, [
      [0.3, 0.4],
      [0.6, null],
    ]);
    assert.deepEqual(grids[0].accuracy[1], [0.7, null]);
    assert.deepEqual(grids[1].macroF1, [[0.2]]);
  });
});

describe('layer effects through the panel protocol', () => {
  test('core updates -> host messages -> webview state -> what the charts draw', async () => {
    let host: RunSnapshot = { progress: { runId: 1, status: 'running', done: 0, total: 0 }, error: null, results: emptyResults(1) };
    let view = reduce(
      INITIAL_STATE,
      StateNotification.create({
        info: {
          file: '/x.ivec.safetensors',
          uri: 'file:///x.ivec.safetensors',
          name: 'x.ivec.safetensors',
          labels: LABELS,
          nLayers: L,
          model: 'stub',
          dataset: 'toy',
          strength: A2,
          injectAt: 'all',
          split: 'validation',
          shots: 1,
          episodes: 6,
          seed: 3,
          sweepResults: null,
        },
        envelope: [1, 1, 1],
        savedEnvelope: null,
        ...host,
        progress: host.progress!,
      }),
    );
    const messages: IpcMessage[] = [];
    const sweepRows = [row(1, 10, 0.1, 0.5, 0.4), row(1, 10, 0.3, 0.5, 0.5)];
    await layerEffects(
      new LabelModel(),
      makeTask(),
      {
        vectors: VECTORS,
        history: [
          { episode: 0, relativeChange: null },
          { episode: 5, relativeChange: 0.2 },
        ],
        sweepRows,
      },
      options({
        onUpdate: (u) => {
          const m = updateMessage(1, u, 'sweep.jsonl');
          host = reduceSnapshot(host, m);
          messages.push(m);
          view = reduce(view, m);
        },
      }),
    );
    for (const m of messages)
      assert.ok(
        HOST_TO_WEBVIEW.some((t) => t.is(m)),
        `${m.method} passes its guard`,
      );
    assert.ok(isResultsSnapshot(host.results));
    assert.deepEqual(view.results, host.results, 'the webview holds what the host holds');
    const charts = new Map(chartSpecs(view).map((c) => [c.id, c]));
    assert.deepEqual([...charts.keys()], ['effect-accuracy', 'effect-macroF1', 'effect-margin', 'norms', 'convergence']);
    for (const id of ['effect-accuracy', 'effect-macroF1', 'effect-margin']) {
      const c = charts.get(id)!;
      assert.deepEqual(c.labels, ['L0', 'L1', 'L2']);
      assert.ok(
        c.series.every((s) => s.data.length === L && s.data.every((x) => x !== null)),
        id,
      );
    }
    assert.equal(charts.get('norms')!.series.length, LABELS.length + 1);
    assert.deepEqual(charts.get('convergence')!.series[0].data, [null, 0.2]);
    assert.deepEqual(
      gridSpecs(view).map((g) => g.id),
      ['confusion-icl', 'confusion-iv', 'heatmap-k1-b10'],
    );
  });
});

function row(shots: number, b: number, a1: number, a2: number, f1: number): SweepRow {
  return {
    shots,
    refreshEvery: b,
    extStrength: a1,
    evalStrength: a2,
    accuracy: f1,
    macroF1: f1,
    auc: null,
    predictionShares: [0.5, 0.5],
    extractMs: 1,
    evalMs: 1,
  };
}

// ---------------------------------------------------------------------------------------------

describe('the vectors of an artifact, checked against the loaded model and its tokenizer', () => {
  const artifact = (tokenizerSha256: string, labels = LABELS, model: ModelInfo = INFO) => {
    const task = makeTask();
    return makeArtifact('iterative-vectors', 'attn_out', new Map(VECTORS.map((v, l) => [l, v])), labels.length + 1, {
      task: { ...task, labels },
      model,
      tokenizerSha256,
      options: { seed: 3 },
      history: [{ episode: 5, relativeChange: 0.2 }],
    });
  };
  const handle = (tokenizerSha256 = charTokenizer.sha256) => ({ model: new LabelModel(), tokenizerSha256 });
  const F = '/w/.iv/toy.iv-sweep.ivec.safetensors';

  test("the model's own vectors: the per-layer matrices and the history, ready for layerEffects", async () => {
    const a = artifact(charTokenizer.sha256);
    checkLayerVectors(a, F, handle());
    const input = layerEffectsInputOf(a, F, handle(), makeTask(), A2, 'all');
    assert.deepEqual(
      input.vectors.map((v) => Array.from(v)),
      VECTORS.map((v) => Array.from(v)),
    );
    assert.deepEqual(input.history, [{ episode: 5, relativeChange: 0.2 }]);
    const r = await layerEffects(new LabelModel(), makeTask(), input, options());
    assert.equal(r.layers.length, L);
  });

  test('vectors made with another tokenizer are refused before any forward pass, naming both hashes (as evaluate refuses them)', () => {
    const a = artifact('ab'.repeat(32));
    const m = handle();
    const refused = (e: unknown) => {
      assert.ok(e instanceof UserError, String(e));
      assert.equal(e.location.file, F);
      assert.match(e.message, new RegExp(`tokenizer sha256 ${'ab'.repeat(32)} vs chars differ$`));
      return true;
    };
    assert.throws(() => checkLayerVectors(a, F, m), refused);
    assert.throws(() => layerEffectsInputOf(a, F, m, makeTask(), A2, 'all'), refused);
    assert.equal(m.model.requests.length, 0);
    // The same vectors on a model whose tokenizer has that hash pass.
    layerEffectsInputOf(a, F, handle('ab'.repeat(32)), makeTask(), A2, 'all');
  });

  test('another model, or other labels, are refused too', () => {
    assert.throws(
      () => layerEffectsInputOf(artifact(charTokenizer.sha256, LABELS, { ...INFO, sha256: 'other' }), F, handle(), makeTask(), A2, 'all'),
      (e: unknown) => e instanceof UserError && /weights sha256 other vs stub differ$/.test(e.message),
    );
    assert.throws(
      () => layerEffectsInputOf(artifact(charTokenizer.sha256, ['no', 'yes']), F, handle(), makeTask(), A2, 'all'),
      (e: unknown) => e instanceof UserError && /labels \[no, yes\] but the dataset's labels are \[yes, no\]/.test(e.message),
    );
  });
});

describe("a sweep's file names: one definition for the writers and the panel", () => {
  test('the files of a sweep from one stem', () => {
    assert.deepEqual(sweepFileNames('sentiment'), {
      vectors: 'sentiment.iv-sweep.ivec.safetensors',
      rows: 'sentiment.sweep.jsonl',
      summary: 'sentiment.sweep.json',
      csv: 'sentiment.sweep.csv',
    });
    assert.deepEqual(sweepReportNames('runs.jsonl'), { summary: 'runs.json', csv: 'runs.csv' });
  });

  test("the panel's first candidate for a sweep's vectors is that sweep's rows file, numbered stems included", () => {
    for (const stem of ['sentiment', 'sentiment-2', 'first-names', 'a.b']) {
      const names = sweepFileNames(stem);
      assert.equal(sweepStem(names.vectors), stem);
      assert.equal(sweepRowsName(names.vectors), names.rows);
      assert.equal(sweepRowsCandidates(names.vectors)[0], names.rows, stem);
    }
    // Vectors named otherwise (an explicit out): `<base>.sweep.jsonl` first, then the names earlier versions looked for.
    assert.deepEqual(sweepRowsCandidates('sst2.ivec.safetensors'), ['sst2.sweep.jsonl', 'sst2.sweep-results.jsonl', 'sweep.jsonl', 'sweep-results.jsonl']);
    assert.equal(sweepRowsName('best.ivec.safetensors'), 'best.sweep.jsonl');
    assert.equal(sweepStem('.iv-sweep.ivec.safetensors'), '.iv-sweep');
  });

  test('the rows file the vectors record: relative to their folder', () => {
    assert.equal(relativePath('/w/.iv', '/w/.iv/sentiment.sweep.jsonl'), 'sentiment.sweep.jsonl');
    assert.equal(relativePath('/w/.iv/', '/w/runs/s.sweep.jsonl'), '../runs/s.sweep.jsonl');
    assert.equal(relativePath('/w/a/b', '/w/s.jsonl'), '../../s.jsonl');
    assert.equal(relativePath('/', '/s.jsonl'), 's.jsonl');
    const options = withSweepResults({ seed: 3, selectedBy: 'validation macro-F1 sweep' }, 'sentiment.sweep.jsonl');
    assert.deepEqual(options, { seed: 3, selectedBy: 'validation macro-F1 sweep', sweepResults: 'sentiment.sweep.jsonl' });
    assert.equal(recordedSweepResults(options), 'sentiment.sweep.jsonl');
    for (const bad of [undefined, '', ' ', 3, null, ['x']]) assert.equal(recordedSweepResults({ sweepResults: bad }), undefined);
  });

  test("the panel's note without a sweep names the palette command by its title, and the CLI equivalent", () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      contributes: { commands: { command: string; title: string; category: string }[] };
    };
    const sweep = pkg.contributes.commands.find((c) => c.command === 'iterativeVectors.sweep')!;
    assert.ok(SWEEP_HINT.includes(`"${sweep.category}: ${sweep.title}"`), SWEEP_HINT);
    assert.match(SWEEP_HINT, /\(CLI: iv sweep --dataset <data> --out <name>\.ivec\.safetensors\)/);
    const view = reduce(INITIAL_STATE, updateMessage(1, { kind: 'heatmap', grids: [] }, null));
    const note = sectionNotes(view).heatmap!;
    assert.ok(note.includes(SWEEP_HINT), note);
    assert.doesNotMatch(note, /see iv sweep --results/);
    const found = reduce(INITIAL_STATE, updateMessage(1, { kind: 'heatmap', grids: [] }, '/w/.iv/s.sweep.jsonl'));
    assert.equal(sectionNotes(found).heatmap, '/w/.iv/s.sweep.jsonl has no sweep rows.');
  });
});
