// How fusion sees one node: its op's class and operand reads from the op table
// (compiler/ir/op-traits.ts), plus the one fact that depends on the node, not the op: a constant
// too large to inline into the WGSL is a buffer.

import type { Graph, Node } from '../ir/graph.ts';
import { numel } from '../ir/graph.ts';
import { OP_TRAITS, type OpClass } from '../ir/op-traits.ts';

export type { OpClass } from '../ir/op-traits.ts';

/** Constants up to this many elements are inlined into the WGSL; larger ones become buffers. */
export const INLINE_CONSTANT_MAX = 64;

export function classOf(n: Node): OpClass {
  if (n.op === 'constant' && numel(n.shape) > INLINE_CONSTANT_MAX) return 'buffer';
  return OP_TRAITS[n.op].class;
}

/** Reads of operand k per element of `c`'s output, summed over `c` (see `ReadsRule`). */
export function operandReads(g: Graph, c: Node, k: number): number {
  return OP_TRAITS[c.op].reads(
    c,
    c.inputs.map((j) => g.nodes[j] as Node),
    k,
  );
}
