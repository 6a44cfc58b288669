import type { Llama2cWeights } from './checkpoint';
import type { GraphWeights } from './llamaWeights';
import { DType, GraphBuilder } from '../onnx/graphBuilder';
import { SITES, type Site } from '../../core/model';
import { bySite, declareSparseInputs, editRows, gatherRows, siteNames, stackLayers } from '../onnx/sites';

/** Names of the forward graph's inputs and outputs (the runtime feeds and fetches by these). */
export const FWD = {
  ids: 'input_ids',
  tapIndex: 'tap_index',
  logitIndex: 'logit_index',
  logits: 'logits',
  site: (site: Site) => siteNames(site),
  presentKey: (l: number) => `present_key_${l}`,
  presentValue: (l: number) => `present_value_${l}`,
} as const;

/**
 * The instrumented forward pass over a right-padded batch [B, T] (causal attention means no
 * position attends to the padding after it, so no mask is needed). All activations between
 * layers are flat [B*T, d] so that positions are plain row indices b*T + t.
 *
 * With `instrumented` false the same graph is built without edit, tap and replacement nodes:
 * the plain model, used to check that zero edits change nothing.
 */
export function buildForwardGraph(w: Llama2cWeights, gw: GraphWeights, instrumented = true): Uint8Array {
  const { dim: d, nLayers: L, nHeads: H, nKvHeads, vocabSize: V } = w.config;
  const g = new GraphBuilder('stories-forward');
  const ids = g.input(FWD.ids, DType.int64, ['batch', 'length']);
  const edits = instrumented ? bySite((s) => declareSparseInputs(g, s, FWD.site(s), d)) : undefined;
  const tapIndex = instrumented ? g.input(FWD.tapIndex, DType.int64, ['tap_count']) : undefined;
  const logitIndex = g.input(FWD.logitIndex, DType.int64, ['logit_count']);

  const emb = g.init('token_embedding', w.tokenEmbedding, [V, d]);
  const cos = g.init('rope_cos', gw.cos, [w.config.seqLen, gw.cos.length / w.config.seqLen]);
  const sin = g.init('rope_sin', gw.sin, [w.config.seqLen, gw.sin.length / w.config.seqLen]);

  // Per-batch bookkeeping for GroupQueryAttention: every row is treated as full length T (right padding).
  const shape = g.op1('Shape', [ids]);
  const length = g.op1('Gather', [shape, g.ints([1], 'one_index')], { axis: 0 });
  const totalLength = g.op1('Cast', [g.op1('Squeeze', [length])], { to: DType.int32 });
  const batch = g.op1('Gather', [shape, g.ints([0], 'zero_index')], { axis: 0 });
  const seqlensK = g.op1('Cast', [g.op1('Expand', [g.op1('Sub', [length, g.ints([1], 'one')]), batch])], { to: DType.int32 });
  const qkvShape = g.op1('Concat', [shape, g.ints([d + 2 * (d / H) * nKvHeads])], { axis: 0 });

  let x = g.op1('Reshape', [g.op1('Gather', [emb, ids], { axis: 0 }), g.ints([-1, d], 'flat_shape')]);
  const taps = bySite((): string[] => []);
  /** A site's value at layer l: edited, then tapped. */
  const site = (s: Site, x: string, l: number) => {
    const edited = edits ? editRows(g, x, edits[s], l) : x;
    if (tapIndex) taps[s].push(gatherRows(g, edited, tapIndex));
    return edited;
  };
  for (let l = 0; l < L; l++) {
    const h = rmsNorm(g, x, g.init(`rms_att_${l}`, w.rmsAtt[l], [d]));
    const qkv = g.op1('MatMul', [h, g.init(`wqkv_${l}`, gw.wqkv[l], [d, gw.wqkv[l].length / d])]);
    const [attn] = g.op(
      'GroupQueryAttention',
      [g.op1('Reshape', [qkv, qkvShape]), '', '', '', '', seqlensK, totalLength, cos, sin],
      { num_heads: H, kv_num_heads: nKvHeads, do_rotary: 1, rotary_interleaved: 1 },
      { domain: 'com.microsoft', outputs: [g.fresh('attn'), FWD.presentKey(l), FWD.presentValue(l)] },
    );
    const z = site('head_out', g.op1('Reshape', [attn, 'flat_shape']), l);
    const o = site('attn_out', g.op1('MatMul', [z, g.init(`wo_${l}`, gw.wo[l], [d, d])]), l);
    // The residual add after attention is fused with the FFN's RMSNorm (one pass over x instead of two).
    const [h2, , , mid] = g.op(
      'SkipSimplifiedLayerNormalization',
      [x, o, g.init(`rms_ffn_${l}`, w.rmsFfn[l], [d])],
      { epsilon: { float: 1e-5 } },
      { domain: 'com.microsoft', outputs: 4 },
    );
    x = site('resid_post', g.op1('Add', [mid, feedForward(g, h2, w, gw, l)]), l);
  }
  for (let l = 0; l < L; l++) {
    const kvShape = [`batch`, nKvHeads, 'length', d / H];
    g.output(FWD.presentKey(l), FWD.presentKey(l), DType.float, kvShape);
    g.output(FWD.presentValue(l), FWD.presentValue(l), DType.float, kvShape);
  }
  if (tapIndex) for (const s of SITES) stackLayers(g, taps[s], FWD.site(s).taps, d);

  // Only the requested rows reach the classifier: most of the model's FLOPs are there.
  const last = gatherRows(g, x, logitIndex);
  const normed = rmsNorm(g, last, g.init('rms_final', w.rmsFinal, [d]));
  const classifier = w.config.sharedClassifier ? emb : g.init('classifier', w.classifier, [V, d]);
  g.output(g.op1('Gemm', [normed, classifier], { transB: 1 }), FWD.logits, DType.float, ['logit_count', V]);
  return g.toBytes();
}

/** SwiGLU on the normed input h: w2(silu(w1 h) * w3 h). Separate w1/w3 MatMuls beat one fused MatMul + Split. */
export function feedForward(g: GraphBuilder, h: string, w: Llama2cWeights, gw: GraphWeights, l: number): string {
  const { dim: d, hiddenDim } = w.config;
  const gate = g.op1('MatMul', [h, g.init(`w1_${l}`, gw.w1[l], [d, hiddenDim])]);
  const up = g.op1('MatMul', [h, g.init(`w3_${l}`, gw.w3[l], [d, hiddenDim])]);
  const silu = g.op1('Mul', [gate, g.op1('Sigmoid', [gate])]);
  return g.op1('MatMul', [g.op1('Mul', [silu, up]), g.init(`w2_${l}`, gw.w2[l], [hiddenDim, d])]);
}

export function rmsNorm(g: GraphBuilder, x: string, weight: string): string {
  return g.op1('SimplifiedLayerNormalization', [x, weight], { axis: -1, epsilon: { float: 1e-5 } });
}
