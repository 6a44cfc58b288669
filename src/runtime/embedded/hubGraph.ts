import type { Llama2cWeights } from './checkpoint';
import { DType, GraphBuilder } from '../onnx/graphBuilder';

/** Standard ops only, at an opset and IR version that every current onnxruntime (node, web) loads. */
export const HUB_OPSET = 17;
export const HUB_IR_VERSION = 8;

/** Graph input and output names of an Optimum / Transformers.js decoder with a KV cache. */
export const HUB_IO = {
  ids: 'input_ids',
  mask: 'attention_mask',
  positions: 'position_ids',
  logits: 'logits',
  pastKey: (l: number) => `past_key_values.${l}.key`,
  pastValue: (l: number) => `past_key_values.${l}.value`,
  presentKey: (l: number) => `present.${l}.key`,
  presentValue: (l: number) => `present.${l}.value`,
} as const;

/**
 * A torch module path that names its nodes as torch.onnx.export does (`/model/layers.3/self_attn/o_proj/MatMul`,
 * a second Add in the same module `.../Add_1`, outputs `<node>_output_0`), so that site tables written
 * for Optimum exports find the attention output, the residual adds and the projections here too.
 */
class Module {
  constructor(
    private readonly g: GraphBuilder,
    readonly path: string,
    private readonly counts: Map<string, number>,
  ) {}

  child(name: string): Module {
    return new Module(this.g, `${this.path}/${name}`, this.counts);
  }

  op(opType: string, inputs: readonly string[], attrs: Record<string, number | number[]> = {}, output?: string): string {
    const base = `${this.path}/${opType}`;
    const n = this.counts.get(base) ?? 0;
    this.counts.set(base, n + 1);
    const name = n === 0 ? base : `${base}_${n}`;
    return this.g.op(opType, inputs, attrs, { name, outputs: [output ?? `${name}_output_0`] })[0];
  }
}

/**
 * The model as a Hugging Face LlamaForCausalLM decoder with a KV cache, in standard ONNX ops:
 * inputs input_ids / attention_mask / position_ids / past_key_values.{l}.key|value, outputs logits and
 * present.{l}.key|value ([batch, kv_heads, past + new, head_dim]). Activations stay [B, T, d] as in a
 * torch export; attention honours attention_mask (left padding) on top of the causal mask.
 */
