import { UserError } from '../errors';
import { parseJson } from '../json';
import { assertNotBlank, RawRow, RawTable, sha256Hex, textLines } from './table';

/**
 * Parses JSON Lines: one JSON object per line, blank lines skipped, read line by line (a file may
 * hold more text than one JavaScript string). A line that is not valid JSON (with parseJson: a key
 * repeated in one object too), or not an object, is a UserError with its line number.
 */
export function parseJsonl(bytes: Uint8Array, file: string): RawTable {
  assertNotBlank(bytes, file);
  const rows: RawRow[] = [];
  for (const { text, line } of textLines(bytes, file)) {
    const src = text.trim();
    if (src === '') continue;
    let value: unknown;
    try {
      value = parseJson(src, { file, line });
    } catch (e) {
      if (e instanceof UserError) {
        // parseJson's "line 1" is this one line's: keep just the column (and the words this reader always used).
        const hint = rows.length === 0 && src.startsWith('[') ? ' (a JSON array? write one object per line: JSON Lines)' : '';
        e.message = `${e.message.replace('not valid JSON', 'malformed JSON').replace(/ at line 1, column /g, ' at column ')}${hint}`;
      }
      throw e;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
      throw new UserError(`expected a JSON object per line, found ${what}`, { file, line });
    }
    rows.push({ line, values: value as Record<string, unknown> });
  }
  return { file, format: 'jsonl', columns: Object.keys(rows[0].values), rows, headerLine: rows[0].line, sha256: sha256Hex(bytes) };
}
