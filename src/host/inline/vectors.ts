import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import * as vscode from 'vscode';
import { UserError } from '../../core/errors';
import { ARTIFACT_EXTENSION, type VectorArtifact } from '../../core/vectors/artifact';
import { readArtifact } from '../../node/artifactFiles';

const REMEMBERED = 'iterativeVectors.inline.vectorPath';

/**
 * Which vector inline steering uses: an explicit argument, else the setting
 * `iterativeVectors.inline.vector`, else the one picked before (workspaceState), else a QuickPick
 * over the workspace's `**\/*.ivec.safetensors` (chosen without asking when there is exactly one).
 */
export class VectorChoice {
  private readonly cache = new Map<string, { mtimeMs: number; size: number; artifact: VectorArtifact }>();

  constructor(private readonly state: vscode.Memento) {}

  /** The remembered vector, if any (absolute path). */
  get remembered(): string | undefined {
    return this.state.get<string>(REMEMBERED) || undefined;
  }

  async remember(path: string): Promise<void> {
    await this.state.update(REMEMBERED, path);
  }

  /** Absolute path of a vector given as an absolute path, a workspace-relative path or a Uri. */
  resolve(spec: string | vscode.Uri, relativeTo?: vscode.Uri): string {
    if (spec instanceof vscode.Uri) return spec.fsPath;
    if (/^[a-z][a-z0-9+.-]+:\/\//i.test(spec)) return vscode.Uri.parse(spec).fsPath;
    if (isAbsolute(spec)) return spec;
    const folder = (relativeTo && vscode.workspace.getWorkspaceFolder(relativeTo)) ?? vscode.workspace.workspaceFolders?.[0];
    if (!folder) throw new UserError(`the vector path "${spec}" is relative but no workspace folder is open`, { field: 'iterativeVectors.inline.vector' });
    return vscode.Uri.joinPath(folder.uri, spec).fsPath;
  }

  /** The vector to use now: argument, setting, remembered, or picked (`interactive` allows the QuickPick). */
  async current(options: { arg?: string | vscode.Uri; setting: string; relativeTo?: vscode.Uri; interactive: boolean }): Promise<string | undefined> {
    if (options.arg) return this.resolve(options.arg, options.relativeTo);
    if (options.setting) return this.resolve(options.setting, options.relativeTo);
    const remembered = this.remembered;
    if (remembered && exists(remembered)) return remembered;
    return this.pick({ interactive: options.interactive, autoSingle: true });
  }

  /** QuickPick over the workspace's vectors; remembers the choice. */
  async pick(options: { interactive: boolean; autoSingle: boolean }): Promise<string | undefined> {
    const found = await vscode.workspace.findFiles(`**/*${ARTIFACT_EXTENSION}`, '**/node_modules/**', 200);
    if (found.length === 0) {
      throw new UserError(
        `no *${ARTIFACT_EXTENSION} in the workspace: extract one (\`iv extract\`, or \`iv demo\` for .iv/demo/first-names${ARTIFACT_EXTENSION}) or set iterativeVectors.inline.vector`,
      );
    }
    let chosen: vscode.Uri | undefined;
    if (found.length === 1 && options.autoSingle) chosen = found[0];
    else if (!options.interactive) {
      throw new UserError(`${found.length} vectors in the workspace: pass "vector" or set iterativeVectors.inline.vector`);
    } else {
      found.sort((a, b) => vscode.workspace.asRelativePath(a).localeCompare(vscode.workspace.asRelativePath(b)));
      const remembered = this.remembered;
      const item = await vscode.window.showQuickPick(
        found.map((uri) => ({
          label: uri.path.split('/').pop()!.slice(0, -ARTIFACT_EXTENSION.length),
          description: vscode.workspace.asRelativePath(uri),
          detail: uri.fsPath === remembered ? 'current' : undefined,
          uri,
        })),
        { title: 'Iterative Vectors: steering vector for prompts', placeHolder: 'Pick a .ivec.safetensors', matchOnDescription: true },
      );
      chosen = item?.uri;
    }
    if (!chosen) return undefined;
    await this.state.update(REMEMBERED, chosen.fsPath);
    return chosen.fsPath;
  }

  /** Reads (and caches, by modification time and size) the artifact at `path`. */
  load(path: string): VectorArtifact {
    let st;
    try {
      st = statSync(path);
    } catch {
      throw new UserError('cannot read the vector artifact: no such file', { file: path });
    }
    const hit = this.cache.get(path);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.artifact;
    const artifact = readArtifact(path);
    this.cache.set(path, { mtimeMs: st.mtimeMs, size: st.size, artifact });
    return artifact;
  }
}

function exists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** "first-names" for ".../first-names.ivec.safetensors". */
export function vectorName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.endsWith(ARTIFACT_EXTENSION) ? base.slice(0, -ARTIFACT_EXTENSION.length) : base;
}
