import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType as AttrType,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProtoSchema,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from 'onnx-buf';

/**
 * The quantized variants of a Transformers.js model folder, as its conversion script names them
 * (scripts/quantize.py: `model_q4.onnx`, and `model_quantized.onnx` for q8), and as ONNX Runtime's
 * quantization tools write them, so that graphs made here look like the hub's:
 *
 *  - q4: onnxruntime.quantization.matmul_4bits_quantizer (MatMulNBitsQuantizer, the default RTN
 *    algorithm with Transformers.js's settings block_size 32, is_symmetric, no accuracy_level).
 *  - q8: onnxruntime.quantization's ONNXQuantizer in IntegerOps mode with dynamic activations, as
 *    Transformers.js's q8 runs it (quantize_dynamic's defaults write the same): int8 weights.
 */
export const HUB_VARIANTS = {
  q4: 'onnx/model_q4.onnx',
  q8: 'onnx/model_quantized.onnx',
} as const;
export type HubVariant = keyof typeof HUB_VARIANTS;

const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;
const MS_DOMAIN = 'com.microsoft';

/** The fp32 model `bytes` quantized as `variant` (see HUB_VARIANTS). */
export function quantizeModelBytes(bytes: Uint8Array, variant: HubVariant): Uint8Array {
  const model = fromBinary(ModelProtoSchema, bytes);
  if (variant === 'q4') quantizeMatMulNBits(model);
  else quantizeDynamic(model);
  return toBinary(ModelProtoSchema, model);
}

/**
 * As ORT's MatMulNBitsQuantizer (DefaultWeightOnlyQuantizer.quantize_matmul, QOperator format): every
 * MatMul whose B is a 2-D float initializer [K, N] becomes com.microsoft MatMulNBits(A, B_Q4, scales)
 * named `<MatMul>_Q4` with the MatMul's output, attributes K, N, bits, block_size; B_Q4 (`<B>_Q4`) is
 * uint8 [N, ceil(K / block), block / 2]: column n of B, block by block, two 4-bit codes a byte, low
 * nibble first (even k); scales (`<B>_scales`) float [N, blocks] (as ORT 1.30 writes them; older
 * versions wrote [N * blocks]). Symmetric as MLAS's BlockwiseQuantizer with no zero points:
 * scale = -(the block's value of largest magnitude) / 8, code = clamp(round(v / scale + 8), 0, 15),
 * and no zero_points input (MatMulNBits' default zero point 8). A MatMul whose B is computed (the tied
 * lm_head's Transpose of the embedding) stays fp32, as ORT leaves it.
 */
export function quantizeMatMulNBits(model: ModelProto, blockSize = 32): ModelProto {
  const graph = model.graph!;
  const inits = new Map(graph.initializer.map((t) => [t.name, t]));
  const done = new Map<string, { q: string; scales: string; K: number; N: number }>();
  graph.node = graph.node.map((node) => {
    const b = constantB(node, inits);
    if (!b || b.dims.length !== 2) return node;
    let q = done.get(b.name);
    if (!q) {
      const [K, N] = b.dims.map(Number);
      const { packed, scales, blocks, blob } = blockQuantize4(floatsOf(b), K, N, blockSize);
      q = { q: `${b.name}_Q4`, scales: `${b.name}_scales`, K, N };
      graph.initializer.push(tensor(q.q, UINT8, [N, blocks, blob], packed), tensor(q.scales, FLOAT, [N, blocks], bytesOf(scales)));
      done.set(b.name, q);
    }
    return create(NodeProtoSchema, {
      opType: 'MatMulNBits',
      domain: MS_DOMAIN,
      name: node.name ? `${node.name}_Q4` : '',
      input: [node.input[0], q.q, q.scales],
      output: [node.output[0]],
      attribute: [intAttr('K', q.K), intAttr('N', q.N), intAttr('bits', 4), intAttr('block_size', blockSize)],
    });
  });
  removeUnusedInitializers(graph);
  if (!model.opsetImport.some((o) => o.domain === MS_DOMAIN)) model.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: MS_DOMAIN, version: 1n }));
  return model;
}

