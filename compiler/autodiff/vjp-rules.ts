// The VJP rule of every op (JAX style: one rule per primitive, written with the same builder the
// forward uses, so gradients are ordinary IR that later passes fuse). A rule gets the forward node,
// its operands, the cotangent `g` (shape and dtype of the node) and which operand cotangents are
// needed; it returns one cotangent per operand (null = none). 'nondiff' ops pass no gradient.

import type { GraphBuilder } from '../ir/builder.ts';
import type { Node, Shape } from '../ir/graph.ts';
import type { Op } from '../ir/ops.ts';

export interface VjpArgs {
  readonly b: GraphBuilder;
  readonly node: Node;
  readonly ins: readonly Node[];
  readonly g: Node;
  readonly needs: readonly boolean[];
}

export type VjpRule = ((a: VjpArgs) => readonly (Node | null)[]) | 'nondiff';

const GELU_C = Math.sqrt(2 / Math.PI);

/** Sums a broadcast cotangent back down to `shape` (leading axes, then axes that were 1). */
export function sumToShape(b: GraphBuilder, g: Node, shape: Shape): Node {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  return b.reshape(axes.length ? b.sum(g, axes) : g, shape);
}

const x0 = (a: VjpArgs): Node => a.ins[0] as Node;
const x1 = (a: VjpArgs): Node => a.ins[1] as Node;
const x2 = (a: VjpArgs): Node => a.ins[2] as Node;

/** Unary rule from dy/dx written in terms of x and y. */
const unary =
  (d: (b: GraphBuilder, x: Node, y: Node) => Node): VjpRule =>
  (a) => [a.b.mul(a.g, d(a.b, x0(a), a.node))];

/** Cotangent of max/min: all of g where `pick` holds, half of it on ties (as JAX does). */
function selectRule(pick: 'gt' | 'lt'): VjpRule {
  return ({ b, ins, g, needs }) => {
    const [x, y] = ins as [Node, Node];
    const tie = b.eq(x, y);
    const half = b.mul(g, 0.5);
    const ga = needs[0] ? sumToShape(b, b.where(b.binary(pick, x, y), g, b.where(tie, half, 0)), x.shape) : null;
    const gb = needs[1] ? sumToShape(b, b.where(b.binary(pick, y, x), g, b.where(tie, half, 0)), y.shape) : null;
    return [ga, gb];
  };
}

function convAttrs(n: Node): { stride: [number, number]; padding: [number, number]; groups: number } {
  const s = n.attrs['stride'] as readonly number[];
  const p = n.attrs['padding'] as readonly number[];
  return { stride: [s[0] as number, s[1] as number], padding: [p[0] as number, p[1] as number], groups: n.attrs['groups'] as number };
}

/**
 * y = log_softmax(x): dx = g − exp(y)·Σ_axis g, from the saved output (no second max or Σ exp).
 * When g is a scatter of `src` into zeros along the same axis — the VJP of take_along_axis, so
 * always for cross-entropy — Σ_axis g is Σ_axis src and g − t is t negated with src scattered in:
 * exactly the same sums, without materializing the zero tensor, scattering into it, reducing it
 * and subtracting from it (the backward then makes 3 full passes over the logits: exp, the
 * scale, the scatter's copy).
 */
const logSoftmaxRule: VjpRule = ({ b, node, g }) => {
  const axis = node.attrs['axis'] as number;
  const p = b.exp(node);
  const base = g.op === 'scatter_add_along_axis' ? (b.nodes[g.inputs[0] as number] as Node) : undefined;
  if (base !== undefined && base.op === 'full' && base.attrs['value'] === 0 && g.attrs['axis'] === axis) {
    const [idx, src] = [b.nodes[g.inputs[1] as number] as Node, b.nodes[g.inputs[2] as number] as Node];
    return [b.scatterAddAlongAxis(b.mul(p, b.neg(b.sum(src, axis, true))), idx, src, axis)];
  }
  return [b.sub(g, b.mul(p, b.sum(g, axis, true)))];
};

const hw = (s: Shape): [number, number] => [s[2] as number, s[3] as number];

