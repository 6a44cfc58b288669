import * as vscode from 'vscode';
import { isNotFound, type ResultsStore } from '../core/ports';
import { displayPath, writeFileAtomic } from './artifacts';

/**
 * A sweep's rows in a workspace file of any scheme, so a stopped sweep resumes on remote and virtual
 * workspaces too. `workspace.fs` cannot append: each append rewrites the file atomically, so a
 * stop leaves whole rows only.
 */
export function workspaceResults(uri: vscode.Uri): ResultsStore {
  let text: string | undefined;
  const read = async (): Promise<string | undefined> => {
    try {
      text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch (e) {
      if (!isNotFound(e)) throw e;
      text = undefined;
    }
    return text;
  };
  return {
    name: displayPath(uri),
    read,
    async append(more) {
      text = (text ?? (await read()) ?? '') + more;
      await writeFileAtomic(uri, text);
    },
    async replace(all) {
      text = all;
      await writeFileAtomic(uri, text);
    },
  };
}
