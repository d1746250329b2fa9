// Algebraic simplification and constant folding, run after autodiff (so stop_gradient is a plain
// identity by then). Only rewrites that are exact under the CPU reference's semantics: x + 0 and
// x · 1 only where no broadcast changes the shape (x · 0 is NOT folded: inf · 0 is nan);
// arithmetic on `full` operands folds to a `full` (f32 values are rounded the way the CPU
// reference rounds them when it materializes the literal).

import type { GraphBuilder } from '../ir/builder.ts';
import type { Graph, Node } from '../ir/graph.ts';
import { isFloat } from '../ir/graph.ts';
import type { Op } from '../ir/ops.ts';
import { rewriteGraph } from './rewrite.ts';

const same = (a: Node, b: Node): boolean => a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
const isFull = (n: Node, v?: number): boolean => n.op === 'full' && (v === undefined || n.attrs['value'] === v);
const val = (n: Node): number => n.attrs['value'] as number;

/** Ops folded when every operand is a `full`; float results only (i32 division truncates). */
const FOLD: Partial<Record<Op, (xs: number[]) => number>> = {
  neg: ([a]) => -(a as number),
  exp: ([a]) => Math.exp(a as number),
  log: ([a]) => Math.log(a as number),
  sqrt: ([a]) => Math.sqrt(a as number),
  rsqrt: ([a]) => 1 / Math.sqrt(a as number),
  recip: ([a]) => 1 / (a as number),
  add: ([a, b]) => (a as number) + (b as number),
  sub: ([a, b]) => (a as number) - (b as number),
  mul: ([a, b]) => (a as number) * (b as number),
  div: ([a, b]) => (a as number) / (b as number),
  pow: ([a, b]) => Math.pow(a as number, b as number),
};

function simplifyNode(b: GraphBuilder, n: Node, ins: readonly Node[]): Node | undefined {
  const [x, y] = ins as [Node, Node | undefined];
  const fold = FOLD[n.op];
  if (fold && ins.length > 0 && ins.every((i) => isFull(i)) && isFloat(n.dtype)) {
    return b.full(Math.fround(fold(ins.map(val))), n.shape, n.dtype);
  }
  switch (n.op) {
    case 'stop_gradient':
      return x;
    case 'add':
      if (y && isFull(y, 0) && same(x, n)) return x;
      if (y && isFull(x, 0) && same(y, n)) return y;
      return undefined;
    case 'sub':
      return y && isFull(y, 0) && same(x, n) ? x : undefined;
    case 'mul':
      if (y && isFull(y, 1) && same(x, n)) return x;
      if (y && isFull(x, 1) && same(y, n)) return y;
      return undefined;
    case 'div':
      return y && isFull(y, 1) && same(x, n) ? x : undefined;
    case 'neg':
      return x.op === 'neg' ? ins0(b, x) : undefined;
    case 'reshape':
      if (x.op === 'reshape') return b.reshape(ins0(b, x), n.shape);
      return b.reshape(x, n.shape);
    case 'broadcast_to':
      if (isFull(x)) return b.full(val(x), n.shape, n.dtype);
      return b.broadcastTo(x, n.shape);
    case 'permute': {
      const perm = n.attrs['perm'] as readonly number[];
      if (x.op !== 'permute') return b.permute(x, perm);
      const inner = x.attrs['perm'] as readonly number[];
      // out[i] = x[perm[i]] = src[inner[perm[i]]]
      return b.permute(
        ins0(b, x),
        perm.map((p) => inner[p] as number),
      );
    }
    default:
      return undefined;
  }
}

/** Operand 0 of a node built in the same builder (rewritten graphs only reference their own). */
function ins0(b: GraphBuilder, n: Node): Node {
  return b.nodes[n.inputs[0] as number] as Node;
}

export function simplify(g: Graph): Graph {
  return rewriteGraph(g, simplifyNode);
}
