import type { GraphProto, NodeProto } from 'onnx-buf';
import { UserError } from '../../core/errors';
import type { Site } from '../../core/model';

/**
 * One layer's steering sites, as tensor names of the graph: attn_out (the attention output
 * projection's output: o_proj / c_proj / out_proj / dense, before the residual add) always;
 * head_out (the projection's input: the heads concatenated) and resid_post (the residual stream
 * after the whole block) where found.
 */
export interface LayerSites {
  layer: number;
  tensors: Partial<Record<Site, string>> & { attn_out: string };
  /** The node that writes attn_out. */
  node: string;
  /** Which rule found the site. */
  rule: 'override' | 'node-name' | 'weight-name' | 'structural';
}

/**
 * Per-architecture module paths of the attention output projection, pyvene-style. Node-name patterns
 * match Optimum / torch exports (`/model/layers.3/self_attn/o_proj/MatMul`), onnxruntime-genai builder
 * exports (`/model/layers.3/attn/o_proj/MatMul`) and mobius (`model/layers.3/self_attn/o_proj/MatMul_node_40`);
 * weight-name patterns find fused exports whose node names carry no module path.
 */
interface ArchRule {
  nodes: string[];
  weights: string[];
}

const OPS = '(?:MatMul|MatMulNBits|Gemm|MatMulInteger|DynamicQuantizeMatMul|Add)';
// ONNX Runtime's quantizers keep the node's name and add `_Q4` / `_Q8` (MatMulNBits) or `_quant` (MatMulInteger).
const SUFFIX = '(?:_Q\\d+|_quant)?(?:_node_\\d+|_\\d+)?$';
const LLAMA_LIKE: ArchRule = {
  nodes: [`^/?model/layers\\.{l}/(?:self_attn|attn)/o_proj/${OPS}${SUFFIX}`],
  weights: ['^(?:model\\.)?layers\\.{l}\\.(?:self_attn|attn)\\.o_proj\\.'],
};
const GPT2: ArchRule = {
  nodes: [`^/?transformer/h\\.{l}/attn/c_proj/${OPS}${SUFFIX}`],
  weights: ['^(?:transformer\\.)?h\\.{l}\\.attn\\.c_proj\\.'],
};
const GPTJ: ArchRule = {
  nodes: [`^/?transformer/h\\.{l}/attn/out_proj/${OPS}${SUFFIX}`],
  weights: ['^(?:transformer\\.)?h\\.{l}\\.attn\\.out_proj\\.'],
};
const NEOX: ArchRule = {
  nodes: [`^/?gpt_neox/layers\\.{l}/attention/dense/${OPS}${SUFFIX}`],
  weights: ['^(?:gpt_neox\\.)?layers\\.{l}\\.attention\\.dense\\.'],
};

export const ARCH_RULES: Record<string, ArchRule> = {
  llama: LLAMA_LIKE,
  mistral: LLAMA_LIKE,
  qwen2: LLAMA_LIKE,
  qwen3: LLAMA_LIKE,
  phi3: LLAMA_LIKE,
  gemma: LLAMA_LIKE,
  gemma2: LLAMA_LIKE,
  gemma3: LLAMA_LIKE,
  gemma3_text: LLAMA_LIKE,
  granite: LLAMA_LIKE,
  olmo: LLAMA_LIKE,
  olmo2: LLAMA_LIKE,
  gpt2: GPT2,
  gptj: GPTJ,
  gpt_neox: NEOX,
};

const PROJECTION_OPS = new Set(['MatMul', 'MatMulNBits', 'Gemm', 'MatMulInteger', 'DynamicQuantizeMatMul', 'FusedMatMul']);
const ATTENTION_OPS = new Set([
  'Attention',
  'MultiHeadAttention',
  'GroupQueryAttention',
  'PackedAttention',
  'PackedMultiHeadAttention',
  'SparseAttention',
  'DecoderMaskedMultiHeadAttention',
]);
const CONSTANT_PRESERVING = new Set(['Identity', 'Cast', 'Transpose', 'Reshape', 'Unsqueeze', 'Squeeze', 'DequantizeLinear']);
const RESIDUAL_OPS = new Set(['Add', 'SkipLayerNormalization', 'SkipSimplifiedLayerNormalization', 'SkipGroupNorm']);

