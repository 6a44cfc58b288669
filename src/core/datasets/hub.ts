import { UserError } from '../errors';
import { buildDataset } from './build';
import { parseParquet } from './parquet';
import { combineHashes, RawTable } from './table';
import { Dataset, LoadDatasetOptions, SplitName, SPLIT_NAMES } from './types';

const HUB_ID = /^hf:[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export function isHubId(source: string): boolean {
  return source.startsWith('hf:');
}

/**
 * A model-hub dataset (`hf:<owner>/<name>`) from the Parquet bytes of its splits, read through the
 * same Parquet path as local files (ClassLabel names in the files' metadata become the label
 * names unless `labelNames` is given). Downloading the bytes is the caller's job (online users only).
 * Row `line` = row number in that split's Parquet bytes; `files[split]` = `hf:<owner>/<name>/<split>.parquet`.
 */
export async function datasetFromHubParquet(id: string, splits: Partial<Record<SplitName, Uint8Array>>, options: LoadDatasetOptions = {}): Promise<Dataset> {
  if (!HUB_ID.test(id)) throw new UserError(`not a hub dataset id: "${id}" (expected hf:<owner>/<name>)`, { field: 'dataset' });
  const present = SPLIT_NAMES.filter((s) => splits[s]);
  if (present.length === 0) throw new UserError('no split bytes given', { file: id });
  const tables: Partial<Record<SplitName, RawTable>> = {};
  for (const s of present) tables[s] = await parseParquet(splits[s]!, `${id}/${s}.parquet`);
  return buildDataset(
    {
      id,
      source: id,
      sha256: combineHashes(present.map((s) => [s, tables[s]!.sha256] as const)),
      format: 'parquet',
      mode: { kind: 'files', tables },
      notes: [`splits from the hub: ${present.join(', ')}`],
    },
    options,
  );
}