export function buildHubDecoder(w: Llama2cWeights): Uint8Array {
  const { dim: d, hiddenDim, nLayers: L, nHeads: H, nKvHeads: KV, vocabSize: V, seqLen } = w.config;
  const hs = d / H;
  const kvDim = KV * hs;
  const g = new GraphBuilder('main_graph');
  const root = new Module(g, '', new Map());
  const model = root.child('model');
  const ids = g.input(HUB_IO.ids, DType.int64, ['batch_size', 'sequence_length']);
  const mask = g.input(HUB_IO.mask, DType.int64, ['batch_size', 'past_sequence_length + sequence_length']);
  const positions = g.input(HUB_IO.positions, DType.int64, ['batch_size', 'sequence_length']);

  const two = g.scalarF(2);
  const one = g.scalarF(1);
  const eps = g.scalarF(1e-5, 'rms_norm_eps');

  const emb = g.init('model.embed_tokens.weight', w.tokenEmbedding, [V, d]);
  let x = model.child('embed_tokens').op('Gather', [emb, ids], { axis: 0 });

  // RoPE tables gathered at position_ids once, as [B, 1, T, head_dim] to broadcast over heads.
  const rope = ropeTables(seqLen, hs);
  const rotary = model.child('rotary_emb');
  const axis1 = g.ints([1]);
  const cos = rotary.op('Unsqueeze', [rotary.op('Gather', [g.init('model.rotary_emb.cos', rope.cos, [seqLen, hs]), positions], { axis: 0 }), axis1]);
  const sin = rotary.op('Unsqueeze', [rotary.op('Gather', [g.init('model.rotary_emb.sin', rope.sin, [seqLen, hs]), positions], { axis: 0 }), axis1]);

  const attnMask = additiveMask(g, model, ids, mask);
  const scale = g.scalarF(1 / Math.sqrt(hs), 'attn_scale');
  const headShapes = new Map([...new Set([H, KV])].map((n) => [n, g.ints([0, 0, n, hs])]));
  const mergedShape = g.ints([0, 0, d]);
  const halfStarts = [g.ints([0]), g.ints([hs / 2]), g.ints([hs])];
  const lastAxis = g.ints([-1]);

  const rmsNorm = (m: Module, input: string, weight: string) => {
    const variance = m.op('ReduceMean', [m.op('Pow', [input, two])], { axes: [-1], keepdims: 1 });
    const inv = m.op('Div', [one, m.op('Sqrt', [m.op('Add', [variance, eps])])]);
    return m.op('Mul', [weight, m.op('Mul', [input, inv])]);
  };
  // `<HF name>.weight.T`: the HF [out, in] weight transposed to [in, out], as MatMul wants it.
  const linear = (m: Module, input: string, name: string, weight: Float32Array, out: number, inDim: number, rows?: Int32Array) =>
    m.op('MatMul', [input, g.init(`${name}.weight.T`, transposed(weight, out, inDim, rows), [inDim, out])]);
  // rotate_half: [x1, x2] -> [-x2, x1] over the last axis.
  const applyRope = (m: Module, t: string) => {
    const x1 = m.op('Slice', [t, halfStarts[0], halfStarts[1], lastAxis]);
    const x2 = m.op('Slice', [t, halfStarts[1], halfStarts[2], lastAxis]);
    const rotated = m.op('Concat', [m.op('Neg', [x2]), x1], { axis: -1 });
    return m.op('Add', [m.op('Mul', [t, cos]), m.op('Mul', [rotated, sin])]);
  };
  const qRows = ropePermutation(H, hs);
  const kRows = ropePermutation(KV, hs);

  for (let l = 0; l < L; l++) {
    const layer = model.child(`layers.${l}`);
    const attn = layer.child('self_attn');
    const prefix = `model.layers.${l}`;
    const h = rmsNorm(layer.child('input_layernorm'), x, g.init(`${prefix}.input_layernorm.weight`, w.rmsAtt[l], [d]));
    const heads = (t: string, n: number) => attn.op('Transpose', [attn.op('Reshape', [t, headShapes.get(n)!])], { perm: [0, 2, 1, 3] });
    const q = applyRope(attn, heads(linear(attn.child('q_proj'), h, `${prefix}.self_attn.q_proj`, w.wq[l], d, d, qRows), H));
    const k = applyRope(attn, heads(linear(attn.child('k_proj'), h, `${prefix}.self_attn.k_proj`, w.wk[l], kvDim, d, kRows), KV));
    const v = heads(linear(attn.child('v_proj'), h, `${prefix}.self_attn.v_proj`, w.wv[l], kvDim, d), KV);
    const pastK = g.input(HUB_IO.pastKey(l), DType.float, ['batch_size', KV, 'past_sequence_length', hs]);
    const pastV = g.input(HUB_IO.pastValue(l), DType.float, ['batch_size', KV, 'past_sequence_length', hs]);
    const keys = attn.op('Concat', [pastK, k], { axis: 2 }, HUB_IO.presentKey(l));
    const values = attn.op('Concat', [pastV, v], { axis: 2 }, HUB_IO.presentValue(l));
    const scores = attn.op('Mul', [attn.op('MatMul', [q, attn.op('Transpose', [repeatKv(g, attn, keys, H, KV, hs)], { perm: [0, 1, 3, 2] })]), scale]);
    const probs = attn.op('Softmax', [attn.op('Add', [scores, attnMask])], { axis: -1 });
    const context = attn.op('MatMul', [probs, repeatKv(g, attn, values, H, KV, hs)]);
    const merged = attn.op('Reshape', [attn.op('Transpose', [context], { perm: [0, 2, 1, 3] }), mergedShape]);
    const o = linear(attn.child('o_proj'), merged, `${prefix}.self_attn.o_proj`, w.wo[l], d, d);
    x = layer.op('Add', [x, o]); // /model/layers.{l}/Add: the residual after attention

    const mlp = layer.child('mlp');
    const h2 = rmsNorm(layer.child('post_attention_layernorm'), x, g.init(`${prefix}.post_attention_layernorm.weight`, w.rmsFfn[l], [d]));
    const gate = linear(mlp.child('gate_proj'), h2, `${prefix}.mlp.gate_proj`, w.w1[l], hiddenDim, d);
    const up = linear(mlp.child('up_proj'), h2, `${prefix}.mlp.up_proj`, w.w3[l], hiddenDim, d);
    const act = mlp.child('act_fn');
    const silu = act.op('Mul', [gate, act.op('Sigmoid', [gate])]);
    const down = linear(mlp.child('down_proj'), mlp.op('Mul', [silu, up]), `${prefix}.mlp.down_proj`, w.w2[l], d, hiddenDim);
    x = layer.op('Add', [x, down]); // /model/layers.{l}/Add_1: resid_post
  }

  const normed = rmsNorm(model.child('norm'), x, g.init('model.norm.weight', w.rmsFinal, [d]));
  const lmHead = root.child('lm_head');
  // Tied weights stay one tensor (the file stays ~60 MB); onnxruntime folds the Transpose at load.
  const classifier = w.config.sharedClassifier
    ? lmHead.op('Transpose', [emb], { perm: [1, 0] })
    : g.init('lm_head.weight.T', transposed(w.classifier, V, d), [d, V]);
  const logits = lmHead.op('MatMul', [normed, classifier], {}, HUB_IO.logits);
  g.output(logits, HUB_IO.logits, DType.float, ['batch_size', 'sequence_length', V]);
  for (let l = 0; l < L; l++) {
    const dims = ['batch_size', KV, 'past_sequence_length + sequence_length', hs];
    g.output(HUB_IO.presentKey(l), HUB_IO.presentKey(l), DType.float, dims);
    g.output(HUB_IO.presentValue(l), HUB_IO.presentValue(l), DType.float, dims);
  }
  return g.toBytes({ irVersion: HUB_IR_VERSION, opsets: { '': HUB_OPSET } });
}

