import type { GraphProto, NodeProto } from 'onnx-buf';
import { DType } from './graphBuilder';

/** Ops whose outputs have a fixed element type, whatever their inputs. */
const FIXED: Record<string, number> = {
  Shape: DType.int64,
  Size: DType.int64,
  NonZero: DType.int64,
  ArgMax: DType.int64,
  ArgMin: DType.int64,
  MatMulInteger: DType.int32,
  Equal: DType.bool,
  Less: DType.bool,
  LessOrEqual: DType.bool,
  Greater: DType.bool,
  GreaterOrEqual: DType.bool,
  Not: DType.bool,
  And: DType.bool,
  Or: DType.bool,
  Xor: DType.bool,
  IsNaN: DType.bool,
  IsInf: DType.bool,
};

/** Ops whose (first) output takes the element type of another input than the first. */
const FROM_INPUT: Record<string, number> = { CastLike: 1, Where: 1, DequantizeLinear: 1, GatherBlockQuantized: 2 };

/**
 * The element type of every tensor a graph computes, propagated from its inputs, initializers and
 * Constants (and `outer`, the enclosing graph's, for an If branch) through the ops exporters write.
 * An export may mix dtypes (Optimum's CPU fp16 keeps attention and the residual stream in float32
 * and the logits in float16), so instrumentation casts each edit to the type of its own site.
 * Types that cannot be told are absent.
 */
export function elementTypes(graph: GraphProto, outer: ReadonlyMap<string, number> = new Map()): Map<string, number> {
  const types = new Map(outer);
  for (const t of graph.initializer) types.set(t.name, t.dataType);
  for (const v of graph.input) if (v.type?.value.case === 'tensorType') types.set(v.name, v.type.value.value.elemType);
  for (const n of graph.node) {
    const type = outputType(n, types);
    if (type === undefined) continue;
    for (const [k, o] of n.output.entries()) if (o && !(n.opType === 'DynamicQuantizeLinear' && k !== 1)) types.set(o, type);
  }
  return types;
}

function outputType(n: NodeProto, types: ReadonlyMap<string, number>): number | undefined {
  const attr = (name: string) => n.attribute.find((a) => a.name === name);
  if (n.opType in FIXED) return FIXED[n.opType];
  if (n.opType === 'Cast') return Number(attr('to')?.i ?? 0) || undefined;
  if (n.opType === 'Constant') return attr('value')?.t?.dataType;
  if (n.opType === 'ConstantOfShape') return attr('value')?.t?.dataType ?? DType.float;
  // The type of its output 1, the float scale (outputs 0 and 2, uint8, are left out above).
  if (n.opType === 'DynamicQuantizeLinear') return types.get(n.input[0]);
  if (n.opType in FROM_INPUT) return types.get(n.input[FROM_INPUT[n.opType]]);
  // Otherwise an activation op: the type of its floating inputs (ids and masks beside them, as
  // EmbedLayerNormalization's, do not set it), else of its first typed one (shape arithmetic).
  const known = n.input.filter((i) => i && types.has(i)).map((i) => types.get(i)!);
  return known.find((t) => FLOATS.has(t)) ?? known[0];
}

const FLOATS = new Set([DType.float, DType.float16, 16 /* bfloat16 */, 11 /* double */]);

/** Whether an element type is a floating-point one. */
export const isFloating = (type: number | undefined): boolean => type !== undefined && FLOATS.has(type);
