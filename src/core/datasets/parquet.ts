import { parquetMetadata, parquetReadObjects, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { UserError } from '../errors';
import { RawRow, RawTable, sha256Hex } from './table';

/**
 * Reads a Parquet file (hyparquet, pure JS; snappy built in, gzip/zstd/brotli/lz4 through
 * hyparquet-compressors). Row `line` = row index + 1. Hugging Face ClassLabel names stored in the
 * file's `huggingface` metadata are returned as `classLabelNames`. This is also the path for the
 * model hub's Parquet splits.
 */
export async function parseParquet(bytes: Uint8Array, file: string): Promise<RawTable> {
  if (bytes.byteLength === 0) throw new UserError('the file is empty', { file });
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let metadata: FileMetaData;
  let objects: Record<string, unknown>[];
  try {
    metadata = parquetMetadata(buffer);
    objects = await parquetReadObjects({ file: buffer, metadata, compressors, rowFormat: 'object' });
  } catch (e) {
    throw new UserError(`not a readable Parquet file: ${(e as Error).message}`, { file });
  }
  if (objects.length === 0) throw new UserError('the file has no rows', { file });
  const root = metadata.schema[0];
  const columns: string[] = [];
  // Top-level columns: the root's direct children (nested groups count as one column).
  for (let i = 1, left = root.num_children ?? 0; i < metadata.schema.length && left > 0; left--) {
    columns.push(metadata.schema[i].name);
    i = skipSubtree(metadata, i);
  }
  const rows: RawRow[] = objects.map((values, i) => ({ line: i + 1, values }));
  return { file, format: 'parquet', columns, rows, sha256: sha256Hex(bytes), classLabelNames: classLabelNames(metadata) };
}

function skipSubtree(metadata: FileMetaData, i: number): number {
  let pending = 1;
  while (pending > 0) {
    pending += (metadata.schema[i].num_children ?? 0) - 1;
    i++;
  }
  return i;
}

/** ClassLabel names per column from the `huggingface` key-value metadata that `datasets` writes. */
function classLabelNames(metadata: FileMetaData): Record<string, string[]> | undefined {
  const entry = metadata.key_value_metadata?.find((kv) => kv.key === 'huggingface');
  if (!entry?.value) return undefined;
  let features: unknown;
  try {
    const parsed = JSON.parse(entry.value) as { info?: { features?: unknown } };
    features = parsed.info?.features;
  } catch {
    return undefined;
  }
  if (!features || typeof features !== 'object') return undefined;
  const out: Record<string, string[]> = {};
  for (const [column, feature] of Object.entries(features as Record<string, unknown>)) {
    const f = feature as { _type?: unknown; names?: unknown } | null;
    if (f && f._type === 'ClassLabel' && Array.isArray(f.names) && f.names.every((n) => typeof n === 'string')) {
      out[column] = f.names as string[];
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
