import * as vscode from 'vscode';
import { UserError } from '../../core/errors';
import { toUri } from '../artifacts';
import { runCommand, type Cancelled } from '../run';
import { modelSettings, SECTION } from '../settings';
import { classifyArg, type CommandDeps } from './common';
import { hubIdProblem, MODEL_SETTING_KEYS, modelFileProblem, modelFolderProblem, modelKind, modelLabel, type ModelSettings } from './modelSpec';
import type { CheckedOptions } from '../../core/experiment/spec';
import { checkCommandOptions } from './common';

/** What the model setting names. */
export type ModelSource = 'default' | 'llama2c' | 'onnx' | 'folder' | 'hub';

/** What `iterativeVectors.selectModel` returns: the model settings now in effect. */
export interface SelectModelResult extends ModelSettings {
  command: 'selectModel';
  source: ModelSource;
}

const NOT_FOUND =
  'no such file or folder (give "default", a llama2.c checkpoint .bin, an exported model folder or .onnx file, or a hub id owner/name[@revision])';

/**
 * `iterativeVectors.selectModel`: the embedded default (stories15M), a llama2.c checkpoint (.bin),
 * an exported model folder (Transformers.js / Optimum or onnxruntime-genai layout) or .onnx file,
 * or a Hugging Face hub id, written to the machine-scoped user setting `iterativeVectors.model`
 * (the engine reloads on the change). Programmatic: `{ model?, device?, dtype?, offline?,
 * sitePattern?, tokenizer? }`; a path (absolute, or relative to the first workspace folder) must
 * exist and is stored absolute, a hub id is stored as given. Changing the model clears a site
 * pattern that was set for the previous one (unless `sitePattern` is given too).
 */
export function selectModelCommand(deps: CommandDeps, arg?: unknown): Promise<SelectModelResult | Cancelled | undefined> {
  const a = classifyArg(arg);
  return runCommand('select model', deps.log, a.kind !== 'options', async () => {
    let o: CheckedOptions;
    if (a.kind === 'options') o = checkCommandOptions('selectModel', a.options);
    else if (a.kind === 'uri') o = { model: a.uri.fsPath };
    else {
      const model = await pickModel();
      if (model === undefined) return undefined;
      o = { model };
    }
    const config = vscode.workspace.getConfiguration(SECTION);
    const before = modelSettings();
    const write = async (field: keyof ModelSettings, value: unknown) => {
      await config.update(MODEL_SETTING_KEYS[field], value, vscode.ConfigurationTarget.Global);
    };
    if (o.model !== undefined) {
      const model = await resolveModel(o.model);
      if (model !== before.model) {
        await write('model', model);
        if (o.sitePattern === undefined && before.sitePattern !== '') {
          await write('sitePattern', undefined);
          deps.log.info(`Cleared iterativeVectors.sitePattern ("${before.sitePattern}"): it named the sites of the previous model.`);
        }
      }
      deps.log.info(`Model set to ${model}.`);
    }
    for (const field of ['device', 'dtype', 'offline', 'sitePattern', 'tokenizer'] as const) {
      const value = o[field];
      if (value === undefined || value === modelSettings()[field]) continue;
      await write(field, field === 'sitePattern' && value === '' ? undefined : value);
      deps.log.info(`Setting iterativeVectors.${MODEL_SETTING_KEYS[field]} set to ${JSON.stringify(value)}.`);
    }
    const now = modelSettings();
    const result: SelectModelResult = { command: 'selectModel', ...now, source: sourceOf(now.model) };
    if (a.kind !== 'options') {
      const hub = result.source === 'hub' ? ` (variant ${now.dtype}${now.offline ? ', offline' : ''}; settings iterativeVectors.hub.*)` : '';
      void vscode.window.showInformationMessage(`Iterative Vectors: model ${modelLabel(now.model)}${hub} on ${now.device}; it loads on the next run.`);
    }
    return result;
  });
}

/** "default", a hub id (as given), or the absolute path of a local model that exists and looks loadable. */
async function resolveModel(model: string): Promise<string> {
  const kind = modelKind(model);
  if (kind === 'default') return 'default';
  const base = vscode.workspace.workspaceFolders?.[0]?.uri;
  if (kind === 'hub') {
    // A folder of that name in the workspace is a path, as the runtime prefers an existing path to a hub id.
    const local = base?.scheme === 'file' ? vscode.Uri.joinPath(base, ...model.split('/')) : undefined;
    if (local && (await statOf(local))) return checkLocal(local);
    return model;
  }
  return checkLocal(toUri(model, base, 'model'));
}

