// FLOPs and activation bytes of IR nodes, counted from the graph a layer actually lowers to, so
// the numbers `scion explain` prints cannot drift from the math. Conventions: a multiply-add is 2
// FLOPs (matmul 2·M·N·K, conv 2·out·(C/g)·k²); elementwise ops 1 per output element; reductions 1
// per input element; sources, movement and indexing 0.

import type { Node } from '../ir/graph.ts';
import { OP_INFO } from '../ir/ops.ts';

const numel = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);

const BYTES: Record<Node['dtype'], number> = { f32: 4, f16: 2, i32: 4, bool: 1 };

export function nodeFlops(n: Node, nodes: readonly Node[]): number {
  const input = (k: number): Node | undefined => nodes[n.inputs[k] ?? -1];
  switch (n.op) {
    case 'matmul': {
      const a = input(0);
      return 2 * numel(n.shape) * (a?.shape[a.shape.length - 1] ?? 0);
    }
    case 'conv2d': {
      const w = input(1);
      return 2 * numel(n.shape) * numel(w?.shape.slice(1) ?? []);
    }
    case 'cast':
    case 'stop_gradient':
      return 0;
  }
  switch (OP_INFO[n.op].kind) {
    case 'elementwise':
      return numel(n.shape);
    case 'reduce':
      return numel(input(0)?.shape ?? []);
    default:
      return 0;
  }
}

/**
 * Bytes of a node's value if it is materialized in a forward pass. Sources (inputs, parameters,
 * constants) are not activations, and reshapes are views.
 */
export function nodeBytes(n: Node): number {
  const kind = OP_INFO[n.op].kind;
  if (kind === 'source' || n.op === 'reshape' || n.op === 'stop_gradient') return 0;
  return numel(n.shape) * BYTES[n.dtype];
}
