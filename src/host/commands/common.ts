import * as vscode from 'vscode';
import { loadDataset } from '../../node/datasets';
import { UserError } from '../../core/errors';
import { datasetRequest, isUriLike, type CheckedOptions, type PathValue } from '../../core/experiment/spec';
import { checkCommandOptions } from './checkOptions';

export { checkCommandOptions };
import type { Task } from '../../core/experiment/task';
import { taskOf, type ModelHandle, type RunPorts } from '../../core/experiment/useCases';
import type { VectorArtifact } from '../../core/vectors/artifact';
import type { LoadedModel } from '../../runtime/loadModel';
import { localPath, toUri, workspaceFolderFor } from '../artifacts';
import type { Engine, ModelOverrides } from '../engine';
import { runWizard } from '../quickPick';
import type { RunContext } from '../run';
import { isAbsolutePath, readDefaults } from '../settings';
import { modelKind } from './modelSpec';

/** What every command needs. */
export interface CommandDeps {
  context: vscode.ExtensionContext;
  engine: Engine;
  log: vscode.LogOutputChannel;
}

/** A command's first argument: an options object (programmatic: no prompts), a URI (explorer, editor), or nothing (palette). */
export type CommandArg = { kind: 'options'; options: unknown } | { kind: 'uri'; uri: vscode.Uri } | { kind: 'palette' };

export function classifyArg(arg: unknown): CommandArg {
  if (arg instanceof vscode.Uri) return { kind: 'uri', uri: arg };
  if (arg === undefined || arg === null) return { kind: 'palette' };
  return { kind: 'options', options: arg };
}

/**
 * The checked options of a dataset command: the object as given (no prompts), or the QuickPick
 * wizard started from a dataset URI or from nothing; undefined when the wizard is dismissed.
 */
export async function datasetCommandOptions(command: 'extract' | 'sweep' | 'compare', a: CommandArg, deps: CommandDeps): Promise<CheckedOptions | undefined> {
  if (a.kind === 'options') return checkCommandOptions(command, a.options);
  const initial: CheckedOptions = a.kind === 'uri' ? { dataset: a.uri } : {};
  const chosen = await runWizard(command, initial, { defaults: readDefaults(hintUri(initial.dataset), deps.log) });
  return chosen && checkCommandOptions(command, chosen);
}

/** The use cases' ports in a progress notification: lines to the log, phases and counts to the bar. */
export function hostPorts(deps: CommandDeps, ctx: RunContext): RunPorts {
  return { log: (m) => deps.log.info(m), warn: (m) => deps.log.warn(m), phase: ctx.phase, progress: ctx.progress, cancellation: ctx.cancellation };
}

export const handleOf = (loaded: LoadedModel): ModelHandle => ({ model: loaded.model, tokenizerSha256: loaded.tokenizer.sha256 });

/** The model overrides of a run (relative model paths resolved against the workspace folder; hub ids as given). */
function modelOverrides(o: CheckedOptions): ModelOverrides {
  let model = o.model;
  if (model && modelKind(model) === 'path' && !isAbsolutePath(model)) {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (folder?.uri.scheme === 'file') model = vscode.Uri.joinPath(folder.uri, model).fsPath;
  }
  return { model, device: o.device, threads: o.threads };
}

/** A dataset option -> what `loadDataset` takes: `stdlib:<name>` as is, a local path otherwise, with the URI when it is a file. */
export function datasetSource(value: PathValue): { source: string; uri?: vscode.Uri } {
  if (typeof value === 'string' && value.startsWith('stdlib:')) return { source: value };
  const base = vscode.workspace.workspaceFolders?.[0]?.uri;
  const uri = toUri(value, base, 'dataset');
  return { source: localPath(uri, 'dataset'), uri };
}

/** A URI (or path) a dataset or vector option points at, for choosing the workspace folder; undefined for built-ins. */
export function hintUri(value: PathValue | undefined): vscode.Uri | undefined {
  if (value === undefined) return undefined;
  if (value instanceof vscode.Uri) return value;
  if (isUriLike(value)) return vscode.Uri.from({ scheme: value.scheme, path: value.path });
  if (value.startsWith('stdlib:')) return undefined;
  try {
    return toUri(value, vscode.workspace.workspaceFolders?.[0]?.uri, 'dataset');
  } catch {
    return undefined;
  }
}

/**
 * Loads the resolved options' dataset first (data problems are reported before any model work),
 * then runs `work` on the engine's model with the task made ready for it (a vector file's per-sample
 * cap kept); notes and warnings go to the log.
 */
export async function runOnTask<T>(
  deps: CommandDeps,
  o: CheckedOptions,
  r: CheckedOptions,
  ports: RunPorts,
  artifact: VectorArtifact | undefined,
  work: (loaded: LoadedModel, task: Task) => Promise<T>,
): Promise<T> {
  const req = datasetRequest(r);
  const { source } = datasetSource(req.source);
  const folder = workspaceFolderFor(hintUri(req.source));
  const dataset = await loadDataset(source, {
    ...req.load,
    baseDir: folder?.uri.scheme === 'file' ? folder.uri.fsPath : undefined,
    // The built-ins' data packages ship with the extension.
    stdlibSearchPaths: [deps.context.extensionPath],
  });
  return deps.engine.use(modelOverrides(o), (loaded) => work(loaded, taskOf(dataset, loaded.tokenizer, loaded.model.info, req, ports, artifact)));
}

/** The model identity in results. */
export function modelJson(loaded: LoadedModel) {
  const i = loaded.model.info;
  return {
    name: i.name,
    sha256: i.sha256,
    nLayers: i.nLayers,
    dModel: i.dModel,
    executionProvider: loaded.model.executionProvider,
    fallbacks: loaded.fallbacks,
  };
}

export function requireFolderOrAbsolute(field: string, value: PathValue | undefined): void {
  if (value === undefined && !vscode.workspace.workspaceFolders?.length) {
    throw new UserError(`no workspace folder is open: open a folder for the artifacts, or give "${field}" as an absolute path`, { field });
  }
}
