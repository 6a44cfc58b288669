import * as vscode from 'vscode';

/** Settings of inline steering (`iterativeVectors.inline.*`). */
export const SECTION = 'iterativeVectors.inline';

/** Default strength: visible within the first few tokens on the demo vector yet still fluent (see src/core/steering/README.md). */
export const DEFAULT_STRENGTH = 0.3;
export const DEFAULT_MAX_NEW_TOKENS = 48;

export type HeatmapMetric = 'kl' | 'residual';

export interface InlineSettings {
  /** Workspace-relative (or absolute) path of a .ivec.safetensors; '' = pick one. */
  vector: string;
  strength: number;
  /** "query", a class label, or a row index. */
  row: string;
  maxNewTokens: number;
  temperature: number;
  seed: number;
  codeLens: boolean;
  heatmap: HeatmapMetric;
}

export function readSettings(): InlineSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const num = (key: string, fallback: number) => {
    const v = c.get<number>(key);
    return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
  };
  const row = c.get<string | number>('row', 'query');
  return {
    vector: (c.get<string>('vector', '') ?? '').trim(),
    strength: num('strength', DEFAULT_STRENGTH),
    row: row === undefined || row === null || String(row).trim() === '' ? 'query' : String(row).trim(),
    maxNewTokens: Math.max(1, Math.round(num('maxNewTokens', DEFAULT_MAX_NEW_TOKENS))),
    temperature: Math.max(0, num('temperature', 0)),
    seed: Math.round(num('seed', 42)),
    codeLens: c.get<boolean>('codeLens', true) !== false,
    heatmap: c.get<string>('heatmap', 'kl') === 'residual' ? 'residual' : 'kl',
  };
}

/** The strength setting when the user set it anywhere (user, workspace, folder); else undefined. */
export function explicitStrength(): number | undefined {
  const i = vscode.workspace.getConfiguration(SECTION).inspect<unknown>('strength');
  const v = i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
