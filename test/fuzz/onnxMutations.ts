/**
 * Structure-aware mutations of ONNX graphs (onnx-buf messages): nodes dropped, renamed or rewired (cycles
 * included), inputs and outputs removed, retyped and reshaped, unknown inputs added, opsets changed, and
 * initializers moved to external data at any location (outside the folder, the graph itself, a folder, a
 * missing file) with any offset and length.
 */
import { clone, create, fromBinary, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import {
  ModelProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataLocation,
  TensorShapeProto_DimensionSchema,
  ValueInfoProtoSchema,
  type GraphProto,
  type ModelProto,
} from 'onnx-buf';
import { weirdString } from './arbitraries';

/** A tensor name: one that exists in the graph (picked by index when applied), or a new one. */
export type Name = { existing: number } | { text: string };

export type GraphOp =
  | { op: 'drop-node'; at: number }
  | { op: 'rename-output'; at: number; name: Name }
  | { op: 'rewire-input'; at: number; slot: number; name: Name }
  | { op: 'rename-node'; at: number; name: string }
  | { op: 'op-type'; at: number; type: string }
  | { op: 'drop-graph-output'; at: number }
  | { op: 'drop-graph-input'; at: number }
  | { op: 'input-type'; at: number; elemType: number }
  | { op: 'input-dims'; at: number; dims: (number | string)[] }
  | { op: 'add-input'; name: string; elemType: number }
  | { op: 'rename-graph-output'; at: number; name: string }
  | { op: 'opset'; version: number }
  | { op: 'ir-version'; version: number }
  | { op: 'drop-initializer'; at: number }
  | { op: 'initializer-dims'; at: number; dims: number[] }
  | { op: 'external'; at: number; location: string; offset?: string; length?: string };

const name: fc.Arbitrary<Name> = fc.oneof(
  fc.record({ existing: fc.nat() }),
  fc.record({
    text: fc.oneof(
      weirdString,
      fc.constantFrom('logits', 'input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key', 'present.0.key', 'use_cache_branch'),
    ),
  }),
);

const EXTERNAL_LOCATIONS = [
  'model.onnx.data',
  '../outside.bin',
  '../../../etc/hostname',
  '/etc/hostname',
  '/dev/zero',
  'model.onnx',
  'missing.data',
  'sub/dir/x.data',
  '.',
  '',
  'link.data',
  'C:\\x.data',
  'model.onnx.data\u0000x',
];
const INT_TEXTS = ['0', '1', '-1', '16', '4096', '9007199254740993', '18446744073709551615', 'x', '', '1e3', '0x10'];

export const graphOp: fc.Arbitrary<GraphOp> = fc.oneof(
  fc.record({ op: fc.constant('drop-node' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('rename-output' as const), at: fc.nat(), name }),
  fc.record({ op: fc.constant('rewire-input' as const), at: fc.nat(), slot: fc.nat(3), name }),
  fc.record({
    op: fc.constant('rename-node' as const),
    at: fc.nat(),
    name: fc.oneof(weirdString, fc.constantFrom('/model/layers.0/self_attn/o_proj/MatMul', '/model/layers.7/self_attn/o_proj/MatMul')),
  }),
  fc.record({
    op: fc.constant('op-type' as const),
    at: fc.nat(),
    type: fc.constantFrom('If', 'Loop', 'Scan', 'Add', 'MatMul', 'Attention', 'GroupQueryAttention', 'SkipLayerNormalization', 'Identity', 'Unknown', ''),
  }),
  fc.record({ op: fc.constant('drop-graph-output' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('drop-graph-input' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('input-type' as const), at: fc.nat(), elemType: fc.constantFrom(0, 1, 2, 6, 7, 9, 10, 11, 16, 99) }),
  fc.record({
    op: fc.constant('input-dims' as const),
    at: fc.nat(),
    dims: fc.array(fc.oneof(fc.constantFrom(0, 1, 2, 64, -1, 2 ** 31, 2 ** 53), fc.constantFrom('batch', 'seq', '', 'x')), { maxLength: 5 }),
  }),
  fc.record({
    op: fc.constant('add-input' as const),
    name: fc.oneof(weirdString, fc.constantFrom('past_key_values.9.key', 'write_indices', 'nonpad_kv_seqlen', 'use_cache_branch', 'token_type_ids')),
    elemType: fc.constantFrom(1, 6, 7, 9, 10),
  }),
  fc.record({
    op: fc.constant('rename-graph-output' as const),
    at: fc.nat(),
    name: fc.oneof(weirdString, fc.constantFrom('logits', 'present.0.key', 'present.1.value')),
  }),
  fc.record({ op: fc.constant('opset' as const), version: fc.constantFrom(0, 1, 7, 13, 17, 21, 99, -1) }),
  fc.record({ op: fc.constant('ir-version' as const), version: fc.constantFrom(0, 1, 3, 8, 10, 99) }),
  fc.record({ op: fc.constant('drop-initializer' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('initializer-dims' as const), at: fc.nat(), dims: fc.array(fc.constantFrom(0, 1, 2, 3, 64, 2 ** 31, -1), { maxLength: 4 }) }),
  fc.record({
    op: fc.constant('external' as const),
    at: fc.nat(),
    location: fc.oneof(fc.constantFrom(...EXTERNAL_LOCATIONS), weirdString),
    offset: fc.option(fc.constantFrom(...INT_TEXTS), { nil: undefined }),
    length: fc.option(fc.constantFrom(...INT_TEXTS), { nil: undefined }),
  }),
);

/** The graphs a mutation may act on: the top graph and, for a merged decoder, its If branches. */
function graphs(model: ModelProto): GraphProto[] {
  const out: GraphProto[] = [];
  if (model.graph) out.push(model.graph);
  for (const n of model.graph?.node ?? []) for (const a of n.attribute) if (a.g) out.push(a.g);
  return out;
}

function names(g: GraphProto): string[] {
  return [...g.input.map((i) => i.name), ...g.node.flatMap((n) => n.output), ...g.initializer.map((t) => t.name)];
}

const pick = <T>(xs: readonly T[], at: number): T | undefined => (xs.length ? xs[at % xs.length] : undefined);
const resolve = (g: GraphProto, n: Name) => ('text' in n ? n.text : (pick(names(g), n.existing) ?? 'x'));

/** The model bytes with the mutations applied (`which` picks the graph each op acts on). */
export function mutateGraph(source: ModelProto, ops: readonly { which: number; op: GraphOp }[]): Uint8Array {
  const model = clone(ModelProtoSchema, source);
  for (const { which, op } of ops) {
    const g = pick(graphs(model), which);
    if (!g) continue;
    switch (op.op) {
      case 'drop-node':
        if (g.node.length) g.node.splice(op.at % g.node.length, 1);
        break;
      case 'rename-output': {
        const n = pick(g.node, op.at);
        if (n && n.output.length) n.output[0] = resolve(g, op.name);
        break;
      }
      case 'rewire-input': {
        const n = pick(g.node, op.at);
        if (n) n.input[Math.min(op.slot, n.input.length)] = resolve(g, op.name);
        break;
      }
      case 'rename-node': {
        const n = pick(g.node, op.at);
        if (n) n.name = op.name;
        break;
      }
      case 'op-type': {
        const n = pick(g.node, op.at);
        if (n) n.opType = op.type;
        break;
      }
      case 'drop-graph-output':
        if (g.output.length) g.output.splice(op.at % g.output.length, 1);
        break;
      case 'drop-graph-input':
        if (g.input.length) g.input.splice(op.at % g.input.length, 1);
        break;
      case 'input-type': {
        const t = pick(g.input, op.at)?.type?.value;
        if (t?.case === 'tensorType') t.value.elemType = op.elemType;
        break;
      }
      case 'input-dims': {
        const t = pick(g.input, op.at)?.type?.value;
        if (t?.case === 'tensorType' && t.value.shape) {
          t.value.shape.dim = op.dims.map((d) =>
            create(TensorShapeProto_DimensionSchema, {
              value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d },
            }),
          );
        }
        break;
      }
      case 'add-input':
        g.input.push(
          create(ValueInfoProtoSchema, {
            name: op.name,
            type: { value: { case: 'tensorType', value: { elemType: op.elemType, shape: { dim: [{ value: { case: 'dimParam', value: 'batch' } }] } } } },
          }),
        );
        break;
      case 'rename-graph-output': {
        const o = pick(g.output, op.at);
        if (o) o.name = op.name;
        break;
      }
      case 'opset':
        for (const o of model.opsetImport) if (o.domain === '' || o.domain === 'ai.onnx') o.version = BigInt(op.version);
        break;
      case 'ir-version':
        model.irVersion = BigInt(op.version);
        break;
      case 'drop-initializer':
        if (g.initializer.length) g.initializer.splice(op.at % g.initializer.length, 1);
        break;
      case 'initializer-dims': {
        const t = pick(g.initializer, op.at);
        if (t) t.dims = op.dims.map((d) => BigInt(d));
        break;
      }
      case 'external': {
        const t = pick(g.initializer, op.at);
        if (!t) break;
        const entries = [{ key: 'location', value: op.location }];
        if (op.offset !== undefined) entries.push({ key: 'offset', value: op.offset });
        if (op.length !== undefined) entries.push({ key: 'length', value: op.length });
        t.externalData = entries.map((e) => create(StringStringEntryProtoSchema, e));
        t.dataLocation = TensorProto_DataLocation.EXTERNAL;
        t.rawData = new Uint8Array(0);
        t.floatData = [];
        break;
      }
    }
  }
  return toBinary(ModelProtoSchema, model);
}

export const decodeModel = (bytes: Uint8Array): ModelProto => fromBinary(ModelProtoSchema, bytes);
