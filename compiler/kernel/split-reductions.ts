// Long reductions in two passes, so they spread over the device. Rendered as written, a reduction
// gives each output element to ONE thread that walks all of its inputs (render-node.ts): a bias or
// norm gradient (a column sum over every token of the batch) or a loss's mean runs a few hundred
// threads or one, each looping over 10^4–10^5 elements — fine on lavapipe's few cores, an idle
// GPU on a real one, and the longest stretch of a training step's critical path (kernel/cost.ts).
//
// Rewrite, before fusion (atomics-free, no workgroup memory, so it runs on every WebGPU device):
//
//   y = reduce(x over R elements)          R ≥ SPLIT_MIN, cut into S chunks of c ≈ √R (padded
//   →  partial = reduce(x as [S, c] chunks over c)     with the identity: 0 or −∞ when S·c > R)
//      y       = reduce(partial over S)
//
// `partial` is materialized (fuse-kernels.ts `materialize`): S·(outputs) threads of c steps each,
// then the outputs' threads take S steps. Reduced axes that lead (a column sum over rows) give
// partial [S, K] with chunk s holding rows s·c … s·c + c − 1; otherwise the reduced axes are moved
// last and chunk s takes every S-th element from s. Either way neighbouring threads read
// neighbouring addresses. Sums come out in a different order than the serial loop (pairwise-like,
// usually closer to the f64 reference); maxima are exact.

import { GraphBuilder } from '../ir/builder.ts';
import type { Graph, Node } from '../ir/graph.ts';
import { numel } from '../ir/graph.ts';

/** Reductions at least this long are split in two passes. */
export const SPLIT_MIN = 1024;

export interface SplitGraph {
  graph: Graph;
  /** The first passes' nodes (ids in `graph`): each roots a kernel of its own. */
  partials: ReadonlySet<number>;
}

/**
 * `g` with every reduce_sum / reduce_max over at least `min` elements per output split in two.
 *
 * @example
 *   // %1: f32[16] = reduce_sum %0 {axes=[0]} over x[4096, 16] becomes
 *   //   partial f32[64, 16] = reduce_sum(reshape(x, [64, 64, 16]), axes [1]);  y = reduce_sum(partial, axes [0])
 */
export function splitReductions(g: Graph, min = SPLIT_MIN): SplitGraph {
  const b = new GraphBuilder();
  const map: Node[] = [];
  const partials = new Set<number>();
  for (const n of g.nodes) {
    const ins = n.inputs.map((j) => map[j] as Node);
    map[n.id] = b.withSpan(n.span, () => split(b, n, ins, min, partials) ?? b.apply(n.op, ins, n.attrs));
  }
  for (const o of g.outputs) b.output(o.name, map[o.node] as Node);
  return { graph: b.build(), partials };
}

function split(b: GraphBuilder, n: Node, ins: readonly Node[], min: number, partials: Set<number>): Node | undefined {
  if (n.op === 'conv2d_grad_weight') return splitConvWeight(b, n, ins, min, partials);
  const x = ins[0];
  if ((n.op !== 'reduce_sum' && n.op !== 'reduce_max') || x === undefined) return undefined;
  const axes = [...(n.attrs['axes'] as readonly number[])].sort((p, q) => p - q);
  const length = numel(axes.map((a) => x.shape[a] as number));
  if (length < min) return undefined;
  const chunk = Math.ceil(Math.sqrt(length));
  const parts = Math.ceil(length / chunk);
  const pad = parts * chunk - length;
  const identity = n.op === 'reduce_sum' ? 0 : -Infinity;
  const kept = numel(x.shape) / length;
  const reduce = (v: Node, axis: number): Node => b.apply(n.op, [v], { axes: [axis], keepdim: false });
  const leading = axes.every((a, k) => a === k);
  let partial: Node;
  if (leading) {
    // [R, K] → [S, c, K]: chunk s is rows s·c … s·c + c − 1
    let v = b.reshape(x, [length, kept]);
    if (pad > 0) v = b.pad(v, [0, 0], [pad, 0], identity);
    partial = reduce(b.reshape(v, [parts, chunk, kept]), 1);
  } else {
    // [K, R] → [K, c, S]: chunk s is elements s, s + S, s + 2S, …
    const rest = x.shape.map((_d, a) => a).filter((a) => !axes.includes(a));
    const perm = [...rest, ...axes];
    let v = b.reshape(perm.every((p, k) => p === k) ? x : b.permute(x, perm), [kept, length]);
    if (pad > 0) v = b.pad(v, [0, 0], [0, pad], identity);
    partial = reduce(b.reshape(v, [kept, chunk, parts]), 1);
  }
  partials.add(partial.id);
  return b.reshape(reduce(partial, leading ? 0 : 1), n.shape);
}

/**
 * A convolution's weight gradient sums over the batch and every output position (N·OH·OW steps
 * per weight). Per sample first: with the batch folded into the channels and N·groups groups,
 * conv2d_grad_weight gives every sample's gradient, [N·O, C/g, kh, kw] (OH·OW steps each); then a
 * sum over the N samples.
 */
function splitConvWeight(b: GraphBuilder, n: Node, ins: readonly Node[], min: number, partials: Set<number>): Node | undefined {
  const [x, dy] = ins as [Node, Node];
  const [batch = 1, c = 1, h = 1, w = 1] = x.shape;
  const [, o = 1, oh = 1, ow = 1] = dy.shape;
  if (batch < 2 || batch * oh * ow < min) return undefined;
  const groups = n.attrs['groups'] as number;
  const perSample = b.apply('conv2d_grad_weight', [b.reshape(x, [1, batch * c, h, w]), b.reshape(dy, [1, batch * o, oh, ow])], {
    ...n.attrs,
    groups: groups * batch,
  });
  partials.add(perSample.id);
  return b.apply('reduce_sum', [b.reshape(perSample, [batch, ...n.shape])], { axes: [0], keepdim: false });
}
