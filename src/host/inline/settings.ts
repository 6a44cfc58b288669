import * as vscode from 'vscode';
import { BUILTIN_DEFAULTS, defaultsFromSettings } from '../../core/experiment/spec';

/** Settings of inline steering (`iterativeVectors.inline.*`). */
export const SECTION = 'iterativeVectors.inline';

/** Default strength when the user set none: the experiment spec's inline.strength (see src/core/steering/README.md for why it is lower than evaluation's). */
export const DEFAULT_STRENGTH = BUILTIN_DEFAULTS.inlineStrength!;

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
  const c = vscode.workspace.getConfiguration('iterativeVectors');
  // Checked by the experiment spec; a bad value falls back to its default (the log says so for the run's own settings).
  const d = defaultsFromSettings((key) => c.get(key)).defaults;
  return {
    vector: d.inlineVector!.trim(),
    strength: d.inlineStrength!,
    row: d.inlineRow!,
    maxNewTokens: d.maxNewTokens!,
    temperature: d.temperature!,
    seed: d.inlineSeed!,
    codeLens: d.codeLens!,
    heatmap: d.heatmap!,
  };
}

/** The strength setting when the user set it anywhere (user, workspace, folder); else undefined. */
export function explicitStrength(): number | undefined {
  const i = vscode.workspace.getConfiguration(SECTION).inspect<unknown>('strength');
  const v = i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
