import { UserError } from '../errors';
import { extName } from '../paths';
import { ioReason, isNotFound, type DatasetFiles } from '../ports';
import { parseDelimited } from './delimited';
import { parseJsonl } from './jsonl';
import { parseParquet } from './parquet';
import { RawTable } from './table';

export type FileFormat = 'jsonl' | 'csv' | 'tsv' | 'parquet';

/** File extensions read as each format (`.json` is read as JSON Lines, as Hugging Face `to_json` writes). */
export const FORMAT_BY_EXTENSION: Readonly<Record<string, FileFormat>> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.parquet': 'parquet',
};

export function formatOf(file: string): FileFormat | undefined {
  return FORMAT_BY_EXTENSION[extName(file).toLowerCase()];
}

/** Parses bytes of a known format. */
export async function parseTable(bytes: Uint8Array, file: string, format: FileFormat, delimiter?: string): Promise<RawTable> {
  switch (format) {
    case 'jsonl':
      return parseJsonl(bytes, file);
    case 'csv':
    case 'tsv':
      return parseDelimited(bytes, file, format, { delimiter });
    case 'parquet':
      return parseParquet(bytes, file);
  }
}

/** Reads and parses one data file, its format chosen by its extension. */
export async function readTable(file: string, files: DatasetFiles, delimiter?: string): Promise<RawTable> {
  const format = formatOf(file);
  if (!format) {
    throw new UserError(`unsupported file type "${extName(file)}"; use ${Object.keys(FORMAT_BY_EXTENSION).join(', ')}`, { file });
  }
  let bytes: Uint8Array;
  try {
    bytes = await files.readFile(file);
  } catch (e) {
    // The storage's own refusal (a folder, a named pipe, a file above the size cap) says it best.
    if (e instanceof UserError) throw e;
    throw new UserError(isNotFound(e) ? 'no such file' : `cannot read the file (${ioReason(e)})`, { file });
  }
  return parseTable(bytes, file, format, delimiter);
}
