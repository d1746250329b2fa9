// The one rewrite engine the IR passes share: rebuilds a graph node by node through a fresh
// builder (so hash-consing merges equal nodes: CSE for free), letting a rule replace each node
// given its already-rewritten operands. Spans are kept.

import { GraphBuilder } from '../ir/builder.ts';
import type { Graph, Node } from '../ir/graph.ts';

/** Returns a replacement for `n` (built with `b` from `ins`), or undefined to keep it. */
export type RewriteRule = (b: GraphBuilder, n: Node, ins: readonly Node[]) => Node | undefined;

export function rewriteGraph(g: Graph, rule?: RewriteRule): Graph {
  const b = new GraphBuilder();
  const map: Node[] = [];
  for (const n of g.nodes) {
    const ins = n.inputs.map((j) => map[j] as Node);
    map[n.id] = b.withSpan(n.span, () => rule?.(b, n, ins) ?? b.apply(n.op, ins, n.attrs));
  }
  for (const o of g.outputs) b.output(o.name, map[o.node] as Node);
  return b.build();
}
