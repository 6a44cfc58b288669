import type { GraphProto, NodeProto } from 'onnx-buf';

/** Tensors a node reads: its inputs and, for control flow (If/Loop/Scan), what its subgraphs read from outside. */
function reads(n: NodeProto): string[] {
  const names = n.input.filter(Boolean);
  for (const a of n.attribute) for (const sub of [a.g, ...a.graphs]) if (sub) names.push(...outerReads(sub));
  return names;
}

function outerReads(graph: GraphProto): string[] {
  const local = new Set([...graph.input.map((i) => i.name), ...graph.initializer.map((t) => t.name), ...graph.node.flatMap((n) => n.output)]);
  return graph.node.flatMap(reads).filter((name) => !local.has(name));
}

/**
 * Orders the graph's nodes so that every tensor is produced before it is read (ONNX requires it),
 * keeping the existing order wherever it already holds. Edits that rewire an export's nodes to
 * tensors of appended nodes need this.
 */
export function topologicalSort(graph: GraphProto): void {
  const producer = new Map<string, number>();
  graph.node.forEach((n, i) => n.output.forEach((o) => o && producer.set(o, i)));
  const deps = graph.node.map((n) => [
    ...new Set(
      reads(n)
        .map((name) => producer.get(name))
        .filter((p): p is number => p !== undefined),
    ),
  ]);
  const state = new Uint8Array(graph.node.length); // 0 new, 1 in progress, 2 placed
  const order: NodeProto[] = [];
  // Depth-first over dependencies, visiting nodes in their current order: an already valid order is kept.
  for (let start = 0; start < graph.node.length; start++) {
    const stack: [number, number][] = [[start, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [i, k] = top;
      if (state[i] === 2) {
        stack.pop();
        continue;
      }
      state[i] = 1;
      if (k < deps[i].length) {
        top[1]++;
        const dep = deps[i][k];
        if (state[dep] === 1) throw new Error(`the graph has a cycle through node "${graph.node[dep].name}"`);
        if (state[dep] === 0) stack.push([dep, 0]);
        continue;
      }
      state[i] = 2;
      order.push(graph.node[i]);
      stack.pop();
    }
  }
  graph.node.length = 0;
  for (const n of order) graph.node.push(n);
}
