import * as vscode from 'vscode';
import type { Engine } from '../engine';
import { COMMAND_IDS } from '../commandIds';
import type { CommandDeps } from './common';
import { evaluateCommand } from './evaluate';
import { exportGgufCommand } from './exportGguf';
import { extractCommand } from './extract';
import { selectModelCommand } from './selectModel';
import { sweepCommand } from './sweep';
import { compareMethodsCommand } from './compareMethods';
import { rerunCommand } from './rerun';

export type { ExtractCommandResult } from './extract';
export type { EvaluateCommandResult } from './evaluate';
export type { SweepCommandResult } from './sweep';
export type { CompareCommandResult } from './compareMethods';
export type { RerunCommandResult } from './rerun';
export type { SelectModelResult } from './selectModel';
export type { ExportGgufResult } from './exportGguf';
export type { Cancelled } from '../run';

/**
 * The commands this module registers. Each takes, as its first argument, an options object (the
 * CLI's flags in camelCase; no prompts; unknown fields are an error naming the field), a URI (from
 * the explorer or the vector editor; prompts for the rest), or nothing (palette: a QuickPick seeded
 * from the settings), and returns a plain JSON result (undefined when dismissed, `{ cancelled: true }`
 * when a programmatic run was cancelled). The fields are the experiment spec's (src/core/experiment/spec).
 * Registers extract, evaluate, sweep, compareMethods, rerun, selectModel, exportGguf and showLog.
 */
export function registerCommands(context: vscode.ExtensionContext, engine: Engine, log: vscode.LogOutputChannel): void {
  const deps: CommandDeps = { context, engine, log };
  const register = (id: string, fn: (arg?: unknown) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  register(COMMAND_IDS.extract, (arg) => extractCommand(deps, arg));
  register(COMMAND_IDS.evaluate, (arg) => evaluateCommand(deps, arg));
  register(COMMAND_IDS.sweep, (arg) => sweepCommand(deps, arg));
  register(COMMAND_IDS.compareMethods, (arg) => compareMethodsCommand(deps, arg));
  register(COMMAND_IDS.rerun, (arg) => rerunCommand(deps, arg));
  register(COMMAND_IDS.selectModel, (arg) => selectModelCommand(deps, arg));
  register(COMMAND_IDS.exportGguf, (arg) => exportGgufCommand(deps, arg));
  register(COMMAND_IDS.showLog, () => log.show(true));
}
