import { UserError } from '../errors';
import { assertNotEmpty, decodeText, RawRow, RawTable, sha256Hex } from './table';

/**
 * Parses JSON Lines: one JSON object per line, blank lines skipped. A line that is not valid JSON,
 * or not an object, is a UserError with its line number.
 */
export function parseJsonl(bytes: Uint8Array, file: string): RawTable {
  const text = decodeText(bytes, file);
  assertNotEmpty(text, file);
  const lines = text.split('\n');
  const rows: RawRow[] = [];
  for (let i = 0; i < lines.length; i++) {
    const src = lines[i].trim();
    if (src === '') continue;
    const line = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(src);
    } catch (e) {
      const hint = rows.length === 0 && src.startsWith('[') ? ' (a JSON array? write one object per line: JSON Lines)' : '';
      // The parser's own "line 1" position refers to this one line only: keep just the column.
      const why = (e as Error).message.replace(/ \(line \d+ column (\d+)\)/, ' (column $1)');
      throw new UserError(`malformed JSON: ${why}${hint}`, { file, line });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
      throw new UserError(`expected a JSON object per line, found ${what}`, { file, line });
    }
    rows.push({ line, values: value as Record<string, unknown> });
  }
  return { file, format: 'jsonl', columns: Object.keys(rows[0].values), rows, headerLine: rows[0].line, sha256: sha256Hex(bytes) };
}