/**
 * MLAS's BlockwiseQuantizer<float, block, 4, columnwise>::quantizeAndTranspose without zero points
 * (the kernel behind quantize_matmul_4bits with is_symmetric) on B [K, N] row-major, in float32
 * arithmetic as the C++ (Math.fround). Byte for byte as ORT writes it when K is not a multiple of the
 * block: the padding rows' bytes stay 0 and a lone last row's high nibble repeats the row before's
 * code within its 2-block stretch (the kernel's leftover), as MatMulNBits never reads them.
 */
export function blockQuantize4(b: Float32Array, K: number, N: number, blockSize: number) {
  if (blockSize < 16 || blockSize & (blockSize - 1)) throw new Error(`block size ${blockSize}: a power of two >= 16`);
  const blocks = Math.ceil(K / blockSize);
  const blob = blockSize / 2;
  const packed = new Uint8Array(N * blocks * blob);
  const scales = new Float32Array(N * blocks);
  for (let n = 0; n < N; n++) {
    for (let blk = 0; blk < blocks; blk++) {
      let min = 3.4028234663852886e38;
      let max = -min;
      for (let k = blk * blockSize; k < Math.min(K, (blk + 1) * blockSize); k++) {
        const v = b[k * N + n];
        if (v < min) min = v;
        if (v > max) max = v;
      }
      // range2scale: the larger half of the float range maps onto [-8, 0].
      const far = Math.abs(max) > Math.abs(min) ? max : min;
      scales[n * blocks + blk] = Math.fround(-far / 8);
    }
    // roundf rounds halves away from zero; below 0 the clamp makes the difference moot.
    const code = (k: number) => {
      const scale = scales[n * blocks + Math.floor(k / blockSize)];
      const reciprocal = scale ? Math.fround(1 / scale) : 0;
      return Math.min(15, Math.max(0, Math.round(Math.fround(Math.fround(b[k * N + n] * reciprocal) + 8))));
    };
    let high = 0;
    for (let k = 0; k < K; k += 2) {
      if (k % (2 * blockSize) === 0) high = 0;
      const low = code(k);
      if (k + 1 < K) high = code(k + 1);
      packed[n * blocks * blob + k / 2] = (low & 0xf) | (high << 4);
    }
  }
  return { packed, scales, blocks, blob };
}

/** The operators ORT's IntegerOps quantizer handles that a decoder of standard ops has (its IntegerOpsRegistry also lists Conv, Attention, LSTM, EmbedLayerNormalization). */
export const INTEGER_OPS = ['MatMul', 'Gather', 'Transpose'] as const;
export type IntegerOp = (typeof INTEGER_OPS)[number];

interface Quantized {
  q: string;
  scale: string;
  zp: string;
}

/**
 * As ORT's ONNXQuantizer in IntegerOps mode with dynamic activations (uint8), int8 weights, per
 * tensor and MatMulConstBOnly: what quantize_dynamic and Transformers.js's q8 (scripts/quantize.py,
 * `model_quantized.onnx`) write, node for node. `ops` narrows the operators (default: all of INTEGER_OPS,
 * as both do). In graph order:
 *
 *  - MatMul whose B is a float initializer (operators/matmul.py, MatMulInteger):
 *      DynamicQuantizeLinear `<A>_QuantizeLinear`(A) → `<A>_quantized`, `<A>_scale`, `<A>_zero_point`
 *        (once per distinct A: q/k/v and gate/up share theirs)
 *      MatMulInteger `<MatMul>_quant`(A_quantized, `<B>_quantized`, A_zero_point, `<B>_zero_point`) → `<out>_output_quantized`
 *      Cast `<out>_output_quantized_cast` (to float) → `<out>_output_quantized_cast_output`
 *      Mul `<MatMul>_quant_scales_mul`(A_scale, `<B>_scale`) → `<MatMul>_quant_scales_mul:0`
 *      Mul `<MatMul>_quant_output_scale_mul`(cast output, scales product) → `<out>` (the MatMul's own output)
 *    B symmetric int8 (QInt8 weights are symmetric by default): scale = 2 max|B| / 254, zero point 0.
 *    A MatMul with a computed B (attention, the tied lm_head) stays fp32.
 *  - Gather from a float initializer W (operators/gather.py): W quantized as an activation (uint8,
 *    asymmetric: `<W>_quantized`, `<W>_scale`, `<W>_zero_point`), the Gather reads it and writes `<out>_quantized`.
 *  - Transpose of a quantized value (operators/direct_q8.py): runs on the uint8 data, `<out>_quantized`.
 *  - Any other node that reads a quantized value gets `DequantizeLinear` `<value>_DequantizeLinear`
 *    (q, scale, zero point) → `<value>` before it, once (so the embedding lookup, the RoPE table lookups
 *    and the tied lm_head's Transpose are dequantized after the fact).
 *
 * The fp32 initializers no longer read are removed; the producer becomes onnx.quantize 0.1.0 as ORT writes it.
 */
