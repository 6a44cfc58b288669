// A malformed dataset (fixture data/malformed.jsonl: line 2 lacks its closing brace) is a clear
// error naming the file and the line, shown in an error notification, and nothing is written.
'use strict';
const { helpers: h } = require('./_helpers');

module.exports = {
  'a malformed JSONL line: the programmatic call rejects naming file and line, an error notification says the same, no artifact': async (vscode, t) => {
    await h.activate();
    await h.clearNotifications();
    const before = await h.listIv();
    const file = vscode.Uri.joinPath(h.folder(), 'data/malformed.jsonl').fsPath;
    let error;
    try {
      const r = await vscode.commands.executeCommand('iterativeVectors.extract', { dataset: 'data/malformed.jsonl', ...h.SMALL });
      t.assert.fail(`the extraction did not fail: ${JSON.stringify(r)}`);
    } catch (e) {
      error = e;
    }
    t.log('error:', error.message);
    t.assert.ok(error.message.includes(`${file}, line 2: malformed JSON`), `the message names neither the file nor line 2: ${error.message}`);
    // The same message, in an error notification with "Show Log": a toast, or (when VS Code keeps it
    // out of the toasts, as it does after a long session of notifications) in the notification center.
    let toast = h.toast('malformed.jsonl, line 2');
    try {
      await t.ui.waitForSelector(toast, { timeout: 5_000 });
    } catch {
      await vscode.commands.executeCommand('notifications.showList');
      toast = '.notifications-center .notification-list-item:has-text("malformed.jsonl, line 2")';
      await t.ui.waitForSelector(toast, { timeout: 10_000 });
    }
    const text = await t.ui.text(`${toast} .notification-list-item-message`);
    t.assert.match(text, /^Iterative Vectors: extract: .*malformed\.jsonl, line 2: malformed JSON/);
    await t.ui.waitForSelector(`${toast} .codicon-error`);
    await t.ui.waitForSelector(`${toast} .monaco-button:has-text("Show Log")`);
    await t.ui.screenshot('malformed-error');
    const after = await h.listIv();
    t.assert.deepEqual(
      after.filter((n) => !before.includes(n)),
      [],
      'files written by a failed run',
    );
    await h.clearNotifications();
    await vscode.commands.executeCommand('notifications.hideList');
  },
};
module.exports.timeout = 120_000;
