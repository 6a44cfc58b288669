import * as vscode from 'vscode';
import { UserError } from '../../core/errors';
import { recipeOf } from '../../core/experiment/recipe';
import { resolveOptions } from '../../core/experiment/spec';
import { rerunUseCase } from '../../core/experiment/useCases';
import { displayPath, readArtifactUri, toUri } from '../artifacts';
import { notify, runCommand, withRunProgress, type Cancelled } from '../run';
import { readDefaults } from '../settings';
import { checkCommandOptions, classifyArg, handleOf, hostPorts, runOnTask, type CommandDeps } from './common';

/** What `iterativeVectors.rerun` returns. */
export interface RerunCommandResult {
  command: 'rerun';
  vector: string;
  identical: boolean;
  difference?: string;
  ms: number;
}

/**
 * `iterativeVectors.rerun`: rebuilds a vector file from its recipe (as `iv rerun`) and says whether
 * the tensors are byte-identical. Takes the file's URI (the vector editor's Re-run) or `{ vector, dataset? }`.
 */
export function rerunCommand(deps: CommandDeps, arg?: unknown): Promise<RerunCommandResult | Cancelled | undefined> {
  const a = classifyArg(arg);
  return runCommand('rerun', deps.log, a.kind !== 'options', async () => {
    const o = a.kind === 'options' ? checkCommandOptions('rerun', a.options) : a.kind === 'uri' ? { vector: a.uri } : undefined;
    if (!o?.vector) throw new UserError('required: the .ivec.safetensors to re-run (open it and press Re-run)', { field: 'vector' });
    const uri = toUri(o.vector, vscode.workspace.workspaceFolders?.[0]?.uri, 'vector');
    const stored = await readArtifactUri(uri);
    const recipe = recipeOf(stored.metadata, displayPath(uri));
    const d = readDefaults(uri, deps.log);
    const r = resolveOptions('extract', { ...recipe, dataset: o.dataset ?? recipe.dataset }, d);
    const result = await withRunProgress(`Iterative Vectors: re-running ${displayPath(uri)} from its recipe`, (ctx) => {
      const ports = hostPorts(deps, ctx);
      return runOnTask(deps, o, r, ports, stored, async (loaded, task) => {
        const x = await rerunUseCase(handleOf(loaded), task, stored, displayPath(uri), d, ports);
        deps.log.info(
          x.identical
            ? `${displayPath(uri)}: re-run from its recipe, the tensors are byte-identical.`
            : `${displayPath(uri)}: re-run from its recipe, the tensors differ: ${x.difference}`,
        );
        return { command: 'rerun' as const, vector: uri.toString(), identical: x.identical, difference: x.difference, ms: x.ms };
      });
    });
    if (a.kind !== 'options')
      void notify(
        deps.log,
        result.identical
          ? `Iterative Vectors: re-ran ${displayPath(uri)} from its recipe: byte-identical.`
          : `Iterative Vectors: re-ran ${displayPath(uri)}: the tensors differ (${result.difference}).`,
      );
    return result;
  });
}
