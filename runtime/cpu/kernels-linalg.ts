// Contractions: batched matmul (i-k-j loop order: the inner loop streams rows of b and out),
// conv2d with its two transposed forms (direct loops, innermost over contiguous output columns),
// and singular values by one-sided Jacobi (exact to working precision for small matrices).

import type { FloatArray } from './tensor.ts';
import { broadcastStrides, num, nums, offsets, shapeOf, size, type CpuKernel } from './kernel.ts';

export const matmulKernel: CpuKernel = (c) => {
  const [a, b] = c.ins as [FloatArray, FloatArray];
  const as = shapeOf(c, 0);
  const bs = shapeOf(c, 1);
  const m = as[as.length - 2] as number;
  const k = as[as.length - 1] as number;
  const n = bs[bs.length - 1] as number;
  const batch = c.node.shape.slice(0, -2);
  // Batch offsets (in matrices) of a and b for every output batch position: broadcasting for free.
  const oa = offsets(batch, broadcastStrides(as.slice(0, -2), batch));
  const ob = offsets(batch, broadcastStrides(bs.slice(0, -2), batch));
  const out = c.alloc(size(c.node.shape));
  for (let t = 0; t < oa.length; t++) {
    const a0 = (oa[t] as number) * m * k;
    const b0 = (ob[t] as number) * k * n;
    const o0 = t * m * n;
    for (let i = 0; i < m; i++) {
      const orow = o0 + i * n;
      for (let p = 0; p < k; p++) {
        const av = a[a0 + i * k + p] as number;
        if (av === 0) continue;
        const brow = b0 + p * n;
        for (let j = 0; j < n; j++) out[orow + j] = (out[orow + j] as number) + av * (b[brow + j] as number);
      }
    }
  }
  return out;
};

interface ConvGeom {
  n: number; c: number; h: number; w: number; o: number; cg: number; og: number; kh: number; kw: number;
  oh: number; ow: number; sh: number; sw: number; ph: number; pw: number;
}

function geom(x: readonly number[], w: readonly number[], y: readonly number[], stride: readonly number[], padding: readonly number[], groups: number): ConvGeom {
  const [n, c, h, wd] = x as [number, number, number, number];
  const [o, cg, kh, kw] = w as [number, number, number, number];
  return { n, c, h, w: wd, o, cg, og: o / groups, kh, kw, oh: y[2] as number, ow: y[3] as number, sh: stride[0] as number, sw: stride[1] as number, ph: padding[0] as number, pw: padding[1] as number };
}

/**
 * Visits every (x, w, y) index triple of the convolution once, calling `f(xi, wi, yi)` per output
 * row segment. Shared by the three conv kernels so their index arithmetic cannot drift apart.
 */
function convLoop(g: ConvGeom, f: (xi: number, wi: number, yi: number, len: number, sw: number) => void): void {
  for (let b = 0; b < g.n; b++) {
    for (let oc = 0; oc < g.o; oc++) {
      const grp = Math.floor(oc / g.og);
      for (let icg = 0; icg < g.cg; icg++) {
        const ic = grp * g.cg + icg;
        for (let ki = 0; ki < g.kh; ki++) {
          for (let kj = 0; kj < g.kw; kj++) {
            const wi = ((oc * g.cg + icg) * g.kh + ki) * g.kw + kj;
            for (let oy = 0; oy < g.oh; oy++) {
              const iy = oy * g.sh + ki - g.ph;
              if (iy < 0 || iy >= g.h) continue;
              // Valid output columns: 0 <= ox*sw + kj - pw < w.
              const lo = Math.max(0, Math.ceil((g.pw - kj) / g.sw));
              const hi = Math.min(g.ow, Math.floor((g.w - 1 + g.pw - kj) / g.sw) + 1);
              if (hi <= lo) continue;
              const xi = ((b * g.c + ic) * g.h + iy) * g.w + lo * g.sw + kj - g.pw;
              const yi = ((b * g.o + oc) * g.oh + oy) * g.ow + lo;
              f(xi, wi, yi, hi - lo, g.sw);
            }
          }
        }
      }
    }
  }
}

export const conv2dKernel: CpuKernel = (c) => {
  const [x, w] = c.ins as [FloatArray, FloatArray];
  const g = geom(shapeOf(c, 0), shapeOf(c, 1), c.node.shape, nums(c.node, 'stride'), nums(c.node, 'padding'), num(c.node, 'groups'));
  const y = c.alloc(size(c.node.shape));
  convLoop(g, (xi, wi, yi, len, sw) => {
    const wv = w[wi] as number;
    for (let t = 0; t < len; t++) y[yi + t] = (y[yi + t] as number) + wv * (x[xi + t * sw] as number);
  });
  return y;
};

