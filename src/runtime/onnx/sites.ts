import type { GraphBuilder } from './graphBuilder';
import { DType } from './graphBuilder';

/**
 * Sparse interventions on a flat activation [N = batch * length, d]: every intervention is a row
 * index into N, a layer and a d-vector. Per layer, the rows for that layer are selected with
 * Compress, so the work grows with the number of interventions, not with batch x length x d.
 * Only opset-11 operators are used, so the same helpers instrument old third-party exports.
 */
export interface SparseInputs {
  index: string; // int64 [M] flat row index
  layer: string; // int64 [M]
  value: string; // [M, d] in the activation dtype
}

/** The `<prefix>_index/_layer/_value` inputs; values come in as float32 and are cast to the activations' dtype. */
export function declareSparseInputs(g: GraphBuilder, prefix: string, d: number, activation: number = DType.float): SparseInputs {
  const value = g.input(`${prefix}_value`, DType.float, [`${prefix}_count`, d]);
  return {
    index: g.input(`${prefix}_index`, DType.int64, [`${prefix}_count`]),
    layer: g.input(`${prefix}_layer`, DType.int64, [`${prefix}_count`]),
    value: activation === DType.float ? value : g.op1('Cast', [value], { to: activation }),
  };
}

/** The rows of `s` that belong to `layer`, as ScatterND indices [m, 1] and updates [m, d]. */
function rowsForLayer(g: GraphBuilder, s: SparseInputs, layer: number): { index: string; indices: string; updates: string } {
  const mask = g.op1('Equal', [s.layer, g.ints([layer])]);
  const index = g.op1('Compress', [s.index, mask], { axis: 0 });
  return {
    index,
    indices: g.op1('Reshape', [index, g.ints([-1, 1])]),
    updates: g.op1('Compress', [s.value, mask], { axis: 0 }),
  };
}

/** x[index] += value for this layer's rows (callers merge duplicate rows beforehand). */
export function addRows(g: GraphBuilder, x: string, s: SparseInputs, layer: number): string {
  const { index, indices, updates } = rowsForLayer(g, s, layer);
  return g.op1('ScatterND', [x, indices, g.op1('Add', [gatherRows(g, x, index), updates])]);
}

/** x[index] = value for this layer's rows (callers reject duplicate rows); `mapValues` transforms the written rows. */
export function replaceRows(g: GraphBuilder, x: string, s: SparseInputs, layer: number, mapValues: (rows: string) => string = (r) => r): string {
  const { indices, updates } = rowsForLayer(g, s, layer);
  return g.op1('ScatterND', [x, indices, mapValues(updates)]);
}

/** Rows `index` of x: [K, d]. */
export function gatherRows(g: GraphBuilder, x: string, index: string): string {
  return g.op1('Gather', [x, index], { axis: 0 });
}

/** Stacks per-layer taps [K, d] into one float32 output [L, K, d]. */
export function stackLayers(g: GraphBuilder, perLayer: string[], name: string, d: number, activation: number = DType.float): void {
  const stacked = g.op1('Reshape', [g.op1('Concat', perLayer, { axis: 0 }), g.ints([perLayer.length, -1, d])]);
  g.output(activation === DType.float ? stacked : g.op1('Cast', [stacked], { to: DType.float }), name, DType.float, [perLayer.length, 'tap_count', d]);
}
