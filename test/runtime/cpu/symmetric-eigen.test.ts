// symmetricEigen (Householder + implicit QL) against matrices whose eigenpairs are known by hand,
// and against the reference's one-sided Jacobi SVD (an independent algorithm) on a random
// positive semi-definite matrix, where singular values and eigenvalues coincide.

import { describe, expect, it } from 'vitest';
import { svd, symmetricEigen } from '../../../runtime/cpu/kernels-linalg.ts';
import { Prng } from '../../../runtime/data/index.ts';

/** Σ_k λ_k v_k v_kᵀ, to compare with the input. */
function rebuild(values: Float64Array, vectors: Float64Array, n: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let k = 0; k < n; k++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        a[i * n + j] = (a[i * n + j] as number) + (values[k] as number) * (vectors[k * n + i] as number) * (vectors[k * n + j] as number);
  return a;
}

/** Eigenvector k, signed so its largest component is positive (eigenvectors are defined up to sign). */
function vector(vectors: Float64Array, k: number, n: number): number[] {
  const v = Array.from(vectors.subarray(k * n, (k + 1) * n));
  const big = v.reduce((m, x) => (Math.abs(x) > Math.abs(m) ? x : m), 0);
  return v.map((x) => (big < 0 ? -x : x));
}

describe('symmetricEigen', () => {
  it('[[2, 1], [1, 2]]: eigenvalues 1 and 3 with vectors (1, −1)/√2 and (1, 1)/√2', () => {
    const r = symmetricEigen([2, 1, 1, 2], 2);
    expect([...r.values].map((x) => Number(x.toFixed(12)))).toEqual([1, 3]);
    const h = Math.SQRT1_2;
    const v0 = vector(r.vectors, 0, 2);
    expect(Math.abs(v0[0] as number)).toBeCloseTo(h, 12);
    expect((v0[0] as number) * (v0[1] as number)).toBeCloseTo(-0.5, 12);
    expect(vector(r.vectors, 1, 2)[0]).toBeCloseTo(h, 12);
    expect(vector(r.vectors, 1, 2)[1]).toBeCloseTo(h, 12);
  });

  it('a block matrix: 2 on its own axis, and [[3, 4], [4, 9]] with eigenvalues 1 and 11 (trace 12, determinant 11)', () => {
    const a = [2, 0, 0, 0, 3, 4, 0, 4, 9];
    const r = symmetricEigen(a, 3);
    expect([...r.values].map((x) => Number(x.toFixed(12)))).toEqual([1, 2, 11]);
    expect(vector(r.vectors, 1, 3).map((x) => Number(x.toFixed(12)))).toEqual([1, 0, 0]);
    // (A − 11I)v = 0 → v ∝ (0, 1, 2); (A − I)v = 0 → v ∝ (0, 2, −1).
    const s5 = Math.sqrt(5);
    expect(vector(r.vectors, 2, 3).map((x) => Number(x.toFixed(12)))).toEqual([0, Number((1 / s5).toFixed(12)), Number((2 / s5).toFixed(12))]);
    expect(vector(r.vectors, 0, 3).map((x) => Number(x.toFixed(12)))).toEqual([0, Number((2 / s5).toFixed(12)), Number((-1 / s5).toFixed(12))]);
  });

  it('a diagonal matrix (already tridiagonal, zero off-diagonal) and a 1×1 one', () => {
    const r = symmetricEigen([5, 0, 0, 0, -1, 0, 0, 0, 3], 3);
    expect([...r.values]).toEqual([-1, 3, 5]);
    expect(symmetricEigen([7], 1).values[0]).toBe(7);
  });

  it('a random 40×40 covariance: rebuilds A, orthonormal vectors, eigenvalues = the Jacobi SVD singular values', () => {
    const n = 40;
    const rng = new Prng(11);
    const w = Float64Array.from({ length: n * n }, () => rng.nextNormal());
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] = (a[i * n + j] as number) + (w[i * n + k] as number) * (w[j * n + k] as number);
    const r = symmetricEigen(a, n);
    const back = rebuild(r.values, r.vectors, n);
    for (let i = 0; i < n * n; i++) expect(back[i]).toBeCloseTo(a[i] as number, 9);
    for (let p = 0; p < n; p++)
      for (let q = 0; q < n; q++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += (r.vectors[p * n + i] as number) * (r.vectors[q * n + i] as number);
        expect(dot).toBeCloseTo(p === q ? 1 : 0, 10);
      }
    const s = svd(a, n, n).s; // descending
    for (let k = 0; k < n; k++) expect(r.values[n - 1 - k]).toBeCloseTo(s[k] as number, 8);
  });

  it('refuses a value count that is not n×n', () => {
    expect(() => symmetricEigen([1, 2, 3], 2)).toThrow('3 values are not 2×2');
  });
});