export const VJP_RULES: Record<Op, VjpRule> = {
  input: 'nondiff',
  param: 'nondiff',
  constant: 'nondiff',
  full: 'nondiff',
  iota: 'nondiff',
  random_uniform: 'nondiff',
  random_normal: 'nondiff',

  neg: ({ b, g }) => [b.neg(g)],
  abs: unary((b, x) => b.sign(x)),
  sign: 'nondiff',
  exp: unary((_b, _x, y) => y),
  log: ({ b, ins, g }) => [b.div(g, ins[0] as Node)],
  sqrt: ({ b, node, g }) => [b.div(b.mul(g, 0.5), node)],
  rsqrt: unary((b, _x, y) => b.mul(b.mul(b.mul(y, y), y), -0.5)), // d x^-1/2 = -x^-3/2 / 2
  tanh: unary((b, _x, y) => b.sub(1, b.mul(y, y))),
  sigmoid: unary((b, _x, y) => b.mul(y, b.sub(1, y))),
  relu: ({ b, ins, g }) => [b.where(b.gt(ins[0] as Node, 0), g, 0)],
  silu: unary((b, x) => {
    const s = b.sigmoid(x);
    return b.mul(s, b.add(1, b.mul(x, b.sub(1, s)))); // s·(1 + x(1−s))
  }),
  gelu_tanh: unary((b, x) => {
    // d/dx ½x(1+t), t = tanh(c(x+kx³)): ½(1+t) + ½x(1−t²)·c(1+3kx²)
    const x2 = b.mul(x, x);
    const t = b.tanh(b.mul(b.add(x, b.mul(b.mul(x2, x), 0.044715)), GELU_C));
    const du = b.mul(b.add(b.mul(x2, 3 * 0.044715), 1), GELU_C);
    return b.add(b.mul(b.add(t, 1), 0.5), b.mul(b.mul(b.mul(x, 0.5), b.sub(1, b.mul(t, t))), du));
  }),
  sin: unary((b, x) => b.cos(x)),
  cos: unary((b, x) => b.neg(b.sin(x))),
  recip: unary((b, _x, y) => b.neg(b.mul(y, y))),

  add: (a) => [a.needs[0] ? sumToShape(a.b, a.g, x0(a).shape) : null, a.needs[1] ? sumToShape(a.b, a.g, x1(a).shape) : null],
  sub: (a) => [a.needs[0] ? sumToShape(a.b, a.g, x0(a).shape) : null, a.needs[1] ? sumToShape(a.b, a.b.neg(a.g), x1(a).shape) : null],
  mul: (a) => [a.needs[0] ? sumToShape(a.b, a.b.mul(a.g, x1(a)), x0(a).shape) : null, a.needs[1] ? sumToShape(a.b, a.b.mul(a.g, x0(a)), x1(a).shape) : null],
  div: (a) => [
    a.needs[0] ? sumToShape(a.b, a.b.div(a.g, x1(a)), x0(a).shape) : null,
    a.needs[1] ? sumToShape(a.b, a.b.neg(a.b.div(a.b.mul(a.g, a.node), x1(a))), x1(a).shape) : null, // −g·a/b²
  ],
  pow: (a) => {
    const { b, g, node } = a;
    const [x, y] = [x0(a), x1(a)];
    // log is only taken where x > 0; elsewhere the exponent's gradient is defined as 0.
    const logx = b.where(b.gt(x, 0), b.log(b.where(b.gt(x, 0), x, 1)), 0);
    return [
      a.needs[0] ? sumToShape(b, b.mul(g, b.mul(y, b.pow(x, b.sub(y, 1)))), x.shape) : null,
      a.needs[1] ? sumToShape(b, b.mul(g, b.mul(node, logx)), y.shape) : null,
    ];
  },
  maximum: selectRule('gt'),
  minimum: selectRule('lt'),
  eq: 'nondiff',
  ne: 'nondiff',
  lt: 'nondiff',
  le: 'nondiff',
  gt: 'nondiff',
  ge: 'nondiff',
  where: (a) => [
    null,
    a.needs[1] ? sumToShape(a.b, a.b.where(x0(a), a.g, 0), x1(a).shape) : null,
    a.needs[2] ? sumToShape(a.b, a.b.where(x0(a), 0, a.g), x2(a).shape) : null,
  ],
  cast: (a) => [a.b.cast(a.g, x0(a).dtype)],
  stop_gradient: 'nondiff',

  reduce_sum: ({ b, node, ins, g }) => {
    const x = ins[0] as Node;
    const axes = node.attrs['axes'] as readonly number[];
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    return [b.broadcastTo(b.reshape(g, kept), x.shape)];
  },
  reduce_max: ({ b, node, ins, g }) => {
    const x = ins[0] as Node;
    const axes = node.attrs['axes'] as readonly number[];
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    // Ties share the gradient equally.
    const mask = b.cast(b.eq(x, b.reshape(node, kept)), x.dtype);
    const count = b.sum(mask, axes, true);
    return [b.mul(b.div(mask, count), b.reshape(g, kept))];
  },
  argmax: 'nondiff',
  log_softmax: logSoftmaxRule,

  reshape: ({ b, ins, g }) => [b.reshape(g, (ins[0] as Node).shape)],
  permute: ({ b, node, g }) => {
    const perm = node.attrs['perm'] as readonly number[];
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [b.permute(g, inv)];
  },
  broadcast_to: ({ b, ins, g }) => [sumToShape(b, g, (ins[0] as Node).shape)],
  slice: ({ b, node, ins, g }) => {
    const x = ins[0] as Node;
    const ends = node.attrs['ends'] as readonly number[];
    return [
      b.pad(
        g,
        node.attrs['starts'] as readonly number[],
        x.shape.map((d, i) => d - (ends[i] as number)),
      ),
    ];
  },
  concat: ({ b, node, ins, g, needs }) => {
    const axis = node.attrs['axis'] as number;
    let at = 0;
    return ins.map((x, k) => {
      const start = at;
      at += x.shape[axis] as number;
      return needs[k] ? b.sliceAxis(g, axis, start, at) : null;
    });
  },
  pad: ({ b, node, ins, g }) => {
    const before = node.attrs['before'] as readonly number[];
    return [
      b.slice(
        g,
        before,
        (ins[0] as Node).shape.map((d, i) => d + (before[i] as number)),
      ),
    ];
  },

  gather: (a) => [a.b.scatterAdd(a.b.full(0, x0(a).shape, x0(a).dtype), x1(a), a.g, a.node.attrs['axis'] as number), null],
  scatter_add: (a) => [a.needs[0] ? a.g : null, null, a.needs[2] ? a.b.gather(a.g, x1(a), a.node.attrs['axis'] as number) : null],
  take_along_axis: (a) => [a.b.scatterAddAlongAxis(a.b.full(0, x0(a).shape, x0(a).dtype), x1(a), a.g, a.node.attrs['axis'] as number), null],
  scatter_add_along_axis: (a) => [a.needs[0] ? a.g : null, null, a.needs[2] ? a.b.takeAlongAxis(a.g, x1(a), a.node.attrs['axis'] as number) : null],
  topk_indices: 'nondiff',

  matmul: (a) => {
    const { b, g } = a;
    const [x, y] = [x0(a), x1(a)];
    return [
      a.needs[0] ? sumToShape(b, b.matmul(g, b.transpose(y)), x.shape) : null, // dA = G·Bᵀ
      a.needs[1] ? sumToShape(b, b.matmul(b.transpose(x), g), y.shape) : null, // dB = Aᵀ·G
    ];
  },
  conv2d: (a) => {
    const o = convAttrs(a.node);
    const [x, w] = [x0(a), x1(a)];
    return [a.needs[0] ? a.b.conv2dGradInput(a.g, w, hw(x.shape), o) : null, a.needs[1] ? a.b.conv2dGradWeight(x, a.g, hw(w.shape), o) : null];
  },
  // Both transposed forms are bilinear pieces of ⟨dy, conv(x, w)⟩, so their VJPs are the other two.
  conv2d_grad_input: (a) => {
    const o = convAttrs(a.node);
    const [dy, w] = [x0(a), x1(a)];
    return [a.needs[0] ? a.b.conv2d(a.g, w, o) : null, a.needs[1] ? a.b.conv2dGradWeight(a.g, dy, hw(w.shape), o) : null];
  },
  conv2d_grad_weight: (a) => {
    const o = convAttrs(a.node);
    const [x, dy] = [x0(a), x1(a)];
    return [a.needs[0] ? a.b.conv2dGradInput(dy, a.g, hw(x.shape), o) : null, a.needs[1] ? a.b.conv2d(x, a.g, o) : null];
  },
  svd_values: (a) => [a.b.svdValuesGrad(x0(a), a.g)],
  svd_values_grad: () => {
    throw new Error('autodiff: second-order gradients through svd_values are not supported');
  },
};
