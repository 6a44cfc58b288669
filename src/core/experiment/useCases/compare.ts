/**
 * Compare: every method on the same seeded test episodes (ICL 0/1/k-shot, calibrated ICL, IV (the
 * sweep's best or the defaults), IV without iteration, IV at the query only, Task and Function
 * Vectors), with the speed of the runs against the engine's plain prefill measured in the same process.
 */
import type { ResultsStore } from '../../ports';
import { formatMetricsTable, type Metrics } from '../../metrics';
import type { VectorArtifact } from '../../vectors/artifact';
import { specFromArtifact } from '../artifacts';
import { extractArtifact, type ExtractResult } from '../extraction';
import { evaluateMethod, fitCalibration, type MethodSpec } from '../methods';
import { evalResultJson } from '../resultJson';
import { bestRow, runSweep, type SweepRow } from '../sweep';
import { describeRow } from '../sweepReport';
import type { Task } from '../task';
import type { CheckedOptions } from '../spec/parse';
import { evalOptionsOf, extractRequestOf, resolveOptions, storedDatasetOptions, sweepGridOf, validationOptionsOf, type Defaults } from '../spec/requests';
import { cutNote } from './evaluate';
import { reportKeptRows } from './sweepAndSelect';
import type { ModelHandle, RunPorts } from './ports';

export interface CompareRow {
  name: string;
  metrics: Metrics;
  json: ReturnType<typeof evalResultJson>;
}

export interface CompareOutcome {
  rows: CompareRow[];
  table: string;
  report: Record<string, unknown>;
  /** The IV artifact of the table's IV row, with its test metrics. */
  artifact: VectorArtifact;
}

/** The engine's plain batched prefill, the reference for the runs' tokens/s (measured by the runtime). */
export type EngineBaseline = () => Promise<{ tokensPerSecond: number } & Record<string, unknown>>;

