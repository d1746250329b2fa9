// The primitive ops of the graph IR, declared once. Every per-op behaviour elsewhere (CPU kernel,
// VJP rule, WGSL emit) is a `Record<Op, Rule>` table, so tsc names the rule a new op is missing.
// Softmax, norms, attention, losses are NOT here: they are compositions (compose.ts). The one
// exception is log_softmax, a primitive so that cross-entropy's forward is one row pass on every
// backend and its VJP reuses the saved output (the composite took ~8 full passes over the logits
// in a training step); WGSL expands it back into its composite (codegen/wgsl/expand-rows.ts).

import type { Attrs, DType, Shape } from './graph.ts';
import {
  attrBool,
  attrDType,
  attrInt,
  attrNum,
  attrNums,
  attrShape,
  broadcastShapes,
  convOut,
  fail,
  fmtShape,
  normAxis,
  reduceShape,
  requireFloat,
  requireNumeric,
  sameDType,
  sameShape,
  type TypeInfo,
} from './shape-rules.ts';

export const UNARY_FLOAT_OPS = ['exp', 'log', 'sqrt', 'rsqrt', 'tanh', 'sigmoid', 'relu', 'silu', 'gelu_tanh', 'sin', 'cos', 'recip'] as const;
export const UNARY_NUMERIC_OPS = ['neg', 'abs', 'sign'] as const;
export const BINARY_ARITH_OPS = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const;
export const COMPARE_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;

export const OPS = [
  // sources
  'input',
  'param',
  'constant',
  'full',
  'iota',
  'random_uniform',
  'random_normal',
  // elementwise
  ...UNARY_NUMERIC_OPS,
  ...UNARY_FLOAT_OPS,
  ...BINARY_ARITH_OPS,
  ...COMPARE_OPS,
  'where',
  'cast',
  'stop_gradient',
  // reductions
  'reduce_sum',
  'reduce_max',
  'argmax',
  'log_softmax',
  // movement
  'reshape',
  'permute',
  'broadcast_to',
  'slice',
  'concat',
  'pad',
  // indexing
  'gather',
  'scatter_add',
  'take_along_axis',
  'scatter_add_along_axis',
  'topk_indices',
  // contractions
  'matmul',
  'conv2d',
  'conv2d_grad_input',
  'conv2d_grad_weight',
  // small linear algebra
  'svd_values',
  'svd_values_grad',
] as const;

export type Op = (typeof OPS)[number];
export type UnaryFloatOp = (typeof UNARY_FLOAT_OPS)[number];
export type UnaryNumericOp = (typeof UNARY_NUMERIC_OPS)[number];
export type BinaryArithOp = (typeof BINARY_ARITH_OPS)[number];
export type CompareOp = (typeof COMPARE_OPS)[number];

/** Coarse class, for passes (fusion groups elementwise chains into reductions). */
export type OpKind = 'source' | 'elementwise' | 'reduce' | 'movement' | 'index' | 'contract';

export interface OpInfo {
  /** Number of operands; 'variadic' means one or more. */
  readonly arity: number | 'variadic';
  /** Attribute keys the op reads (all required). */
  readonly attrs: readonly string[];
  readonly kind: OpKind;
  readonly meaning: string;
  readonly dtype: (ins: readonly TypeInfo[], attrs: Attrs) => DType;
  readonly shape: (ins: readonly TypeInfo[], attrs: Attrs) => Shape;
}

const in0 = (ins: readonly TypeInfo[]): TypeInfo => ins[0] ?? fail('missing operand 0');
const in1 = (ins: readonly TypeInfo[]): TypeInfo => ins[1] ?? fail('missing operand 1');
const in2 = (ins: readonly TypeInfo[]): TypeInfo => ins[2] ?? fail('missing operand 2');

function source(meaning: string, attrs: readonly string[], dtype?: DType): OpInfo {
  return {
    arity: 0,
    attrs,
    kind: 'source',
    meaning,
    dtype: (_i, a) => dtype ?? attrDType(a),
    shape: (_i, a) => attrShape(a),
  };
}

