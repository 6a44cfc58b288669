import type * as vscode from 'vscode';

/** Extension entry. The commands arrive with the extension issue; the engine is usable from the CLI. */
export function activate(_context: vscode.ExtensionContext): void {}

export function deactivate(): void {}