class GraphIndex {
  readonly producer = new Map<string, NodeProto>();
  readonly consumers = new Map<string, NodeProto[]>();
  readonly initializers = new Set<string>();
  constructor(readonly graph: GraphProto) {
    for (const t of graph.initializer) this.initializers.add(t.name);
    for (const n of graph.node) {
      for (const o of n.output) if (o) this.producer.set(o, n);
      for (const i of n.input) if (i) this.consumers.set(i, [...(this.consumers.get(i) ?? []), n]);
    }
  }
  /** Whether a tensor is fixed: an initializer, a Constant, or a Cast / Identity / Transpose / ... of fixed tensors (optimum's deduplicated weights are Identity nodes). */
  isConstant(tensor: string, depth = 0): boolean {
    if (this.initializers.has(tensor)) return true;
    const p = this.producer.get(tensor);
    if (!p || depth > 4) return false;
    if (p.opType === 'Constant') return true;
    return CONSTANT_PRESERVING.has(p.opType) && p.input.every((i) => !i || this.isConstant(i, depth + 1));
  }
  /** Initializer names a node reads, directly or through a Transpose / Cast / DequantizeLinear of one. */
  weightsOf(n: NodeProto): string[] {
    const out: string[] = [];
    for (const i of n.input) {
      if (this.initializers.has(i)) out.push(i);
      else {
        const p = this.producer.get(i);
        if (p && ['Transpose', 'Cast', 'DequantizeLinear', 'Identity'].includes(p.opType)) out.push(...p.input.filter((x) => this.initializers.has(x)));
      }
    }
    return out;
  }
}

export interface SiteOptions {
  /** The number of layers (from the config); when absent, as many as the rules find. */
  layers?: number;
  /** A regex with `{l}` matched against node names and tensor names; the matched node's first output is the site. */
  override?: string;
}

function compile(template: string, layer: number): RegExp {
  return new RegExp(template.split('{l}').join(String(layer)));
}

/** The only consumer of a node's output, when it has exactly one of the given types. */
function soleConsumer(ix: GraphIndex, n: NodeProto, types: readonly string[]): NodeProto | undefined {
  const next = ix.consumers.get(n.output[0]) ?? [];
  return next.length === 1 && types.includes(next[0].opType) ? next[0] : undefined;
}

/**
 * The site tensor of a matched node: the float output of the projection (after MatMulInteger's
 * Cast and scale Muls, as ONNX Runtime's dynamic quantization writes them), and after its bias Add
 * when there is one (Conv1D, Linear+bias).
 */
function siteOf(ix: GraphIndex, n: NodeProto): { node: NodeProto; tensor: string } {
  let node = n;
  if (n.opType === 'MatMulInteger') for (let step: NodeProto | undefined; (step = soleConsumer(ix, node, ['Cast', 'Mul']));) node = step;
  if (PROJECTION_OPS.has(n.opType)) {
    const next = ix.consumers.get(node.output[0]) ?? [];
    const bias = next.length === 1 && next[0].opType === 'Add' && next[0].input.some((i) => ix.isConstant(i)) ? next[0] : undefined;
    if (bias) node = bias;
  }
  return { node, tensor: node.output[0] };
}

/**
 * The projection input (the heads concatenated): walk back from the site through a bias Add and a
 * dequantization's Mul / Cast to the projection and take its data input (for MatMulInteger, the
 * float input of the DynamicQuantizeLinear before it).
 */
function headOutOf(ix: GraphIndex, node: NodeProto): string | undefined {
  let n: NodeProto | undefined = node;
  for (let i = 0; i < 4 && n && !PROJECTION_OPS.has(n.opType); i++) {
    const producers: NodeProto[] = n.input.map((x) => ix.producer.get(x)).filter((p): p is NodeProto => p !== undefined);
    n = producers.find((p) => PROJECTION_OPS.has(p.opType)) ?? producers.find((p) => p.opType === 'Cast') ?? producers.find((p) => p.opType === 'Mul');
  }
  if (!n || !PROJECTION_OPS.has(n.opType)) return undefined;
  const data = n.input.find((i) => i && !ix.initializers.has(i) && !['Transpose', 'DequantizeLinear'].includes(ix.producer.get(i)?.opType ?? ''));
  const quantizer = data ? ix.producer.get(data) : undefined;
  return quantizer?.opType === 'DynamicQuantizeLinear' ? quantizer.input[0] : data;
}

