// Small linear algebra: singular values by one-sided Jacobi (exact to working precision for small
// matrices) and their VJP. Matmul and conv live in kernels-contract.ts.

import type { FloatArray } from './tensor.ts';
import { shapeOf, size, type CpuKernel } from './kernel.ts';

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
        let alpha = 0,
          beta = 0,
          gamma = 0;
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
