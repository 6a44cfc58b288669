import { parse } from 'csv-parse/sync';
import { UserError } from '../errors';
import { assertNotBlank, checkUtf8, RawRow, RawTable, sha256Hex } from './table';

export interface DelimitedOptions {
  /** Field delimiter: `,` for CSV, tab for TSV unless given. */
  delimiter?: string;
}

/**
 * Parses CSV or TSV with a header row (csv-parse, sync API, on the bytes: a file may hold more
 * text than one JavaScript string). Quoted fields may span lines; each row keeps the line where its
 * record starts; line ends inside fields read as `\n`. TSV tolerates bare quotes inside fields
 * (`relax_quotes`), as TSV files are often written without quoting.
 */
export function parseDelimited(bytes: Uint8Array, file: string, format: 'csv' | 'tsv', options: DelimitedOptions = {}): RawTable {
  checkUtf8(bytes, file);
  assertNotBlank(bytes, file);
  const delimiter = options.delimiter ?? (format === 'tsv' ? '\t' : ',');
  let records: { record: string[]; raw: string }[];
  try {
    records = parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      bom: true,
      delimiter,
      // Every line end, also mixed in one file (csv-parse would take only the first kind it meets).
      record_delimiter: ['\r\n', '\n', '\r'],
      raw: true,
      skip_empty_lines: true,
      relax_quotes: format === 'tsv',
      relax_column_count: false,
    }) as unknown as { record: string[]; raw: string }[];
  } catch (e) {
    const err = e as Error & { lines?: unknown; code?: unknown };
    const line = typeof err.lines === 'number' ? err.lines : undefined;
    throw new UserError(`malformed ${format.toUpperCase()}: ${err.message}`, { file, line });
  }
  // Line numbers: every record's raw text, including the empty lines skipped before it, in order.
  let nextLine = 1;
  const located = records.map(({ record, raw }) => {
    const line = nextLine + countLineEnds(/^(?:\r\n?|\n)*/.exec(raw)![0]);
    nextLine += countLineEnds(raw);
    return { record: record.map((v) => (v.includes('\r') ? v.replace(/\r\n?/g, '\n') : v)), line };
  });
  const [header, ...body] = located;
  const columns = header.record.map((c) => c.trim());
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c)) throw new UserError(`the header names column "${c}" twice`, { file, line: header.line, field: c });
    seen.add(c);
  }
  if (body.length === 0) throw new UserError('the file has a header but no rows', { file, line: header.line });
  const rows: RawRow[] = body.map(({ record, line }) => {
    const values: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) values[columns[i]] = record[i];
    return { line, values };
  });
  return { file, format, columns, rows, headerLine: header.line, sha256: sha256Hex(bytes) };
}

/** Line ends in `s`: `\r\n`, `\r` or `\n`. */
function countLineEnds(s: string): number {
  return s.match(/\r\n?|\n/g)?.length ?? 0;
}