function randomOp(meaning: string): OpInfo {
  return {
    arity: 1,
    attrs: ['shape', 'stream'],
    kind: 'source',
    meaning,
    dtype: (ins) => {
      const k = in0(ins);
      if (k.dtype !== 'i32' || !sameShape(k.shape, [2])) fail(`random key must be i32[2] (seed, counter), got ${k.dtype}${fmtShape(k.shape)}`);
      return 'f32';
    },
    shape: (_i, a) => attrShape(a),
  };
}

function unaryFloat(meaning: string): OpInfo {
  return { arity: 1, attrs: [], kind: 'elementwise', meaning, dtype: (ins) => requireFloat(meaning, in0(ins)), shape: (ins) => in0(ins).shape };
}

function unaryNumeric(meaning: string): OpInfo {
  return { arity: 1, attrs: [], kind: 'elementwise', meaning, dtype: (ins) => requireNumeric(meaning, in0(ins)), shape: (ins) => in0(ins).shape };
}

function binary(meaning: string, floatOnly = false): OpInfo {
  return {
    arity: 2,
    attrs: [],
    kind: 'elementwise',
    meaning,
    dtype: (ins) => {
      const d = sameDType(meaning, ins);
      if (floatOnly) requireFloat(meaning, in0(ins));
      else requireNumeric(meaning, in0(ins));
      return d;
    },
    shape: (ins) => broadcastShapes(in0(ins).shape, in1(ins).shape),
  };
}

function compare(meaning: string): OpInfo {
  return {
    arity: 2,
    attrs: [],
    kind: 'elementwise',
    meaning,
    dtype: (ins) => (sameDType(meaning, ins), 'bool'),
    shape: (ins) => broadcastShapes(in0(ins).shape, in1(ins).shape),
  };
}

function indexOperand(op: string, t: TypeInfo): void {
  if (t.dtype !== 'i32') fail(`${op} indices must be i32, got ${t.dtype}`);
}

/** gather / scatter_add: out = x.shape[:axis] ++ idx.shape ++ x.shape[axis+1:] (numpy `take`). */
function takeShape(x: Shape, idx: Shape, axis: number): Shape {
  const a = normAxis(axis, x.length);
  return [...x.slice(0, a), ...idx, ...x.slice(a + 1)];
}

function convAttrs(a: Attrs): { stride: readonly number[]; padding: readonly number[]; groups: number } {
  const stride = attrNums(a, 'stride');
  const padding = attrNums(a, 'padding');
  const groups = attrInt(a, 'groups');
  if (stride.length !== 2 || padding.length !== 2 || groups < 1) fail(`conv attrs need stride[2], padding[2], groups>=1`);
  return { stride, padding, groups };
}

/** y[N,O,OH,OW] from x[N,C,H,W] and w[O,C/groups,KH,KW]. */
function convShape(x: Shape, w: Shape, a: Attrs): Shape {
  const { stride, padding, groups } = convAttrs(a);
  if (x.length !== 4 || w.length !== 4) fail(`conv2d needs x[N,C,H,W] and w[O,C/g,KH,KW], got ${fmtShape(x)} and ${fmtShape(w)}`);
  const [n, c, h, wd] = x as [number, number, number, number];
  const [o, cg, kh, kw] = w as [number, number, number, number];
  if (c % groups !== 0 || o % groups !== 0 || cg * groups !== c) fail(`conv2d channels: x has ${c}, w expects ${cg}×${groups} groups, out ${o}`);
  const oh = convOut(h, kh, stride[0] as number, padding[0] as number);
  const ow = convOut(wd, kw, stride[1] as number, padding[1] as number);
  if (oh < 1 || ow < 1) fail(`conv2d output would be empty (${oh}×${ow})`);
  return [n, o, oh, ow];
}

