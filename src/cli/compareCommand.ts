import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeAtomic } from '../core/fsAtomic';
import { specFromArtifact } from '../core/experiment/artifacts';
import { extractArtifact, type ExtractRequest } from '../core/experiment/extraction';
import { evaluateMethod, fitCalibration, type EvalOptions, type MethodSpec } from '../core/experiment/methods';
import { bestRow, runSweep, type SweepGrid, type SweepRow } from '../core/experiment/sweep';
import type { Task } from '../core/experiment/task';
import { formatMetricsTable, type Metrics } from '../core/metrics';
import { writeArtifact } from '../core/vectors/artifact';
import { runEngineBaseline } from '../runtime/bench/engineBench';
import type { LoadedModel } from '../runtime/loadModel';
import { loadModel } from '../runtime/loadModel';
import { evalResultJson } from '../core/experiment/resultJson';
import { EVAL_OPTIONS, evalOptions } from './evalCommand';
import { EXTRACT_OPTIONS, extractRequest } from './extractCommand';
import { MODEL_OPTIONS, loadOptions, num, parse, stderrLog } from './options';
import { GRID_OPTIONS, gridFromFlags } from './sweepCommand';
import { TASK_OPTIONS, loadTask, progressLine } from './taskOptions';

export interface CompareOptions {
  /** Test (or other split) evaluation shared by every method: the same seeded episodes. */
  test: Omit<EvalOptions, 'cancellation' | 'onProgress'>;
  /** Validation runs for calibration, the Task Vectors layer and the sweep. */
  validation: Omit<EvalOptions, 'cancellation' | 'onProgress'>;
  extract: Omit<ExtractRequest, 'method' | 'cancellation' | 'onProgress'>;
  /** Run the IV sweep on validation first (else the paper's defaults and `ivStrength`). */
  sweep?: SweepGrid & { resultsFile?: string };
  ivStrength: number;
  artifact?: string;
  results?: string;
}

interface Row {
  name: string;
  metrics: Metrics;
  json: ReturnType<typeof evalResultJson>;
}

/**
 * Every method on the same seeded test episodes: ICL 0/1/k-shot, calibrated ICL, IV (the sweep's
 * best or the defaults), IV without iteration, IV at the query only, Task and Function Vectors;
 * with the engine's plain batched prefill throughput measured in the same process as the reference
 * for the runs' tokens/s.
 */
