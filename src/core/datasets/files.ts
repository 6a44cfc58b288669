import { UserError } from '../errors';
import { baseName, extName } from '../paths';
import { ioReason, type DatasetFiles } from '../ports';
import { buildDataset } from './build';
import { FORMAT_BY_EXTENSION, formatOf, readTable } from './readTable';
import { combineHashes, RawTable } from './table';
import { Dataset, LoadDatasetOptions, SplitName, SPLIT_NAMES } from './types';

/** File base names accepted for each split (case-insensitive), e.g. `dev.csv` is validation. */
export const SPLIT_FILE_NAMES: Readonly<Record<SplitName, readonly string[]>> = {
  train: ['train', 'training'],
  validation: ['validation', 'valid', 'val', 'dev'],
  test: ['test'],
};

/** `train.jsonl`, `dev.csv`, `test-00000-of-00001.parquet` (a Hugging Face single shard), ... */
const SPLIT_FILE = /^([a-z]+)(?:-\d{5}-of-\d{5})?$/i;

/** The split a file name stands for, if any. */
export function splitOfFileName(name: string): SplitName | undefined {
  if (!formatOf(name)) return undefined;
  const m = SPLIT_FILE.exec(baseName(name, extName(name)));
  if (!m) return undefined;
  const word = m[1].toLowerCase();
  return SPLIT_NAMES.find((s) => SPLIT_FILE_NAMES[s].includes(word));
}

/**
 * A folder of split files: `train`, `validation` (or `valid`/`val`/`dev`) and `test`, each in any
 * supported format (`.jsonl`, `.json`, `.csv`, `.tsv`, `.parquet`); a `data/` subfolder is searched
 * when the folder itself has none (Hugging Face repository layout). Rows keep file order. Without a
 * validation file, validation = the last `validationFraction` (20%) of train.
 */
export async function loadFolder(dir: string, files: DatasetFiles, options: LoadDatasetOptions = {}): Promise<Dataset> {
  let found = await splitFiles(dir, files);
  const data = files.join(dir, 'data');
  if (found.size === 0 && (await isFolder(data, files))) found = await splitFiles(data, files);
  if (found.size === 0) {
    throw new UserError(
      `no split files in the folder: expected train / validation / test files (e.g. train.jsonl, validation.csv, test.parquet; types: ${Object.keys(FORMAT_BY_EXTENSION).join(', ')})`,
      { file: dir },
    );
  }
  const tables: Partial<Record<SplitName, RawTable>> = {};
  for (const [split, file] of found) tables[split] = await readTable(file, files, options.delimiter);
  const present = SPLIT_NAMES.filter((s) => tables[s]);
  const first = tables[present[0]]!;
  return buildDataset(
    {
      id: baseName(dir),
      source: dir,
      sha256: combineHashes(present.map((s) => [s, tables[s]!.sha256] as const)),
      format: first.format as Dataset['format'],
      mode: { kind: 'files', tables },
      notes: [`splits from files: ${present.map((s) => `${s} = ${baseName(tables[s]!.file)}`).join(', ')}`],
    },
    options,
  );
}

/** A single data file: split with a seeded shuffle (see `seededSplit`). */
export async function loadFile(file: string, files: DatasetFiles, options: LoadDatasetOptions = {}): Promise<Dataset> {
  const table = await readTable(file, files, options.delimiter);
  return buildDataset(
    {
      id: baseName(file, extName(file)),
      source: file,
      sha256: table.sha256,
      format: table.format,
      mode: { kind: 'seeded', table },
    },
    options,
  );
}

async function splitFiles(dir: string, files: DatasetFiles): Promise<Map<SplitName, string>> {
  let names: string[];
  try {
    names = await files.fileNames(dir);
  } catch (e) {
    throw new UserError(`cannot read the folder (${ioReason(e)})`, { file: dir });
  }
  const bySplit = new Map<SplitName, string[]>();
  for (const name of names.sort()) {
    const split = splitOfFileName(name);
    if (split) bySplit.set(split, [...(bySplit.get(split) ?? []), name]);
  }
  const out = new Map<SplitName, string>();
  for (const split of SPLIT_NAMES) {
    const names = bySplit.get(split);
    if (!names) continue;
    if (names.length > 1) {
      throw new UserError(`several files for the ${split} split (${names.join(', ')}): keep one, or merge them`, { file: dir });
    }
    out.set(split, files.join(dir, names[0]));
  }
  return out;
}

async function isFolder(path: string, files: DatasetFiles): Promise<boolean> {
  try {
    return (await files.kind(path)) === 'folder';
  } catch {
    return false;
  }
}
