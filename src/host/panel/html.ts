import { escapeHtml } from '../vectorEditorHtml';
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/** A fresh nonce for the script tag (base64 of 16 random bytes). */
export function nonce(): string {
  return randomBytes(16).toString('base64');
}

/** The folders the panel may load from. */
export function localResourceRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')];
}

/**
 * The panel's document: a strict CSP (nothing but our stylesheet and our one nonce'd script), the
 * bundle `dist/webview.js` and `media/panel.css` through `asWebviewUri`. The app builds its DOM itself.
 */
export function panelHtml(webview: vscode.Webview, extensionUri: vscode.Uri, title: string): string {
  const n = nonce();
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'panel.css'));
  const csp = [`default-src 'none'`, `img-src ${webview.cspSource}`, `style-src ${webview.cspSource}`, `script-src 'nonce-${n}'`].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>${escapeHtml(title)}</title>
</head>
<body>
<main id="app"></main>
<script nonce="${n}" src="${script}"></script>
</body>
</html>`;
}
