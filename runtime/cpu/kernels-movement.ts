// Reductions and data movement: reduce_sum/max, argmax, reshape, permute, broadcast_to, slice,
// concat, pad. All index arithmetic goes through `offsets` (one Int32Array per op).

import { around, broadcastOffsets, in0, num, nums, offsets, shapeOf, size, stridesOf, type CpuKernel } from './kernel.ts';

/** For each input position, the output position it reduces into. */
function reduceTargets(inShape: readonly number[], axes: readonly number[]): { outSize: number; target: Int32Array } {
  const set = new Set(axes);
  const keptShape = inShape.map((d, i) => (set.has(i) ? 1 : d));
  const st = stridesOf(keptShape).map((s, i) => (set.has(i) ? 0 : s));
  return { outSize: size(keptShape), target: offsets(inShape, st) };
}

export const reduceSumKernel: CpuKernel = (c) => {
  const x = in0(c);
  const { outSize, target } = reduceTargets(shapeOf(c, 0), nums(c.node, 'axes'));
  const out = c.alloc(outSize);
  for (let i = 0; i < x.length; i++) {
    const t = target[i] as number;
    out[t] = (out[t] as number) + (x[i] as number);
  }
  return out;
};

export const reduceMaxKernel: CpuKernel = (c) => {
  const x = in0(c);
  const { outSize, target } = reduceTargets(shapeOf(c, 0), nums(c.node, 'axes'));
  const out = c.alloc(outSize).fill(-Infinity);
  for (let i = 0; i < x.length; i++) {
    const t = target[i] as number;
    const v = x[i] as number;
    if (v > (out[t] as number) || Number.isNaN(v)) out[t] = v;
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

export const permuteKernel: CpuKernel = (c) => {
  const x = in0(c);
  const st = stridesOf(shapeOf(c, 0));
  const src = offsets(c.node.shape, nums(c.node, 'perm').map((p) => st[p] as number));
  const out = c.alloc(src.length);
  for (let i = 0; i < src.length; i++) out[i] = x[src[i] as number] as number;
  return out;
};

export const broadcastToKernel: CpuKernel = (c) => {
  const x = in0(c);
  const src = broadcastOffsets(shapeOf(c, 0), c.node.shape);
  if (!src) return x;
  const out = c.alloc(src.length);
  for (let i = 0; i < src.length; i++) out[i] = x[src[i] as number] as number;
  return out;
};

export const sliceKernel: CpuKernel = (c) => {
  const x = in0(c);
  const st = stridesOf(shapeOf(c, 0));
  const base = nums(c.node, 'starts').reduce((acc, s, i) => acc + s * (st[i] as number), 0);
  const src = offsets(c.node.shape, st, base);
  const out = c.alloc(src.length);
  for (let i = 0; i < src.length; i++) out[i] = x[src[i] as number] as number;
  return out;
};

export const concatKernel: CpuKernel = (c) => {
  const axis = num(c.node, 'axis');
  const out = c.alloc(size(c.node.shape));
  const st = stridesOf(c.node.shape);
  let at = 0;
  c.ins.forEach((x, k) => {
    const shape = shapeOf(c, k);
    const dst = offsets(shape, st, at * (st[axis] as number));
    for (let i = 0; i < dst.length; i++) out[dst[i] as number] = x[i] as number;
    at += shape[axis] as number;
  });
  return out;
};

export const padKernel: CpuKernel = (c) => {
  const x = in0(c);
  const out = c.alloc(size(c.node.shape)).fill(num(c.node, 'value'));
  const st = stridesOf(c.node.shape);
  const base = nums(c.node, 'before').reduce((acc, b, i) => acc + b * (st[i] as number), 0);
  const dst = offsets(shapeOf(c, 0), st, base);
  for (let i = 0; i < dst.length; i++) out[dst[i] as number] = x[i] as number;
  return out;
};
