import * as vscode from 'vscode';
import { promptBlocks, type PromptBlock } from '../../core/steering';
import { COMMAND_IDS } from '../commandIds';

/** Documents longer than this get no lenses (a log file is not a prompt). */
const MAX_LINES = 20_000;
const MAX_BLOCKS = 500;

/** A prompt range as plain JSON (what lens and hover links pass to the commands). */
export interface PlainRange {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

export function plainRange(r: vscode.Range): PlainRange {
  return { start: { line: r.start.line, character: r.start.character }, end: { line: r.end.line, character: r.end.character } };
}

/** The text range of a block: from the first character of its first line to the end of its last. */
export function blockRange(document: vscode.TextDocument, b: PromptBlock): vscode.Range {
  return new vscode.Range(b.startLine, 0, b.endLine, document.lineAt(b.endLine).text.length);
}

export function documentBlocks(document: vscode.TextDocument): PromptBlock[] {
  if (document.lineCount > MAX_LINES) return [];
  const lines = Array.from({ length: document.lineCount }, (_, i) => document.lineAt(i).text);
  return promptBlocks(lines, { markdown: document.languageId === 'markdown', maxBlocks: MAX_BLOCKS });
}

/**
 * Lenses above each prompt block (paragraphs; fenced blocks in Markdown) and above a non-empty
 * selection: "Run steered", "Compare", "Show layers". Titles show the strength; refreshed when the
 * selection, the strength or the settings change.
 */
export class SteerLenses implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private hadSelection = false;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly status: () => { enabled: boolean; strength: number }) {
    this.subscriptions.push(
      vscode.window.onDidChangeTextEditorSelection((e) => {
        // Only a non-empty selection (or one that just became empty) changes the lenses.
        const has = e.selections.some((s) => !s.isEmpty);
        if (has || this.hadSelection) this.refresh(250);
        this.hadSelection = has;
      }),
    );
  }

  refresh(delayMs = 0): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.changed.fire(), delayMs);
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const { enabled, strength } = this.status();
    if (!enabled) return [];
    const a = `a=${strength}`;
    const lenses: vscode.CodeLens[] = [];
    const add = (anchor: vscode.Range, range: vscode.Range, label: string) => {
      const args = { uri: document.uri.toString(), range: plainRange(range), source: 'codelens' };
      lenses.push(
        new vscode.CodeLens(anchor, {
          title: `$(play) Run steered${label} (${a})`,
          command: COMMAND_IDS.steerPrompt,
          arguments: [args],
          tooltip: 'Steered and unsteered completions, and a per-token heatmap of where the vector acts',
        }),
        new vscode.CodeLens(anchor, {
          title: `Compare${label}`,
          command: COMMAND_IDS.compare,
          arguments: [args],
          tooltip: 'Diff of the unsteered and steered completions',
        }),
        new vscode.CodeLens(anchor, {
          title: 'Show layers',
          command: COMMAND_IDS.inlineShowLayers,
          arguments: [],
          tooltip: 'Per-layer view of the steering vector',
        }),
      );
    };
    const selection = vscode.window.activeTextEditor?.document === document ? vscode.window.activeTextEditor.selection : undefined;
    if (selection && !selection.isEmpty) {
      add(new vscode.Range(selection.start.line, 0, selection.start.line, 0), new vscode.Range(selection.start, selection.end), ' (selection)');
    }
    for (const b of documentBlocks(document)) {
      if (selection && !selection.isEmpty && b.anchorLine === selection.start.line) continue;
      add(new vscode.Range(b.anchorLine, 0, b.anchorLine, 0), blockRange(document, b), '');
    }
    return lenses;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.changed.dispose();
    this.subscriptions.forEach((d) => d.dispose());
  }
}