async function statOf(uri: vscode.Uri): Promise<vscode.FileStat | undefined> {
  try {
    return await vscode.workspace.fs.stat(uri);
  } catch {
    return undefined;
  }
}

/** The local model's path, after checking that it is a .bin / .onnx file or an exported model folder. */
async function checkLocal(uri: vscode.Uri): Promise<string> {
  if (uri.scheme !== 'file')
    throw new UserError(`${uri.toString()} is not on the local file system; models are read with Node.js and ONNX Runtime`, { field: 'model' });
  const stat = await statOf(uri);
  if (!stat) throw new UserError(NOT_FOUND, { field: 'model', file: uri.fsPath });
  if (stat.type & vscode.FileType.Directory) {
    const names = async (dir: vscode.Uri) => (await vscode.workspace.fs.readDirectory(dir)).map(([name]) => name);
    const entries = await names(uri);
    const onnxDir = vscode.Uri.joinPath(uri, 'onnx');
    const onnxEntries = entries.includes('onnx') && ((await statOf(onnxDir))?.type ?? 0) & vscode.FileType.Directory ? await names(onnxDir) : undefined;
    const problem = modelFolderProblem(uri.fsPath, entries, onnxEntries);
    if (problem) throw new UserError(problem, { field: 'model' });
    return uri.fsPath;
  }
  const problem = modelFileProblem(uri.fsPath);
  if (problem) throw new UserError(problem, { field: 'model' });
  return uri.fsPath;
}

function sourceOf(model: string): ModelSource {
  const kind = modelKind(model);
  if (kind === 'default') return 'default';
  if (kind === 'hub') return 'hub';
  if (/\.bin$/i.test(model)) return 'llama2c';
  if (/\.onnx$/i.test(model)) return 'onnx';
  return 'folder';
}

async function pickModel(): Promise<string | undefined> {
  const current = modelSettings().model;
  type V = 'default' | 'bin' | 'folder' | 'onnx' | 'hub' | 'current';
  const items: (vscode.QuickPickItem & { value: V })[] = [
    {
      label: `${current === 'default' ? '$(check)' : '$(package)'} Embedded default: stories15M`,
      description: 'TinyStories, llama2.c (MIT); fetched once through npm and cached',
      value: 'default',
    },
    {
      label: '$(file-binary) llama2.c checkpoint (.bin)…',
      description: 'a tokenizer.bin beside it is used, else the Llama 2 tokenizer of the default',
      value: 'bin',
    },
    {
      label: '$(folder) Exported model folder…',
      description: 'Transformers.js / Optimum (config.json + onnx/*.onnx) or onnxruntime-genai (genai_config.json)',
      value: 'folder',
    },
    { label: '$(file) ONNX decoder file (.onnx)…', description: 'one graph of an exported model; its folder gives the tokenizer', value: 'onnx' },
    {
      label: '$(cloud-download) Hugging Face hub model id…',
      description: 'owner/name[@revision]: downloaded once into the extension storage (settings iterativeVectors.hub.*)',
      value: 'hub',
    },
  ];
  if (current !== 'default') items.unshift({ label: `$(check) ${current}`, description: 'current', value: 'current' });
  const choice = await vscode.window.showQuickPick(items, {
    title: 'Iterative Vectors: Select Model',
    placeHolder: 'The model every command runs (a machine setting)',
  });
  if (!choice) return undefined;
  switch (choice.value) {
    case 'default':
      return 'default';
    case 'current':
      return current;
    case 'bin': {
      const files = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'llama2.c checkpoints': ['bin'] }, title: 'llama2.c checkpoint' });
      return files?.[0]?.fsPath;
    }
    case 'onnx': {
      const files = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, title: 'ONNX decoder file' });
      return files?.[0]?.fsPath;
    }
    case 'folder': {
      const folders = await vscode.window.showOpenDialog({
        canSelectMany: false,
        canSelectFiles: false,
        canSelectFolders: true,
        title: 'Exported model folder',
        openLabel: 'Select Model Folder',
      });
      return folders?.[0]?.fsPath;
    }
    case 'hub': {
      const id = await vscode.window.showInputBox({
        title: 'Iterative Vectors: Hugging Face hub model id',
        prompt: 'owner/name or owner/name@revision of a repo with an ONNX export (onnx/model*.onnx), e.g. onnx-community/SmolLM2-135M-Instruct',
        placeHolder: 'owner/name[@revision]',
        value: modelKind(current) === 'hub' ? current : '',
        ignoreFocusOut: true,
        validateInput: (text) => hubIdProblem(text),
      });
      return id?.trim() || undefined;
    }
  }
}