export const OP_INFO: Record<Op, OpInfo> = {
  input: source('a named graph input (attrs name, shape, dtype)', ['name', 'shape', 'dtype']),
  param: source('a named parameter (attrs name, shape, dtype, trainable)', ['name', 'shape', 'dtype', 'trainable']),
  constant: {
    ...source('a literal tensor; data is row-major', ['shape', 'dtype', 'data']),
    shape: (_i, a) => {
      const s = attrShape(a);
      const n = s.reduce((p, d) => p * d, 1);
      if (attrNums(a, 'data').length !== n) fail(`constant data has ${attrNums(a, 'data').length} values, shape ${fmtShape(s)} needs ${n}`);
      return s;
    },
  },
  full: source('a tensor filled with one value', ['shape', 'dtype', 'value']),
  iota: {
    ...source('the index along `axis` at every position', ['shape', 'dtype', 'axis']),
    shape: (_i, a) => {
      const s = attrShape(a);
      normAxis(attrInt(a, 'axis'), s.length);
      return s;
    },
  },
  random_uniform: randomOp('uniform [0,1) from counter-based hash of (key=[seed,counter], stream, index)'),
  random_normal: randomOp('standard normal (Box-Muller on two uniforms of the same counter hash)'),

  neg: unaryNumeric('-x'),
  abs: unaryNumeric('|x|'),
  sign: unaryNumeric('-1, 0 or 1 by the sign of x'),
  exp: unaryFloat('e^x'),
  log: unaryFloat('natural log'),
  sqrt: unaryFloat('square root'),
  rsqrt: unaryFloat('1/sqrt(x)'),
  tanh: unaryFloat('hyperbolic tangent'),
  sigmoid: unaryFloat('1/(1+e^-x)'),
  relu: unaryFloat('max(x, 0)'),
  silu: unaryFloat('x·sigmoid(x)'),
  gelu_tanh: unaryFloat('0.5x(1+tanh(√(2/π)(x+0.044715x³)))'),
  sin: unaryFloat('sine'),
  cos: unaryFloat('cosine'),
  recip: unaryFloat('1/x'),

  add: binary('a + b'),
  sub: binary('a - b'),
  mul: binary('a · b'),
  div: binary('a / b (i32: truncated)'),
  pow: binary('a^b', true),
  maximum: binary('elementwise max(a, b)'),
  minimum: binary('elementwise min(a, b)'),
  eq: compare('a == b → bool'),
  ne: compare('a != b → bool'),
  lt: compare('a < b → bool'),
  le: compare('a <= b → bool'),
  gt: compare('a > b → bool'),
  ge: compare('a >= b → bool'),
  where: {
    arity: 3,
    attrs: [],
    kind: 'elementwise',
    meaning: 'cond ? a : b, broadcasting all three',
    dtype: (ins) => {
      if (in0(ins).dtype !== 'bool') fail(`where condition must be bool, got ${in0(ins).dtype}`);
      return sameDType('where', [in1(ins), in2(ins)]);
    },
    shape: (ins) => broadcastShapes(in0(ins).shape, in1(ins).shape, in2(ins).shape),
  },
  cast: {
    arity: 1,
    attrs: ['dtype'],
    kind: 'elementwise',
    meaning: 'convert dtype (float→i32 truncates, →bool is x != 0)',
    dtype: (_i, a) => attrDType(a),
    shape: (ins) => in0(ins).shape,
  },
  stop_gradient: {
    arity: 1,
    attrs: [],
    kind: 'elementwise',
    meaning: 'identity whose VJP is zero',
    dtype: (ins) => in0(ins).dtype,
    shape: (ins) => in0(ins).shape,
  },

  reduce_sum: {
    arity: 1,
    attrs: ['axes', 'keepdim'],
    kind: 'reduce',
    meaning: 'sum over axes',
    dtype: (ins) => requireNumeric('reduce_sum', in0(ins)),
    shape: (ins, a) => reduceShape(in0(ins).shape, attrNums(a, 'axes'), attrBool(a, 'keepdim')),
  },
  reduce_max: {
    arity: 1,
    attrs: ['axes', 'keepdim'],
    kind: 'reduce',
    meaning: 'max over axes',
    dtype: (ins) => requireNumeric('reduce_max', in0(ins)),
    shape: (ins, a) => reduceShape(in0(ins).shape, attrNums(a, 'axes'), attrBool(a, 'keepdim')),
  },
  argmax: {
    arity: 1,
    attrs: ['axis'],
    kind: 'reduce',
    meaning: 'index of the first max along axis (axis removed) → i32',
    dtype: (ins) => (requireNumeric('argmax', in0(ins)), 'i32'),
    shape: (ins, a) => reduceShape(in0(ins).shape, [attrInt(a, 'axis')], false),
  },
  log_softmax: {
    arity: 1,
    attrs: ['axis'],
    kind: 'reduce',
    meaning: 'x − max − log Σ exp(x − max) along axis (shape kept)',
    dtype: (ins) => requireFloat('log_softmax', in0(ins)),
    shape: (ins, a) => (normAxis(attrInt(a, 'axis'), in0(ins).shape.length), in0(ins).shape),
  },

  reshape: {
    arity: 1,
    attrs: ['shape'],
    kind: 'movement',
    meaning: 'same row-major data, new shape',
    dtype: (ins) => in0(ins).dtype,
    shape: (ins, a) => {
      const s = attrShape(a);
      const from = in0(ins).shape;
      if (s.reduce((p, d) => p * d, 1) !== from.reduce((p, d) => p * d, 1)) fail(`cannot reshape ${fmtShape(from)} to ${fmtShape(s)}`);
      return s;
    },
  },
  permute: {
    arity: 1,
    attrs: ['perm'],
    kind: 'movement',
    meaning: 'out.shape[i] = x.shape[perm[i]]',
    dtype: (ins) => in0(ins).dtype,
    shape: (ins, a) => {
      const x = in0(ins).shape;
      const p = attrNums(a, 'perm');
      const sorted = [...p].sort((u, v) => u - v);
      if (p.length !== x.length || sorted.some((v, i) => v !== i)) fail(`perm ${fmtShape(p)} is not a permutation of rank ${x.length}`);
      return p.map((i) => x[i] as number);
    },
  },
  broadcast_to: {
    arity: 1,
    attrs: ['shape'],
    kind: 'movement',
    meaning: 'numpy broadcast to a larger shape',
    dtype: (ins) => in0(ins).dtype,
    shape: (ins, a) => {
      const s = attrShape(a);
      const b = broadcastShapes(in0(ins).shape, s);
      if (!sameShape(b, s)) fail(`cannot broadcast ${fmtShape(in0(ins).shape)} to ${fmtShape(s)}`);
      return s;
    },
  },
  slice: {
    arity: 1,
    attrs: ['starts', 'ends'],
    kind: 'movement',
    meaning: 'x[starts:ends] per axis (step 1)',
    dtype: (ins) => in0(ins).dtype,
    shape: (ins, a) => {
      const x = in0(ins).shape;
      const st = attrNums(a, 'starts');
      const en = attrNums(a, 'ends');
      if (st.length !== x.length || en.length !== x.length) fail(`slice needs ${x.length} starts and ends`);
      return x.map((d, i) => {
        const s = st[i] as number;
        const e = en[i] as number;
        if (!(0 <= s && s <= e && e <= d)) fail(`slice [${s}:${e}] out of range for axis ${i} of size ${d}`);
        return e - s;
      });
    },
  },
  concat: {
    arity: 'variadic',
    attrs: ['axis'],
    kind: 'movement',
    meaning: 'join operands along axis',
    dtype: (ins) => sameDType('concat', ins),
    shape: (ins, a) => {
      const first = in0(ins).shape;
      const ax = normAxis(attrInt(a, 'axis'), first.length);
      let total = 0;
      for (const t of ins) {
        if (t.shape.length !== first.length || t.shape.some((d, i) => i !== ax && d !== first[i]))
          fail(`concat operands ${ins.map((u) => fmtShape(u.shape)).join(', ')} differ off axis ${ax}`);
        total += t.shape[ax] as number;
      }
      return first.map((d, i) => (i === ax ? total : d));
    },
  },
  pad: {
    arity: 1,
    attrs: ['before', 'after', 'value'],
    kind: 'movement',
    meaning: 'constant padding before/after each axis',
    dtype: (ins) => in0(ins).dtype,
    shape: (ins, a) => {
      const x = in0(ins).shape;
      const b = attrNums(a, 'before');
      const e = attrNums(a, 'after');
      attrNum(a, 'value');
      if (b.length !== x.length || e.length !== x.length || [...b, ...e].some((v) => v < 0 || !Number.isInteger(v)))
        fail(`pad needs ${x.length} non-negative before/after`);
      return x.map((d, i) => d + (b[i] as number) + (e[i] as number));
    },
  },

  gather: {
    arity: 2,
    attrs: ['axis'],
    kind: 'index',
    meaning: 'numpy take: rows of x by index (embedding lookup)',
    dtype: (ins) => (indexOperand('gather', in1(ins)), in0(ins).dtype),
    shape: (ins, a) => takeShape(in0(ins).shape, in1(ins).shape, attrInt(a, 'axis')),
  },
  scatter_add: {
    arity: 3,
    attrs: ['axis'],
    kind: 'index',
    meaning: 'base + src added into rows by index (VJP of gather)',
    dtype: (ins) => (indexOperand('scatter_add', in1(ins)), sameDType('scatter_add', [in0(ins), in2(ins)])),
    shape: (ins, a) => {
      const want = takeShape(in0(ins).shape, in1(ins).shape, attrInt(a, 'axis'));
      if (!sameShape(want, in2(ins).shape)) fail(`scatter_add src must be ${fmtShape(want)}, got ${fmtShape(in2(ins).shape)}`);
      return in0(ins).shape;
    },
  },
  take_along_axis: {
    arity: 2,
    attrs: ['axis'],
    kind: 'index',
    meaning: 'out[..i..] = x[..idx[..i..]..] along axis (idx same rank as x)',
    dtype: (ins) => (indexOperand('take_along_axis', in1(ins)), in0(ins).dtype),
    shape: (ins, a) => {
      const x = in0(ins).shape;
      const idx = in1(ins).shape;
      const ax = normAxis(attrInt(a, 'axis'), x.length);
      if (idx.length !== x.length || idx.some((d, i) => i !== ax && d !== x[i]))
        fail(`take_along_axis index ${fmtShape(idx)} must match ${fmtShape(x)} off axis ${ax}`);
      return idx;
    },
  },
  scatter_add_along_axis: {
    arity: 3,
    attrs: ['axis'],
    kind: 'index',
    meaning: 'base + src added at idx along axis (VJP of take_along_axis)',
    dtype: (ins) => (indexOperand('scatter_add_along_axis', in1(ins)), sameDType('scatter_add_along_axis', [in0(ins), in2(ins)])),
    shape: (ins, a) => {
      const x = in0(ins).shape;
      const idx = in1(ins).shape;
      const ax = normAxis(attrInt(a, 'axis'), x.length);
      if (idx.length !== x.length || idx.some((d, i) => i !== ax && d !== x[i]) || !sameShape(idx, in2(ins).shape))
        fail(`scatter_add_along_axis index/src shapes do not fit ${fmtShape(x)}`);
      return x;
    },
  },
  topk_indices: {
    arity: 1,
    attrs: ['k'],
    kind: 'index',
    meaning: 'indices of the k largest along the last axis, descending (ties: lower index first) → i32',
    dtype: (ins) => (requireNumeric('topk_indices', in0(ins)), 'i32'),
    shape: (ins, a) => {
      const x = in0(ins).shape;
      const k = attrInt(a, 'k');
      if (x.length < 1 || k < 1 || k > (x[x.length - 1] as number)) fail(`topk k=${k} invalid for ${fmtShape(x)}`);
      return [...x.slice(0, -1), k];
    },
  },

  matmul: {
    arity: 2,
    attrs: [],
    kind: 'contract',
    meaning: 'a[...,M,K] @ b[...,K,N], batch dims broadcast',
    dtype: (ins) => (requireNumeric('matmul', in0(ins)), sameDType('matmul', ins)),
    shape: (ins) => {
      const a = in0(ins).shape;
      const b = in1(ins).shape;
      if (a.length < 2 || b.length < 2) fail(`matmul needs rank >= 2, got ${fmtShape(a)} @ ${fmtShape(b)}`);
      const k = a[a.length - 1];
      if (k !== b[b.length - 2]) fail(`matmul inner dims differ: ${fmtShape(a)} @ ${fmtShape(b)}`);
      const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
      return [...batch, a[a.length - 2] as number, b[b.length - 1] as number];
    },
  },
  conv2d: {
    arity: 2,
    attrs: ['stride', 'padding', 'groups'],
    kind: 'contract',
    meaning: 'NCHW cross-correlation, zero padding, dilation 1, grouped',
    dtype: (ins) => (requireFloat('conv2d', in0(ins)), sameDType('conv2d', ins)),
    shape: (ins, a) => convShape(in0(ins).shape, in1(ins).shape, a),
  },
  conv2d_grad_input: {
    arity: 2,
    attrs: ['stride', 'padding', 'groups', 'input_hw'],
    kind: 'contract',
    meaning: 'transposed conv: dx[N,C,H,W] from dy[N,O,OH,OW] and w',
    dtype: (ins) => sameDType('conv2d_grad_input', ins),
    shape: (ins, a) => {
      const dy = in0(ins).shape;
      const w = in1(ins).shape;
      const hw = attrNums(a, 'input_hw');
      if (hw.length !== 2 || dy.length !== 4 || w.length !== 4) fail(`conv2d_grad_input needs dy[N,O,OH,OW], w[O,C/g,KH,KW], input_hw[2]`);
      const x: Shape = [dy[0] as number, (w[1] as number) * convAttrs(a).groups, hw[0] as number, hw[1] as number];
      if (!sameShape(convShape(x, w, a), dy)) fail(`conv2d_grad_input: dy ${fmtShape(dy)} does not match conv of ${fmtShape(x)} with ${fmtShape(w)}`);
      return x;
    },
  },
  conv2d_grad_weight: {
    arity: 2,
    attrs: ['stride', 'padding', 'groups', 'kernel_hw'],
    kind: 'contract',
    meaning: 'dw[O,C/g,KH,KW] from x[N,C,H,W] and dy[N,O,OH,OW]',
    dtype: (ins) => sameDType('conv2d_grad_weight', ins),
    shape: (ins, a) => {
      const x = in0(ins).shape;
      const dy = in1(ins).shape;
      const k = attrNums(a, 'kernel_hw');
      if (k.length !== 2 || x.length !== 4 || dy.length !== 4) fail(`conv2d_grad_weight needs x[N,C,H,W], dy[N,O,OH,OW], kernel_hw[2]`);
      const w: Shape = [dy[1] as number, (x[1] as number) / convAttrs(a).groups, k[0] as number, k[1] as number];
      if (!sameShape(convShape(x, w, a), dy)) fail(`conv2d_grad_weight: dy ${fmtShape(dy)} does not match conv of ${fmtShape(x)} with ${fmtShape(w)}`);
      return w;
    },
  },

  svd_values: {
    arity: 1,
    attrs: [],
    kind: 'contract',
    meaning: 'singular values of x[...,M,N], descending → [...,min(M,N)]',
    dtype: (ins) => requireFloat('svd_values', in0(ins)),
    shape: (ins) => {
      const x = in0(ins).shape;
      if (x.length < 2) fail(`svd_values needs rank >= 2, got ${fmtShape(x)}`);
      return [...x.slice(0, -2), Math.min(x[x.length - 2] as number, x[x.length - 1] as number)];
    },
  },
  svd_values_grad: {
    arity: 2,
    attrs: [],
    kind: 'contract',
    meaning: 'Σ_i g_i u_i v_iᵀ for x = U diag(σ) Vᵀ (VJP of svd_values)',
    dtype: (ins) => (requireFloat('svd_values_grad', in0(ins)), sameDType('svd_values_grad', ins)),
    shape: (ins) => {
      const x = in0(ins).shape;
      const g = in1(ins).shape;
      const want = [...x.slice(0, -2), Math.min(x[x.length - 2] ?? 0, x[x.length - 1] ?? 0)];
      if (x.length < 2 || !sameShape(want, g)) fail(`svd_values_grad: g must be ${fmtShape(want)}, got ${fmtShape(g)}`);
      return x;
    },
  },
};
