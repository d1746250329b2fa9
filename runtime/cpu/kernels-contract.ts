// Contractions on the shared gemm (gemm.ts): batched matmul reading its operands through strides
// (so a permute feeding it is never materialized, see run-graph.ts), and conv2d with its two
// transposed forms as im2col + gemm (col2im for the input gradient).

import { gemm, gemmPacked, packB } from './gemm.ts';
import { alignedStrides, num, nums, offsets, operandStrides, shapeOf, size, type CpuKernel } from './kernel.ts';
import type { FloatArray } from './tensor.ts';

export const matmulKernel: CpuKernel = (c) => {
  const [a, b] = c.ins as [FloatArray, FloatArray];
  const as = shapeOf(c, 0);
  const bs = shapeOf(c, 1);
  const sa = operandStrides(c, 0);
  const sb = operandStrides(c, 1);
  const ra = as.length;
  const rb = bs.length;
  const m = as[ra - 2] as number;
  const k = as[ra - 1] as number;
  const n = bs[rb - 1] as number;
  const aRs = sa[ra - 2] as number,
    aCs = sa[ra - 1] as number;
  const bRs = sb[rb - 2] as number,
    bCs = sb[rb - 1] as number;
  const batch = c.node.shape.slice(0, -2);
  // Element offset of each output batch entry's a and b matrices: broadcasting for free.
  const oa = offsets(batch, alignedStrides(as.slice(0, -2), sa.slice(0, -2), batch));
  const ob = offsets(batch, alignedStrides(bs.slice(0, -2), sb.slice(0, -2), batch));
  const out = c.alloc(size(c.node.shape));
  const count = oa.length;
  const b0 = ob[0] as number;
  const a0 = oa[0] as number;
  // x[B, T, K] @ w[K, N]: one b for every batch entry and a's rows evenly spaced across batch
  // entries, so the whole batch is one [B·T, K] @ [K, N] product (bigger blocks, B packed once).
  let fold = count > 1;
  for (let t = 0; t < count && fold; t++) fold = ob[t] === b0 && oa[t] === a0 + t * m * aRs;
  if (fold || count === 1) {
    gemm(count * m, n, k, a, a0, aRs, aCs, b, b0, bRs, bCs, out, 0);
    return out;
  }
  for (let t = 0; t < count; t++) {
    if (t === 0 || ob[t] !== ob[t - 1]) packB(b, ob[t] as number, bRs, bCs, k, n);
    gemmPacked(m, n, k, a, oa[t] as number, aRs, aCs, out, t * m * n, false);
  }
  return out;
};

interface ConvGeom {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  cg: number;
  og: number;
  groups: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
}

function geom(
  x: readonly number[],
  w: readonly number[],
  y: readonly number[],
  stride: readonly number[],
  padding: readonly number[],
  groups: number,
): ConvGeom {
  const [n, c, h, wd] = x as [number, number, number, number];
  const [o, cg, kh, kw] = w as [number, number, number, number];
  return {
    n,
    c,
    h,
    w: wd,
    o,
    cg,
    og: o / groups,
    groups,
    kh,
    kw,
    oh: y[2] as number,
    ow: y[3] as number,
    sh: stride[0] as number,
    sw: stride[1] as number,
    ph: padding[0] as number,
    pw: padding[1] as number,
  };
}

const convGeom = (x: readonly number[], w: readonly number[], y: readonly number[], node: Parameters<CpuKernel>[0]['node']): ConvGeom =>
  geom(x, w, y, nums(node, 'stride'), nums(node, 'padding'), num(node, 'groups'));

let colBuf = new Float64Array(4096);

/** A scratch [cg·kh·kw, oh·ow] column matrix (reused across calls; contents undefined). */
function colScratch(g: ConvGeom): Float64Array {
  const n = g.cg * g.kh * g.kw * g.oh * g.ow;
  if (colBuf.length < n) colBuf = new Float64Array(Math.max(n, colBuf.length * 2));
  return colBuf;
}

/** Output columns ox with 0 <= ox·sw + kj − pw < w, as [lo, hi). */
function validCols(g: ConvGeom, kj: number): [number, number] {
  const lo = Math.max(0, Math.ceil((g.pw - kj) / g.sw));
  const hi = Math.min(g.ow, Math.floor((g.w - 1 + g.pw - kj) / g.sw) + 1);
  return [lo, Math.max(lo, hi)];
}

/**
 * col[(ic·kh + ki)·kw + kj, oy·ow + ox] = x[x0 + ic·h·w + iy·w + ix] (iy = oy·sh + ki − ph,
 * ix = ox·sw + kj − pw), 0 in the padding. With `scatter`, the reverse: x += col at those places
 * (col2im, the adjoint, for the input gradient).
 */
