// Before ONNX export: a batched product summed over its whole batch, Σ_b A_b·G_b — a weight's
// gradient where the weight was broadcast along the activations' batch axes (every Linear's dW,
// autodiff's sumToShape of Aᵀ·G) — becomes one GEMM with the batch folded into the contraction:
// [K, B·M]·[B·M, N]. The same sums in another order; the [B, K, N] product is never written nor
// reduced (the main job's lm_head: [16, 128, 4096] per step, 7% of its kernel time in an ORT
// profile). ONNX only: on WebGPU the folded form is one long serial loop per output, and the LiT
// DiT step's static critical path grew 8× with it (compiler/kernel/cost.ts), so the IR keeps the
// batched form.

import type { GraphBuilder } from '../../ir/builder.ts';
import type { Graph, Node } from '../../ir/graph.ts';
import { rewriteGraph } from '../../passes/rewrite.ts';

/** reduce_sum over axes 0..r−3 (not kept) of a rank-r matmul whose operands both carry the batch. */
function foldable(n: Node, m: Node | undefined, a: Node | undefined, g: Node | undefined): boolean {
  if (n.op !== 'reduce_sum' || n.attrs['keepdim'] === true || m?.op !== 'matmul' || a === undefined || g === undefined) return false;
  const r = m.shape.length;
  const axes = n.attrs['axes'] as readonly number[];
  const batch = m.shape.slice(0, -2).join(',');
  return (
    r > 2 && axes.length === r - 2 && axes.every((x, i) => x === i) && a.shape.slice(0, -2).join(',') === batch && g.shape.slice(0, -2).join(',') === batch
  );
}

/** A [..., K, M] as [K, B·M]; a per-batch transpose of X [..., M, K] as X [B·M, K] transposed. */
function foldedLeft(b: GraphBuilder, a: Node): Node {
  const r = a.shape.length;
  const k = a.shape[r - 2] as number;
  const perm = a.op === 'permute' ? (a.attrs['perm'] as readonly number[]) : undefined;
  const swapsLast = perm !== undefined && perm.every((p, i) => (i < r - 2 ? p === i : p === (i === r - 2 ? r - 1 : r - 2)));
  if (swapsLast) return b.transpose(b.reshape(b.nodes[a.inputs[0] as number] as Node, [-1, k]));
  return b.reshape(b.permute(a, [r - 2, ...a.shape.slice(0, -2).map((_d, i) => i), r - 1]), [k, -1]);
}

export function foldBatchSums(g: Graph): Graph {
  const uses = new Uint32Array(g.nodes.length);
  for (const n of g.nodes) for (const i of n.inputs) uses[i] = (uses[i] as number) + 1;
  for (const o of g.outputs) uses[o.node] = (uses[o.node] as number) + 1;
  const operand = (n: Node | undefined, k: number): Node | undefined => (n === undefined ? undefined : g.nodes[n.inputs[k] as number]);
  const hit = g.nodes.some((n) => {
    const m = operand(n, 0);
    return foldable(n, m, operand(m, 0), operand(m, 1)) && uses[(m as Node).id] === 1;
  });
  if (!hit) return g;
  return rewriteGraph(g, (b, n, ins) => {
    const before = operand(n, 0);
    const m = ins[0];
    if (m === undefined || before === undefined || uses[before.id] !== 1) return undefined;
    const [a, gr] = [b.nodes[m.inputs[0] as number], b.nodes[m.inputs[1] as number]];
    if (!foldable(n, m, a, gr)) return undefined;
    const right = gr as Node;
    return b.matmul(foldedLeft(b, a as Node), b.reshape(right, [-1, right.shape[right.shape.length - 1] as number]));
  });
}