/**
 * [B, 1, T, past + T] additive mask: 0 where query t (absolute position past + t) may see key s
 * (s <= past + t and attention_mask[b, s] = 1), else float32's lowest value as HF uses. Not -inf: a
 * left-padding row sees no key at all, and -inf would make its softmax NaN, which later layers would
 * spread through 0 * NaN in every row's attention over that padding.
 */
function additiveMask(g: GraphBuilder, model: Module, ids: string, mask: string): string {
  const scalar = (v: number) => g.init(g.fresh('const'), BigInt64Array.of(BigInt(v)), []);
  const lengthOf = (t: string) => model.op('Gather', [model.op('Shape', [t]), scalar(1)], { axis: 0 });
  const newLength = lengthOf(ids);
  const total = lengthOf(mask);
  const keyPos = model.op('Unsqueeze', [model.op('Range', [scalar(0), total, scalar(1)]), g.ints([0])]);
  const queryPos = model.op('Unsqueeze', [model.op('Range', [model.op('Sub', [total, newLength]), total, scalar(1)]), g.ints([1])]);
  const causal = model.op('LessOrEqual', [keyPos, queryPos]); // [T, S]
  const padding = model.op('Unsqueeze', [model.op('Cast', [mask], { to: DType.bool }), g.ints([1, 2])]); // [B, 1, 1, S]
  const allowed = model.op('And', [causal, padding]);
  return model.op('Where', [allowed, g.scalarF(0), g.scalarF(-3.4028234663852886e38)]);
}

/** repeat_kv: each of the KV heads serves H / KV query heads ([B, KV, S, hs] -> [B, H, S, hs]). */
function repeatKv(g: GraphBuilder, m: Module, t: string, H: number, KV: number, hs: number): string {
  if (H === KV) return t;
  const expanded = m.op('Expand', [m.op('Unsqueeze', [t, g.ints([2])]), g.ints([1, 1, H / KV, 1, 1])]);
  return m.op('Reshape', [expanded, g.ints([0, H, -1, hs])]);
}

/**
 * llama2.c keeps the rows of wq / wk in interleaved RoPE order (pairs 2i, 2i+1 of a head); HF's
 * rotate_half pairs i and i + hs/2. As convert_llama_weights_to_hf's permute: new row (h, j, i) is
 * old row (h, i, j), i.e. w.view(heads, hs/2, 2, in).transpose(1, 2). Returns old row per new row.
 */
export function ropePermutation(heads: number, hs: number): Int32Array {
  const rows = new Int32Array(heads * hs);
  for (let h = 0; h < heads; h++) for (let j = 0; j < 2; j++) for (let i = 0; i < hs / 2; i++) rows[h * hs + j * (hs / 2) + i] = h * hs + 2 * i + j;
  return rows;
}

/** [out, in] (rows optionally reordered: new row r is old row rows[r]) to [in, out] for MatMul. */
function transposed(m: Float32Array, out: number, inDim: number, rows?: Int32Array): Float32Array {
  const t = new Float32Array(out * inDim);
  for (let o = 0; o < out; o++) {
    const src = (rows ? rows[o] : o) * inDim;
    for (let k = 0; k < inDim; k++) t[k * out + o] = m[src + k];
  }
  return t;
}

/** HF's cos/sin caches: cat(freqs, freqs) over the head, freqs[p, i] = p * 10000^(-2i/hs) in fp32 as llama2.c. */
function ropeTables(seqLen: number, hs: number): { cos: Float32Array; sin: Float32Array } {
  const half = hs / 2;
  const cos = new Float32Array(seqLen * hs);
  const sin = new Float32Array(seqLen * hs);
  for (let i = 0; i < half; i++) {
    const freq = Math.fround(1 / Math.fround(Math.pow(10000, Math.fround((2 * i) / hs))));
    for (let p = 0; p < seqLen; p++) {
      const angle = Math.fround(p * freq);
      cos[p * hs + i] = cos[p * hs + half + i] = Math.cos(angle);
      sin[p * hs + i] = sin[p * hs + half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