function im2col(g: ConvGeom, x: FloatArray, x0: number, col: Float64Array, scatter: boolean): void {
  const plane = g.oh * g.ow;
  for (let ic = 0; ic < g.cg; ic++) {
    for (let ki = 0; ki < g.kh; ki++) {
      for (let kj = 0; kj < g.kw; kj++) {
        const row = ((ic * g.kh + ki) * g.kw + kj) * plane;
        const [lo, hi] = validCols(g, kj);
        for (let oy = 0; oy < g.oh; oy++) {
          const iy = oy * g.sh + ki - g.ph;
          const r = row + oy * g.ow;
          if (iy < 0 || iy >= g.h) {
            if (!scatter) col.fill(0, r, r + g.ow);
            continue;
          }
          const xi = x0 + (ic * g.h + iy) * g.w + kj - g.pw;
          if (scatter) {
            for (let ox = lo; ox < hi; ox++) x[xi + ox * g.sw] = (x[xi + ox * g.sw] as number) + (col[r + ox] as number);
          } else {
            for (let ox = 0; ox < lo; ox++) col[r + ox] = 0;
            for (let ox = lo; ox < hi; ox++) col[r + ox] = x[xi + ox * g.sw] as number;
            for (let ox = hi; ox < g.ow; ox++) col[r + ox] = 0;
          }
        }
      }
    }
  }
}

/** A 1×1, stride-1, unpadded conv reads x itself as the column matrix. */
const isPointwise = (g: ConvGeom): boolean => g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0;

// y[b, group] [og, oh·ow] = w[group] [og, cg·kh·kw] · col(x[b, group]) [cg·kh·kw, oh·ow]
export const conv2dKernel: CpuKernel = (c) => {
  const [x, w] = c.ins as [FloatArray, FloatArray];
  const g = convGeom(shapeOf(c, 0), shapeOf(c, 1), c.node.shape, c.node);
  const y = c.alloc(size(c.node.shape));
  const ck = g.cg * g.kh * g.kw;
  const plane = g.oh * g.ow;
  for (let b = 0; b < g.n; b++) {
    for (let grp = 0; grp < g.groups; grp++) {
      const x0 = (b * g.c + grp * g.cg) * g.h * g.w;
      const y0 = (b * g.o + grp * g.og) * plane;
      if (isPointwise(g)) gemm(g.og, plane, ck, w, grp * g.og * ck, ck, 1, x, x0, plane, 1, y, y0);
      else {
        const col = colScratch(g);
        im2col(g, x, x0, col, false);
        gemm(g.og, plane, ck, w, grp * g.og * ck, ck, 1, col, 0, plane, 1, y, y0);
      }
    }
  }
  return y;
};

// dcol [cg·kh·kw, oh·ow] = w[group]ᵀ · dy[b, group], then dx[b, group] = col2im(dcol)
export const conv2dGradInputKernel: CpuKernel = (c) => {
  const [dy, w] = c.ins as [FloatArray, FloatArray];
  const g = convGeom(c.node.shape, shapeOf(c, 1), shapeOf(c, 0), c.node);
  const dx = c.alloc(size(c.node.shape));
  const ck = g.cg * g.kh * g.kw;
  const plane = g.oh * g.ow;
  for (let b = 0; b < g.n; b++) {
    for (let grp = 0; grp < g.groups; grp++) {
      const x0 = (b * g.c + grp * g.cg) * g.h * g.w;
      const y0 = (b * g.o + grp * g.og) * plane;
      if (isPointwise(g)) gemm(ck, plane, g.og, w, grp * g.og * ck, 1, ck, dy, y0, plane, 1, dx, x0);
      else {
        const col = colScratch(g);
        gemm(ck, plane, g.og, w, grp * g.og * ck, 1, ck, dy, y0, plane, 1, col, 0);
        im2col(g, dx, x0, col, true);
      }
    }
  }
  return dx;
};

// dw[group] [og, cg·kh·kw] = Σ_b dy[b, group] [og, oh·ow] · col(x[b, group])ᵀ [oh·ow, cg·kh·kw]
export const conv2dGradWeightKernel: CpuKernel = (c) => {
  const [x, dy] = c.ins as [FloatArray, FloatArray];
  const g = convGeom(shapeOf(c, 0), c.node.shape, shapeOf(c, 1), c.node);
  const dw = c.alloc(size(c.node.shape));
  const ck = g.cg * g.kh * g.kw;
  const plane = g.oh * g.ow;
  for (let b = 0; b < g.n; b++) {
    for (let grp = 0; grp < g.groups; grp++) {
      const x0 = (b * g.c + grp * g.cg) * g.h * g.w;
      const y0 = (b * g.o + grp * g.og) * plane;
      const w0 = grp * g.og * ck;
      if (isPointwise(g)) gemm(g.og, ck, plane, dy, y0, plane, 1, x, x0, 1, plane, dw, w0, true);
      else {
        const col = colScratch(g);
        im2col(g, x, x0, col, false);
        gemm(g.og, ck, plane, dy, y0, plane, 1, col, 0, 1, plane, dw, w0, true);
      }
    }
  }
  return dw;
};
