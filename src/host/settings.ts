import * as vscode from 'vscode';
import { MODEL_SETTING_KEYS, sanitizeModelSettings, type ModelSettings } from './commands/modelSpec';
import { defaultsFromSettings, type Defaults } from '../core/experiment/spec';

export const SECTION = 'iterativeVectors';
export const DEFAULT_ARTIFACTS_FOLDER = '.iv';

const reported = new Set<string>();

/**
 * The defaults of a run for a resource (the dataset or workspace folder): every setting the
 * experiment spec names (`iterativeVectors.extStrength`, `evalStrength`, `episodes`, ...); a value
 * that is not valid falls back to the built-in default with a warning in the log (once per problem).
 */
export function readDefaults(scope: vscode.Uri | undefined, log: vscode.LogOutputChannel): Defaults {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  const { defaults, problems } = defaultsFromSettings((key) => c.get(key));
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

/** The model settings (machine scope): `iterativeVectors.model`, `device`, `hub.dtype`, `hub.offline`, `sitePattern`, `tokenizer`; bad values fall back to their defaults and are listed in `problems`. */
export function readModelSettings(): { settings: ModelSettings; problems: string[] } {
  const c = vscode.workspace.getConfiguration(SECTION);
  return sanitizeModelSettings(Object.fromEntries(Object.entries(MODEL_SETTING_KEYS).map(([field, key]) => [field, c.get(key)])));
}

export function modelSettings(): ModelSettings {
  return readModelSettings().settings;
}
