import * as vscode from 'vscode';

export const SCHEME = 'iv-steer';

/**
 * Read-only virtual documents `iv-steer:/<id>/unsteered.txt` and `iv-steer:/<id>/steered.txt` (prompt
 * followed by its completion) for `vscode.diff`. The URIs are stable per prompt, so a re-run (a new
 * strength) updates an open diff in place.
 */
export class SteerDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private readonly ids = new Map<string, number>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '(this steering result is gone: run it again)';
  }

  /** The pair of URIs for the prompt identified by `key` (any string: source uri + block). */
  uris(key: string): { unsteered: vscode.Uri; steered: vscode.Uri } {
    let id = this.ids.get(key);
    if (id === undefined) this.ids.set(key, (id = this.ids.size + 1));
    return {
      unsteered: vscode.Uri.from({ scheme: SCHEME, path: `/${id}/unsteered.txt` }),
      steered: vscode.Uri.from({ scheme: SCHEME, path: `/${id}/steered.txt` }),
    };
  }

  set(uri: vscode.Uri, text: string): void {
    const k = uri.toString();
    if (this.contents.get(k) === text) return;
    this.contents.set(k, text);
    this.changed.fire(uri);
  }

  dispose(): void {
    this.changed.dispose();
  }
}
