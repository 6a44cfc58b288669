import * as vscode from 'vscode';
import { parseSetting } from '../../core/experiment/spec';
import type { PlainRange } from './lenses';

/** Arguments of `iterativeVectors.steerPrompt` and `iterativeVectors.compare` (all optional). */
export interface SteerArgs {
  /** Document holding the prompt (a Uri or its string form); without `range`, its whole text. */
  uri?: string | vscode.Uri;
  /** The prompt's range in `uri`: a vscode.Range, { start: { line, character }, end: ... }, [start, end] positions or [l1, c1, l2, c2]. */
  range?: unknown;
  /** The prompt itself (instead of uri/range). */
  text?: string;
  /** Vector: absolute or workspace-relative path of a .ivec.safetensors, or a Uri. */
  vector?: string | vscode.Uri;
  strength?: number;
  /** "query" (default), a class label, or a row index. */
  row?: string | number;
  maxNewTokens?: number;
  temperature?: number;
  seed?: number;
  /** Who calls: lenses and hover links are interactive (errors shown, not thrown). */
  source?: 'codelens' | 'hover' | 'rerun';
}

const KEYS = new Set(['uri', 'range', 'text', 'vector', 'strength', 'row', 'maxNewTokens', 'temperature', 'seed', 'source']);

/** Unknown fields are an error naming the field (a misspelt option must not be ignored silently). */
export function unknownKeys(args: object): string[] {
  return Object.keys(args).filter((k) => !KEYS.has(k));
}

/**
 * Interactive calls show errors and may ask (QuickPick, InputBox); programmatic ones throw and never
 * ask. Interactive: no arguments, a lens or hover link, or no prompt given (e.g. the vector
 * editor's "Steer a prompt", which passes `{ vector }` only).
 */
export function isInteractive(args: SteerArgs | undefined): boolean {
  if (args === undefined || typeof args !== 'object' || args === null) return true;
  return args.source === 'codelens' || args.source === 'hover' || (args.text === undefined && args.uri === undefined);
}

function position(x: unknown): vscode.Position | undefined {
  if (x instanceof vscode.Position) return x;
  if (x && typeof x === 'object' && Number.isInteger((x as { line: unknown }).line) && Number.isInteger((x as { character: unknown }).character)) {
    return new vscode.Position((x as { line: number }).line, (x as { character: number }).character);
  }
  return undefined;
}

/** Any of the accepted range spellings, or undefined when it is none of them. */
export function parseRange(x: unknown): vscode.Range | undefined {
  if (x instanceof vscode.Range) return x;
  if (Array.isArray(x)) {
    if (x.length === 4 && x.every(Number.isInteger)) return new vscode.Range(x[0], x[1], x[2], x[3]);
    if (x.length === 2) {
      const [a, b] = x.map(position);
      if (a && b) return new vscode.Range(a, b);
    }
    return undefined;
  }
  if (x && typeof x === 'object') {
    const a = position((x as PlainRange).start);
    const b = position((x as PlainRange).end);
    if (a && b) return new vscode.Range(a, b);
  }
  return undefined;
}

export function parseUri(x: string | vscode.Uri): vscode.Uri {
  if (x instanceof vscode.Uri) return x;
  if (typeof x === 'object' && x !== null && 'scheme' in x) return vscode.Uri.from(x as vscode.Uri);
  return /^[a-z][a-z0-9+.-]*:/i.test(x) && !/^[a-z]:[\\/]/i.test(x) ? vscode.Uri.parse(x) : vscode.Uri.file(x);
}

/** A strength given as a number or a numeric string, in the spec's range; undefined otherwise. */
export function parseStrength(x: unknown): number | undefined {
  const r = parseSetting('inlineStrength', x);
  return 'error' in r ? undefined : (r.value as number);
}

/** "query" | label | index, as chooseRows takes it. */
export function parseRow(x: string | number | undefined): string | number {
  if (x === undefined) return 'query';
  if (typeof x === 'number') return x;
  const t = x.trim();
  return t === '' ? 'query' : t;
}
