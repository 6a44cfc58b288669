import * as vscode from 'vscode';
import { sanitizeDefaults, type Defaults } from './commands/options';

export const SECTION = 'iterativeVectors';
export const DEFAULT_ARTIFACTS_FOLDER = '.iv';

const reported = new Set<string>();

/**
 * The resource-scoped defaults (`iterativeVectors.extStrength`, `evalStrength`, `episodes`, `shots`,
 * `batch`, `seed`, `bos`, `zeroShotPosition`, `evalEpisodes`, `evalShots`) for a resource (the
 * dataset or workspace folder); a value that is not valid falls back to the built-in default with a
 * warning in the log (once per problem).
 */
export function readDefaults(scope: vscode.Uri | undefined, log: vscode.LogOutputChannel): Defaults {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  const keys: (keyof Defaults)[] = ['extStrength', 'evalStrength', 'episodes', 'shots', 'batch', 'seed', 'bos', 'zeroShotPosition', 'evalEpisodes', 'evalShots'];
  const { defaults, problems } = sanitizeDefaults(Object.fromEntries(keys.map((k) => [k, c.get(k)])));
  for (const p of problems) {
    if (!reported.has(p)) {
      reported.add(p);
      log.warn(p);
    }
  }
  return defaults;
}

/** The artifacts folder of a workspace folder: `iterativeVectors.artifactsFolder` (relative to it, or absolute), default `.iv`. */
export function artifactsFolder(folder: vscode.WorkspaceFolder): vscode.Uri {
  const raw = (vscode.workspace.getConfiguration(SECTION, folder.uri).get<string>('artifactsFolder') ?? '').trim() || DEFAULT_ARTIFACTS_FOLDER;
  if (isAbsolutePath(raw)) return folder.uri.scheme === 'file' ? vscode.Uri.file(raw) : folder.uri.with({ path: raw.replace(/\\/g, '/') });
  return vscode.Uri.joinPath(folder.uri, ...raw.split(/[\\/]+/).filter(Boolean));
}

export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(p);
}

/** The model settings (machine scope): `iterativeVectors.model` ("default" or a .bin path) and `iterativeVectors.device`. */
export function modelSettings(): { model: string; device: string } {
  const c = vscode.workspace.getConfiguration(SECTION);
  return { model: c.get<string>('model', 'default') || 'default', device: c.get<string>('device', 'cpu') || 'cpu' };
}