export function quantizeDynamic(model: ModelProto, ops: readonly IntegerOp[] = INTEGER_OPS): ModelProto {
  const graph = model.graph!;
  const inits = new Map(graph.initializer.map((t) => [t.name, t]));
  const quantized = new Map<string, Quantized>(); // ORT's quantized_value_map
  const renamed = new Set<string>(); // values now only held quantized (ORT: not in generated_value_names)
  const dequantized = new Set<string>();
  const nodes: NodeProto[] = [];
  const quantizeInitializer = (t: TensorProto, type: 'int8' | 'uint8'): Quantized => {
    let qv = quantized.get(t.name);
    if (qv) return qv;
    qv = { q: `${t.name}_quantized`, scale: `${t.name}_scale`, zp: `${t.name}_zero_point` };
    const { q, scale, zeroPoint } = type === 'int8' ? quantizeSymmetricInt8(floatsOf(t)) : quantizeAsymmetricUint8(floatsOf(t));
    const dataType = type === 'int8' ? INT8 : UINT8;
    graph.initializer.push(
      create(TensorProtoSchema, { name: qv.scale, dataType: FLOAT, dims: [], floatData: [scale] }),
      create(TensorProtoSchema, { name: qv.zp, dataType, dims: [], int32Data: [zeroPoint] }),
      tensor(qv.q, dataType, t.dims.map(Number), new Uint8Array(q.buffer, q.byteOffset, q.byteLength)),
    );
    quantized.set(t.name, qv);
    renamed.add(t.name);
    return qv;
  };
  const dequantizeInputs = (node: NodeProto) => {
    for (const v of node.input) {
      const qv = quantized.get(v);
      if (!qv || !renamed.has(v) || dequantized.has(v)) continue;
      dequantized.add(v);
      nodes.push(create(NodeProtoSchema, { opType: 'DequantizeLinear', name: `${v}_DequantizeLinear`, input: [qv.q, qv.scale, qv.zp], output: [v] }));
    }
  };
  for (const node of graph.node) {
    const op = node.domain === '' && (ops as readonly string[]).includes(node.opType) ? (node.opType as IntegerOp) : undefined;
    const b = op === 'MatMul' ? constantB(node, inits) : undefined;
    if (b && !inits.has(node.input[0])) {
      const a = node.input[0];
      let aq = quantized.get(a);
      if (!aq) {
        aq = { q: `${a}_quantized`, scale: `${a}_scale`, zp: `${a}_zero_point` };
        quantized.set(a, aq);
        nodes.push(create(NodeProtoSchema, { opType: 'DynamicQuantizeLinear', name: `${a}_QuantizeLinear`, input: [a], output: [aq.q, aq.scale, aq.zp] }));
      }
      const w = quantizeInitializer(b, 'int8');
      const out = node.output[0];
      const name = node.name ? `${node.name}_quant` : '';
      const integer = `${out}_output_quantized`;
      const cast = `${integer}_cast_output`;
      const scalesMul = name ? `${name}_scales_mul` : `${aq.scale}_${w.scale}_mul`;
      nodes.push(
        create(NodeProtoSchema, { opType: 'MatMulInteger', name, input: [aq.q, w.q, aq.zp, w.zp], output: [integer] }),
        create(NodeProtoSchema, { opType: 'Cast', name: `${integer}_cast`, input: [integer], output: [cast], attribute: [intAttr('to', FLOAT)] }),
        create(NodeProtoSchema, { opType: 'Mul', name: scalesMul, input: [aq.scale, w.scale], output: [`${scalesMul}:0`] }),
        create(NodeProtoSchema, { opType: 'Mul', name: name ? `${name}_output_scale_mul` : '', input: [cast, `${scalesMul}:0`], output: [out] }),
      );
    } else if (op === 'Gather' && inits.get(node.input[0])?.dataType === FLOAT) {
      const w = quantizeInitializer(inits.get(node.input[0])!, 'uint8');
      const out = node.output[0];
      quantized.set(out, { ...w, q: `${out}_quantized` });
      renamed.add(out);
      nodes.push(create(NodeProtoSchema, { ...node, input: [w.q, ...node.input.slice(1)], output: [`${out}_quantized`, ...node.output.slice(1)] }));
    } else if (op === 'Transpose' && quantized.has(node.input[0])) {
      const qv = quantized.get(node.input[0])!;
      const out = node.output[0];
      quantized.set(out, { ...qv, q: `${out}_quantized` });
      renamed.add(out);
      nodes.push(create(NodeProtoSchema, { ...node, input: [qv.q], output: [`${out}_quantized`] }));
    } else {
      dequantizeInputs(node);
      nodes.push(node);
    }
  }
  // _dequantize_outputs: graph outputs are float again at the end.
  dequantizeInputs(create(NodeProtoSchema, { input: graph.output.map((o) => o.name) }));
  graph.node = nodes;
  removeUnusedInitializers(graph);
  model.producerName = 'onnx.quantize';
  model.producerVersion = '0.1.0';
  return model;
}

