import * as vscode from 'vscode';
import { throwIfCancelled } from '../../core/errors';
import { checkArtifactName, safeStem } from '../../core/experiment/fileNames';
import { resolveOptions, type CheckedOptions } from '../../core/experiment/spec';
import { toJsonText } from '../../core/experiment/sweepReport';
import { compareUseCase } from '../../core/experiment/useCases';
import { ARTIFACT_EXTENSION } from '../../core/vectors/artifact';
import { runEngineBaseline } from '../../runtime/bench/engineBench';
import { displayPath, fileName, freeUri, outputFolder, parentOf, toUri, writeArtifactUri, writeFileAtomic } from '../artifacts';
import { workspaceResults } from '../resultsStore';
import { notify, runCommand, withRunProgress, type Cancelled } from '../run';
import { readDefaults } from '../settings';
import { classifyArg, datasetCommandOptions, handleOf, hintUri, hostPorts, runOnTask, modelJson, requireFolderOrAbsolute, type CommandDeps } from './common';
import { checkWritableOutputs } from '../../node/files';

/** What `iterativeVectors.compareMethods` returns: the CLI's `iv compare --json` report plus the files. */
export type CompareCommandResult = Record<string, unknown> & { command: 'compareMethods'; table: string; results: string; artifact: string };

/**
 * `iterativeVectors.compareMethods`: every method on the same seeded test episodes (as `iv compare`),
 * the table in the log, the report as `<dataset>.compare.json` and the IV row's vectors next to it.
 */
export function compareMethodsCommand(deps: CommandDeps, arg?: unknown): Promise<CompareCommandResult | Cancelled | undefined> {
  const a = classifyArg(arg);
  return runCommand('compareMethods', deps.log, a.kind !== 'options', async () => {
    const o = await datasetCommandOptions('compare', a, deps);
    if (!o) return undefined;
    const result = await runCompare(deps, o);
    if (a.kind !== 'options') {
      const choice = await notify(deps.log, `Iterative Vectors: compared every method on ${String(o.dataset)}; the table is in the log.`, 'Open Results');
      if (choice === 'Open Results') await vscode.window.showTextDocument(vscode.Uri.parse(result.results));
    }
    return result;
  });
}

async function runCompare(deps: CommandDeps, o: CheckedOptions): Promise<CompareCommandResult> {
  const hint = hintUri(o.dataset);
  const d = readDefaults(hint, deps.log);
  const r = resolveOptions('compare', o, d);
  requireFolderOrAbsolute('results', o.results ?? o.out);
  const base = vscode.workspace.workspaceFolders?.length ? await outputFolder(hint) : undefined;
  const out = o.out !== undefined ? toUri(o.out, base, 'out') : undefined;
  if (out) checkArtifactName(fileName(out));
  const resultsUri = o.results !== undefined ? toUri(o.results, base, 'results') : undefined;
  const sweepUri = o.sweepResults !== undefined ? toUri(o.sweepResults, base, 'sweepResults') : undefined;
  checkWritableOutputs({ out, results: resultsUri, sweepResults: sweepUri }, { makeFolders: true });
  return withRunProgress('Iterative Vectors: comparing every method', (ctx) => {
    const ports = hostPorts(deps, ctx);
    ctx.phase('loading the dataset');
    return runOnTask(deps, o, r, ports, undefined, async (loaded, task) => {
      throwIfCancelled(ctx.cancellation);
      const dir = base ?? parentOf((resultsUri ?? out)!);
      const stem = safeStem(task.dataset.id);
      const rows = sweepUri ?? (r.sweep ? await freeUri(dir, `${stem}.compare-sweep.jsonl`) : undefined);
      const c = await compareUseCase(handleOf(loaded), task, o, d, ports, {
        engine: () => runEngineBaseline(loaded.model),
        sweepResults: rows && workspaceResults(rows),
      });
      throwIfCancelled(ctx.cancellation);
      deps.log.info(`\n${c.table}`);
      ctx.phase('writing');
      const target = resultsUri ?? (await freeUri(dir, `${stem}.compare.json`));
      const artifactUri = out ?? (await freeUri(dir, `${stem}.iv-compare${ARTIFACT_EXTENSION}`));
      const written = await writeArtifactUri(artifactUri, c.artifact);
      const json = {
        command: 'compareMethods' as const,
        ...c.report,
        table: c.table,
        modelInfo: modelJson(loaded),
        results: target.toString(),
        artifact: written.artifact.toString(),
      };
      await writeFileAtomic(target, toJsonText({ ...json, createdAt: new Date().toISOString() }));
      deps.log.info(`Wrote ${displayPath(target)} and ${displayPath(written.artifact)}`);
      return JSON.parse(toJsonText(json)) as CompareCommandResult;
    });
  });
}
