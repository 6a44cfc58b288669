import * as vscode from 'vscode';
import type { Engine } from '../engine';
import { SHOW_LOG_COMMAND } from '../run';
import type { CommandDeps } from './common';
import { evaluateCommand } from './evaluate';
import { exportGgufCommand } from './exportGguf';
import { extractCommand } from './extract';
import { selectModelCommand } from './selectModel';
import { sweepCommand } from './sweep';

export type { ExtractCommandResult } from './extract';
export type { EvaluateCommandResult } from './evaluate';
export type { SweepCommandResult } from './sweep';
export type { SelectModelResult } from './selectModel';
export type { ExportGgufResult } from './exportGguf';
export type { Cancelled } from '../run';

/**
 * The commands this module registers. Each takes, as its first argument, an options object (the
 * CLI's flags in camelCase; no prompts; unknown fields are an error naming the field), a URI (from
 * the explorer or the vector editor; prompts for the rest), or nothing (palette: a QuickPick seeded
 * from the settings), and returns a plain JSON result (undefined when dismissed, `{ cancelled: true }`
 * when a programmatic run was cancelled). See options.ts for the fields.
 */
export const COMMANDS = {
  extract: 'iterativeVectors.extract',
  evaluate: 'iterativeVectors.evaluate',
  sweep: 'iterativeVectors.sweep',
  selectModel: 'iterativeVectors.selectModel',
  exportGguf: 'iterativeVectors.exportGguf',
  showLog: SHOW_LOG_COMMAND,
} as const;

/**
 * Hook points: commands contributed in package.json whose implementations live elsewhere and are
 * registered there, not here. `registerPanel` (src/host/panel) registers showLayers;
 * `registerInline` (src/host/inline) registers steerPrompt and compare. The vector editor's buttons
 * run them with the file (`showLayers(uri)`, `steerPrompt({ vector: uri })`) and are disabled while
 * they are not registered.
 */
export const EXTERNAL_COMMANDS = {
  showLayers: { id: 'iterativeVectors.showLayers', registeredBy: 'registerPanel (src/host/panel)' },
  steerPrompt: { id: 'iterativeVectors.steerPrompt', registeredBy: 'registerInline (src/host/inline)' },
  compare: { id: 'iterativeVectors.compare', registeredBy: 'registerInline (src/host/inline)' },
} as const;

/** Registers extract, evaluate, sweep, selectModel, exportGguf and showLog. */
export function registerCommands(context: vscode.ExtensionContext, engine: Engine, log: vscode.LogOutputChannel): void {
  const deps: CommandDeps = { context, engine, log };
  const register = (id: string, fn: (arg?: unknown) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  register(COMMANDS.extract, (arg) => extractCommand(deps, arg));
  register(COMMANDS.evaluate, (arg) => evaluateCommand(deps, arg));
  register(COMMANDS.sweep, (arg) => sweepCommand(deps, arg));
  register(COMMANDS.selectModel, (arg) => selectModelCommand(deps, arg));
  register(COMMANDS.exportGguf, (arg) => exportGgufCommand(deps, arg));
  register(COMMANDS.showLog, () => log.show(true));
}
