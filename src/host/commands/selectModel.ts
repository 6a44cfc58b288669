import * as vscode from 'vscode';
import { UserError } from '../../core/errors';
import { exists, toUri } from '../artifacts';
import { runCommand, type Cancelled } from '../run';
import { SECTION } from '../settings';
import { classifyArg, type CommandDeps } from './common';
import { checkOptions, type CheckedOptions } from './options';

/** What `iterativeVectors.selectModel` returns: the model and device settings now in effect. */
export interface SelectModelResult {
  command: 'selectModel';
  model: string;
  device: string;
}

/**
 * `iterativeVectors.selectModel`: the embedded default (stories15M) or a llama2.c checkpoint
 * (.bin) chosen in an open dialog, written to the machine-scoped user setting
 * `iterativeVectors.model` (the engine reloads on the change). Programmatic: `{ model, device? }`.
 */
export function selectModelCommand(deps: CommandDeps, arg?: unknown): Promise<SelectModelResult | Cancelled | undefined> {
  const a = classifyArg(arg);
  return runCommand('select model', deps.log, a.kind !== 'options', async () => {
    let o: CheckedOptions;
    if (a.kind === 'options') o = checkOptions('selectModel', a.options);
    else if (a.kind === 'uri') o = { model: a.uri.fsPath };
    else {
      const model = await pickModel();
      if (model === undefined) return undefined;
      o = { model };
    }
    const config = vscode.workspace.getConfiguration(SECTION);
    if (o.model !== undefined) {
      const model = o.model === 'default' ? 'default' : await checkpointPath(o.model);
      if (model !== config.get<string>('model')) await config.update('model', model, vscode.ConfigurationTarget.Global);
      deps.log.info(`Model set to ${model}.`);
    }
    if (o.device !== undefined && o.device !== config.get<string>('device')) {
      await config.update('device', o.device, vscode.ConfigurationTarget.Global);
      deps.log.info(`Device set to ${o.device}.`);
    }
    const now = vscode.workspace.getConfiguration(SECTION);
    const result: SelectModelResult = { command: 'selectModel', model: now.get<string>('model', 'default') || 'default', device: now.get<string>('device', 'cpu') };
    if (a.kind !== 'options') void vscode.window.showInformationMessage(`Iterative Vectors: model ${result.model === 'default' ? 'stories15M (embedded default)' : result.model} on ${result.device}; it loads on the next run.`);
    return result;
  });
}

async function checkpointPath(model: string): Promise<string> {
  const uri = toUri(model, vscode.workspace.workspaceFolders?.[0]?.uri, 'model');
  if (uri.scheme !== 'file') throw new UserError('a model checkpoint must be a local file', { field: 'model', file: uri.toString() });
  if (!(await exists(uri))) throw new UserError('no such file (give "default" or the path of a llama2.c checkpoint .bin)', { field: 'model', file: uri.fsPath });
  return uri.fsPath;
}

async function pickModel(): Promise<string | undefined> {
  const current = vscode.workspace.getConfiguration(SECTION).get<string>('model', 'default') || 'default';
  type V = 'default' | 'browse' | 'current';
  const items: (vscode.QuickPickItem & { value: V })[] = [
    { label: `${current === 'default' ? '$(check)' : '$(package)'} Embedded default: stories15M`, description: 'TinyStories, llama2.c (MIT); fetched once through npm and cached', value: 'default' },
    { label: '$(file-binary) llama2.c checkpoint (.bin)…', description: 'a tokenizer.bin beside it is used, else the Llama 2 tokenizer of the default', value: 'browse' },
  ];
  if (current !== 'default') items.unshift({ label: `$(check) ${current}`, description: 'current', value: 'current' });
  const choice = await vscode.window.showQuickPick(items, { title: 'Iterative Vectors: Select Model', placeHolder: 'The model every command runs (a machine setting)' });
  if (!choice) return undefined;
  if (choice.value === 'default') return 'default';
  if (choice.value === 'current') return current;
  const files = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'llama2.c checkpoints': ['bin'] }, title: 'llama2.c checkpoint' });
  return files?.[0]?.fsPath;
}
