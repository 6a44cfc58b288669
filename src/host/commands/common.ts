import * as vscode from 'vscode';
import { loadDataset, type Dataset } from '../../core/datasets';
import { UserError } from '../../core/errors';
import { prepareTask, type Task } from '../../core/experiment/task';
import type { RunStats } from '../../core/icl/scoring';
import type { LoadedModel } from '../../runtime/loadModel';
import { localPath, toUri, workspaceFolderFor } from '../artifacts';
import type { Engine, ModelOverrides } from '../engine';
import { runWizard } from '../quickPick';
import { isAbsolutePath, readDefaults } from '../settings';
import { modelKind } from './modelSpec';
import { checkOptions, datasetRequest, isUriLike, type CheckedOptions, type Defaults, type PathValue } from './options';

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
export async function datasetCommandOptions(command: 'extract' | 'sweep', a: CommandArg, deps: CommandDeps): Promise<CheckedOptions | undefined> {
  if (a.kind === 'options') return checkOptions(command, a.options);
  const initial: CheckedOptions = a.kind === 'uri' ? { dataset: a.uri } : {};
  const chosen = await runWizard(command, initial, { defaults: readDefaults(hintUri(initial.dataset), deps.log) });
  return chosen && checkOptions(command, chosen);
}

/** The model overrides of a run (relative model paths resolved against the workspace folder; hub ids as given). */
export function modelOverrides(o: CheckedOptions): ModelOverrides {
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

/** Loads the dataset (warnings to the log) and prepares it for the model. */
export async function loadTask(deps: CommandDeps, o: CheckedOptions, d: Defaults, loaded: LoadedModel): Promise<{ task: Task; dataset: Dataset }> {
  const req = datasetRequest(o, d);
  const { source } = datasetSource(req.source);
  const folder = workspaceFolderFor(hintUri(req.source));
  const dataset = await loadDataset(source, {
    ...req.load,
    baseDir: folder?.uri.scheme === 'file' ? folder.uri.fsPath : undefined,
    // The built-ins' data packages ship with the extension.
    stdlibSearchPaths: [deps.context.extensionPath],
  });
  deps.log.info(`Dataset ${dataset.id} (${dataset.source}): labels ${dataset.labels.join(' / ')}; ${Object.entries(dataset.counts).map(([s, c]) => `${c?.rows} ${s}`).join(', ')}`);
  for (const note of dataset.notes) deps.log.info(`  ${note}`);
  for (const w of dataset.warnings) deps.log.warn(w.message);
  return { task: prepareTask(dataset, loaded.tokenizer, loaded.model.info, { bos: req.bos, tokenization: req.tokenization }), dataset };
}

export function timingsOf(stats: RunStats, ms: number) {
  return {
    ms,
    forwardMs: stats.ms,
    forwardPasses: stats.forwardPasses,
    tokens: stats.tokens,
    forwardPassesPerSecond: stats.ms > 0 ? (stats.forwardPasses / stats.ms) * 1000 : 0,
    tokensPerSecond: stats.ms > 0 ? (stats.tokens / stats.ms) * 1000 : 0,
  };
}

/** The model identity in results. */
export function modelJson(loaded: LoadedModel) {
  const i = loaded.model.info;
  return { name: i.name, sha256: i.sha256, nLayers: i.nLayers, dModel: i.dModel, executionProvider: loaded.model.executionProvider, fallbacks: loaded.fallbacks };
}

export function requireFolderOrAbsolute(field: string, value: PathValue | undefined): void {
  if (value === undefined && !vscode.workspace.workspaceFolders?.length) {
    throw new UserError(`no workspace folder is open: open a folder for the artifacts, or give "${field}" as an absolute path`, { field });
  }
}
