/**
 * Sweep and select: the grid extracted on train and scored on validation, the best configuration
 * by macro-F1 extracted again and run once on the evaluation split; its artifact records the choice.
 */
import { UserError } from '../../errors';
import type { ResultsStore } from '../../ports';
import type { VectorArtifact } from '../../vectors/artifact';
import { specFromArtifact } from '../artifacts';
import { extractArtifact } from '../extraction';
import { evaluateMethod, type EvalResult } from '../methods';
import { evalResultJson, type EvalResultJson } from '../resultJson';
import { bestRow, runSweep, sweepPlan, type SweepGrid, type SweepRow } from '../sweep';
import { describeRow } from '../sweepReport';
import type { Task } from '../task';
import type { CheckedOptions } from '../spec/parse';
import { evalOptionsOf, extractRequestOf, resolveOptions, storedDatasetOptions, sweepGridOf, validationOptionsOf, type Defaults } from '../spec/requests';
import type { ModelHandle, RunPorts } from './ports';

export interface SweepOutcome {
  grid: SweepGrid;
  rows: SweepRow[];
  best: SweepRow;
  artifact: VectorArtifact;
  result: EvalResult;
  test: EvalResultJson;
}

export async function sweepAndSelect(
  m: ModelHandle,
  task: Task,
  given: CheckedOptions,
  d: Defaults,
  ports: RunPorts,
  results?: ResultsStore,
): Promise<SweepOutcome> {
  const r = resolveOptions('sweep', given, d);
  const grid = sweepGridOf(r);
  const test = evalOptionsOf(r);
  const req = extractRequestOf(r, 'iv');
  const total = sweepPlan(grid, req.iv.refreshEvery).reduce((n, p) => n + p.evalStrengths.length, 0);
  ports.log(`Sweep on ${task.dataset.id}: ${total} configurations${results ? `, rows in ${results.name}` : ''}`);
  ports.phase?.('sweep on validation', 0.9);
  ports.progress?.(0, total);
  let rows: SweepRow[];
  try {
    rows = (
      await runSweep(m.model, task, grid, {
        extract: req.iv,
        eval: validationOptionsOf(r),
        injectAt: r.injectAt!,
        results,
        warn: (message) => ports.warn(message),
        cancellation: ports.cancellation,
        onRow: (row, done, n) => {
          ports.log(`[${done}/${n}] ${describeRow(row)}: macro-F1 ${row.macroF1.toFixed(3)}, accuracy ${row.accuracy.toFixed(3)}`);
          ports.progress?.(done, n);
        },
      })
    ).rows;
  } catch (e) {
    reportKeptRows(e, results, ports);
    throw e;
  }
  const best = bestRow(rows);
  ports.log(`Best on validation: ${describeRow(best)}; running it on ${test.split}.`);
  ports.phase?.(`best configuration on ${test.split}`);
  const run = { cancellation: ports.cancellation, onProgress: ports.progress };
  const { artifact } = await extractArtifact(m.model, task, {
    ...req,
    iv: { ...req.iv, shots: best.shots, refreshEvery: best.refreshEvery, strength: best.extStrength },
    tokenizerSha256: m.tokenizerSha256,
    ...run,
  });
  const spec = specFromArtifact(artifact, '(extracted now)', m.model.info, task, best.evalStrength, r.injectAt!);
  const result = await evaluateMethod(m.model, task, spec, { ...test, ...run });
  artifact.metadata.metrics = {
    validation: { macroF1: best.macroF1, accuracy: best.accuracy },
    [test.split]: { accuracy: result.metrics.accuracy, macroF1: result.metrics.macroF1, auc: result.metrics.auc },
  };
  artifact.metadata.options = {
    ...artifact.metadata.options,
    evalStrength: best.evalStrength,
    injectAt: r.injectAt,
    selectedBy: 'validation macro-F1 sweep',
    datasetOptions: storedDatasetOptions(task.dataset, given),
  };
  return { grid, rows, best, artifact, result, test: evalResultJson('iv (best)', spec, test, result) };
}

/** After a sweep stopped (by an error or by the user): where its finished rows are, to resume from. */
export function reportKeptRows(e: unknown, results: ResultsStore | undefined, ports: Pick<RunPorts, 'log' | 'kept'>): void {
  // Not when the results store itself was refused (other settings, no header, a bad line): resuming from it is what failed.
  const refused = e instanceof UserError && e.location.file === results?.name;
  if (!results || refused) return;
  ports.log(`The rows finished so far are in ${results.name}; run the sweep again with the same settings and results set to it to resume.`);
  ports.kept?.(`the finished sweep rows in ${results.name}`);
}
