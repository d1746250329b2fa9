// ONNX_RULES: how every IR primitive op (and its attributes) becomes ONNX opset-17 nodes. One
// entry per op, exhaustive over Op, so tsc names the rule a new op lacks. The CPU kernels
// (runtime/cpu/kernels*.ts) are the definition each rule reproduces; where ONNX cannot express an
// op exactly the entry is `{ unsupported: reason }` and export refuses naming the op.

import type { DType, Node } from '../../ir/graph.ts';
import type { BinaryArithOp, CompareOp, Op, UnaryFloatOp, UnaryNumericOp } from '../../ir/ops.ts';
import type { OnnxAttr } from './onnx-proto.ts';
import { emitRandom } from './onnx-random.ts';
import { SVD_RULES } from './onnx-svd.ts';

/** What a rule sees: the IR node, its operands' ONNX value names, and ways to emit ONNX nodes. */
export interface OnnxCtx {
  readonly node: Node;
  /** ONNX value names of the operands, in order. */
  readonly ins: readonly string[];
  readonly inNodes: readonly Node[];
  /** One ONNX node with a fresh output name, returned. */
  op(type: string, inputs: readonly string[], attrs?: Readonly<Record<string, OnnxAttr>>): string;
  /** One ONNX node with `count` outputs. */
  opN(type: string, inputs: readonly string[], count: number, attrs?: Readonly<Record<string, OnnxAttr>>): string[];
  /** An int64 constant (shapes, axes, pads), rank 1 unless `dims` says otherwise. */
  i64(values: readonly number[], dims?: readonly number[]): string;
  /** A constant of an IR dtype (f16 is written as f32 and cast). */
  constant(values: ArrayLike<number>, dims: readonly number[], dtype: DType): string;
  /** An f64 scalar (the random ops' Box-Muller runs in f64, as the reference's does). */
  f64(value: number): string;
  /** ONNX TensorProto.DataType of an IR dtype. */
  elem(dtype: DType): number;
  /** The value named by an `input` node (declared as a graph input). */
  graphInput(): string;
  /** The value named by a `param` node (an initializer when weights are given, else an input). */
  param(): string;
  /**
   * An ONNX Loop of at most `trips` iterations carrying `vars`: `body` emits (through this same
   * context) the next values from the iteration number (int64 scalar) and the current ones, and
   * whether to go on; the Loop's outputs are the final values.
   */
  loop(trips: number, vars: readonly LoopVar[], body: (iter: string, current: readonly string[]) => { go: string; next: readonly string[] }): string[];
}

/** A value a Loop carries: its initial value, ONNX element type and static shape. */
export interface LoopVar {
  readonly init: string;
  readonly elem: number;
  readonly shape: readonly number[];
}

export type OnnxRule = { readonly emit: (c: OnnxCtx) => string } | { readonly unsupported: string };

const attr = (n: Node, k: string): number => n.attrs[k] as number;
const attrs = (n: Node, k: string): readonly number[] => n.attrs[k] as readonly number[];
const i = (v: number): OnnxAttr => ({ int: v });
const is = (v: readonly number[]): OnnxAttr => ({ ints: v });

/** One ONNX op on the operands. */
const direct = (type: string, extra?: (n: Node) => Record<string, OnnxAttr>): OnnxRule => ({ emit: (c) => c.op(type, c.ins, extra?.(c.node)) });

const scalarOf = (c: OnnxCtx, v: number): string => c.constant([v], [], c.node.dtype);

