import * as ort from 'onnxruntime-node';
import { UserError } from '../core/errors';
import { SITE_OPERATION, type Edit, type Position, type Site } from '../core/model';
import type { SiteNames } from './onnx/sites';

/** Right-pads a ragged batch into int64 [B, T] (padding id 0 is never attended to by real tokens). */
export function packTokens(tokens: readonly (readonly number[])[]): { ids: ort.Tensor; length: number } {
  const length = Math.max(...tokens.map((s) => s.length));
  const ids = new BigInt64Array(tokens.length * length);
  tokens.forEach((seq, b) => seq.forEach((id, t) => (ids[b * length + t] = BigInt(id))));
  return { ids: new ort.Tensor('int64', ids, [tokens.length, length]), length };
}

export function indexTensor(positions: readonly Position[], length: number): ort.Tensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(positions, (p) => BigInt(p.seq * length + p.pos)),
    [positions.length],
  );
}

/**
 * The sparse edit feeds of every site in `sites` (the graph declares those, so each gets a feed, empty
 * when unedited), named by `names`. Additive edits at the same (site, layer, row) are summed here, so
 * the graph never scatters duplicate rows; a row replaced twice is an error.
 */
export function editFeeds(
  edits: readonly Edit[] | undefined,
  sites: readonly Site[],
  names: (site: Site) => SiteNames,
  length: number,
  d: number,
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const site of sites) {
    const rows = new Map<string, { row: number; layer: number; value: Float32Array }>();
    for (const e of edits ?? []) {
      if (e.site !== site) continue;
      const row = e.seq * length + e.pos;
      const key = `${e.layer}:${row}`;
      const existing = rows.get(key);
      if (!existing) rows.set(key, { row, layer: e.layer, value: Float32Array.from(e.vector) });
      else if (SITE_OPERATION[site] === 'add') for (let i = 0; i < d; i++) existing.value[i] += e.vector[i];
      else throw new UserError(`forward: two edits replace ${site} at layer ${e.layer}, sequence ${e.seq}, position ${e.pos}`);
    }
    const list = [...rows.values()];
    const value = new Float32Array(list.length * d);
    list.forEach((r, i) => value.set(r.value, i * d));
    const n = names(site);
    feeds[n.index] = new ort.Tensor(
      'int64',
      BigInt64Array.from(list, (r) => BigInt(r.row)),
      [list.length],
    );
    feeds[n.layer] = new ort.Tensor(
      'int64',
      BigInt64Array.from(list, (r) => BigInt(r.layer)),
      [list.length],
    );
    feeds[n.value] = new ort.Tensor('float32', value, [list.length, d]);
  }
  return feeds;
}