/** Ops that keep the residual stream's values (optimum writes a same-dtype Cast before each RMSNorm; GPT-2 a Reshape after c_proj). */
const STREAM_PASS = new Set(['Cast', 'Identity', 'Reshape']);
/** A budget for the forward search from the attention output to its residual add (a post-attention norm is ~10 nodes). */
const POST_NORM_NODES = 48;

/** A tensor and the same values under other names: its Cast / Identity / Reshape successors. */
function streamAliases(ix: GraphIndex, tensor: string): string[] {
  const out = [tensor];
  for (const c of ix.consumers.get(tensor) ?? []) if (STREAM_PASS.has(c.opType) && c.input[0] === tensor) out.push(...streamAliases(ix, c.output[0]));
  return out;
}

/** A residual add: two streams summed (not a bias or epsilon add); Skip*LayerNormalization write the sum as their 4th output. */
function residualSum(ix: GraphIndex, n: NodeProto): string | undefined {
  // The two summed operands: an Add's inputs, a Skip*LayerNormalization's input and skip (then gamma, beta, bias).
  if (!RESIDUAL_OPS.has(n.opType) || n.input.slice(0, 2).some((i) => !i || ix.isConstant(i))) return undefined;
  return n.opType === 'Add' ? n.output[0] : n.output[3] || undefined;
}

/** The residual add that reads `tensor` (or an alias of it) directly. */
function residualAfter(ix: GraphIndex, tensor: string): string | undefined {
  for (const a of streamAliases(ix, tensor)) {
    for (const c of ix.consumers.get(a) ?? []) {
      const sum = residualSum(ix, c);
      if (sum) return sum;
    }
  }
  return undefined;
}

/**
 * The residual add after attention. Usually it reads the attention output directly; after a
 * post-attention norm (Gemma 2/3, OLMo 2) or a scale (Granite's residual_multiplier) it is the nearest
 * add downstream whose other operand does not come from the attention output (the block's input).
 */
function attentionResidual(ix: GraphIndex, attn: string): string | undefined {
  const direct = residualAfter(ix, attn);
  if (direct) return direct;
  const seen = new Set([attn]);
  const queue = [attn];
  for (let visited = 0; queue.length && visited < POST_NORM_NODES;) {
    for (const n of ix.consumers.get(queue.shift()!) ?? []) {
      visited++;
      const sum = residualSum(ix, n);
      if (sum && n.input.some((i) => i && !seen.has(i))) return sum;
      for (const o of n.output) {
        if (!o || seen.has(o)) continue;
        seen.add(o);
        queue.push(o);
      }
    }
  }
  return undefined;
}

/** The residual stream after the block: the residual add after attention, then the one after the MLP. */
function residPostOf(ix: GraphIndex, attn: string): string | undefined {
  const mid = attentionResidual(ix, attn);
  return mid ? residualAfter(ix, mid) : undefined;
}

function complete(ix: GraphIndex, layer: number, node: NodeProto, rule: LayerSites['rule']): LayerSites {
  const site = siteOf(ix, node);
  return {
    layer,
    tensors: { attn_out: site.tensor, head_out: headOutOf(ix, site.node), resid_post: residPostOf(ix, site.tensor) },
    node: site.node.name,
    rule,
  };
}

/** A layer's site node by a regex over node names (and output tensor names for the override). */
function nameHit(ix: GraphIndex, templates: string[], l: number, tensors: boolean): NodeProto | undefined {
  for (const t of templates) {
    const re = compile(t, l);
    const matches = ix.graph.node.filter((n) => re.test(n.name) || (tensors && n.output.some((o) => o && re.test(o))));
    // Prefer the projection itself over helper nodes (Transpose of the weight, Cast, ...).
    const hit = matches.find((n) => PROJECTION_OPS.has(n.opType)) ?? matches.find((n) => n.opType === 'Add') ?? (tensors ? matches[0] : undefined);
    if (hit) return hit;
  }
  return undefined;
}

/** A layer's projection by the name of the weight it reads. */
function weightHit(ix: GraphIndex, templates: string[], l: number): NodeProto | undefined {
  const res = templates.map((t) => compile(t, l));
  return ix.graph.node.find((n) => PROJECTION_OPS.has(n.opType) && ix.weightsOf(n).some((w) => res.some((re) => re.test(w))));
}

function allLayers(layers: number, hit: (l: number) => NodeProto | undefined): NodeProto[] | undefined {
  const found: NodeProto[] = [];
  for (let l = 0; l < layers; l++) {
    const n = hit(l);
    if (!n) return undefined;
    found.push(n);
  }
  return found;
}