/** quant_utils.quantize_data for QInt8 weights, symmetric, per tensor, no reduced range. */
export function quantizeSymmetricInt8(data: Float32Array): { q: Int8Array; scale: number; zeroPoint: number } {
  let rmin = 0;
  let rmax = 0;
  for (const v of data) {
    if (v < rmin) rmin = v;
    if (v > rmax) rmax = v;
  }
  const absmax = Math.max(Math.abs(rmin), Math.abs(rmax));
  let scale = (2 * absmax) / 254; // float64 as compute_scale_zp, qmin..qmax = -127..127
  scale = scale < 1.1754943508222875e-38 ? 1 : Math.fround(scale);
  const q = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) q[i] = Math.min(127, Math.max(-128, roundHalfEven(Math.fround(data[i] / scale))));
  return { q, scale, zeroPoint: 0 };
}

/** quant_utils.quantize_data for uint8 activations (as Gather's table is), asymmetric, per tensor. */
export function quantizeAsymmetricUint8(data: Float32Array): { q: Uint8Array; scale: number; zeroPoint: number } {
  let rmin = 0;
  let rmax = 0;
  for (const v of data) {
    if (v < rmin) rmin = v;
    if (v > rmax) rmax = v;
  }
  // compute_scale_zp: the range in float32, the scale and zero point in float64, the scale stored float32.
  const wide = Math.fround(rmax - rmin) / 255;
  if (wide < 1.1754943508222875e-38) return { q: new Uint8Array(data.length), scale: 1, zeroPoint: 0 };
  const zeroPoint = roundHalfEven(0 - rmin / wide);
  const scale = Math.fround(wide);
  const q = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) q[i] = Math.min(255, Math.max(0, roundHalfEven(Math.fround(data[i] / scale)) + zeroPoint));
  return { q, scale, zeroPoint };
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The float initializer B of a standard MatMul, if it has one. */
function constantB(node: NodeProto, inits: Map<string, TensorProto>): TensorProto | undefined {
  if (node.opType !== 'MatMul' || node.domain !== '' || node.input.length !== 2) return undefined;
  const b = inits.get(node.input[1]);
  return b && b.dataType === FLOAT ? b : undefined;
}

function floatsOf(t: TensorProto): Float32Array {
  // A copy: rawData may be a view into a larger buffer (a Node Buffer's pool), at any alignment.
  if (t.rawData.length > 0) return new Float32Array(new Uint8Array(t.rawData).buffer);
  return Float32Array.from(t.floatData);
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function tensor(name: string, dataType: number, dims: readonly number[], raw: Uint8Array): TensorProto {
  return create(TensorProtoSchema, { name, dataType, dims: dims.map(BigInt), rawData: raw as Uint8Array<ArrayBuffer> });
}

function intAttr(name: string, value: number) {
  return create(AttributeProtoSchema, { name, type: AttrType.INT, i: BigInt(value) });
}

/** ONNXModel.clean_initializers: drops initializers that no node and no graph output reads. */
function removeUnusedInitializers(graph: GraphProto): void {
  const used = new Set<string>([...graph.node.flatMap((n) => n.input), ...graph.output.map((o) => o.name)]);
  graph.initializer = graph.initializer.filter((t) => used.has(t.name));
}