const UNARY: Record<UnaryFloatOp | UnaryNumericOp, OnnxRule> = {
  neg: direct('Neg'),
  abs: direct('Abs'),
  sign: direct('Sign'),
  exp: direct('Exp'),
  log: direct('Log'),
  sqrt: direct('Sqrt'),
  rsqrt: { emit: (c) => c.op('Reciprocal', [c.op('Sqrt', c.ins)]) },
  tanh: direct('Tanh'),
  sigmoid: direct('Sigmoid'),
  relu: direct('Relu'),
  silu: { emit: (c) => c.op('Mul', [c.ins[0] as string, c.op('Sigmoid', c.ins)]) },
  // Gelu(approximate='tanh') is opset 20; spelled out: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
  gelu_tanh: {
    emit: (c) => {
      const x = c.ins[0] as string;
      const x3 = c.op('Mul', [c.op('Mul', [x, x]), x]);
      const inner = c.op('Mul', [c.op('Add', [x, c.op('Mul', [x3, scalarOf(c, 0.044715)])]), scalarOf(c, Math.sqrt(2 / Math.PI))]);
      const half = c.op('Mul', [x, scalarOf(c, 0.5)]);
      return c.op('Mul', [half, c.op('Add', [c.op('Tanh', [inner]), scalarOf(c, 1)])]);
    },
  },
  sin: direct('Sin'),
  cos: direct('Cos'),
  recip: direct('Reciprocal'),
};

const BINARY: Record<BinaryArithOp | CompareOp, OnnxRule> = {
  add: direct('Add'),
  sub: direct('Sub'),
  mul: direct('Mul'),
  // Integer Div truncates toward zero in ONNX Runtime, as the reference does.
  div: direct('Div'),
  pow: direct('Pow'),
  maximum: direct('Max'),
  minimum: direct('Min'),
  eq: direct('Equal'),
  ne: { emit: (c) => c.op('Not', [c.op('Equal', c.ins)]) },
  lt: direct('Less'),
  le: direct('LessOrEqual'),
  gt: direct('Greater'),
  ge: direct('GreaterOrEqual'),
};

/** Indices as int64 (for ops whose indices must be int64, or to expand them). */
const toI64 = (c: OnnxCtx, v: string): string => c.op('Cast', [v], { to: i(7) });
const toI32 = (c: OnnxCtx, v: string): string => c.op('Cast', [v], { to: i(6) });

const conv = (n: Node): { stride: readonly number[]; padding: readonly number[]; groups: number } => ({
  stride: attrs(n, 'stride'),
  padding: attrs(n, 'padding'),
  groups: attr(n, 'groups'),
});

