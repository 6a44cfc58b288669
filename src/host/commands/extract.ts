import * as vscode from 'vscode';
import { throwIfCancelled } from '../../core/errors';
import { extractionEpisodesJson } from '../../core/experiment/episodesJson';
import { checkArtifactName, defaultArtifactName } from '../../core/experiment/fileNames';
import { extractRequestOf, resolveOptions, type CheckedOptions } from '../../core/experiment/spec';
import { extractUseCase, timingsOf } from '../../core/experiment/useCases';
import type { VectorMethod } from '../../core/vectors/artifact';
import { displayPath, fileName, freeUri, outputFolder, toUri, writeArtifactUri, writeFileAtomic } from '../artifacts';
import { notify, runCommand, withRunProgress, type Cancelled } from '../run';
import { readDefaults } from '../settings';
import { VECTOR_EDITOR_VIEW_TYPE } from '../vectorEditorHtml';
import { classifyArg, datasetCommandOptions, handleOf, hintUri, hostPorts, runOnTask, modelJson, requireFolderOrAbsolute, type CommandDeps } from './common';
import { COMMAND_IDS } from '../commandIds';
import { checkWritableOutputs } from '../../node/files';

/** What `iterativeVectors.extract` returns (plain JSON). */
export interface ExtractCommandResult {
  command: 'extract';
  /** The artifact's URI (string form) and, for local files, its path. */
  artifact: string;
  artifactPath?: string;
  sidecar: string;
  method: VectorMethod;
  labels: string[];
  dataset: { id: string; source: string; sha256: string; counts: Record<string, number> };
  /** The method's options as stored in the artifact (episodes, shots, refreshEvery, strength, seed, ...). */
  options: Record<string, unknown>;
  model: ReturnType<typeof modelJson>;
  timings: ReturnType<typeof timingsOf>;
}

/**
 * `iterativeVectors.extract`: vectors of one method (iv, tv, fv) extracted on the train split and
 * written as `<name>.ivec.safetensors` + `.ivec.json` in the artifacts folder (or `out`). Takes an
 * options object (no prompts), a dataset URI (explorer: asks the rest), or nothing (palette).
 */
export function extractCommand(deps: CommandDeps, arg?: unknown): Promise<ExtractCommandResult | Cancelled | undefined> {
  const a = classifyArg(arg);
  return runCommand('extract', deps.log, a.kind !== 'options', async () => {
    const o = await datasetCommandOptions('extract', a, deps);
    if (!o) return undefined;
    const result = await runExtract(deps, o);
    if (a.kind !== 'options') void offerNext(deps, result);
    return result;
  });
}

async function runExtract(deps: CommandDeps, o: CheckedOptions): Promise<ExtractCommandResult> {
  const hint = hintUri(o.dataset);
  const d = readDefaults(hint, deps.log);
  const r = resolveOptions('extract', o, d);
  const method = (r.method ?? 'iv') as 'iv' | 'tv' | 'fv';
  requireFolderOrAbsolute('out', o.out);
  // Check the output names before any model work.
  const base = vscode.workspace.workspaceFolders?.length ? await outputFolder(hint) : undefined;
  let out: vscode.Uri | undefined;
  if (o.out !== undefined) {
    out = toUri(o.out, base, 'out');
    checkArtifactName(fileName(out));
  }
  const episodesOut = o.episodesOut !== undefined ? toUri(o.episodesOut, base, 'episodesOut') : undefined;
  checkWritableOutputs({ out, episodesOut }, { makeFolders: true });
  const datasetName = typeof o.dataset === 'string' ? o.dataset : o.dataset ? fileName(toUri(o.dataset, undefined, 'dataset')) : '';
  return withRunProgress(`Iterative Vectors: extracting ${method} on ${datasetName}`, (ctx) => {
    const ports = hostPorts(deps, ctx);
    ctx.phase('loading the dataset');
    return runOnTask(deps, o, r, ports, undefined, async (loaded, task) => {
      throwIfCancelled(ctx.cancellation);
      const x = await extractUseCase(handleOf(loaded), task, o, d, ports);
      throwIfCancelled(ctx.cancellation);
      const artifact = x.artifact;
      const target = out ?? (await freeUri(await outputFolder(hint), defaultArtifactName(task.dataset.id, method)));
      ctx.phase('writing');
      const written = await writeArtifactUri(target, artifact);
      if (episodesOut) await writeFileAtomic(episodesOut, `${JSON.stringify(extractionEpisodesJson(task, x.episodes!, extractRequestOf(r, 'iv').iv))}\n`);
      deps.log.info(
        `Wrote ${displayPath(written.artifact)} (${artifact.metadata.method}, ${x.stats.forwardPasses} forward passes, ${(x.ms / 1000).toFixed(1)} s)`,
      );
      const m = artifact.metadata;
      return {
        command: 'extract' as const,
        artifact: written.artifact.toString(),
        artifactPath: written.artifact.scheme === 'file' ? written.artifact.fsPath : undefined,
        sidecar: written.sidecar.toString(),
        method: m.method,
        labels: m.labels,
        dataset: m.dataset,
        options: m.options,
        model: modelJson(loaded),
        timings: timingsOf(x.stats, x.ms),
      };
    });
  });
}

async function offerNext(deps: CommandDeps, r: ExtractCommandResult): Promise<void> {
  const uri = vscode.Uri.parse(r.artifact);
  const choice = await notify(
    deps.log,
    `Iterative Vectors: extracted ${r.method} (${r.labels.join(' / ')}) into ${fileName(uri)} in ${(r.timings.ms / 1000).toFixed(1)} s.`,
    'Open',
    'Evaluate',
  );
  if (choice === 'Open') await vscode.commands.executeCommand('vscode.openWith', uri, VECTOR_EDITOR_VIEW_TYPE);
  if (choice === 'Evaluate') await vscode.commands.executeCommand(COMMAND_IDS.evaluate, uri);
}
