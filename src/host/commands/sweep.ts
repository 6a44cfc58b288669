import * as vscode from 'vscode';
import { throwIfCancelled } from '../../core/errors';
import { checkArtifactName, relativePath, safeStem, sweepFileNames, sweepReportNames, sweepRowsName, withSweepResults } from '../../core/experiment/fileNames';
import type { EvalResultJson } from '../../core/experiment/resultJson';
import { resolveOptions, type CheckedOptions } from '../../core/experiment/spec';
import type { SweepGrid, SweepRow } from '../../core/experiment/sweep';
import { describeRow, sweepCsv, toJsonText } from '../../core/experiment/sweepReport';
import { sweepAndSelect } from '../../core/experiment/useCases';
import { formatMetricsTable } from '../../core/metrics';
import { displayPath, exists, fileName, freeUri, outputFolder, parentOf, toUri, writeArtifactUri, writeFileAtomic } from '../artifacts';
import { workspaceResults } from '../resultsStore';
import { notify, runCommand, withRunProgress, type Cancelled } from '../run';
import { readDefaults } from '../settings';
import { VECTOR_EDITOR_VIEW_TYPE } from '../vectorEditorHtml';
import { classifyArg, datasetCommandOptions, handleOf, hintUri, hostPorts, runOnTask, modelJson, requireFolderOrAbsolute, type CommandDeps } from './common';
import { checkWritableOutputs } from '../../node/files';

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
 * `<name>.sweep.json` / `.csv` and the resumable `.sweep.jsonl` rows, named by sweepFileNames
 * (fileNames.ts); the vectors record their rows file (metadata.options.sweepResults), which the
 * layer-effects panel reads.
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
  const r = resolveOptions('sweep', o, d);
  requireFolderOrAbsolute('out', o.out ?? o.results);
  const base = vscode.workspace.workspaceFolders?.length ? await outputFolder(hint) : undefined;
  let out: vscode.Uri | undefined;
  if (o.out !== undefined) {
    out = toUri(o.out, base, 'out');
    checkArtifactName(fileName(out));
  }
  let rowsUri = o.results !== undefined ? toUri(o.results, base, 'results') : undefined;
  checkWritableOutputs({ out, results: rowsUri }, { makeFolders: true });
  const datasetName = typeof o.dataset === 'string' ? o.dataset : o.dataset ? fileName(toUri(o.dataset, undefined, 'dataset')) : '';
  return withRunProgress(`Iterative Vectors: sweeping on ${datasetName}`, (ctx) => {
    const ports = hostPorts(deps, ctx);
    ctx.phase('loading the dataset');
    return runOnTask(deps, o, r, ports, undefined, async (loaded, task) => {
      throwIfCancelled(ctx.cancellation);
      // The files are named as fileNames.ts says (sweepFileNames), from one stem; the vectors record their rows file.
      const stem = safeStem(task.dataset.id);
      let artifactUri = out;
      if (!rowsUri) {
        if (out) rowsUri = await freeUri(parentOf(out), sweepRowsName(fileName(out)));
        // Neither given: requireFolderOrAbsolute saw a workspace folder, so base is there.
        else ({ vectors: artifactUri, rows: rowsUri } = await freeSweepFiles(base!, stem));
      }
      const s = await sweepAndSelect(handleOf(loaded), task, o, d, ports, workspaceResults(rowsUri));
      throwIfCancelled(ctx.cancellation);
      deps.log.info(`\n${formatMetricsTable([{ name: `iv best (${String(s.test.settings.split)})`, metrics: s.result.metrics }], task.labels)}`);
      ctx.phase('writing');
      artifactUri ??= await freeUri(base ?? parentOf(rowsUri), sweepFileNames(stem).vectors);
      s.artifact.metadata.options = withSweepResults(s.artifact.metadata.options, recordedPath(parentOf(artifactUri), rowsUri));
      const reports = sweepReportNames(fileName(rowsUri));
      const summaryUri = vscode.Uri.joinPath(parentOf(rowsUri), reports.summary);
      const csvUri = vscode.Uri.joinPath(parentOf(rowsUri), reports.csv);
      const result: SweepCommandResult = {
        command: 'sweep',
        grid: s.grid,
        rows: s.rows,
        best: s.best,
        test: s.test,
        labels: [...task.labels],
        dataset: { id: task.dataset.id, source: task.dataset.source, sha256: task.dataset.sha256 },
        model: modelJson(loaded),
        artifact: artifactUri.toString(),
        summary: summaryUri.toString(),
        csv: csvUri.toString(),
        rowsFile: rowsUri.toString(),
      };
      await writeArtifactUri(artifactUri, s.artifact);
      await writeFileAtomic(csvUri, sweepCsv(s.rows, s.best));
      await writeFileAtomic(summaryUri, toJsonText({ ...result, createdAt: new Date().toISOString() }));
      deps.log.info(`Wrote ${displayPath(artifactUri)}, ${displayPath(summaryUri)} and ${displayPath(csvUri)}`);
      return JSON.parse(toJsonText(result)) as SweepCommandResult;
    });
  });
}

/** The first `<stem>[-n].iv-sweep.ivec.safetensors` and `<stem>[-n].sweep.jsonl` in `dir` that are both free (one stem for both). */
async function freeSweepFiles(dir: vscode.Uri, stem: string): Promise<{ vectors: vscode.Uri; rows: vscode.Uri }> {
  for (let n = 1; ; n++) {
    const names = sweepFileNames(n === 1 ? stem : `${stem}-${n}`);
    const vectors = vscode.Uri.joinPath(dir, names.vectors);
    const rows = vscode.Uri.joinPath(dir, names.rows);
    if (!(await exists(vectors)) && !(await exists(rows))) return { vectors, rows };
  }
}

/** How the vectors in `dir` record their rows file: relative to `dir` when on the same file system, else its URI. */
function recordedPath(dir: vscode.Uri, rows: vscode.Uri): string {
  return dir.scheme === rows.scheme && dir.authority === rows.authority ? relativePath(dir.path, rows.path) : rows.toString();
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