export const conv2dGradInputKernel: CpuKernel = (c) => {
  const [dy, w] = c.ins as [FloatArray, FloatArray];
  const g = geom(c.node.shape, shapeOf(c, 1), shapeOf(c, 0), nums(c.node, 'stride'), nums(c.node, 'padding'), num(c.node, 'groups'));
  const dx = c.alloc(size(c.node.shape));
  convLoop(g, (xi, wi, yi, len, sw) => {
    const wv = w[wi] as number;
    for (let t = 0; t < len; t++) dx[xi + t * sw] = (dx[xi + t * sw] as number) + wv * (dy[yi + t] as number);
  });
  return dx;
};

export const conv2dGradWeightKernel: CpuKernel = (c) => {
  const [x, dy] = c.ins as [FloatArray, FloatArray];
  const g = geom(shapeOf(c, 0), c.node.shape, shapeOf(c, 1), nums(c.node, 'stride'), nums(c.node, 'padding'), num(c.node, 'groups'));
  const dw = c.alloc(size(c.node.shape));
  convLoop(g, (xi, wi, yi, len, sw) => {
    let s = 0;
    for (let t = 0; t < len; t++) s += (x[xi + t * sw] as number) * (dy[yi + t] as number);
    dw[wi] = (dw[wi] as number) + s;
  });
  return dw;
};

/** Thin SVD of one m×n row-major matrix (in f64): U m×p, s p (descending), V n×p, p = min(m,n). */
export function svd(a: ArrayLike<number>, m: number, n: number): { u: Float64Array; s: Float64Array; v: Float64Array } {
  if (m < n) {
    // Work on the transpose so columns are the short side; swap U and V back.
    const at = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) at[j * m + i] = a[i * n + j] as number;
    const r = svd(at, n, m);
    return { u: r.v, s: r.s, v: r.u };
  }
  // One-sided Jacobi: rotate column pairs of A (m×n, m>=n) until orthogonal; V accumulates.
  const A = Float64Array.from({ length: m * n }, (_v, i) => a[i] as number);
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0, beta = 0, gamma = 0;
        for (let i = 0; i < m; i++) {
          const ap = A[i * n + p] as number;
          const aq = A[i * n + q] as number;
          alpha += ap * ap;
          beta += aq * aq;
          gamma += ap * aq;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const cs = 1 / Math.sqrt(1 + t * t);
        const sn = cs * t;
        for (let i = 0; i < m; i++) {
          const ap = A[i * n + p] as number;
          const aq = A[i * n + q] as number;
          A[i * n + p] = cs * ap - sn * aq;
          A[i * n + q] = sn * ap + cs * aq;
        }
        for (let i = 0; i < n; i++) {
          const vp = V[i * n + p] as number;
          const vq = V[i * n + q] as number;
          V[i * n + p] = cs * vp - sn * vq;
          V[i * n + q] = sn * vp + cs * vq;
        }
      }
    }
    if (off <= 1e-15) break;
  }
  const norms = Array.from({ length: n }, (_v, j) => {
    let s = 0;
    for (let i = 0; i < m; i++) s += (A[i * n + j] as number) ** 2;
    return Math.sqrt(s);
  });
  const order = norms.map((_v, j) => j).sort((p, q) => (norms[q] as number) - (norms[p] as number) || p - q);
  const u = new Float64Array(m * n);
  const s = new Float64Array(n);
  const v = new Float64Array(n * n);
  order.forEach((j, k) => {
    const sv = norms[j] as number;
    s[k] = sv;
    // A zero singular value has no defined u; leave it 0 (its gradient contribution is then 0).
    for (let i = 0; i < m; i++) u[i * n + k] = sv > 0 ? (A[i * n + j] as number) / sv : 0;
    for (let i = 0; i < n; i++) v[i * n + k] = V[i * n + j] as number;
  });
  return { u, s, v };
}

function matrices(shape: readonly number[]): { count: number; m: number; n: number } {
  const m = shape[shape.length - 2] as number;
  const n = shape[shape.length - 1] as number;
  return { count: size(shape) / (m * n), m, n };
}

export const svdValuesKernel: CpuKernel = (c) => {
  const x = c.ins[0] as FloatArray;
  const { count, m, n } = matrices(shapeOf(c, 0));
  const p = Math.min(m, n);
  const out = c.alloc(count * p);
  for (let t = 0; t < count; t++) out.set(svd(x.subarray(t * m * n, (t + 1) * m * n), m, n).s, t * p);
  return out;
};

export const svdValuesGradKernel: CpuKernel = (c) => {
  const [x, gs] = c.ins as [FloatArray, FloatArray];
  const { count, m, n } = matrices(shapeOf(c, 0));
  const p = Math.min(m, n);
  const out = c.alloc(x.length);
  for (let t = 0; t < count; t++) {
    const { u, v } = svd(x.subarray(t * m * n, (t + 1) * m * n), m, n);
    const o0 = t * m * n;
    for (let k = 0; k < p; k++) {
      const g = gs[t * p + k] as number;
      if (g === 0) continue;
      for (let i = 0; i < m; i++) {
        const ui = g * (u[i * p + k] as number);
        for (let j = 0; j < n; j++) out[o0 + i * n + j] = (out[o0 + i * n + j] as number) + ui * (v[j * p + k] as number);
      }
    }
  }
  return out;
};

