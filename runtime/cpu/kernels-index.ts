// Indexing kernels: gather (numpy take), scatter_add, take_along_axis, scatter_add_along_axis,
// topk_indices. Out-of-range indices throw: they mean bad data (a token id ≥ vocab), not NaNs.

import type { FloatArray } from './tensor.ts';
import { around, in0, num, shapeOf, size, type CpuKernel, type KernelCtx } from './kernel.ts';

function index(c: KernelCtx, v: number, dim: number): number {
  if (!(v >= 0 && v < dim && Number.isInteger(v))) {
    throw new RangeError(`${c.node.op} %${c.node.id}: index ${v} out of range [0, ${dim})`);
  }
  return v;
}

export const gatherKernel: CpuKernel = (c) => {
  const [x, idx] = c.ins as [FloatArray, FloatArray];
  const [outer, dim, inner] = around(shapeOf(c, 0), num(c.node, 'axis'));
  const k = idx.length;
  const out = c.alloc(outer * k * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < k; j++) {
      const src = (o * dim + index(c, idx[j] as number, dim)) * inner;
      const dst = (o * k + j) * inner;
      for (let r = 0; r < inner; r++) out[dst + r] = x[src + r] as number;
    }
  }
  return out;
};

export const scatterAddKernel: CpuKernel = (c) => {
  const [base, idx, src] = c.ins as [FloatArray, FloatArray, FloatArray];
  const [outer, dim, inner] = around(shapeOf(c, 0), num(c.node, 'axis'));
  const k = idx.length;
  const out = c.alloc(base.length);
  out.set(base);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < k; j++) {
      const dst = (o * dim + index(c, idx[j] as number, dim)) * inner;
      const from = (o * k + j) * inner;
      for (let r = 0; r < inner; r++) out[dst + r] = (out[dst + r] as number) + (src[from + r] as number);
    }
  }
  return out;
};

export const takeAlongAxisKernel: CpuKernel = (c) => {
  const [x, idx] = c.ins as [FloatArray, FloatArray];
  const axis = num(c.node, 'axis');
  const [outer, dim, inner] = around(shapeOf(c, 0), axis);
  const k = shapeOf(c, 1)[axis] as number;
  const out = c.alloc(idx.length);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < k; j++) {
      for (let r = 0; r < inner; r++) {
        const p = (o * k + j) * inner + r;
        out[p] = x[(o * dim + index(c, idx[p] as number, dim)) * inner + r] as number;
      }
    }
  }
  return out;
};

export const scatterAddAlongAxisKernel: CpuKernel = (c) => {
  const [base, idx, src] = c.ins as [FloatArray, FloatArray, FloatArray];
  const axis = num(c.node, 'axis');
  const [outer, dim, inner] = around(shapeOf(c, 0), axis);
  const k = shapeOf(c, 1)[axis] as number;
  const out = c.alloc(base.length);
  out.set(base);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < k; j++) {
      for (let r = 0; r < inner; r++) {
        const p = (o * k + j) * inner + r;
        const q = (o * dim + index(c, idx[p] as number, dim)) * inner + r;
        out[q] = (out[q] as number) + (src[p] as number);
      }
    }
  }
  return out;
};

export const topkIndicesKernel: CpuKernel = (c) => {
  const x = in0(c);
  const shape = shapeOf(c, 0);
  const n = shape[shape.length - 1] as number;
  const k = num(c.node, 'k');
  const rows = size(shape) / n;
  const out = c.alloc(rows * k);
  const order = Array.from({ length: n }, (_v, i) => i);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < n; i++) order[i] = i;
    // Descending by value; equal values keep the lower index first (deterministic across backends).
    order.sort((p, q) => (x[r * n + q] as number) - (x[r * n + p] as number) || p - q);
    for (let j = 0; j < k; j++) out[r * k + j] = order[j] as number;
  }
  return out;
};