export async function compareUseCase(
  m: ModelHandle,
  task: Task,
  given: CheckedOptions,
  d: Defaults,
  ports: RunPorts,
  extra: { engine?: EngineBaseline; sweepResults?: ResultsStore } = {},
): Promise<CompareOutcome> {
  const { model } = m;
  const r = resolveOptions('compare', given, d);
  const test = evalOptionsOf(r);
  const validation = validationOptionsOf(r);
  const req = extractRequestOf(r, 'iv');
  const engine = extra.engine && (await extra.engine());
  if (engine) ports.log(`engine: plain batched prefill ${engine.tokensPerSecond.toFixed(0)} tokens/s`);
  let iv = { shots: req.iv.shots, refreshEvery: req.iv.refreshEvery, extStrength: req.iv.strength, evalStrength: r.strength! };
  let noIter = { ...iv, refreshEvery: 0, extStrength: 0 };
  let sweepRows: SweepRow[] | undefined;
  const sweepStart = performance.now();
  const run = { cancellation: ports.cancellation };
  if (r.sweep) {
    try {
      sweepRows = (
        await runSweep(model, task, sweepGridOf(r), {
          extract: req.iv,
          eval: validation,
          injectAt: 'all',
          results: extra.sweepResults,
          warn: (message) => ports.warn(message),
          ...run,
          onRow: (row, done, total) => ports.log(`sweep [${done}/${total}] ${describeRow(row)}: macro-F1 ${row.macroF1.toFixed(3)}`),
        })
      ).rows;
    } catch (e) {
      reportKeptRows(e, extra.sweepResults, ports);
      throw e;
    }
    iv = bestRow(sweepRows.filter((x) => x.refreshEvery !== 0));
    const flat = sweepRows.filter((x) => x.refreshEvery === 0);
    if (flat.length) noIter = bestRow(flat);
  }
  const sweepMs = performance.now() - sweepStart;
  const extract = (method: 'iv' | 'tv' | 'fv', cfg = iv): Promise<ExtractResult> => {
    ports.phase?.(`extracting ${method}`);
    return extractArtifact(model, task, {
      ...extractRequestOf(r, method),
      iv: { ...req.iv, shots: cfg.shots, refreshEvery: cfg.refreshEvery, strength: cfg.extStrength },
      tokenizerSha256: m.tokenizerSha256,
      ...run,
      onProgress: ports.progress,
    });
  };
  const ivX = await extract('iv');
  const noIterX = await extract('iv', noIter);
  const tvX = await extract('tv');
  const fvX = await extract('fv');
  const spec = (x: ExtractResult, strength: number, at: 'all' | 'query' = 'all') =>
    specFromArtifact(x.artifact, x.artifact.metadata.method, model.info, task, strength, at);
  const k = req.iv.shots;
  const shots = test.shots;
  const tvo = tvX.artifact.metadata.options;
  const fvo = fvX.artifact.metadata.options;
  const plan: [string, MethodSpec, number][] = [
    ['ICL 0-shot', { method: 'icl' }, 0],
    [`ICL ${shots}-shot`, { method: 'icl' }, shots],
    ...(k !== shots ? ([[`ICL ${k}-shot`, { method: 'icl' }, k]] as [string, MethodSpec, number][]) : []),
    [`ICL ${shots}-shot calibrated`, { method: 'icl-calibrated', bias: await fitCalibration(model, task, { ...validation, ...run }) }, shots],
    [`IV (k=${iv.shots} b=${iv.refreshEvery} a1=${iv.extStrength} a2=${iv.evalStrength})`, spec(ivX, iv.evalStrength), shots],
    [`IV b=0 (k=${noIter.shots} a2=${noIter.evalStrength})`, spec(noIterX, noIter.evalStrength), shots],
    [`IV query only (a2=${iv.evalStrength})`, spec(ivX, iv.evalStrength, 'query'), shots],
    [`TV (k=${tvo.shots}, layer ${tvo.layer})`, spec(tvX, 1), shots],
    [`FV (k=${fvo.shots}, ${fvo.topHeads === 1 ? '1 head' : `${fvo.topHeads} heads`}, layer ${fvo.layer})`, spec(fvX, 1), shots],
  ];
  const rows: CompareRow[] = [];
  const cutNotes: string[] = [];
  for (const [name, s, n] of plan) {
    ports.phase?.(name);
    const opts = { ...test, shots: n };
    const res = await evaluateMethod(model, task, s, { ...opts, ...run, onProgress: ports.progress });
    rows.push({ name, metrics: res.metrics, json: evalResultJson(name, s, opts, res) });
    const note = cutNote(name, res.cut);
    if (note) cutNotes.push(note);
  }
  const ivCut = ivX.artifact.metadata.options.cut as Parameters<typeof cutNote>[1];
  const extractionNote = cutNote('IV extraction', ivCut);
  if (extractionNote) cutNotes.unshift(extractionNote);
  const rate = (stats: { forwardPasses: number; tokens: number; ms: number }) => ({
    forwardPassesPerSecond: (stats.forwardPasses / stats.ms) * 1000,
    tokensPerSecond: (stats.tokens / stats.ms) * 1000,
    ratioToEngine: engine ? ((stats.tokens / stats.ms) * 1000) / engine.tokensPerSecond : undefined,
  });
  const evalTotals = rows.reduce(
    (a, x) => ({
      forwardPasses: a.forwardPasses + x.json.timings.forwardPasses,
      tokens: a.tokens + x.json.timings.tokens,
      ms: a.ms + x.json.timings.forwardMs,
    }),
    { forwardPasses: 0, tokens: 0, ms: 0 },
  );
  const performanceReport = {
    engine,
    extraction: { ms: ivX.ms, forwardPasses: ivX.stats.forwardPasses, tokens: ivX.stats.tokens, ...rate({ ...ivX.stats, ms: ivX.ms }) },
    evaluation: { ...evalTotals, ...rate(evalTotals) },
    sweep: sweepRows && { ms: sweepMs, configs: sweepRows.length },
  };
  const artifact = ivX.artifact;
  artifact.metadata.metrics = { [test.split]: rows.find((x) => x.name.startsWith('IV ('))!.json };
  const chosen = r.sweep ? { evalStrength: iv.evalStrength, injectAt: 'all', selectedBy: 'validation macro-F1 sweep' } : {};
  artifact.metadata.options = { ...artifact.metadata.options, ...chosen, datasetOptions: storedDatasetOptions(task.dataset, given) };
  const v = task.verbalizer.options;
  const report = {
    model: model.info.name,
    dataset: task.dataset.id,
    labels: task.labels,
    bos: v.bos,
    tokenization: v.tokenization,
    extractionCut: ivCut,
    best: iv,
    bestNoIteration: noIter,
    sweep: sweepRows,
    rows: rows.map((x) => x.json),
    performance: performanceReport,
  };
  const table = formatMetricsTable(rows, task.labels) + (cutNotes.length ? `\n${cutNotes.join('\n')}` : '');
  return { rows, table, report, artifact };
}
