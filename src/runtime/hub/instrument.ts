import { clone, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, ValueInfoProtoSchema, type GraphProto, type ModelProto, type NodeProto } from 'onnx-buf';
import { UserError } from '../../core/errors';
import { SITE_OPERATION, SITES, type Site } from '../../core/model';
import { DType, GraphBuilder, type AttrValue } from '../onnx/graphBuilder';
import { bySite, declareSparseInputs, editRows, gatherRows, replaceRows, siteNames, stackLayers, type SparseInputs } from '../onnx/sites';
import { elementTypes, isFloating } from '../onnx/elementTypes';
import { topologicalSort } from '../onnx/topologicalSort';
import { mergedDecoder, type DecoderSites, type MergedDecoder } from './mergedDecoder';
import type { ActivationDType } from './modelFolder';
import type { LayerSites } from './sites';

/**
 * Bump when the instrumentation changes (2: inputs and taps named by siteNames; 3: resid_post found
 * through casts and post-attention norms, attn_out after a bias fed by an Identity; 4: merged
 * decoders instrumented in both branches; 5: edits cast to each site's own dtype): cached instrumented graphs of another version are rebuilt.
 */
export const INSTRUMENT_VERSION = 5;

/** Names of what instrumentation adds to an exported decoder (prefixed so they cannot collide with the export's). */
export const IV = {
  tapIndex: 'iv_tap_index',
  logitIndex: 'iv_logit_index',
  logits: 'iv_logits',
  site: (site: Site) => siteNames(site, 'iv_'),
} as const;

export interface InstrumentOptions {
  /** The residual stream's width d. */
  width: number;
  dtype: ActivationDType;
  /** The export's logits output. */
  logits: string;
}

/** What the instrumented graph offers (stored beside the cached graph). */
export interface InstrumentManifest {
  version: number;
  /** Sites with edits and taps at every layer (attn_out always; head_out and resid_post where found). */
  sites: Site[];
  /** "selected": only the requested rows reach the LM head; "gathered": the export's full logits, then rows. */
  logits: 'selected' | 'gathered';
}

const NORM_OF_SKIP: Record<string, string> = { SkipLayerNormalization: 'LayerNormalization', SkipSimplifiedLayerNormalization: 'SimplifiedLayerNormalization' };
/** Ops allowed between the LM head's MatMul and the logits output (soft-capping, casts): they keep rows as rows. */
const ROWWISE = new Set(['Cast', 'Div', 'Mul', 'Tanh', 'Add', 'Sub', 'Identity']);

const ACT_CODE: Record<ActivationDType, number> = { float32: DType.float, float16: DType.float16, bfloat16: 16 };

/** What every instrumented body reads: the graph inputs that instrumentation adds. */
interface AddedInputs {
  edits: Record<Site, SparseInputs | undefined>;
  tapIndex: string;
  logitIndex: string;
}

/** A graph that computes the decoder: the top graph, or one branch of a merged decoder's If. */
interface Body {
  graph: GraphProto;
  sites: readonly LayerSites[];
  /** Fresh names of this body (a branch's must not repeat the outer graph's). */
  prefix: string;
  /** The body's logits output. */
  logits: string;
}

/**
 * Adds to an exported decoder (in place) what the embedded graph has: sparse additive edits at each
 * layer's attention output and head outputs, replacement of the residual stream after each block,
 * taps of the three sites at requested rows, and logits only at requested rows. The export's own
 * inputs and outputs, including its KV cache, stay as they are (except `logits`, which becomes
 * `iv_logits` [K, V]). Activations are flattened to rows [batch * length, d], so a position is the
 * row b * length + t of the current call. Every added node uses opset-11 operators; values enter as
 * float32 and are cast to the activations' dtype, taps and logits leave as float32. A merged decoder
 * is instrumented in both branches of its If, which then outputs the taps and logits of the branch
 * the call runs.
 */
