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

/**
 * Eigendecomposition of one symmetric n×n row-major matrix (in f64): `values` ascending and
 * `vectors` with eigenvector k in row k (vectors[k·n + i]), so A = Σ_k values[k]·v_k v_kᵀ.
 * Householder reduction to tridiagonal form, then the implicit QL algorithm (EISPACK tred2/tql2,
 * as in JAMA). `svd` above gives the same for a positive semi-definite matrix, but its one-sided
 * Jacobi sweeps took 6–8 s at n = 400 where this takes 1–2 s (12 s at n = 784, against about a
 * minute extrapolated) — and the per-class Gaussian baseline of `scion eval` needs ten at n = 784.
 */
export function symmetricEigen(a: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== n * n) throw new RangeError(`symmetricEigen: ${a.length} values are not ${n}×${n}`);
  const V = Float64Array.from({ length: n * n }, (_v, i) => a[i] as number);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalize(V, d, e, n);
  // V holds Qᵀ: tql2's column rotations of Q are row rotations here, contiguous in memory.
  const W = V;
  diagonalizeTridiagonal(W, d, e, n);
  const order = Array.from({ length: n }, (_v, k) => k).sort((p, q) => (d[p] as number) - (d[q] as number) || p - q);
  const values = Float64Array.from(order, (k) => d[k] as number);
  const vectors = new Float64Array(n * n);
  order.forEach((k, r) => vectors.set(W.subarray(k * n, (k + 1) * n), r * n));
  return { values, vectors };
}

/**
 * tred2: V (symmetric) → Qᵀ of A = Q T Qᵀ, row-major; T's diagonal in d, subdiagonal in e[1…]. JAMA's
 * V[i][j] is V[j·n + i] here, so the loops over JAMA's rows walk contiguous memory.
 */
function tridiagonalize(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  const at = (i: number, j: number): number => V[j * n + i] as number;
  const put = (i: number, j: number, v: number): void => {
    V[j * n + i] = v;
  };
  for (let j = 0; j < n; j++) d[j] = at(n - 1, j);
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k] as number);
    if (scale === 0) {
      e[i] = d[i - 1] as number;
      for (let j = 0; j < i; j++) {
        d[j] = at(i - 1, j);
        put(i, j, 0);
        put(j, i, 0);
      }
    } else {
      // Householder vector for row i, scaled to avoid under/overflow.
      for (let k = 0; k < i; k++) {
        d[k] = (d[k] as number) / scale;
        h += (d[k] as number) ** 2;
      }
      let f = d[i - 1] as number;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j] as number;
        put(j, i, f);
        g = (e[j] as number) + at(j, j) * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += at(k, j) * (d[k] as number);
          e[k] = (e[k] as number) + at(k, j) * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = (e[j] as number) / h;
        f += (e[j] as number) * (d[j] as number);
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = (e[j] as number) - hh * (d[j] as number);
      for (let j = 0; j < i; j++) {
        f = d[j] as number;
        g = e[j] as number;
        for (let k = j; k <= i - 1; k++) put(k, j, at(k, j) - (f * (e[k] as number) + g * (d[k] as number)));
        d[j] = at(i - 1, j);
        put(i, j, 0);
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    put(n - 1, i, at(i, i));
    put(i, i, 1);
    const h = d[i + 1] as number;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = at(k, i + 1) / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += at(k, i + 1) * at(k, j);
        for (let k = 0; k <= i; k++) put(k, j, at(k, j) - g * (d[k] as number));
      }
    }
    for (let k = 0; k <= i; k++) put(k, i + 1, 0);
  }
  for (let j = 0; j < n; j++) {
    d[j] = at(n - 1, j);
    put(n - 1, j, 0);
  }
  put(n - 1, n - 1, 1);
  e[0] = 0;
}

/** tql2: the symmetric tridiagonal (d, e) → eigenvalues in d; W (Qᵀ, row-major) → eigenvectors as rows. */
function diagonalizeTridiagonal(W: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i] as number;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    // Find a small subdiagonal element.
    tst1 = Math.max(tst1, Math.abs(d[l] as number) + Math.abs(e[l] as number));
    let m = l;
    while (m < n - 1 && Math.abs(e[m] as number) > eps * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60 * n) throw new Error('symmetricEigen: the QL iteration did not converge');
        // Implicit shift.
        let g = d[l] as number;
        let p = ((d[l + 1] as number) - g) / (2 * (e[l] as number));
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = (e[l] as number) / (p + r);
        d[l + 1] = (e[l] as number) * (p + r);
        const dl1 = d[l + 1] as number;
        let h = g - (d[l] as number);
        for (let i = l + 2; i < n; i++) d[i] = (d[i] as number) - h;
        f += h;
        // Implicit QL transformation.
        p = d[m] as number;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1] as number;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * (e[i] as number);
          h = c * p;
          r = Math.hypot(p, e[i] as number);
          e[i + 1] = s * r;
          s = (e[i] as number) / r;
          c = p / r;
          p = c * (d[i] as number) - s * g;
          d[i + 1] = h + s * (c * g + s * (d[i] as number));
          const ri = i * n;
          const rj = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const wh = W[rj + k] as number;
            const wi = W[ri + k] as number;
            W[rj + k] = s * wi + c * wh;
            W[ri + k] = c * wi - s * wh;
          }
        }
        p = (-s * s2 * c3 * el1 * (e[l] as number)) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l] as number) > eps * tst1);
    }
    d[l] = (d[l] as number) + f;
    e[l] = 0;
  }
}
