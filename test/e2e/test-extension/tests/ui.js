// The Playwright side of the harness: command palette, screenshots, clicks inside a webview.
'use strict';

module.exports = {
  'command palette: View: Toggle Terminal opens a terminal': async (vscode, t) => {
    const before = vscode.window.terminals.length;
    const opened = new Promise((resolve) => {
      const sub = vscode.window.onDidOpenTerminal((term) => (sub.dispose(), resolve(term)));
    });
    await t.ui.command('View: Toggle Terminal');
    await t.waitFor(() => vscode.window.terminals.length > before, { timeout: 15_000, message: 'no terminal opened' });
    const term = await opened;
    t.assert.ok(await term.processId, 'the terminal has no shell process');
    await t.ui.screenshot('terminal-open');
    await t.ui.command('View: Toggle Terminal'); // hide the panel again
    term.dispose();
  },

  'webview: a click inside the webview reaches the extension': async (vscode, t) => {
    const panel = vscode.window.createWebviewPanel('ivE2eProbe', 'E2E probe', vscode.ViewColumn.One, { enableScripts: true });
    try {
      const clicked = new Promise((resolve) => panel.webview.onDidReceiveMessage(resolve));
      panel.webview.html = `<!DOCTYPE html><html><body>
        <h1 id="title">E2E probe</h1><button id="probe">Press me</button><p id="out"></p>
        <script>
          const vscode = acquireVsCodeApi();
          document.getElementById('probe').addEventListener('click', () => {
            document.getElementById('out').textContent = 'clicked';
            vscode.postMessage({ clicked: true });
          });
        </script></body></html>`;
      t.assert.equal(await t.ui.text('#title', { webview: true }), 'E2E probe');
      await t.ui.click('#probe', { webview: true });
      t.assert.deepEqual(await Promise.race([clicked, t.sleep(10_000).then(() => 'no message')]), { clicked: true });
      t.assert.equal(await t.ui.text('#out', { webview: true }), 'clicked');
      await t.ui.screenshot('webview-clicked');
    } finally {
      panel.dispose();
    }
  },
};
