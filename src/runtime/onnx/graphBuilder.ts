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
  type GraphProto,
  type ValueInfoProto,
} from 'onnx-buf';

/** ONNX element types used here (TensorProto.DataType). */
export const DType = { float: 1, int32: 6, int64: 7, bool: 9, float16: 10 } as const;
export type DTypeCode = (typeof DType)[keyof typeof DType];

export type AttrValue = number | string | number[] | { float: number } | { floats: number[] };
/** A symbolic or fixed dimension of a graph input/output. */
export type Dim = number | string;

/**
 * A small imperative builder for ONNX graphs: `op()` adds a node and returns its output names,
 * with fresh names so that a builder can be used like an expression language. Given an existing
 * graph, it appends to that graph (fresh names then carry `prefix`, so they cannot collide).
 */
export class GraphBuilder {
  readonly graph: GraphProto;
  private readonly prefix: string;
  private counter = 0;

  constructor(
    readonly name: string,
    options: { graph?: GraphProto; prefix?: string } = {},
  ) {
    this.graph = options.graph ?? create(GraphProtoSchema, { name });
    this.prefix = options.prefix ?? '';
  }

  input(name: string, dtype: DTypeCode, dims: readonly Dim[]): string {
    this.graph.input.push(valueInfo(name, dtype, dims));
    return name;
  }

  /** Exposes `tensor` as the graph output `name` (an Identity node when the names differ). */
  output(tensor: string, name: string, dtype: DTypeCode, dims?: readonly Dim[]): void {
    if (tensor !== name) this.op('Identity', [tensor], {}, { outputs: [name] });
    this.graph.output.push(valueInfo(name, dtype, dims));
  }

  /** A constant tensor stored in the graph (weights, shapes, tables). */
  init(name: string, data: Float32Array | Int32Array | BigInt64Array, dims: readonly number[]): string {
    const dataType = data instanceof Float32Array ? DType.float : data instanceof Int32Array ? DType.int32 : DType.int64;
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw new Error(`init ${name}: ${data.length} values for shape [${dims}]`);
    this.graph.initializer.push(
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
    const outputNames = typeof options.outputs === 'object' ? [...options.outputs] : Array.from({ length: options.outputs ?? 1 }, () => this.fresh(opType));
    this.graph.node.push(
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
    return `${this.prefix}${prefix}_${this.counter++}`;
  }

  /**
   * Serializes to an ONNX model: by default IR 10, opset 21 + com.microsoft 1; `opsets` maps domains
   * ('' for ai.onnx) to versions, e.g. for a graph of standard ops that older runtimes must load.
   */
  toBytes({ irVersion = 10, opsets = { '': 21, 'com.microsoft': 1 } }: { irVersion?: number; opsets?: Record<string, number> } = {}): Uint8Array {
    const model = create(ModelProtoSchema, {
      irVersion: BigInt(irVersion),
      producerName: 'iterative-vectors',
      opsetImport: Object.entries(opsets).map(([domain, version]) => create(OperatorSetIdProtoSchema, { domain, version: BigInt(version) })),
      graph: this.graph,
    });
    return toBinary(ModelProtoSchema, model);
  }
}

export function valueInfo(name: string, dtype: DTypeCode, dims?: readonly Dim[]): ValueInfoProto {
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
