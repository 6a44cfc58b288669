import { create, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType as AttrType,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProtoSchema,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';

/** ONNX element types used here (TensorProto.DataType). */
export const DType = { float: 1, int32: 6, int64: 7, bool: 9 } as const;
export type DTypeCode = (typeof DType)[keyof typeof DType];

export type AttrValue = number | string | number[] | { float: number } | { floats: number[] };
/** A symbolic or fixed dimension of a graph input/output. */
export type Dim = number | string;

/**
 * A small imperative builder for ONNX graphs: `op()` adds a node and returns its output names,
 * with fresh names so that a builder can be used like an expression language.
 */
export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  input(name: string, dtype: DTypeCode, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  /** Exposes `tensor` as the graph output `name` (an Identity node when the names differ). */
  output(tensor: string, name: string, dtype: DTypeCode, dims?: readonly Dim[]): void {
    if (tensor !== name) this.op('Identity', [tensor], {}, { outputs: [name] });
    this.outputs.push(valueInfo(name, dtype, dims));
  }

  /** A constant tensor stored in the graph (weights, shapes, tables). */
  init(name: string, data: Float32Array | Int32Array | BigInt64Array, dims: readonly number[]): string {
    const dataType = data instanceof Float32Array ? DType.float : data instanceof Int32Array ? DType.int32 : DType.int64;
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw new Error(`init ${name}: ${data.length} values for shape [${dims}]`);
    this.initializers.push(
      create(TensorProtoSchema, {
        name,
        dataType,
        dims: dims.map(BigInt),
        rawData: new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength),
      }),
    );
    return name;
  }

  /** An int64 constant, e.g. a shape for Reshape or axes for Unsqueeze. */
  ints(values: readonly number[], name = this.fresh('const')): string {
    return this.init(name, BigInt64Array.from(values.map(BigInt)), [values.length]);
  }

  scalarF(value: number, name = this.fresh('scalar')): string {
    return this.init(name, Float32Array.of(value), []);
  }

  op(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    options: { outputs?: readonly string[] | number; domain?: string; name?: string } = {},
  ): string[] {
    const outputNames =
      typeof options.outputs === 'object' ? [...options.outputs] : Array.from({ length: options.outputs ?? 1 }, () => this.fresh(opType));
    this.nodes.push(
      create(NodeProtoSchema, {
        opType,
        domain: options.domain ?? '',
        name: options.name ?? this.fresh(`n_${opType}`),
        input: [...inputs],
        output: outputNames,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outputNames;
  }

  /** Shorthand for single-output nodes. */
  op1(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, domain?: string): string {
    return this.op(opType, inputs, attrs, { domain })[0];
  }

  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** Serializes to an ONNX model (IR 10, opset 21 + com.microsoft 1). */
  toBytes(): Uint8Array {
    const model = create(ModelProtoSchema, {
      irVersion: 10n,
      producerName: 'iterative-vectors',
      opsetImport: [
        create(OperatorSetIdProtoSchema, { domain: '', version: 21n }),
        create(OperatorSetIdProtoSchema, { domain: 'com.microsoft', version: 1n }),
      ],
      graph: create(GraphProtoSchema, {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      }),
    });
    return toBinary(ModelProtoSchema, model);
  }
}

function valueInfo(name: string, dtype: DTypeCode, dims?: readonly Dim[]): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType: dtype,
          shape: dims && create(TensorShapeProtoSchema, { dim: dims.map(dimension) }),
        }),
      },
    }),
  });
}

function dimension(d: Dim) {
  return create(TensorShapeProto_DimensionSchema, {
    value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d },
  });
}

function attribute(name: string, v: AttrValue): AttributeProto {
  if (typeof v === 'string') return create(AttributeProtoSchema, { name, type: AttrType.STRING, s: new TextEncoder().encode(v) });
  if (typeof v === 'number') return create(AttributeProtoSchema, { name, type: AttrType.INT, i: BigInt(v) });
  if (Array.isArray(v)) return create(AttributeProtoSchema, { name, type: AttrType.INTS, ints: v.map(BigInt) });
  if ('float' in v) return create(AttributeProtoSchema, { name, type: AttrType.FLOAT, f: v.float });
  return create(AttributeProtoSchema, { name, type: AttrType.FLOATS, floats: v.floats });
}
