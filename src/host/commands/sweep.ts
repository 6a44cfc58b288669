import * as vscode from 'vscode';
import { throwIfCancelled, UserError } from '../../core/errors';
import { specFromArtifact } from '../../core/experiment/artifacts';
import { extractArtifact } from '../../core/experiment/extraction';
import { evaluateMethod } from '../../core/experiment/methods';
import { bestRow, runSweep, sweepPlan, type SweepGrid, type SweepRow } from '../../core/experiment/sweep';
import { formatMetricsTable } from '../../core/metrics';
import { displayPath, fileName, freeUri, outputFolder, parentOf, toUri, writeArtifactUri, writeFileAtomic } from '../artifacts';
import { notify, runCommand, withRunProgress, type Cancelled } from '../run';
import { readDefaults } from '../settings';
import { VECTOR_EDITOR_VIEW_TYPE } from '../vectorEditorHtml';
import { classifyArg, datasetCommandOptions, hintUri, loadTask, modelJson, modelOverrides, requireFolderOrAbsolute, type CommandDeps } from './common';
import { checkArtifactName, evalOptionsOf, extractRequestOf, safeStem, storedDatasetOptions, sweepGridOf, ARTIFACT_SUFFIX, type CheckedOptions } from './options';
import { describeRow, evalResultJson, sweepCsv, toJsonText, type EvalResultJson } from './results';

/** What `iterativeVectors.sweep` returns: the CLI's `iv sweep --json` object plus the files. */
export interface SweepCommandResult {
  command: 'sweep';
  grid: SweepGrid;
  rows: SweepRow[];
  best: SweepRow;
  /** The best configuration run once on the evaluation split. */
  test: EvalResultJson;
  labels: string[];
  dataset: { id: string; source: string; sha256: string };
  model: ReturnType<typeof modelJson>;
  /** The best configuration's vectors (URI string), with the validation and test metrics in its metadata. */
  artifact: string;
  /** Files (URI strings): the summary JSON, the rows as CSV, and the rows as JSON Lines (appended as they finish: pass it as `results` to resume). */
  summary: string;
  csv: string;
  rowsFile: string;
}

/**
 * `iterativeVectors.sweep`: the paper's grid (k x a1 x a2, plus non-iterative vectors) extracted
 * on train and scored on validation, the best by macro-F1 run once on test; writes the best vectors,
 * `<name>.sweep.json` / `.csv` and the resumable `.sweep.jsonl` rows.
 */
export function sweepCommand(deps: CommandDeps, arg?: unknown): Promise<SweepCommandResult | Cancelled | undefined> {
  const a = classifyArg(arg);
  return runCommand('sweep', deps.log, a.kind !== 'options', async () => {
    const o = await datasetCommandOptions('sweep', a, deps);
    if (!o) return undefined;
    const result = await runSweepCommand(deps, o);
    if (a.kind !== 'options') void offerNext(deps, result);
    return result;
  });
}

