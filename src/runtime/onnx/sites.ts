import type { GraphBuilder } from './graphBuilder';
import { DType } from './graphBuilder';

/**
 * Sparse interventions on a flat activation [N = batch * length, d]: every intervention is a row
 * index into N, a layer and a d-vector. Per layer, the rows for that layer are selected with
 * Compress, so the work grows with the number of interventions, not with batch x length x d.
 */
export interface SparseInputs {
  index: string; // int64 [M] flat row index
  layer: string; // int64 [M]
  value: string; // float [M, d]
}

export function declareSparseInputs(g: GraphBuilder, prefix: string, d: number): SparseInputs {
  return {
    index: g.input(`${prefix}_index`, DType.int64, [`${prefix}_count`]),
    layer: g.input(`${prefix}_layer`, DType.int64, [`${prefix}_count`]),
    value: g.input(`${prefix}_value`, DType.float, [`${prefix}_count`, d]),
  };
}

/** The rows of `s` that belong to `layer`, as ScatterND indices [m, 1] and updates [m, d]. */
function rowsForLayer(g: GraphBuilder, s: SparseInputs, layer: number): { indices: string; updates: string } {
  const mask = g.op1('Equal', [s.layer, g.ints([layer])]);
  const index = g.op1('Compress', [s.index, mask], { axis: 0 });
  return {
    indices: g.op1('Unsqueeze', [index, g.ints([1])]),
    updates: g.op1('Compress', [s.value, mask], { axis: 0 }),
  };
}

/** x[index] += value for this layer's rows (callers merge duplicate rows beforehand). */
export function addRows(g: GraphBuilder, x: string, s: SparseInputs, layer: number): string {
  const { indices, updates } = rowsForLayer(g, s, layer);
  return g.op1('ScatterND', [x, indices, updates], { reduction: 'add' });
}

/** x[index] = value for this layer's rows (callers reject duplicate rows). */
export function replaceRows(g: GraphBuilder, x: string, s: SparseInputs, layer: number): string {
  const { indices, updates } = rowsForLayer(g, s, layer);
  return g.op1('ScatterND', [x, indices, updates]);
}

/** Rows `index` of x: [K, d]. */
export function gatherRows(g: GraphBuilder, x: string, index: string): string {
  return g.op1('Gather', [x, index], { axis: 0 });
}

/** Stacks per-layer taps [K, d] into one output [L, K, d]. */
export function stackLayers(g: GraphBuilder, perLayer: string[], name: string, d: number): void {
  const unsqueezed = perLayer.map((t) => g.op1('Unsqueeze', [t, g.ints([0])]));
  g.output(g.op1('Concat', unsqueezed, { axis: 0 }), name, DType.float, [perLayer.length, 'tap_count', d]);
}