export async function compareMethods(loaded: LoadedModel, task: Task, o: CompareOptions): Promise<{ rows: Row[]; table: string; report: Record<string, unknown> }> {
  const { model } = loaded;
  const engine = await runEngineBaseline(model);
  stderrLog(`engine: plain batched prefill ${engine.tokensPerSecond.toFixed(0)} tokens/s (B=10, T=128, last-position logits)`);
  let iv = { shots: o.extract.iv.shots, refreshEvery: o.extract.iv.refreshEvery, extStrength: o.extract.iv.strength, evalStrength: o.ivStrength };
  let noIter = { ...iv, refreshEvery: 0, extStrength: 0 };
  let sweepRows: SweepRow[] | undefined;
  const sweepStart = performance.now();
  if (o.sweep) {
    sweepRows = (await runSweep(model, task, o.sweep, {
      extract: o.extract.iv,
      eval: o.validation,
      injectAt: 'all',
      resultsFile: o.sweep.resultsFile,
      onRow: (r, done, total) => stderrLog(`sweep [${done}/${total}] k=${r.shots} b=${r.refreshEvery} a1=${r.extStrength} a2=${r.evalStrength}: macro-F1 ${r.macroF1.toFixed(3)}`),
    })).rows;
    iv = bestRow(sweepRows.filter((r) => r.refreshEvery !== 0));
    const flat = sweepRows.filter((r) => r.refreshEvery === 0);
    if (flat.length) noIter = bestRow(flat);
  }
  const sweepMs = performance.now() - sweepStart;
  const extract = (method: 'iv' | 'tv' | 'fv', cfg = iv) =>
    extractArtifact(model, task, { ...o.extract, method, iv: { ...o.extract.iv, shots: cfg.shots, refreshEvery: cfg.refreshEvery, strength: cfg.extStrength }, onProgress: progressLine(`extract ${method}`) });
  const ivX = await extract('iv');
  const noIterX = await extract('iv', noIter);
  const tvX = await extract('tv');
  const fvX = await extract('fv');
  const spec = (x: typeof ivX, strength: number, at: 'all' | 'query' = 'all') => specFromArtifact(x.artifact, x.artifact.metadata.method, model.info, task, strength, at);
  const k = o.extract.iv.shots;
  const shots = o.test.shots;
  const plan: [string, MethodSpec, number][] = [
    ['ICL 0-shot', { method: 'icl' }, 0],
    [`ICL ${shots}-shot`, { method: 'icl' }, shots],
    ...(k !== shots ? ([[`ICL ${k}-shot`, { method: 'icl' }, k]] as [string, MethodSpec, number][]) : []),
    [`ICL ${shots}-shot calibrated`, { method: 'icl-calibrated', bias: await fitCalibration(model, task, { ...o.validation, shots }) }, shots],
    [`IV (k=${iv.shots} b=${iv.refreshEvery} a1=${iv.extStrength} a2=${iv.evalStrength})`, spec(ivX, iv.evalStrength), shots],
    [`IV b=0 (k=${noIter.shots} a2=${noIter.evalStrength})`, spec(noIterX, noIter.evalStrength), shots],
    [`IV query only (a2=${iv.evalStrength})`, spec(ivX, iv.evalStrength, 'query'), shots],
    [`TV (k=${tvX.artifact.metadata.options.shots}, layer ${tvX.artifact.metadata.options.layer})`, spec(tvX, 1), shots],
    [`FV (k=${fvX.artifact.metadata.options.shots}, ${fvX.artifact.metadata.options.topHeads === 1 ? '1 head' : `${fvX.artifact.metadata.options.topHeads} heads`}, layer ${fvX.artifact.metadata.options.layer})`, spec(fvX, 1), shots],
  ];
  const rows: Row[] = [];
  const cutNotes: string[] = [];
  for (const [name, s, n] of plan) {
    const opts = { ...o.test, shots: n };
    const r = await evaluateMethod(model, task, s, { ...opts, onProgress: progressLine(name) });
    rows.push({ name, metrics: r.metrics, json: evalResultJson(name, s, opts, r) });
    if (r.cut.cutSamples > 0) cutNotes.push(`${name}: ${r.cut.cutSamples} of ${r.cut.samples} samples cut to fit the context (mean ${r.cut.meanTokensKept.toFixed(1)} input tokens kept, queries ${r.cut.queries.meanTokensKept.toFixed(1)})`);
  }
  const ivCut = ivX.artifact.metadata.options.cut as { cutSamples: number; samples: number; meanTokensKept: number; queries: { meanTokensKept: number } };
  if (ivCut.cutSamples > 0) cutNotes.unshift(`IV extraction: ${ivCut.cutSamples} of ${ivCut.samples} samples cut (mean ${ivCut.meanTokensKept.toFixed(1)} input tokens kept, queries ${ivCut.queries.meanTokensKept.toFixed(1)})`);
  const rate = (stats: { forwardPasses: number; tokens: number; ms: number }) => ({
    forwardPassesPerSecond: (stats.forwardPasses / stats.ms) * 1000,
    tokensPerSecond: (stats.tokens / stats.ms) * 1000,
    ratioToEngine: ((stats.tokens / stats.ms) * 1000) / engine.tokensPerSecond,
  });
  const evalTotals = rows.reduce((a, r) => ({ forwardPasses: a.forwardPasses + r.json.timings.forwardPasses, tokens: a.tokens + r.json.timings.tokens, ms: a.ms + r.json.timings.forwardMs }), { forwardPasses: 0, tokens: 0, ms: 0 });
  const performanceReport = {
    engine,
    extraction: { ms: ivX.ms, forwardPasses: ivX.stats.forwardPasses, tokens: ivX.stats.tokens, ...rate({ ...ivX.stats, ms: ivX.ms }) },
    evaluation: { ...evalTotals, ...rate(evalTotals) },
    sweep: sweepRows && { ms: sweepMs, configs: sweepRows.length },
  };
  if (o.artifact) {
    ivX.artifact.metadata.metrics = { [o.test.split]: rows.find((r) => r.name.startsWith('IV ('))!.json };
    mkdirSync(dirname(o.artifact), { recursive: true });
    writeArtifact(o.artifact, ivX.artifact);
  }
  const report = { model: model.info.name, dataset: task.dataset.id, labels: task.labels, bos: task.verbalizer.options.bos, tokenization: task.verbalizer.options.tokenization, extractionCut: ivCut, best: iv, bestNoIteration: noIter, sweep: sweepRows, rows: rows.map((r) => r.json), performance: performanceReport };
  if (o.results) {
    mkdirSync(dirname(o.results), { recursive: true });
    writeAtomic(o.results, `${JSON.stringify(report, null, 2)}\n`);
  }
  const table = formatMetricsTable(rows, task.labels) + (cutNotes.length ? `\n${cutNotes.join('\n')}` : '');
  return { rows, table, report };
}

export const COMPARE_OPTIONS = {
  ...GRID_OPTIONS,
  sweep: { type: 'boolean', default: false },
  'sweep-results': { type: 'string' },
  out: { type: 'string' },
  results: { type: 'string' },
} as const;

export async function compareCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, ...TASK_OPTIONS, ...EXTRACT_OPTIONS, ...EVAL_OPTIONS, ...COMPARE_OPTIONS });
  const loaded = await loadModel(loadOptions(values, stderrLog));
  try {
    const task = await loadTask(values, loaded);
    const test = evalOptions(values);
    const validation = { ...test, split: 'validation' as const, episodes: num(values, 'val-episodes', 200, { min: 1, max: 1e6, integer: true }), resamples: 0 };
    const extract = extractRequest({ ...values, method: 'iv' }, loaded.tokenizer.sha256, 'ext-');
    const sweep = values.sweep ? { ...gridFromFlags(values), resultsFile: values['sweep-results'] } : undefined;
    const { table, report } = await compareMethods(loaded, task, { test, validation: { ...validation, shots: test.shots }, extract: { ...extract, validation: { ...validation, shots: test.shots } }, sweep, ivStrength: num(values, 'strength', 0.5, { min: -100, max: 100 }), artifact: values.out, results: values.results });
    process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${table}\n`);
  } finally {
    await loaded.model.dispose();
  }
}