async function runSweepCommand(deps: CommandDeps, o: CheckedOptions): Promise<SweepCommandResult> {
  const hint = hintUri(o.dataset);
  const d = readDefaults(hint, deps.log);
  const grid = sweepGridOf(o);
  const test = evalOptionsOf(o, d);
  const injectAt = o.injectAt ?? 'all';
  const validation = { ...test, episodes: o.valEpisodes ?? 200 };
  requireFolderOrAbsolute('out', o.out ?? o.results);
  const base = vscode.workspace.workspaceFolders?.length ? await outputFolder(hint) : undefined;
  let out: vscode.Uri | undefined;
  if (o.out !== undefined) {
    out = toUri(o.out, base, 'out');
    checkArtifactName('out', fileName(out));
  }
  let rowsUri = o.results !== undefined ? toUri(o.results, base, 'results') : undefined;
  const datasetName = typeof o.dataset === 'string' ? o.dataset : o.dataset ? fileName(toUri(o.dataset, undefined, 'dataset')) : '';
  return withRunProgress(`Iterative Vectors: sweeping on ${datasetName}`, (ctx) =>
    deps.engine.use(modelOverrides(o), async (loaded) => {
      ctx.phase('loading the dataset');
      const { task, dataset } = await loadTask(deps, o, d, loaded);
      throwIfCancelled(ctx.cancellation);
      const stem = safeStem(dataset.id);
      const dir = base ?? parentOf((out ?? rowsUri)!);
      rowsUri ??= await freeUri(dir, `${stem}.sweep.jsonl`);
      // runSweep appends its rows with Node's file API (so that a stopped sweep resumes): only for local files.
      const rowsPath = rowsUri.scheme === 'file' ? rowsUri.fsPath : undefined;
      if (!rowsPath) deps.log.warn(`${rowsUri.toString()} is not a local file: the rows are kept in memory only (no resume).`);
      else await vscode.workspace.fs.createDirectory(parentOf(rowsUri));
      const req = extractRequestOf(o, d, 'iv', 'ext');
      const total = sweepPlan(grid, req.iv.refreshEvery).reduce((n, p) => n + p.evalStrengths.length, 0);
      deps.log.info(`Sweep on ${dataset.id}: ${total} configurations, rows in ${displayPath(rowsUri)}`);
      ctx.phase('sweep on validation', 0.9);
      ctx.progress(0, total);
      let sweep: Awaited<ReturnType<typeof runSweep>>;
      try {
        sweep = await runSweep(loaded.model, task, grid, {
          extract: req.iv,
          eval: validation,
          injectAt,
          resultsFile: rowsPath,
          cancellation: ctx.cancellation,
          onRow: (r, done, n) => {
            deps.log.info(`[${done}/${n}] ${describeRow(r)}: macro-F1 ${r.macroF1.toFixed(3)}, accuracy ${r.accuracy.toFixed(3)}`);
            ctx.progress(done, n);
          },
        });
      } catch (e) {
        // Not when the results file itself was refused (other settings, no header, a bad line): resuming from it is what failed.
        const refused = e instanceof UserError && e.location.file === rowsPath;
        if (rowsPath && !refused) deps.log.info(`The rows finished so far are in ${rowsPath}; run the sweep again with the same settings and "results" set to it to resume.`);
        throw e;
      }
      const rows = sweep.rows;
      const best = bestRow(rows);
      deps.log.info(`Best on validation: ${describeRow(best)}; running it on ${test.split}.`);
      ctx.phase(`best configuration on ${test.split}`);
      const { artifact } = await extractArtifact(loaded.model, task, {
        ...req,
        iv: { ...req.iv, shots: best.shots, refreshEvery: best.refreshEvery, strength: best.extStrength },
        tokenizerSha256: loaded.tokenizer.sha256,
        cancellation: ctx.cancellation,
      });
      const spec = specFromArtifact(artifact, '(extracted now)', loaded.model.info, task, best.evalStrength, injectAt);
      const r = await evaluateMethod(loaded.model, task, spec, { ...test, cancellation: ctx.cancellation, onProgress: ctx.progress });
      throwIfCancelled(ctx.cancellation);
      deps.log.info(`\n${formatMetricsTable([{ name: `iv best (${test.split})`, metrics: r.metrics }], task.labels)}`);
      artifact.metadata.metrics = { validation: { macroF1: best.macroF1, accuracy: best.accuracy }, [test.split]: { accuracy: r.metrics.accuracy, macroF1: r.metrics.macroF1, auc: r.metrics.auc } };
      artifact.metadata.options = { ...artifact.metadata.options, evalStrength: best.evalStrength, injectAt, selectedBy: 'validation macro-F1 sweep', datasetOptions: storedDatasetOptions(dataset, o) };
      ctx.phase('writing');
      const artifactUri = out ?? (await freeUri(dir, `${stem}.iv-sweep${ARTIFACT_SUFFIX}`));
      const rowsName = fileName(rowsUri);
      const summaryBase = rowsName.endsWith('.jsonl') ? rowsName.slice(0, -'.jsonl'.length) : rowsName;
      const summaryUri = vscode.Uri.joinPath(parentOf(rowsUri), `${summaryBase}.json`);
      const csvUri = vscode.Uri.joinPath(parentOf(rowsUri), `${summaryBase}.csv`);
      const result: SweepCommandResult = {
        command: 'sweep',
        grid,
        rows,
        best,
        test: evalResultJson('iv (best)', spec, test, r),
        labels: [...task.labels],
        dataset: { id: dataset.id, source: dataset.source, sha256: dataset.sha256 },
        model: modelJson(loaded),
        artifact: artifactUri.toString(),
        summary: summaryUri.toString(),
        csv: csvUri.toString(),
        rowsFile: rowsUri.toString(),
      };
      await writeArtifactUri(artifactUri, artifact);
      await writeFileAtomic(csvUri, sweepCsv(rows, best));
      await writeFileAtomic(summaryUri, toJsonText({ ...result, createdAt: new Date().toISOString() }));
      deps.log.info(`Wrote ${displayPath(artifactUri)}, ${displayPath(summaryUri)} and ${displayPath(csvUri)}`);
      return JSON.parse(toJsonText(result)) as SweepCommandResult;
    }),
  );
}

async function offerNext(deps: CommandDeps, r: SweepCommandResult): Promise<void> {
  const b = r.best;
  const choice = await notify(
    deps.log,
    `Iterative Vectors: best of ${r.rows.length} configurations ${describeRow(b)} (validation macro-F1 ${b.macroF1.toFixed(3)}); on ${String(r.test.settings.split)}: accuracy ${r.test.accuracy.toFixed(3)}, macro-F1 ${r.test.macroF1.toFixed(3)}.`,
    'Open Vectors',
    'Open Results',
  );
  if (choice === 'Open Vectors') await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.parse(r.artifact), VECTOR_EDITOR_VIEW_TYPE);
  if (choice === 'Open Results') await vscode.window.showTextDocument(vscode.Uri.parse(r.summary));
}
