import * as vscode from 'vscode';
import type { TokenEffect } from '../../core/steering';
import type { HeatmapMetric } from './settings';
import { COMMAND_IDS } from '../commandIds';

/** Grades of the heatmap: background opacity grows with the token's effect (relative to the prompt's largest). */
const LEVELS = 8;
const BARS = '▁▂▃▄▅▆▇█';

/** One prompt token in the document with its effect. */
export interface TokenMark {
  range: vscode.Range;
  effect: TokenEffect;
}

/** What the last run left on a document: the heatmap, the ghost text and what the hover shows. */
export interface DocumentMarks {
  uri: string;
  version: number;
  block: vscode.Range;
  tokens: TokenMark[];
  ghost: string;
  /** Shown in hovers: vector, row, strength. */
  caption: string;
  /** Arguments of the compare command for this prompt (for the hover's link). */
  compareArgs: unknown;
}

export function effectValue(e: TokenEffect, metric: HeatmapMetric): number {
  return metric === 'kl' ? e.kl : (e.residDelta[e.residDelta.length - 1] ?? 0);
}

/** Heatmap decorations (graded opacity), the after-text with the steered completion, and hovers over the tokens. */
export class Heatmap implements vscode.HoverProvider, vscode.Disposable {
  private readonly levels: vscode.TextEditorDecorationType[];
  private readonly ghost: vscode.TextEditorDecorationType;
  private readonly marks = new Map<string, DocumentMarks>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private metric: () => HeatmapMetric) {
    this.levels = Array.from({ length: LEVELS }, (_, k) => {
      const alpha = (0.1 + (0.55 * k) / (LEVELS - 1)).toFixed(2);
      return vscode.window.createTextEditorDecorationType({
        backgroundColor: `rgba(255, 120, 0, ${alpha})`,
        borderRadius: '2px',
        overviewRulerColor: k >= LEVELS - 2 ? 'rgba(255, 120, 0, 0.8)' : undefined,
        overviewRulerLane: vscode.OverviewRulerLane.Right,
      });
    });
    this.ghost = vscode.window.createTextEditorDecorationType({
      after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), fontStyle: 'italic', margin: '0 0 0 1.5em' },
      rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
    });
    this.subscriptions.push(
      vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((e) => this.apply(e))),
      vscode.workspace.onDidChangeTextDocument((e) => {
        // Token ranges go stale as soon as the text changes: drop the marks of that document.
        if (e.contentChanges.length && this.marks.has(e.document.uri.toString())) this.clear(e.document.uri);
      }),
      vscode.workspace.onDidCloseTextDocument((d) => this.marks.delete(d.uri.toString())),
    );
  }

  set(marks: DocumentMarks): void {
    this.marks.set(marks.uri, marks);
    for (const editor of vscode.window.visibleTextEditors) if (editor.document.uri.toString() === marks.uri) this.apply(editor);
  }

  get(uri: vscode.Uri): DocumentMarks | undefined {
    return this.marks.get(uri.toString());
  }

  clear(uri?: vscode.Uri): void {
    if (uri) this.marks.delete(uri.toString());
    else this.marks.clear();
    for (const editor of vscode.window.visibleTextEditors) if (!uri || editor.document.uri.toString() === uri.toString()) this.apply(editor);
  }

  /** Re-applies every document's heatmap (after the metric setting changes). */
  refresh(): void {
    vscode.window.visibleTextEditors.forEach((e) => this.apply(e));
  }

  private apply(editor: vscode.TextEditor): void {
    const m = this.marks.get(editor.document.uri.toString());
    const buckets: vscode.Range[][] = this.levels.map(() => []);
    if (m && m.version === editor.document.version) {
      const metric = this.metric();
      const edited = m.tokens.filter((t) => t.effect.edited);
      const max = Math.max(0, ...edited.map((t) => effectValue(t.effect, metric)).filter(Number.isFinite));
      for (const t of edited) {
        const v = effectValue(t.effect, metric);
        const x = max > 0 ? (Number.isFinite(v) ? v / max : 1) : 0;
        if (x <= 0.02) continue;
        buckets[Math.min(LEVELS - 1, Math.floor(x * LEVELS))].push(t.range);
      }
    }
    this.levels.forEach((type, k) => editor.setDecorations(type, buckets[k]));
    const ghost: vscode.DecorationOptions[] =
      m && m.version === editor.document.version && m.ghost
        ? [{ range: new vscode.Range(m.block.end, m.block.end), renderOptions: { after: { contentText: m.ghost } } }]
        : [];
    editor.setDecorations(this.ghost, ghost);
  }

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const m = this.marks.get(document.uri.toString());
    if (!m || m.version !== document.version || !m.block.contains(position)) return undefined;
    const hit = m.tokens.find((t) => t.range.contains(position) && !t.range.isEmpty && !(t.range.end.isEqual(position) && t.range.end.character > 0));
    if (!hit) return undefined;
    const maxDelta = Math.max(1e-12, ...m.tokens.flatMap((t) => t.effect.residDelta));
    return new vscode.Hover(hoverMarkdown(hit.effect, maxDelta, m), hit.range);
  }

  dispose(): void {
    this.levels.forEach((d) => d.dispose());
    this.ghost.dispose();
    this.subscriptions.forEach((d) => d.dispose());
    this.marks.clear();
  }
}

/** A bar of one of 8 heights for x in [0, 1]. */
export function bar(x: number): string {
  if (!(x > 0)) return ' ';
  return BARS[Math.min(BARS.length - 1, Math.floor(x * BARS.length))];
}

const pct = (p: number) => (p >= 0.1 ? `${(100 * p).toFixed(1)}%` : p >= 0.0001 ? `${(100 * p).toFixed(2)}%` : `${(100 * p).toExponential(0)}%`);
const code = (s: string) => '`' + JSON.stringify(s).slice(1, -1).replace(/`/g, 'ˋ').replace(/\|/g, '¦') + '`';

function hoverMarkdown(e: TokenEffect, maxDelta: number, m: DocumentMarks): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.isTrusted = { enabledCommands: [COMMAND_IDS.compare, COMMAND_IDS.setStrength] };
  md.appendMarkdown(`**${code(e.text)}** · position ${e.position} · KL ${e.kl.toFixed(3)} nats${e.edited ? '' : ' · not steered here'}\n\n`);
  const lines = e.residDelta.map((d, l) => {
    const rel = e.residNorm[l] > 0 ? ` (${((100 * d) / e.residNorm[l]).toFixed(0)}% of ‖resid‖)` : '';
    return `L${String(l).padEnd(2)} ${bar(d / maxDelta).repeat(1)} ${d.toFixed(3).padStart(8)}${rel}`;
  });
  md.appendMarkdown('‖Δ resid_post‖ per layer:\n');
  md.appendCodeblock(lines.join('\n'), 'text');
  if (e.top.length) {
    md.appendMarkdown('\n| next token | unsteered | steered |\n|---|---:|---:|\n');
    for (const t of e.top) md.appendMarkdown(`| ${code(t.text)} | ${pct(t.before)} | ${pct(t.after)} |\n`);
  }
  const args = encodeURIComponent(JSON.stringify([m.compareArgs]));
  md.appendMarkdown(`\n${m.caption} · [Compare](command:iterativeVectors.compare?${args}) · [Strength…](command:iterativeVectors.setStrength)\n\n`);
  md.appendMarkdown(
    '_The heatmap steers at every prompt token (to show where the vector acts); the completions steer the last prompt token and every new one._',
  );
  return md;
}
