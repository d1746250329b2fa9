// Elementwise kernels: unary maps, broadcasting binaries, comparisons, where, cast. Broadcasting
// goes row by row (rows.ts), never through a per-element index array.

import type { BinaryArithOp, CompareOp, UnaryFloatOp, UnaryNumericOp } from '../../compiler/ir/ops.ts';
import { broadcastStrides, in0, shapeOf, size, type CpuKernel } from './kernel.ts';
import { rowsOf } from './rows.ts';
import type { FloatArray } from './tensor.ts';

const GELU_C = Math.sqrt(2 / Math.PI);

function sigmoid(x: number): number {
  // Split by sign so exp never overflows.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export const UNARY_FNS: Record<UnaryFloatOp | UnaryNumericOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  sign: Math.sign,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  tanh: Math.tanh,
  sigmoid,
  relu: (x) => (x > 0 ? x : 0),
  silu: (x) => x * sigmoid(x),
  gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(GELU_C * (x + 0.044715 * x * x * x))),
  sin: Math.sin,
  cos: Math.cos,
  recip: (x) => 1 / x,
};

export function unaryKernel(op: UnaryFloatOp | UnaryNumericOp): CpuKernel {
  return (c) => {
    const x = in0(c);
    const out = c.alloc(x.length);
    unaryLoop(op, x, out);
    return out;
  };
}

/**
 * out[i] = UNARY_FNS[op](x[i]). The hot ops get their own loop with the function inlined: one loop
 * calling `f` for every op would see them all and stop inlining (3–5× slower per element).
 */
function unaryLoop(op: UnaryFloatOp | UnaryNumericOp, x: FloatArray, out: FloatArray): void {
  const n = x.length;
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) out[i] = -(x[i] as number);
      return;
    case 'exp':
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i] as number);
      return;
    case 'log':
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i] as number);
      return;
    case 'sqrt':
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i] as number);
      return;
    case 'rsqrt':
      for (let i = 0; i < n; i++) out[i] = 1 / Math.sqrt(x[i] as number);
      return;
    case 'recip':
      for (let i = 0; i < n; i++) out[i] = 1 / (x[i] as number);
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i] as number);
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) out[i] = sigmoid(x[i] as number);
      return;
    case 'silu':
      for (let i = 0; i < n; i++) out[i] = (x[i] as number) * sigmoid(x[i] as number);
      return;
    case 'relu':
      for (let i = 0; i < n; i++) out[i] = (x[i] as number) > 0 ? (x[i] as number) : 0;
      return;
    case 'gelu_tanh':
      for (let i = 0; i < n; i++) {
        const v = x[i] as number;
        out[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v)));
      }
      return;
    default: {
      const f = UNARY_FNS[op];
      for (let i = 0; i < n; i++) out[i] = f(x[i] as number);
    }
  }
}

/**
 * One output row: out[o + t] = a[ia + t·sa] ∘ b[ib + t·sb] for t < len. Each hot op has its own
 * loop (a shared loop calling `f` would see every op's f and stop inlining it); the steps 0
 * (broadcast) and 1 get their own branches so the common rows carry no index multiply.
 */
type RowFn = (out: FloatArray, o: number, a: FloatArray, ia: number, sa: number, b: FloatArray, ib: number, sb: number, len: number) => void;

const ROW_ADD: RowFn = (out, o, a, ia, sa, b, ib, sb, len) => {
  if (sa === 1 && sb === 1) for (let t = 0; t < len; t++) out[o + t] = (a[ia + t] as number) + (b[ib + t] as number);
  else if (sb === 0) {
    const v = b[ib] as number;
    for (let t = 0; t < len; t++) out[o + t] = (a[ia + t * sa] as number) + v;
  } else for (let t = 0; t < len; t++) out[o + t] = (a[ia + t * sa] as number) + (b[ib + t * sb] as number);
};

const ROW_SUB: RowFn = (out, o, a, ia, sa, b, ib, sb, len) => {
  if (sa === 1 && sb === 1) for (let t = 0; t < len; t++) out[o + t] = (a[ia + t] as number) - (b[ib + t] as number);
  else if (sb === 0) {
    const v = b[ib] as number;
    for (let t = 0; t < len; t++) out[o + t] = (a[ia + t * sa] as number) - v;
  } else for (let t = 0; t < len; t++) out[o + t] = (a[ia + t * sa] as number) - (b[ib + t * sb] as number);
};

