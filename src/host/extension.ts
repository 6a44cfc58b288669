import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { Engine } from './engine';
import { registerInline } from './inline';
import { registerPanel } from './panel';
import { VectorEditorProvider } from './vectorEditor';

/**
 * Extension entry: the log channel, the lazily loaded engine, the commands, the vector editor, the
 * layer panel and inline steering. Activation is by command and custom editor only: nothing runs
 * until the user (or another extension) asks for it. No telemetry.
 */
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Iterative Vectors', { log: true });
  const engine = new Engine(context, log);
  context.subscriptions.push(log, engine);
  registerCommands(context, engine, log);
  context.subscriptions.push(VectorEditorProvider.register(log));
  registerPanel(context, engine, log);
  registerInline(context, engine, log);
}

export function deactivate(): void {}
