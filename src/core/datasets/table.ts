import { isUtf8 } from 'node:buffer';
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

/**
 * The lines of UTF-8 text with their 1-based numbers, decoded one at a time: a file may be larger
 * than the longest string JavaScript holds (about 512 MiB). A leading BOM is dropped, `\r\n` and `\r`
 * end lines as `\n` does, and invalid bytes are a UserError naming their line.
 */
export function* textLines(bytes: Uint8Array, file: string): Generator<{ text: string; line: number }> {
  // ignoreBOM: each decode() call would drop a BOM at its start, and only the file's first one is a BOM.
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let line = 0;
  for (let start = 0; start < bytes.length;) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline === -1 ? bytes.length : newline;
    let text: string;
    try {
      text = decoder.decode(bytes.subarray(start, end));
    } catch {
      throw new UserError('not valid UTF-8 text', { file, line: line + 1 });
    }
    if (start === 0 && text.startsWith('\uFEFF')) text = text.slice(1);
    // A lone \r ends a line too (old Mac files); a \n never sits inside a UTF-8 sequence, a \r neither.
    for (const part of (text.endsWith('\r') ? text.slice(0, -1) : text).split('\r')) yield { text: part, line: ++line };
    start = end + 1;
  }
}

/** Refuses bytes that are not UTF-8 text, naming the first bad line (the check itself runs natively). */
export function checkUtf8(bytes: Uint8Array, file: string): void {
  if (isUtf8(bytes)) return;
  for (const _ of textLines(bytes, file));
  throw new UserError('not valid UTF-8 text', { file });
}

/** Refuses a file of nothing but whitespace (a BOM included). */
export function assertNotBlank(bytes: Uint8Array, file: string): void {
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  for (let i = bom; i < bytes.length; i++) if (![0x20, 0x09, 0x0a, 0x0d].includes(bytes[i])) return;
  throw new UserError('the file is empty', { file });
}

/** One hash for several byte sources: sha256 of the lines `<name>:<sha256 hex>\n`, in the order given. */
export function combineHashes(entries: readonly (readonly [string, string])[]): string {
  return sha256Hex(entries.map(([name, hash]) => `${name}:${hash}\n`).join(''));
}
