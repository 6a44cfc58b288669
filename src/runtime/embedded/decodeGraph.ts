import type { Llama2cWeights } from './checkpoint';
import type { GraphWeights } from './llamaWeights';
import { feedForward, rmsNorm } from './forwardGraph';
import type { Site } from '../../core/model';
import { DType, GraphBuilder } from '../onnx/graphBuilder';
import { siteNames } from '../onnx/sites';

/** The one site a decode step edits: steering adds at every new token's attention output. */
const STEP_SITE: Site = 'attn_out';

export const DEC = {
  ids: 'input_ids',
  position: 'position_ids',
  mask: 'cache_mask',
  stepSite: STEP_SITE,
  stepEdit: siteNames(STEP_SITE).step,
  logits: 'logits',
  newKv: 'new_kv',
  keyCache: (l: number) => `key_cache_${l}`,
  valueCache: (l: number) => `value_cache_${l}`,
} as const;

/**
 * One decoding step for a single sequence. The KV cache lives in JS-owned buffers passed as inputs
 * (onnxruntime-node wraps input buffers without copying; large outputs, in contrast, are copied
 * back on every call): keys as [kvHeads, headSize, capacity] and values as [kvHeads, capacity,
 * headSize], so attention is two batched MatMuls with no transpose. Slots not yet written are
 * masked by `cache_mask` [capacity] (0 or -inf). The step returns the logits and only the new
 * token's rotated key and value rows `new_kv` [L, 2, kvDim], which the caller writes into the cache.
 * `edit.attn_out.step` [L, 1, d] is added to every layer's attention output (zeros = no edit).
 */
export function buildDecodeGraph(w: Llama2cWeights, gw: GraphWeights, capacity: number): Uint8Array {
  const { dim: d, nLayers: L, nHeads: H, nKvHeads: KV, vocabSize: V, seqLen } = w.config;
  const hs = d / H;
  const kvDim = KV * hs;
  const g = new GraphBuilder('stories-decode');
  const ids = g.input(DEC.ids, DType.int64, [1, 1]);
  const position = g.input(DEC.position, DType.int64, [1, 1]);
  const mask = g.input(DEC.mask, DType.float, [capacity]);
  const stepEdit = g.input(DEC.stepEdit, DType.float, [L, 1, d]);
  const emb = g.init('token_embedding', w.tokenEmbedding, [V, d]);
  const cos = g.init('rope_cos', gw.cos, [seqLen, hs / 2]);
  const sin = g.init('rope_sin', gw.sin, [seqLen, hs / 2]);
  const edits = g.op('Split', [stepEdit], { axis: 0, num_outputs: L }, { outputs: L });
  const scale = g.scalarF(1 / Math.sqrt(hs), 'attn_scale');
  // Query heads h*H/KV .. share key/value head h: group them so one MatMul per KV head serves all.
  const groupShape = g.ints([KV, H / KV, hs], 'group_shape');
  const kColShape = g.ints([KV, hs, 1], 'k_col_shape');
  const vRowShape = g.ints([KV, 1, hs], 'v_row_shape');
  const row = g.ints([1, 1, d], 'row_shape');
  // Activations stay [1, 1, width] so that RotaryEmbedding and the cache rows need no reshaping.
  const rope = (x: string, heads: number) => g.op1('RotaryEmbedding', [x, position, cos, sin], { interleaved: 1, num_heads: heads }, 'com.microsoft');

  let x = g.op1('Gather', [emb, ids], { axis: 0 });
  const newKv: string[] = [];
  for (let l = 0; l < L; l++) {
    const h = rmsNorm(g, x, g.init(`rms_att_${l}`, w.rmsAtt[l], [d]));
    const qkv = g.op1('MatMul', [h, g.init(`wqkv_${l}`, gw.wqkv[l], [d, d + 2 * kvDim])]);
    const [q0, k0, v] = g.op('Split', [qkv, g.ints([d, kvDim, kvDim])], { axis: -1 }, { outputs: 3 });
    const q = g.op1('Reshape', [rope(q0, H), groupShape]);
    const k = rope(k0, KV);
    newKv.push(g.op1('Concat', [k, v], { axis: 1 }));
    const keys = g.input(DEC.keyCache(l), DType.float, [KV, hs, capacity]);
    const values = g.input(DEC.valueCache(l), DType.float, [KV, capacity, hs]);
    // Scores over the cache (masked beyond the current length) and over the new token itself.
    const cached = g.op1('Add', [g.op1('MatMul', [q, keys]), mask]);
    const own = g.op1('MatMul', [q, g.op1('Reshape', [k, kColShape])]);
    const probs = g.op1('Softmax', [g.op1('Mul', [g.op1('Concat', [cached, own], { axis: -1 }), scale])], { axis: -1 });
    const [pCached, pOwn] = g.op('Split', [probs, g.ints([capacity, 1])], { axis: -1 }, { outputs: 2 });
    const attn = g.op1('Add', [g.op1('MatMul', [pCached, values]), g.op1('Mul', [pOwn, g.op1('Reshape', [v, vRowShape])])]);
    const o = g.op1('MatMul', [g.op1('Reshape', [attn, row]), g.init(`wo_${l}`, gw.wo[l], [d, d])]);
    const [h2, , , mid] = g.op(
      'SkipSimplifiedLayerNormalization',
      [x, g.op1('Add', [o, edits[l]]), g.init(`rms_ffn_${l}`, w.rmsFfn[l], [d])],
      { epsilon: { float: 1e-5 } },
      { domain: 'com.microsoft', outputs: 4 },
    );
    x = g.op1('Add', [mid, feedForward(g, h2, w, gw, l)]);
  }
  g.output(g.op1('Concat', newKv, { axis: 0 }), DEC.newKv, DType.float, [L, 2, kvDim]);
  const normed = rmsNorm(g, x, g.init('rms_final', w.rmsFinal, [d]));
  const classifier = w.config.sharedClassifier ? emb : g.init('classifier', w.classifier, [V, d]);
  g.output(g.op1('Gemm', [g.op1('Reshape', [normed, g.ints([1, d])]), classifier], { transB: 1 }), DEC.logits, DType.float, [1, V]);
  return g.toBytes();
}
