import * as vscode from 'vscode';
import type { Engine } from '../engine';
import type { SteerArgs } from './args';
import { InlineController } from './controller';
import { SCHEME, SteerDocuments } from './documents';
import { Heatmap } from './heatmap';
import { SteerLenses } from './lenses';
import { readSettings } from './settings';
import { VectorChoice } from './vectors';
import { COMMAND_IDS } from '../commandIds';

export type { SteerArgs } from './args';
export type { CompareResult, SteerResult } from './controller';
export type { Cancelled } from '../runLifecycle';

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
  // The lenses ask the controller, which needs the lenses: it is assigned right after.
  const ref: { controller?: InlineController } = {};
  const lenses = new SteerLenses(() => ref.controller?.lensStatus() ?? { enabled: readSettings().codeLens, strength: readSettings().strength });
  const controller = (ref.controller = new InlineController(context, engine, log, vectors, documents, heatmap, lenses));
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
  register(COMMAND_IDS.steerPrompt, (args) => c.steerPrompt(args as SteerArgs | undefined));
  register(COMMAND_IDS.compare, (args) => c.compare(args as SteerArgs | undefined));
  register(COMMAND_IDS.setStrength, (arg) => c.setStrength(arg));
  register(COMMAND_IDS.chooseVector, () => c.chooseVector());
  register(COMMAND_IDS.inlineShowLayers, () => c.showLayers());
  register(COMMAND_IDS.clearHeatmap, (uri) => c.clear(uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri));
}
