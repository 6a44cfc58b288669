import type { GraphProto, NodeProto } from 'onnx-buf';
import { UserError } from '../../core/errors';
import { discoverSites, type LayerSites, type SiteOptions } from './sites';

/**
 * An Optimum merged decoder (`decoder_model_merged.onnx`, the older Transformers.js layout): an `If`
 * of the top graph computes the graph's outputs, choosing by a boolean input (`use_cache_branch`)
 * between the decoder with past (then) and without (else); the weights are top-level initializers
 * that both branches read from the outer scope.
 */
export interface MergedDecoder {
  node: NodeProto;
  condition: string;
  then: GraphProto;
  else: GraphProto;
}

/** A merged decoder's sites, found in each branch on its own (both are instrumented). */
export interface MergedSites {
  /** The If node. */
  node: string;
  /** The boolean input that picks the branch. */
  condition: string;
  /** Run when the condition is true (Optimum: with past). */
  then: LayerSites[];
  /** Run when it is false (Optimum: without past, the branch a prompt runs). */
  else: LayerSites[];
}

export interface DecoderSites {
  /** Each layer's sites: in the top graph, or in a merged decoder's branch without past. */
  sites: LayerSites[];
  merged?: MergedSites;
}

/** The merged decoder's If, when the graph's outputs come from one; undefined for a plain decoder graph. */
export function mergedDecoder(graph: GraphProto): MergedDecoder | undefined {
  const outputs = new Set(graph.output.map((o) => o.name));
  const node = graph.node.find((n) => n.opType === 'If' && n.output.some((o) => outputs.has(o)));
  if (!node) return undefined;
  const branch = (name: string) => node.attribute.find((a) => a.name === name)?.g;
  const [then, otherwise] = [branch('then_branch'), branch('else_branch')];
  if (!then || !otherwise) throw new UserError(`the If node "${node.name}" that computes the graph's outputs lacks a then_branch or else_branch graph`);
  const condition = node.input[0];
  if (!graph.input.some((i) => i.name === condition)) {
    throw new UserError(
      `the graph's outputs come from the If node "${node.name}", whose condition "${condition}" is computed inside the graph: ` +
        "only merged decoders whose branch is picked by an input (Optimum's use_cache_branch) can be instrumented",
    );
  }
  return { node, condition, then, else: otherwise };
}

/** A branch as discoverSites reads a graph: its own nodes, with the outer graph's initializers (the shared weights) in scope. */
function inScope(branch: GraphProto, outer: GraphProto): GraphProto {
  return { ...branch, initializer: [...branch.initializer, ...outer.initializer] };
}

/** Each layer's steering sites: discoverSites on the graph, or on both branches of a merged decoder. */
export function findDecoderSites(graph: GraphProto, architecture: string, options: SiteOptions = {}): DecoderSites {
  const merged = mergedDecoder(graph);
  if (!merged) return { sites: discoverSites(graph, architecture, options) };
  const inBranch = (name: 'then' | 'else') => {
    try {
      return discoverSites(inScope(merged[name], graph), architecture, options);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      throw new UserError(`in the ${name}_branch ("${merged[name].name}") of the merged decoder's If node "${merged.node.name}": ${e.message}`);
    }
  };
  const sites = { then: inBranch('then'), else: inBranch('else') };
  // Each branch stacks its own taps into the If's outputs, which must have one shape.
  if (sites.then.length !== sites.else.length) {
    throw new UserError(
      `the merged decoder's branches have different numbers of layers: ${sites.then.length} (then_branch) and ${sites.else.length} (else_branch)`,
    );
  }
  return { sites: sites.else, merged: { node: merged.node.name, condition: merged.condition, ...sites } };
}
