// The fixture workspace (test/e2e/fixtures/workspace) is open in the window.
'use strict';

module.exports = {
  'the fixture workspace is open': async (vscode, t) => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    t.assert.ok(folder, 'no workspace folder open');
    t.assert.equal(folder.uri.fsPath, t.workspace);
    const files = (await vscode.workspace.findFiles('**/*.{jsonl,md}')).map((u) => vscode.workspace.asRelativePath(u)).sort();
    t.assert.deepEqual(files, ['README.md', 'data/malformed.jsonl', 'data/sentiment.jsonl', 'notes/prompt.md']);
  },

  'the Markdown prompt opens in an editor': async (vscode, t) => {
    const uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders[0].uri, 'notes/prompt.md');
    const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    const line = editor.document
      .getText()
      .split('\n')
      .findIndex((l) => l.startsWith('Review:'));
    t.assert.ok(line > 0, 'prompt paragraph not found');
    editor.selection = new vscode.Selection(line, 0, line + 1, editor.document.lineAt(line + 1).text.length);
    t.assert.equal(editor.document.getText(editor.selection), 'Review: The soundtrack was lovely but the story never came together.\nSentiment:');
    await t.ui.screenshot('prompt-selected');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  },
};
