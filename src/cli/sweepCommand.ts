import { UserError } from '../core/errors';
import { extractArtifact } from '../core/experiment/extraction';
import { specFromArtifact } from '../core/experiment/artifacts';
import { evaluateMethod } from '../core/experiment/methods';
import { bestRow, PAPER_GRID, runSweep, type SweepGrid, type SweepRow } from '../core/experiment/sweep';
import { formatMetricsTable } from '../core/metrics';
import { ARTIFACT_EXTENSION, writeArtifact } from '../core/vectors/artifact';
import { loadModel } from '../runtime/loadModel';
import { evalResultJson } from '../core/experiment/resultJson';
import { EVAL_OPTIONS, evalOptions } from './evalCommand';
import { EXTRACT_OPTIONS, extractRequest } from './extractCommand';
import { MODEL_OPTIONS, loadOptions, num, parse, stderrLog } from './options';
import { INJECT_AT, TASK_OPTIONS, listOf, loadTask, oneOf } from './taskOptions';

/** The sweep grid's flags (shared with `iv compare --sweep`). */
export const GRID_OPTIONS = {
  'shots-grid': { type: 'string' },
  'ext-grid': { type: 'string' },
  'eval-grid': { type: 'string' },
  'no-iter-grid': { type: 'string' },
  'val-episodes': { type: 'string' },
} as const;

/** The grid from flags, the paper's by default; `--no-iter-grid ""` leaves out b = 0. */
export function gridFromFlags(values: Record<string, unknown>): SweepGrid {
  const list = (flag: keyof typeof GRID_OPTIONS, fallback: number[]) => listOf(values[flag] as string | undefined, flag, fallback);
  return {
    shots: list('shots-grid', PAPER_GRID.shots),
    extStrengths: list('ext-grid', PAPER_GRID.extStrengths),
    evalStrengths: list('eval-grid', PAPER_GRID.evalStrengths),
    noIterationStrengths: values['no-iter-grid'] === '' ? [] : list('no-iter-grid', PAPER_GRID.noIterationStrengths),
  };
}

export async function sweepCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, { ...MODEL_OPTIONS, ...TASK_OPTIONS, ...EXTRACT_OPTIONS, ...EVAL_OPTIONS, ...GRID_OPTIONS, results: { type: 'string' }, out: { type: 'string' } });
  if (values.out && !values.out.endsWith(ARTIFACT_EXTENSION)) throw new UserError(`--out must end with ${ARTIFACT_EXTENSION}`, { file: values.out });
  const grid = gridFromFlags(values);
  const loaded = await loadModel(loadOptions(values, stderrLog));
  try {
    const task = await loadTask(values, loaded);
    const req = extractRequest({ ...values, method: 'iv' }, loaded.tokenizer.sha256, 'ext-');
    const test = evalOptions(values);
    const injectAt = oneOf(values['inject-at'], 'inject-at', INJECT_AT, 'all');
    const validation = { ...test, episodes: num(values, 'val-episodes', 200, { min: 1, max: 1e6, integer: true }) };
    const { rows } = await runSweep(loaded.model, task, grid, {
      extract: req.iv,
      eval: validation,
      injectAt,
      resultsFile: values.results,
      onRow: (r, done, total) => stderrLog(`[${done}/${total}] ${describe(r)}: macro-F1 ${r.macroF1.toFixed(3)}, accuracy ${r.accuracy.toFixed(3)}`),
    });
    const best = bestRow(rows);
    stderrLog(`best on validation: ${describe(best)}; running it on ${test.split}`);
    const { artifact } = await extractArtifact(loaded.model, task, { ...req, iv: { ...req.iv, shots: best.shots, refreshEvery: best.refreshEvery, strength: best.extStrength } });
    const spec = specFromArtifact(artifact, '(extracted now)', loaded.model.info, task, best.evalStrength, injectAt);
    const r = await evaluateMethod(loaded.model, task, spec, test);
    const testResult = evalResultJson('iv (best)', spec, test, r);
    if (values.out) {
      artifact.metadata.metrics = { validation: { macroF1: best.macroF1, accuracy: best.accuracy }, [test.split]: { accuracy: r.metrics.accuracy, macroF1: r.metrics.macroF1, auc: r.metrics.auc } };
      artifact.metadata.options = { ...artifact.metadata.options, evalStrength: best.evalStrength, injectAt, selectedBy: 'validation macro-F1 sweep' };
      writeArtifact(values.out, artifact);
    }
    if (values.json) process.stdout.write(`${JSON.stringify({ grid, rows, best, test: testResult, artifact: values.out })}\n`);
    else process.stdout.write(`${sweepTable(rows, best)}\n\n${formatMetricsTable([{ name: `iv best (${test.split})`, metrics: r.metrics }], task.labels)}\n`);
  } finally {
    await loaded.model.dispose();
  }
}

const describe = (r: SweepRow) => (r.refreshEvery === 0 ? `k=${r.shots} b=0 a2=${r.evalStrength}` : `k=${r.shots} b=${r.refreshEvery} a1=${r.extStrength} a2=${r.evalStrength}`);

/** One line per configuration, the best marked. */
export function sweepTable(rows: readonly SweepRow[], best: SweepRow): string {
  const head = ['config', 'macro-F1', 'accuracy', 'AUC', 'shares'];
  const body = rows.map((r) => [`${r === best ? '* ' : '  '}${describe(r)}`, r.macroF1.toFixed(3), r.accuracy.toFixed(3), r.auc === null ? 'n/a' : r.auc.toFixed(3), r.predictionShares.map((s) => s.toFixed(2)).join('/')]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  return [head, ...body].map((cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n');
}
