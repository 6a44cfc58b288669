import * as ort from 'onnxruntime-node';
import { UserError } from '../core/errors';
import type { Edit, Position } from '../core/model';

/** Right-pads a ragged batch into int64 [B, T] (padding id 0 is never attended to by real tokens). */
export function packTokens(tokens: readonly (readonly number[])[]): { ids: ort.Tensor; length: number } {
  const length = Math.max(...tokens.map((s) => s.length));
  const ids = new BigInt64Array(tokens.length * length);
  tokens.forEach((seq, b) => seq.forEach((id, t) => (ids[b * length + t] = BigInt(id))));
  return { ids: new ort.Tensor('int64', ids, [tokens.length, length]), length };
}

export function indexTensor(positions: readonly Position[], length: number): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(positions, (p) => BigInt(p.seq * length + p.pos)), [positions.length]);
}

/**
 * The `<prefix>_index/_layer/_value` feeds for sparse interventions. Additive edits at the same
 * (layer, row) are summed here, so the graph never scatters duplicate rows; replacements must be unique.
 */
export function sparseFeeds(prefix: string, edits: readonly Edit[] | undefined, length: number, d: number, mode: 'add' | 'replace'): Record<string, ort.Tensor> {
  const rows = new Map<string, { row: number; layer: number; value: Float32Array }>();
  for (const e of edits ?? []) {
    const row = e.seq * length + e.pos;
    const key = `${e.layer}:${row}`;
    const existing = rows.get(key);
    if (!existing) rows.set(key, { row, layer: e.layer, value: Float32Array.from(e.vector) });
    else if (mode === 'add') for (let i = 0; i < d; i++) existing.value[i] += e.vector[i];
    else throw new UserError(`forward: two replacements at layer ${e.layer}, sequence ${e.seq}, position ${e.pos}`);
  }
  const list = [...rows.values()];
  const value = new Float32Array(list.length * d);
  list.forEach((r, i) => value.set(r.value, i * d));
  return {
    [`${prefix}_index`]: new ort.Tensor('int64', BigInt64Array.from(list, (r) => BigInt(r.row)), [list.length]),
    [`${prefix}_layer`]: new ort.Tensor('int64', BigInt64Array.from(list, (r) => BigInt(r.layer)), [list.length]),
    [`${prefix}_value`]: new ort.Tensor('float32', value, [list.length, d]),
  };
}
