// Elementwise kernels: unary maps, broadcasting binaries, comparisons, where, cast.

import type { BinaryArithOp, CompareOp, UnaryFloatOp, UnaryNumericOp } from '../../compiler/ir/ops.ts';
import { broadcastOffsets, in0, size, type CpuKernel } from './kernel.ts';
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

export function unaryKernel(f: (x: number) => number): CpuKernel {
  return (c) => {
    const x = in0(c);
    const out = c.alloc(x.length);
    for (let i = 0; i < x.length; i++) out[i] = f(x[i] as number);
    return out;
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

export function binaryKernel(f: (a: number, b: number) => number, truncInt = false): CpuKernel {
  return (c) => {
    const [a, b] = c.ins as [FloatArray, FloatArray];
    const shape = c.node.shape;
    const n = size(shape);
    const out = c.alloc(n);
    const oa = broadcastOffsets((c.inNodes[0] ?? c.node).shape, shape);
    const ob = broadcastOffsets((c.inNodes[1] ?? c.node).shape, shape);
    if (!oa && !ob) for (let i = 0; i < n; i++) out[i] = f(a[i] as number, b[i] as number);
    else if (!oa && b.length === 1) {
      const bv = b[0] as number;
      for (let i = 0; i < n; i++) out[i] = f(a[i] as number, bv);
    } else {
      for (let i = 0; i < n; i++) out[i] = f(a[oa ? (oa[i] as number) : i] as number, b[ob ? (ob[i] as number) : i] as number);
    }
    // i32 division truncates toward zero, as in C and WGSL.
    if (truncInt && c.node.dtype === 'i32') for (let i = 0; i < n; i++) out[i] = Math.trunc(out[i] as number);
    return out;
  };
}

export const whereKernel: CpuKernel = (c) => {
  const [m, a, b] = c.ins as [FloatArray, FloatArray, FloatArray];
  const shape = c.node.shape;
  const n = size(shape);
  const out = c.alloc(n);
  const [om, oa, ob] = c.inNodes.map((x) => broadcastOffsets(x.shape, shape));
  for (let i = 0; i < n; i++) {
    const cond = m[om ? (om[i] as number) : i] as number;
    out[i] = cond !== 0 ? (a[oa ? (oa[i] as number) : i] as number) : (b[ob ? (ob[i] as number) : i] as number);
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
