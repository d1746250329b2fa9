// The row primitives the WGSL renderer has no per-element form for, expanded into the reductions
// and maps it fuses into row kernels: a log_softmax element needs its row's max and Σ exp, which
// render-node.ts memoizes only for reduce nodes. Runs after the IR passes, before fusion.
// log_softmax(x) = d − log Σ exp(d), d = x − max(x), the order the CPU reference computes in.

import type { Graph } from '../../ir/graph.ts';
import { rewriteGraph } from '../../passes/rewrite.ts';

export function expandRows(g: Graph): Graph {
  if (!g.nodes.some((n) => n.op === 'log_softmax')) return g;
  return rewriteGraph(g, (b, n, ins) => {
    if (n.op !== 'log_softmax') return undefined;
    const [x] = ins;
    if (x === undefined) throw new Error('log_softmax without an operand');
    const axis = n.attrs['axis'] as number;
    const d = b.sub(x, b.max(x, axis, true)); // [..., V]
    return b.sub(d, b.log(b.sum(b.exp(d), axis, true)));
  });
}
