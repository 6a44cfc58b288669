import { SITE_OPERATION, SITES, type Site } from '../../core/model';
import type { GraphBuilder } from './graphBuilder';
import { DType } from './graphBuilder';

/**
 * Sparse interventions on a flat activation [N = batch * length, d]: every intervention is a row
 * index into N, a layer and a d-vector. Per layer, the rows for that layer are selected with
 * Compress, so the work grows with the number of interventions, not with batch x length x d.
 * Only opset-11 operators are used, so the same helpers instrument old third-party exports.
 */
export interface SparseInputs {
  site: Site;
  index: string; // int64 [M] flat row index
  layer: string; // int64 [M]
  value: string; // [M, d] in the activation dtype
}

export interface SiteNames {
  index: string;
  layer: string;
  value: string;
  count: string;
  step: string;
  taps: string;
}

/**
 * Graph names of a site's inputs and outputs, the one scheme every graph and feed uses: sparse edits
 * `<prefix>edit.<site>.index/.layer/.value` (`.count` their symbolic length), a decode step's dense
 * edit `<prefix>edit.<site>.step`, taps `<prefix>taps.<site>`. `prefix` keeps an instrumented
 * export's names apart from its own.
 */
export function siteNames(site: Site, prefix = ''): SiteNames {
  const edit = `${prefix}edit.${site}`;
  return {
    index: `${edit}.index`,
    layer: `${edit}.layer`,
    value: `${edit}.value`,
    count: `${edit}.count`,
    step: `${edit}.step`,
    taps: `${prefix}taps.${site}`,
  };
}

/** One value per site. */
export function bySite<T>(f: (site: Site) => T): Record<Site, T> {
  return Object.fromEntries(SITES.map((s) => [s, f(s)])) as Record<Site, T>;
}

/** The site's sparse edit inputs; values come in as float32 and are cast to the activations' dtype. */
export function declareSparseInputs(g: GraphBuilder, site: Site, names: SiteNames, d: number, activation: number = DType.float): SparseInputs {
  const value = g.input(names.value, DType.float, [names.count, d]);
  return {
    site,
    index: g.input(names.index, DType.int64, [names.count]),
    layer: g.input(names.layer, DType.int64, [names.count]),
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

/** This layer's edits at `s.site` applied to x, adding or replacing as SITE_OPERATION says. */
export function editRows(g: GraphBuilder, x: string, s: SparseInputs, layer: number): string {
  return SITE_OPERATION[s.site] === 'add' ? addRows(g, x, s, layer) : replaceRows(g, x, s, layer);
}

/** x[index] += value for this layer's rows (callers merge duplicate rows beforehand). */
function addRows(g: GraphBuilder, x: string, s: SparseInputs, layer: number): string {
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