const ROW_MUL: RowFn = (out, o, a, ia, sa, b, ib, sb, len) => {
  if (sa === 1 && sb === 1) for (let t = 0; t < len; t++) out[o + t] = (a[ia + t] as number) * (b[ib + t] as number);
  else if (sb === 0) {
    const v = b[ib] as number;
    for (let t = 0; t < len; t++) out[o + t] = (a[ia + t * sa] as number) * v;
  } else for (let t = 0; t < len; t++) out[o + t] = (a[ia + t * sa] as number) * (b[ib + t * sb] as number);
};

const ROW_DIV: RowFn = (out, o, a, ia, sa, b, ib, sb, len) => {
  if (sa === 1 && sb === 1) for (let t = 0; t < len; t++) out[o + t] = (a[ia + t] as number) / (b[ib + t] as number);
  else if (sb === 0) {
    const v = b[ib] as number;
    for (let t = 0; t < len; t++) out[o + t] = (a[ia + t * sa] as number) / v;
  } else for (let t = 0; t < len; t++) out[o + t] = (a[ia + t * sa] as number) / (b[ib + t * sb] as number);
};

function rowGeneric(f: (a: number, b: number) => number): RowFn {
  return (out, o, a, ia, sa, b, ib, sb, len) => {
    for (let t = 0; t < len; t++) out[o + t] = f(a[ia + t * sa] as number, b[ib + t * sb] as number);
  };
}

export const BINARY_FNS: Record<BinaryArithOp | CompareOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (a > b || Number.isNaN(a) ? a : b),
  minimum: (a, b) => (a < b || Number.isNaN(a) ? a : b),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
};

const FAST_ROWS: Partial<Record<BinaryArithOp | CompareOp, RowFn>> = { add: ROW_ADD, sub: ROW_SUB, mul: ROW_MUL, div: ROW_DIV };

export function binaryKernel(op: BinaryArithOp | CompareOp): CpuKernel {
  const row = FAST_ROWS[op] ?? rowGeneric(BINARY_FNS[op]);
  // i32 division truncates toward zero, as in C and WGSL.
  const truncInt = op === 'div';
  return (c) => {
    const [a, b] = c.ins as [FloatArray, FloatArray];
    const shape = c.node.shape;
    const out = c.alloc(size(shape));
    const r = rowsOf(shape, [broadcastStrides(shapeOf(c, 0), shape), broadcastStrides(shapeOf(c, 1), shape)]);
    const [sa, sb] = r.steps as [number, number];
    const [ra, rb] = r.starts as [Int32Array, Int32Array];
    for (let i = 0; i < r.count; i++) row(out, i * r.len, a, ra[i] as number, sa, b, rb[i] as number, sb, r.len);
    if (truncInt && c.node.dtype === 'i32') for (let i = 0; i < out.length; i++) out[i] = Math.trunc(out[i] as number);
    return out;
  };
}

export const whereKernel: CpuKernel = (c) => {
  const [m, a, b] = c.ins as [FloatArray, FloatArray, FloatArray];
  const shape = c.node.shape;
  const out = c.alloc(size(shape));
  const r = rowsOf(
    shape,
    [0, 1, 2].map((k) => broadcastStrides(shapeOf(c, k), shape)),
  );
  const [sm, sa, sb] = r.steps as [number, number, number];
  const [rm, ra, rb] = r.starts as [Int32Array, Int32Array, Int32Array];
  for (let i = 0; i < r.count; i++) {
    const o = i * r.len;
    const im = rm[i] as number,
      ia = ra[i] as number,
      ib = rb[i] as number;
    for (let t = 0; t < r.len; t++) out[o + t] = (m[im + t * sm] as number) !== 0 ? (a[ia + t * sa] as number) : (b[ib + t * sb] as number);
  }
  return out;
};

export const castKernel: CpuKernel = (c) => {
  const x = in0(c);
  const out = c.alloc(x.length);
  const to = c.node.dtype;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    // f16 is held at working precision on the CPU (no rounding to half).
    out[i] = to === 'i32' ? Math.trunc(v) : to === 'bool' ? (v !== 0 ? 1 : 0) : v;
  }
  return out;
};

export const identityKernel: CpuKernel = (c) => in0(c);
