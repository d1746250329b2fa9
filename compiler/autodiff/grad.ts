// Reverse-mode autodiff over the graph IR: walk nodes in reverse topological order, apply each
// op's VJP rule, sum cotangents per node. Only trainable parameters get gradients; stop_gradient,
// frozen params and non-differentiable ops (comparisons, indices, randomness) cut the flow.

import { GraphBuilder } from '../ir/builder.ts';
import type { Graph, Node } from '../ir/graph.ts';
import { VJP_RULES } from './vjp-rules.ts';

/** Name of the output holding the gradient of `param` in graphs made by `grad`. */
export function gradName(param: string): string {
  return `grad:${param}`;
}

/**
 * Adds ∂loss/∂p for each node in `wrt` to the builder `b` (all nodes must belong to it) and
 * returns them in order. Params not reached by the loss get zeros. Use this to build a training
 * step in one builder (forward, gradients, optimizer update).
 */
export function gradients(b: GraphBuilder, loss: Node, wrt: readonly Node[]): Node[] {
  if (loss.shape.length !== 0 || (loss.dtype !== 'f32' && loss.dtype !== 'f16')) {
    throw new Error(`autodiff: the loss must be a float scalar, got ${loss.dtype}[${loss.shape.join(',')}]`);
  }
  const nodes = b.nodes;
  const target = new Set(wrt.map((p) => p.id));
  // Forward: which nodes depend (differentiably) on a wrt node.
  const active = new Uint8Array(loss.id + 1);
  for (let i = 0; i <= loss.id; i++) {
    const n = nodes[i] as Node;
    // Integer and bool values carry no gradient (cast to i32, comparisons, indices).
    if (n.dtype !== 'f32' && n.dtype !== 'f16') continue;
    if (target.has(i)) active[i] = 1;
    else if (VJP_RULES[n.op] !== 'nondiff' && n.inputs.some((j) => active[j])) active[i] = 1;
  }
  const ct = new Map<number, Node>();
  ct.set(loss.id, b.full(1, [], loss.dtype));
  for (let i = loss.id; i >= 0; i--) {
    const g = ct.get(i);
    const n = nodes[i] as Node;
    const rule = VJP_RULES[n.op];
    if (!g || !active[i] || rule === 'nondiff' || n.inputs.length === 0) continue;
    const ins = n.inputs.map((j) => nodes[j] as Node);
    const needs = n.inputs.map((j) => active[j] === 1);
    const outs = b.withSpan(n.span, () => rule({ b, node: n, ins, g, needs }));
    outs.forEach((c, k) => {
      if (!c || !needs[k]) return;
      const j = n.inputs[k] as number;
      const prev = ct.get(j);
      ct.set(j, prev ? b.withSpan(n.span, () => b.add(prev, c)) : c);
    });
  }
  return wrt.map((p) => ct.get(p.id) ?? b.full(0, p.shape, p.dtype));
}

/**
 * Returns `graph` plus one output `grad:<name>` per parameter in `wrt` (default: every trainable
 * parameter), holding ∂(output `loss`)/∂param.
 *
 * Example: `const g2 = grad(g, 'loss'); runGraph(g2, feeds, { dtype: 'f64' }).get('grad:w')`.
 */
export function grad(graph: Graph, loss: string, wrt?: readonly string[]): Graph {
  const { builder: b, nodes } = GraphBuilder.from(graph);
  const out = graph.outputs.find((o) => o.name === loss);
  if (!out) throw new Error(`autodiff: no output named '${loss}' (outputs: ${graph.outputs.map((o) => o.name).join(', ')})`);
  const params = new Map<string, Node>();
  for (const n of b.nodes) if (n.op === 'param') params.set(n.attrs['name'] as string, n);
  const names = wrt ?? [...params.values()].filter((p) => p.attrs['trainable'] === true).map((p) => p.attrs['name'] as string);
  const targets = names.map((name) => {
    const p = params.get(name);
    if (!p) throw new Error(`autodiff: no parameter named '${name}'`);
    if (p.attrs['trainable'] !== true) throw new Error(`autodiff: parameter '${name}' is frozen (trainable=false) and gets no gradient`);
    return p;
  });
  const grads = gradients(b, nodes[out.node] as Node, targets);
  names.forEach((name, i) => b.output(gradName(name), grads[i] as Node));
  return b.build();
}
