import { createHash } from 'node:crypto';
import { UserError } from '../errors';

/** One parsed row before field selection: its values by column, and its 1-based source line. */
export interface RawRow {
  line: number;
  values: Record<string, unknown>;
}

/** A parsed file: rows in file order, plus what the file says about its columns. */
export interface RawTable {
  file: string;
  format: 'jsonl' | 'csv' | 'tsv' | 'parquet' | 'stdlib';
  /** Header (CSV/TSV/Parquet) or the first row's keys (JSONL), in file order. */
  columns: string[];
  rows: RawRow[];
  /** Where `columns` come from: the header line (CSV/TSV) or the first row's line (JSONL); none for Parquet. */
  headerLine?: number;
  /** sha256 (hex) of the bytes the table was parsed from. */
  sha256: string;
  /** Label names a file declares per column (Hugging Face ClassLabel metadata in Parquet). */
  classLabelNames?: Record<string, string[]>;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Decodes UTF-8 (a leading BOM is dropped, invalid bytes are an error) and normalises line ends to `\n`. */
export function decodeText(bytes: Uint8Array, file: string): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new UserError('the file is not valid UTF-8 text', { file });
  }
  return text.replace(/\r\n?/g, '\n');
}

export function assertNotEmpty(text: string, file: string): void {
  if (text.trim() === '') throw new UserError('the file is empty', { file });
}

/** One hash for several byte sources: sha256 of the lines `<name>:<sha256 hex>\n`, in the order given. */
export function combineHashes(entries: readonly (readonly [string, string])[]): string {
  return sha256Hex(entries.map(([name, hash]) => `${name}:${hash}\n`).join(''));
}