/** Structural fallback: each attention op's output feeds a projection whose output goes into a residual add. */
function structural(ix: GraphIndex): NodeProto[] {
  const found: NodeProto[] = [];
  for (const n of ix.graph.node) {
    if (!ATTENTION_OPS.has(n.opType)) continue;
    const proj = (ix.consumers.get(n.output[0]) ?? []).find((c) => PROJECTION_OPS.has(c.opType));
    if (!proj) continue;
    const site = siteOf(ix, proj);
    if (residualAfter(ix, site.tensor)) found.push(proj);
  }
  return found;
}

/**
 * Finds each layer's attention-output site: a user override, then the architecture's module paths
 * (node names, then weight names; every known architecture's rules are tried when the architecture is
 * unknown), then the graph structure. Throws a UserError naming what was looked for.
 */
export function discoverSites(graph: GraphProto, architecture: string, options: SiteOptions = {}): LayerSites[] {
  exposeResidualSums(graph);
  const ix = new GraphIndex(graph);
  const layers = options.layers;
  const finish = (nodes: NodeProto[], rule: LayerSites['rule']) => nodes.map((n, l) => complete(ix, l, n, rule));

  if (options.override) {
    if (!options.override.includes('{l}')) throw new UserError(`the site pattern must contain {l} for the layer index, got "${options.override}"`);
    try {
      new RegExp(options.override);
    } catch (e) {
      throw new UserError(`the site pattern is not a valid regular expression: ${(e as Error).message}`);
    }
    const hit = (l: number) => nameHit(ix, [options.override!], l, true);
    const n = layers ?? countLayers(hit);
    const nodes = n ? allLayers(n, hit) : undefined;
    if (!nodes) throw new UserError(`no node or tensor matches the site pattern "${options.override}" for every layer 0..${(n || 1) - 1}`);
    return finish(nodes, 'override');
  }

  const known = ARCH_RULES[architecture];
  const rules = known ? [known] : [...new Set(Object.values(ARCH_RULES))];
  for (const rule of rules) {
    const named = (l: number) => nameHit(ix, rule.nodes, l, false);
    const weighted = (l: number) => weightHit(ix, rule.weights, l);
    const nNamed = layers ?? countLayers(named);
    const byNames = nNamed ? allLayers(nNamed, named) : undefined;
    if (byNames) return finish(byNames, 'node-name');
    const nWeighted = layers ?? countLayers(weighted);
    const byWeights = nWeighted ? allLayers(nWeighted, weighted) : undefined;
    if (byWeights) return finish(byWeights, 'weight-name');
  }
  const found = structural(ix);
  if (found.length > 0 && (layers === undefined || found.length === layers)) return finish(found, 'structural');

  const looked = rules.flatMap((r) => [...r.nodes, ...r.weights]).map((t) => `"${t}"`);
  throw new UserError(
    `could not find the attention output of ${layers ?? 'each'} layer(s) in this ${architecture} graph. Looked for nodes named ${looked.join(', ')} ` +
      `(with {l} the layer), and for a MatMul/MatMulNBits/Gemm after an attention op (${[...ATTENTION_OPS].join('/')}) feeding a residual Add or Skip*LayerNormalization` +
      (found.length ? ` (found ${found.length}, expected ${layers})` : '') +
      '. Name the site with a pattern (--site "<regex with {l}>").',
  );
}

/** Suffix of the residual-sum outputs added to fused Skip*LayerNormalization nodes. */
export const RESIDUAL_SUM_SUFFIX = '/iv_residual_sum';

/**
 * A fused Skip*LayerNormalization writes the residual sum only when its 4th output is requested;
 * the last block's (the final norm) usually is not, so it is requested here (the graph is changed
 * in place) to make the last layer's resid_post a tensor like every other layer's.
 */
function exposeResidualSums(graph: GraphProto): void {
  for (const n of graph.node) {
    if (!n.opType.startsWith('Skip') || !RESIDUAL_OPS.has(n.opType) || n.output[3]) continue;
    while (n.output.length < 3) n.output.push('');
    n.output[3] = `${n.name || n.output[0]}${RESIDUAL_SUM_SUFFIX}`;
  }
}

/** The number of consecutive layers 0, 1, ... that have a site (cap 4096). */
function countLayers(hit: (layer: number) => NodeProto | undefined): number {
  let n = 0;
  while (n < 4096 && hit(n)) n++;
  return n;
}
