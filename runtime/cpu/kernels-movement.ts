// Reductions and data movement: reduce_sum/max, argmax, reshape, permute, broadcast_to, slice,
// concat, pad. Movement copies row by row (rows.ts); a reduction over one run of adjacent axes
// (softmax rows, a batch sum) is a plain [outer, r, inner] loop, anything else goes through a
// per-element target index.

import type { FloatArray } from './tensor.ts';
import { around, broadcastStrides, in0, num, nums, offsets, shapeOf, size, stridesOf, type CpuKernel } from './kernel.ts';
import { rowsOf, type Rows } from './rows.ts';

/** For each input position, the output position it reduces into. */
function reduceTargets(inShape: readonly number[], axes: readonly number[]): { outSize: number; target: Int32Array } {
  const set = new Set(axes);
  const keptShape = inShape.map((d, i) => (set.has(i) ? 1 : d));
  const st = stridesOf(keptShape).map((s, i) => (set.has(i) ? 0 : s));
  return { outSize: size(keptShape), target: offsets(inShape, st) };
}

/** [outer, r, inner] when the reduced axes are one run of adjacent axes (size-1 axes ignored). */
function reducedRun(shape: readonly number[], axes: readonly number[]): [number, number, number] | null {
  if (axes.length === 0) return null;
  const lo = Math.min(...axes);
  const hi = Math.max(...axes);
  for (let i = lo; i <= hi; i++) if (!axes.includes(i) && shape[i] !== 1) return null;
  return [size(shape.slice(0, lo)), size(shape.slice(lo, hi + 1)), size(shape.slice(hi + 1))];
}

export const reduceSumKernel: CpuKernel = (c) => {
  const x = in0(c);
  const shape = shapeOf(c, 0);
  const axes = nums(c.node, 'axes');
  const run = reducedRun(shape, axes);
  if (!run) {
    const { outSize, target } = reduceTargets(shape, axes);
    const out = c.alloc(outSize);
    for (let i = 0; i < x.length; i++) {
      const t = target[i] as number;
      out[t] = (out[t] as number) + (x[i] as number);
    }
    return out;
  }
  const [outer, r, inner] = run;
  const out = c.alloc(outer * inner);
  for (let o = 0; o < outer; o++) {
    if (inner === 1) {
      let s = 0;
      for (let j = o * r, e = j + r; j < e; j++) s += x[j] as number;
      out[o] = s;
      continue;
    }
    const d = o * inner;
    for (let k = 0; k < r; k++) {
      const src = (o * r + k) * inner;
      for (let i = 0; i < inner; i++) out[d + i] = (out[d + i] as number) + (x[src + i] as number);
    }
  }
  return out;
};

export const reduceMaxKernel: CpuKernel = (c) => {
  const x = in0(c);
  const shape = shapeOf(c, 0);
  const axes = nums(c.node, 'axes');
  const run = reducedRun(shape, axes);
  // A NaN wins (and stays): max propagates NaN as on the GPU.
  if (!run) {
    const { outSize, target } = reduceTargets(shape, axes);
    const out = c.alloc(outSize).fill(-Infinity);
    for (let i = 0; i < x.length; i++) {
      const t = target[i] as number;
      const v = x[i] as number;
      if (v > (out[t] as number) || Number.isNaN(v)) out[t] = v;
    }
    return out;
  }
  const [outer, r, inner] = run;
  const out = c.alloc(outer * inner).fill(-Infinity);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < r; k++) {
      const src = (o * r + k) * inner;
      const d = o * inner;
      for (let i = 0; i < inner; i++) {
        const v = x[src + i] as number;
        if (v > (out[d + i] as number) || Number.isNaN(v)) out[d + i] = v;
      }
    }
  }
  return out;
};

export const argmaxKernel: CpuKernel = (c) => {
  const x = in0(c);
  const [outer, dim, inner] = around(shapeOf(c, 0), num(c.node, 'axis'));
  const out = c.alloc(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < inner; r++) {
      let best = 0;
      let bv = x[o * dim * inner + r] as number;
      for (let j = 1; j < dim; j++) {
        const v = x[(o * dim + j) * inner + r] as number;
        if (v > bv) {
          bv = v;
          best = j;
        }
      }
      out[o * inner + r] = best;
    }
  }
  return out;
};

export const reshapeKernel: CpuKernel = (c) => in0(c);

/** out row r (contiguous, r·len) = x along `rows` (operand 0); with `scatter`, the reverse. */
function copyRows(out: FloatArray, x: FloatArray, rows: Rows, scatter: boolean): void {
  const step = rows.steps[0] as number;
  const starts = rows.starts[0] as Int32Array;
  const len = rows.len;
  for (let i = 0; i < rows.count; i++) {
    const s = starts[i] as number;
    const o = i * len;
    if (scatter) {
      if (step === 1) out.set(x.subarray(o, o + len), s);
      else for (let t = 0; t < len; t++) out[s + t * step] = x[o + t] as number;
    } else if (step === 1) out.set(x.subarray(s, s + len), o);
    else if (step === 0) out.fill(x[s] as number, o, o + len);
    else for (let t = 0; t < len; t++) out[o + t] = x[s + t * step] as number;
  }
}

export const permuteKernel: CpuKernel = (c) => {
  const x = in0(c);
  const st = stridesOf(shapeOf(c, 0));
  const out = c.alloc(size(c.node.shape));
  copyRows(out, x, rowsOf(c.node.shape, [nums(c.node, 'perm').map((p) => st[p] as number)]), false);
  return out;
};

export const broadcastToKernel: CpuKernel = (c) => {
  const x = in0(c);
  const from = shapeOf(c, 0);
  const to = c.node.shape;
  if (from.length === to.length && from.every((d, i) => d === to[i])) return x;
  const out = c.alloc(size(to));
  copyRows(out, x, rowsOf(to, [broadcastStrides(from, to)]), false);
  return out;
};

export const sliceKernel: CpuKernel = (c) => {
  const x = in0(c);
  const st = stridesOf(shapeOf(c, 0));
  const base = nums(c.node, 'starts').reduce((acc, s, i) => acc + s * (st[i] as number), 0);
  const out = c.alloc(size(c.node.shape));
  copyRows(out, x, rowsOf(c.node.shape, [st], [base]), false);
  return out;
};

export const concatKernel: CpuKernel = (c) => {
  const axis = num(c.node, 'axis');
  const out = c.alloc(size(c.node.shape));
  const st = stridesOf(c.node.shape);
  let at = 0;
  c.ins.forEach((x, k) => {
    const shape = shapeOf(c, k);
    copyRows(out, x, rowsOf(shape, [st], [at * (st[axis] as number)]), true);
    at += shape[axis] as number;
  });
  return out;
};

export const padKernel: CpuKernel = (c) => {
  const x = in0(c);
  const out = c.alloc(size(c.node.shape)).fill(num(c.node, 'value'));
  const st = stridesOf(c.node.shape);
  const base = nums(c.node, 'before').reduce((acc, b, i) => acc + b * (st[i] as number), 0);
  copyRows(out, x, rowsOf(shapeOf(c, 0), [st], [base]), true);
  return out;
};
