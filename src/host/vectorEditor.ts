import { nonce } from './panel/html';
import * as vscode from 'vscode';
import { displayPath, fileName, readArtifactUri } from './artifacts';
import { actionOfMessage, EDITOR_ACTIONS, renderErrorPage, renderVectorPage, VECTOR_EDITOR_VIEW_TYPE } from './vectorEditorHtml';

export { VECTOR_EDITOR_VIEW_TYPE } from './vectorEditorHtml';

class VectorDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {}
}

/**
 * Read-only editor for `*.ivec.safetensors`: the artifact's provenance, per-layer norms of each
 * row and cosines between class rows, with buttons that run evaluate / steer / export / show
 * layers with the file. Re-renders when the file changes on disk.
 */
export class VectorEditorProvider implements vscode.CustomReadonlyEditorProvider<VectorDocument> {
  static register(log: vscode.LogOutputChannel): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(VECTOR_EDITOR_VIEW_TYPE, new VectorEditorProvider(log), {
      webviewOptions: { retainContextWhenHidden: false },
      supportsMultipleEditorsPerDocument: true,
    });
  }

  constructor(private readonly log: vscode.LogOutputChannel) {}

  openCustomDocument(uri: vscode.Uri): VectorDocument {
    return new VectorDocument(uri);
  }

  async resolveCustomEditor(document: VectorDocument, panel: vscode.WebviewPanel): Promise<void> {
    panel.webview.options = { enableScripts: true, enableCommandUris: false, localResourceRoots: [] };
    const render = async () => {
      const o = { cspSource: panel.webview.cspSource, nonce: nonce(), fileName: fileName(document.uri), available: await availableCommands() };
      try {
        panel.webview.html = renderVectorPage(await readArtifactUri(document.uri), o);
      } catch (e) {
        this.log.warn(`${displayPath(document.uri)}: ${(e as Error).message}`);
        panel.webview.html = renderErrorPage((e as Error).message, o);
      }
    };
    const disposables: vscode.Disposable[] = [];
    panel.webview.onDidReceiveMessage(
      (msg) => {
        const action = actionOfMessage(msg);
        if (!action) return;
        const a = EDITOR_ACTIONS[action];
        void vscode.commands.executeCommand(a.command, a.arg === 'vector' ? { vector: document.uri } : document.uri);
      },
      undefined,
      disposables,
    );
    // Re-render when the artifact is rewritten (an extraction writing over it).
    if (document.uri.scheme === 'file' || vscode.workspace.getWorkspaceFolder(document.uri)) {
      const folder = vscode.Uri.joinPath(document.uri, '..');
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, fileName(document.uri)));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const later = () => {
        clearTimeout(timer);
        timer = setTimeout(() => void render(), 200);
      };
      disposables.push(watcher, watcher.onDidChange(later), watcher.onDidCreate(later), { dispose: () => clearTimeout(timer) });
    }
    panel.onDidDispose(() => disposables.forEach((d) => d.dispose()));
    await render();
  }
}

/** Commands registered now: buttons whose command another part has not registered are disabled. */
async function availableCommands(): Promise<ReadonlySet<string>> {
  const all = await vscode.commands.getCommands(true);
  return new Set(all.filter((c) => c.startsWith('iterativeVectors.')));
}