export function instrumentDecoder(model: ModelProto, found: DecoderSites, options: InstrumentOptions): { bytes: Uint8Array; manifest: InstrumentManifest } {
  const graph = model.graph!;
  const opset = Number(model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  if (opset < 11) throw new UserError(`the model uses ONNX opset ${opset}; instrumentation needs opset 11 or newer (re-export the model with a newer opset)`);
  const merged = found.merged && mergedDecoder(graph);
  const bodies: Body[] = merged
    ? (['then', 'else'] as const).map((name) => ({
        graph: merged[name],
        sites: found.merged![name],
        prefix: `iv/${name}/`,
        logits: merged[name].output[logitsAt(merged, options.logits)].name,
      }))
    : [{ graph, sites: found.sites, prefix: 'iv/', logits: options.logits }];

  const g = new GraphBuilder(graph.name, { graph, prefix: 'iv/' });
  // A site is offered where every layer (of every body) has it; attn_out always does.
  const available = SITES.filter((site) => bodies.every((b) => b.sites.every((s) => s.tensors[site])));
  // Edits enter as float32; each body casts them to the type of the site they edit.
  const inputs: AddedInputs = {
    edits: bySite((site) => (available.includes(site) ? declareSparseInputs(g, site, IV.site(site), options.width) : undefined)),
    tapIndex: g.input(IV.tapIndex, DType.int64, ['tap_count']),
    logitIndex: g.input(IV.logitIndex, DType.int64, ['logit_count']),
  };
  const outer = elementTypes(graph);
  const modes = bodies.map((b) => instrumentBody(b, available, inputs, options, merged ? elementTypes(b.graph, outer) : outer));
  if (merged) liftOutputs(graph, merged, options.logits);
  graph.valueInfo.length = 0;
  // The If reads the added inputs (and their casts) from its branches: the sort sees through subgraphs.
  topologicalSort(graph);
  const logits = modes.includes('gathered') ? 'gathered' : 'selected';
  return { bytes: toBinary(ModelProtoSchema, model), manifest: { version: INSTRUMENT_VERSION, sites: available, logits } };
}

/** Edits, taps and row-selected logits in one body; its logits output is replaced by taps and `iv_logits`. */
function instrumentBody(
  body: Body,
  available: readonly Site[],
  inputs: AddedInputs,
  options: InstrumentOptions,
  types: ReadonlyMap<string, number>,
): InstrumentManifest['logits'] {
  const { graph, prefix } = body;
  const d = options.width;
  const original = [...graph.node];
  const producer = new Map<string, NodeProto>();
  for (const n of original) for (const o of n.output) if (o) producer.set(o, n);
  const g = new GraphBuilder(graph.name, { graph, prefix });
  // A site is an activation: a type propagated as anything but floating is not trusted.
  const typeOf = (tensor: string) => {
    const type = types.get(tensor);
    return isFloating(type) ? type! : ACT_CODE[options.dtype];
  };
  const cast = new Map<string, SparseInputs>();
  /** The site's edit inputs with values cast (once per body) to the type of `tensor`. */
  const editsFor = (site: Site, tensor: string): SparseInputs => {
    const s = inputs.edits[site]!;
    const type = typeOf(tensor);
    if (type === DType.float) return s;
    const key = `${site}:${type}`;
    if (!cast.has(key)) cast.set(key, { ...s, value: g.op1('Cast', [s.value], { to: type }) });
    return cast.get(key)!;
  };
  const asFloat = (rows: string, tensor: string) => (typeOf(tensor) === DType.float ? rows : g.op1('Cast', [rows], { to: DType.float }));

  const rowsShape = g.ints([-1, d], `${prefix}rows_shape`);
  const flat = (x: string) => g.op1('Reshape', [x, rowsShape]);
  /** Points every original consumer of `tensor` at `replacement` (rows [N, d], reshaped back to the tensor's shape). */
  const rewire = (tensor: string, rows: string) => {
    const shaped = g.op1('Reshape', [rows, g.op1('Shape', [tensor])]);
    for (const n of original) n.input.forEach((i, k) => i === tensor && (n.input[k] = shaped));
  };
  const taps = bySite((): string[] => []);
  for (const s of body.sites) {
    for (const site of available) {
      const tensor = s.tensors[site]!;
      const edits = editsFor(site, tensor);
      const rows = editRows(g, flat(tensor), edits, s.layer);
      rewire(tensor, rows);
      taps[site].push(asFloat(gatherRows(g, rows, inputs.tapIndex), tensor));
      // A fused Skip*LayerNormalization also wrote the normalized sum: renormalize the replaced rows there.
      const fused = producer.get(tensor);
      if (SITE_OPERATION[site] === 'replace' && fused && NORM_OF_SKIP[fused.opType] && fused.output[3] === tensor) {
        const normed = fused.output[0];
        rewire(
          normed,
          replaceRows(g, flat(normed), edits, s.layer, (v) => normalizeLike(g, fused, v)),
        );
      }
    }
  }
  for (const site of available) stackLayers(g, taps[site], IV.site(site).taps, d);

  const mode = selectLogits(g, graph, producer, body.logits, inputs.logitIndex, flat);
  // Shapes recorded by the exporter no longer hold where rows were selected; ONNX Runtime infers them again.
  graph.valueInfo.length = 0;
  topologicalSort(graph);
  return mode;
}

/** The position of the logits among the If's outputs (a branch's outputs match the If's by position). */
function logitsAt(merged: MergedDecoder, logits: string): number {
  const at = merged.node.output.indexOf(logits);
  if (at < 0) throw new UserError(`the merged decoder's If node "${merged.node.name}" has no "${logits}" output (outputs: ${merged.node.output.join(', ')})`);
  return at;
}

/**
 * Both branches now output the taps and `iv_logits` (appended in the same order) instead of the
 * logits: the If and the graph output them in its place.
 */
function liftOutputs(graph: GraphProto, merged: MergedDecoder, logits: string): void {
  merged.node.output.splice(logitsAt(merged, logits), 1);
  graph.output.splice(
    graph.output.findIndex((o) => o.name === logits),
    1,
  );
  const added = merged.then.output.slice(merged.node.output.length);
  const names = added.map((o) => o.name);
  const otherNames = merged.else.output.slice(merged.node.output.length).map((o) => o.name);
  if (names.join('\0') !== otherNames.join('\0')) throw new Error(`the branches were instrumented differently: ${names} vs ${otherNames}`);
  for (const o of added) {
    merged.node.output.push(o.name);
    graph.output.push(clone(ValueInfoProtoSchema, o));
  }
}

/** The normalization a fused Skip*LayerNormalization applies after its sum, on rows [m, d]. */
function normalizeLike(g: GraphBuilder, skip: NodeProto, rows: string): string {
  const attrs: Record<string, AttrValue> = { axis: -1 };
  const epsilon = skip.attribute.find((a) => a.name === 'epsilon');
  // ONNX Runtime's default epsilon for the Skip* ops is 1e-12.
  attrs.epsilon = { float: epsilon ? epsilon.f : 1e-12 };
  const gamma = skip.input[2];
  const beta = skip.opType === 'SkipLayerNormalization' && skip.input[3] ? [skip.input[3]] : [];
  return g.op1(NORM_OF_SKIP[skip.opType], [rows, gamma, ...beta], attrs);
}

/**
 * Replaces the export's `logits` output by `iv_logits` [K, V] at the requested rows. When the LM
 * head is a MatMul/Gemm reached from the output through row-wise ops only, the rows are selected
 * before it (the head is most of a small model's work); otherwise the full logits are computed and
 * the rows gathered after.
 */
function selectLogits(
  g: GraphBuilder,
  graph: GraphProto,
  producer: Map<string, NodeProto>,
  name: string,
  index: string,
  flat: (x: string) => string,
): InstrumentManifest['logits'] {
  const at = graph.output.findIndex((o) => o.name === name);
  if (at < 0) throw new UserError(`the model has no "${name}" output (outputs: ${graph.output.map((o) => o.name).join(', ')})`);
  const out = graph.output[at];
  const t = out.type?.value.case === 'tensorType' ? out.type.value.value : undefined;
  const dims = t?.shape?.dim ?? [];
  const vocab = dims.length ? dims[dims.length - 1].value : undefined;
  graph.output.splice(at, 1);

  let head = producer.get(name);
  while (head && ROWWISE.has(head.opType)) head = producer.get(head.input[0]);
  let rows: string;
  let mode: InstrumentManifest['logits'];
  if (head && ['MatMul', 'Gemm', 'MatMulNBits'].includes(head.opType)) {
    head.input[0] = gatherRows(g, flat(head.input[0]), index);
    rows = name;
    mode = 'selected';
  } else {
    if (vocab?.case !== 'dimValue') throw new UserError(`cannot select rows of the "${name}" output: its last dimension (the vocabulary) is not fixed`);
    rows = gatherRows(g, g.op1('Reshape', [name, g.ints([-1, Number(vocab.value)])]), index);
    mode = 'gathered';
  }
  const float = t?.elemType === DType.float ? rows : g.op1('Cast', [rows], { to: DType.float });
  g.output(float, IV.logits, DType.float, ['logit_count', vocab?.case === 'dimValue' ? Number(vocab.value) : 'vocab']);
  return mode;
}