export const ONNX_RULES: Record<Op, OnnxRule> = {
  input: { emit: (c) => c.graphInput() },
  param: { emit: (c) => c.param() },
  constant: { emit: (c) => c.constant(attrs(c.node, 'data'), c.node.shape, c.node.dtype) },
  full: {
    emit: (c) => {
      const shape = c.i64(c.node.shape);
      const v = attr(c.node, 'value');
      if (c.node.dtype === 'f16') return c.op('Cast', [c.op('Expand', [c.constant([v], [], 'f32'), shape])], { to: i(c.elem('f16')) });
      return c.op('Expand', [c.constant([v], [], c.node.dtype), shape]);
    },
  },
  // Range along the axis, reshaped to [1, …, d, …, 1] and expanded to the shape.
  iota: {
    emit: (c) => {
      const shape = c.node.shape;
      const axis = attr(c.node, 'axis');
      const d = shape[axis] as number;
      const r = c.op('Range', [c.constant([0], [], 'i32'), c.constant([d], [], 'i32'), c.constant([1], [], 'i32')]);
      const col = c.op('Reshape', [r, c.i64(shape.map((s, k) => (k === axis ? s : 1)))]);
      const full = c.op('Expand', [col, c.i64(shape)]);
      return c.node.dtype === 'i32' ? full : c.op('Cast', [full], { to: i(c.elem(c.node.dtype)) });
    },
  },
  random_uniform: { emit: (c) => emitRandom(c, 'uniform') },
  random_normal: { emit: (c) => emitRandom(c, 'normal') },

  ...UNARY,
  ...BINARY,
  where: direct('Where'),
  // Float → int truncates and → bool is x ≠ 0 in ONNX Cast, as in the reference.
  cast: { emit: (c) => c.op('Cast', c.ins, { to: i(c.elem(c.node.dtype)) }) },
  stop_gradient: direct('Identity'),

  reduce_sum: {
    emit: (c) => {
      const axes = attrs(c.node, 'axes');
      if (axes.length === 0) return c.op('Identity', c.ins);
      return c.op('ReduceSum', [c.ins[0] as string, c.i64(axes)], { keepdims: i(c.node.attrs['keepdim'] === true ? 1 : 0) });
    },
  },
  reduce_max: {
    emit: (c) => {
      const axes = attrs(c.node, 'axes');
      if (axes.length === 0) return c.op('Identity', c.ins);
      return c.op('ReduceMax', c.ins, { axes: is(axes), keepdims: i(c.node.attrs['keepdim'] === true ? 1 : 0) });
    },
  },
  // First max wins (select_last_index = 0), as in the reference; ONNX gives int64.
  argmax: { emit: (c) => toI32(c, c.op('ArgMax', c.ins, { axis: i(attr(c.node, 'axis')), keepdims: i(0), select_last_index: i(0) })) },
  // Since opset 13, LogSoftmax normalizes along the one `axis` (before, it flattened the axes
  // from `axis` on), as the reference does; ONNX Runtime runs it as one row pass.
  log_softmax: direct('LogSoftmax', (n) => ({ axis: i(attr(n, 'axis')) })),

  reshape: {
    emit: (c) => {
      const s = c.node.shape;
      // allowzero: a 0 in the target shape means size 0, not "copy the input's dim".
      return c.op('Reshape', [c.ins[0] as string, c.i64(s)], s.includes(0) ? { allowzero: i(1) } : undefined);
    },
  },
  permute: direct('Transpose', (n) => ({ perm: is(attrs(n, 'perm')) })),
  broadcast_to: { emit: (c) => c.op('Expand', [c.ins[0] as string, c.i64(c.node.shape)]) },
  slice: {
    emit: (c) => {
      const st = attrs(c.node, 'starts');
      return c.op('Slice', [c.ins[0] as string, c.i64(st), c.i64(attrs(c.node, 'ends')), c.i64(st.map((_s, k) => k))]);
    },
  },
  concat: direct('Concat', (n) => ({ axis: i(attr(n, 'axis')) })),
  pad: {
    emit: (c) => {
      const pads = c.i64([...attrs(c.node, 'before'), ...attrs(c.node, 'after')]);
      return c.op('Pad', [c.ins[0] as string, pads, c.constant([attr(c.node, 'value')], [], c.node.dtype)], { mode: { string: 'constant' } });
    },
  },

  // numpy take = ONNX Gather (any index rank). Out-of-range indices fail in both.
  gather: direct('Gather', (n) => ({ axis: i(attr(n, 'axis')) })),
  // base[outer, D, inner] += src[outer, K, inner] at rows idx[K]: ScatterElements(add) on the
  // index expanded over outer and inner.
  scatter_add: {
    emit: (c) => {
      const [base, idx] = c.inNodes as [Node, Node];
      const axis = attr(c.node, 'axis');
      const ax = axis < 0 ? axis + base.shape.length : axis;
      const prod = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);
      const outer = prod(base.shape.slice(0, ax));
      const inner = prod(base.shape.slice(ax + 1));
      const k = prod(idx.shape);
      if (outer === 1) {
        // Whole rows (the embedding gradient): ScatterND adds row by row, not element by element.
        const b2 = c.op('Reshape', [c.ins[0] as string, c.i64([base.shape[ax] as number, inner])]);
        const rows = c.op('Reshape', [toI64(c, c.ins[1] as string), c.i64([k, 1])]);
        const s2 = c.op('Reshape', [c.ins[2] as string, c.i64([k, inner])]);
        return c.op('Reshape', [c.op('ScatterND', [b2, rows, s2], { reduction: { string: 'add' } }), c.i64(base.shape)]);
      }
      const b3 = c.op('Reshape', [c.ins[0] as string, c.i64([outer, base.shape[ax] as number, inner])]);
      const s3 = c.op('Reshape', [c.ins[2] as string, c.i64([outer, k, inner])]);
      const i3 = c.op('Expand', [c.op('Reshape', [toI64(c, c.ins[1] as string), c.i64([1, k, 1])]), c.i64([outer, k, inner])]);
      const r = c.op('ScatterElements', [b3, i3, s3], { axis: i(1), reduction: { string: 'add' } });
      return c.op('Reshape', [r, c.i64(base.shape)]);
    },
  },
  take_along_axis: direct('GatherElements', (n) => ({ axis: i(attr(n, 'axis')) })),
  scatter_add_along_axis: direct('ScatterElements', (n) => ({ axis: i(attr(n, 'axis')), reduction: { string: 'add' } })),
  // ONNX TopK orders equal values by lower index first, as the reference does.
  topk_indices: {
    emit: (c) => {
      const [, idx] = c.opN('TopK', [c.ins[0] as string, c.i64([attr(c.node, 'k')])], 2, { axis: i(-1), largest: i(1), sorted: i(1) });
      return toI32(c, idx as string);
    },
  },

  matmul: direct('MatMul'),
  conv2d: {
    emit: (c) => {
      const { stride, padding, groups } = conv(c.node);
      const w = c.inNodes[1] as Node;
      return c.op('Conv', c.ins, {
        kernel_shape: is(w.shape.slice(2)),
        strides: is(stride),
        pads: is([...padding, ...padding]),
        group: i(groups),
      });
    },
  },
  // The transposed conv; output_padding restores the rows a strided conv dropped (< stride).
  conv2d_grad_input: {
    emit: (c) => {
      const { stride, padding, groups } = conv(c.node);
      const [dy, w] = c.inNodes as [Node, Node];
      const hw = attrs(c.node, 'input_hw');
      const extra = [0, 1].map(
        (k) => (hw[k] as number) - ((stride[k] as number) * ((dy.shape[k + 2] as number) - 1) + (w.shape[k + 2] as number) - 2 * (padding[k] as number)),
      );
      return c.op('ConvTranspose', c.ins, {
        kernel_shape: is(w.shape.slice(2)),
        strides: is(stride),
        pads: is([...padding, ...padding]),
        output_padding: is(extra),
        group: i(groups),
      });
    },
  },
  // dw[o, c', i, j] = Σ x[n, g·cg + c', i + y·s − p, …]·dy[n, o, y, …]: a conv of x (batch ↔
  // channels swapped, [cg, g·N, H, W]) with dy as the kernel ([O, N, OH, OW]), dilation = stride,
  // group g, then the [cg, O, KH', KW'] result cut to the kernel size and transposed.
  conv2d_grad_weight: {
    emit: (c) => {
      const { stride, padding, groups } = conv(c.node);
      const [x, dy] = c.inNodes as [Node, Node];
      const [n, ch, h, wd] = x.shape as [number, number, number, number];
      const [, , oh, ow] = dy.shape as [number, number, number, number];
      const cg = ch / groups;
      const [kh, kw] = attrs(c.node, 'kernel_hw') as [number, number];
      const x5 = c.op('Reshape', [c.ins[0] as string, c.i64([n, groups, cg, h, wd])]);
      const xt = c.op('Reshape', [c.op('Transpose', [x5], { perm: is([2, 1, 0, 3, 4]) }), c.i64([cg, groups * n, h, wd])]);
      const dyt = c.op('Transpose', [c.ins[1] as string], { perm: is([1, 0, 2, 3]) });
      const full = c.op('Conv', [xt, dyt], {
        kernel_shape: is([oh, ow]),
        dilations: is(stride),
        strides: is([1, 1]),
        pads: is([...padding, ...padding]),
        group: i(groups),
      });
      const cut = c.op('Slice', [full, c.i64([0, 0]), c.i64([kh, kw]), c.i64([2, 3])]);
      return c.op('Transpose', [cut], { perm: is([1, 0, 2, 3]) });
    },
  },

  // Opset 17 has no SVD: the reference's one-sided Jacobi as a Loop, in f64 (onnx-svd.ts).
  ...SVD_RULES,
};
