import * as vscode from 'vscode';
import type { Engine } from '../engine';
import type { SteerArgs } from './args';
import { InlineController } from './controller';
import { SCHEME, SteerDocuments } from './documents';
import { Heatmap } from './heatmap';
import { SteerLenses } from './lenses';
import { readSettings } from './settings';
import { VectorChoice } from './vectors';

export type { SteerArgs } from './args';
export type { Cancelled, CompareResult, SteerResult } from './controller';

/** The documents inline steering works on: files and untitled documents of any language. */
const SELECTOR: vscode.DocumentSelector = [{ scheme: 'file' }, { scheme: 'untitled' }];

/**
 * Inline prompt steering: lenses above prompt blocks, `iterativeVectors.steerPrompt`,
 * `iterativeVectors.compare` (a diff of `iv-steer:` documents), `iterativeVectors.setStrength`
 * (re-runs the last prompt, debounced), a per-token heatmap with hovers, and the internal
 * commands behind the lenses (`iterativeVectors.inline.showLayers`, `.chooseVector`, `.clear`).
 */
export function registerInline(context: vscode.ExtensionContext, engine: Engine, log: vscode.LogOutputChannel): void {
  const vectors = new VectorChoice(context.workspaceState);
  const documents = new SteerDocuments();
  const heatmap = new Heatmap(() => readSettings().heatmap);
  let controller: InlineController | undefined;
  const lenses = new SteerLenses(() => controller?.lensStatus() ?? { enabled: readSettings().codeLens, strength: readSettings().strength });
  controller = new InlineController(context, engine, log, vectors, documents, heatmap, lenses);
  const c = controller;
  const register = (id: string, fn: (...args: unknown[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  context.subscriptions.push(
    documents,
    heatmap,
    lenses,
    c,
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, documents),
    vscode.languages.registerCodeLensProvider(SELECTOR, lenses),
    vscode.languages.registerHoverProvider(SELECTOR, heatmap),
  );
  register('iterativeVectors.steerPrompt', (args) => c.steerPrompt(args as SteerArgs | undefined));
  register('iterativeVectors.compare', (args) => c.compare(args as SteerArgs | undefined));
  register('iterativeVectors.setStrength', (arg) => c.setStrength(arg));
  register('iterativeVectors.inline.chooseVector', () => c.chooseVector());
  register('iterativeVectors.inline.showLayers', () => c.showLayers());
  register('iterativeVectors.inline.clear', (uri) => c.clear(uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri));
}
