// FLOPs and activation bytes of IR nodes, counted from the graph a layer actually lowers to, so
// the numbers `scion explain` prints cannot drift from the math. Each op's FLOP rule sits in its
// entry of OP_TRAITS (compiler/ir/op-traits.ts), with its conventions.

import type { Node } from '../ir/graph.ts';
import { OP_TRAITS } from '../ir/op-traits.ts';
import { OP_INFO } from '../ir/ops.ts';

const numel = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);

const BYTES: Record<Node['dtype'], number> = { f32: 4, f16: 2, i32: 4, bool: 1 };

export function nodeFlops(n: Node, nodes: readonly Node[]): number {
  return OP_TRAITS[n.op].flops(
    n,
    n.inputs.map((j) => nodes[j] as Node),
  );
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
