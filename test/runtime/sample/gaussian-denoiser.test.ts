// The per-class Gaussian denoiser on data that IS per-class Gaussian (known μ_y, Σ_y = L_y L_yᵀ):
// the fit recovers the moments; ε̂ equals the textbook route through E[x_0 | x_t] computed with an
// explicit matrix inverse (Gauss–Jordan here, not the eigendecomposition); and the measured ε-MSE
// matches the analytic (1/d)·Σ_k ᾱλ_k / (ᾱλ_k + 1 − ᾱ) of the true Σ within sampling error.

import { describe, expect, it } from 'vitest';
import { Prng } from '../../../runtime/data/index.ts';
import { fitClassGaussians, gaussianEps, gaussianExpectedEpsMse } from '../../../runtime/sample/gaussian-denoiser.ts';
import { symmetricEigen } from '../../../runtime/cpu/kernels-linalg.ts';

const D = 6;

/** Class y: μ and a lower-triangular L (Σ = L Lᵀ), fixed by hand-picked formulas. */
function truth(y: number): { mu: number[]; L: number[]; sigma: number[] } {
  const mu = Array.from({ length: D }, (_, i) => 0.3 * Math.sin(y + i) - 0.1 * y);
  const L = Array.from({ length: D * D }, (_, k) => {
    const i = Math.floor(k / D);
    const j = k % D;
    if (j > i) return 0;
    return i === j ? 0.2 + 0.15 * ((i + y) % 4) : 0.1 * Math.cos(3 * i + j + y);
  });
  const sigma = Array.from({ length: D * D }, (_, k) => {
    const i = Math.floor(k / D);
    const j = k % D;
    let s = 0;
    for (let m = 0; m < D; m++) s += (L[i * D + m] as number) * (L[j * D + m] as number);
    return s;
  });
  return { mu, L, sigma };
}

function draw(n: number, classes: number, rng: Prng): { x: Float64Array; y: Int32Array } {
  const x = new Float64Array(n * D);
  const y = Int32Array.from({ length: n }, (_, r) => r % classes);
  for (let r = 0; r < n; r++) {
    const { mu, L } = truth(y[r] as number);
    const z = Array.from({ length: D }, () => rng.nextNormal());
    for (let i = 0; i < D; i++) {
      let v = mu[i] as number;
      for (let m = 0; m < D; m++) v += (L[i * D + m] as number) * (z[m] as number);
      x[r * D + i] = v;
    }
  }
  return { x, y };
}

/** M⁻¹ by Gauss–Jordan with partial pivoting (d×d, row-major). */
function inverse(m: readonly number[], d: number): number[] {
  const a = [...m];
  const inv = Array.from({ length: d * d }, (_, k): number => (Math.floor(k / d) === k % d ? 1 : 0));
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(a[r * d + c] as number) > Math.abs(a[p * d + c] as number)) p = r;
    for (let k = 0; k < d; k++) {
      [a[c * d + k], a[p * d + k]] = [a[p * d + k] as number, a[c * d + k] as number];
      [inv[c * d + k], inv[p * d + k]] = [inv[p * d + k] as number, inv[c * d + k] as number];
    }
    const piv = a[c * d + c] as number;
    for (let k = 0; k < d; k++) {
      a[c * d + k] = (a[c * d + k] as number) / piv;
      inv[c * d + k] = (inv[c * d + k] as number) / piv;
    }
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = a[r * d + c] as number;
      for (let k = 0; k < d; k++) {
        a[r * d + k] = (a[r * d + k] as number) - f * (a[c * d + k] as number);
        inv[r * d + k] = (inv[r * d + k] as number) - f * (inv[c * d + k] as number);
      }
    }
  }
  return inv;
}

describe('the per-class Gaussian denoiser', () => {
  const rng = new Prng(5);
  const train = draw(3 * 20_000, 3, rng);
  const g = fitClassGaussians(train.x, train.y, D, 1e-9);

  it('fits each class mean and covariance (within sampling error of 20,000 draws)', () => {
    for (let y = 0; y < 3; y++) {
      const c = g.classes[y]!;
      const { mu, sigma } = truth(y);
      expect(c.count).toBe(20_000);
      for (let i = 0; i < D; i++) expect(Math.abs((c.mean[i] as number) - (mu[i] as number))).toBeLessThan(0.02);
      // Rebuild Σ from the eigenpairs.
      for (let i = 0; i < D; i++)
        for (let j = 0; j < D; j++) {
          let s = 0;
          for (let k = 0; k < D; k++) s += (c.values[k] as number) * (c.vectors[k * D + i] as number) * (c.vectors[k * D + j] as number);
          expect(Math.abs(s - (sigma[i * D + j] as number))).toBeLessThan(0.02);
        }
    }
  });

  it('ε̂ = (x_t − √ᾱ·E[x_0|x_t]) / √(1−ᾱ) with E[x_0|x_t] = μ + √ᾱ·Σ(ᾱΣ + (1−ᾱ)I)⁻¹(x_t − √ᾱ·μ), by explicit inverse', () => {
    const ab = 0.37;
    const xt = Float64Array.from({ length: 2 * D }, (_, i) => Math.cos(i) * 0.8);
    const labels = [1, 2];
    const got = gaussianEps(g, xt, labels, [ab, ab]);
    labels.forEach((y, n) => {
      const c = g.classes[y]!;
      // Σ of the fit (with its ridge), rebuilt from its eigenpairs.
      const sigma = Array.from({ length: D * D }, (_, k) => {
        const i = Math.floor(k / D);
        const j = k % D;
        let s = 0;
        for (let m = 0; m < D; m++) s += (c.values[m] as number) * (c.vectors[m * D + i] as number) * (c.vectors[m * D + j] as number);
        return s;
      });
      const inv = inverse(
        sigma.map((s, k) => ab * s + (Math.floor(k / D) === k % D ? 1 - ab : 0)),
        D,
      );
      const v = Array.from({ length: D }, (_, i) => (xt[n * D + i] as number) - Math.sqrt(ab) * (c.mean[i] as number));
      const w = Array.from({ length: D }, (_, i) => v.reduce((s, vj, j) => s + (inv[i * D + j] as number) * vj, 0));
      const x0 = Array.from({ length: D }, (_, i) => (c.mean[i] as number) + Math.sqrt(ab) * w.reduce((s, wj, j) => s + (sigma[i * D + j] as number) * wj, 0));
      for (let i = 0; i < D; i++) expect(got[n * D + i]).toBeCloseTo(((xt[n * D + i] as number) - Math.sqrt(ab) * (x0[i] as number)) / Math.sqrt(1 - ab), 10);
    });
  });

  it('measured ε-MSE on fresh Gaussian data matches (1/d)·Σ ᾱλ/(ᾱλ + 1 − ᾱ) of the true Σ at small, middle and large noise', () => {
    const test = draw(3 * 4000, 3, new Prng(6));
    for (const ab of [0.999, 0.9, 0.5, 0.1, 0.001]) {
      const eRng = new Prng(Math.round(ab * 1e6));
      const noise = Float64Array.from(test.x, () => eRng.nextNormal());
      const a = Math.sqrt(ab);
      const s = Math.sqrt(1 - ab);
      const xt = Float64Array.from(test.x, (x0, i) => a * x0 + s * (noise[i] as number));
      const eps = gaussianEps(g, xt, test.y, new Float64Array(test.y.length).fill(ab));
      let se = 0;
      for (let i = 0; i < eps.length; i++) se += ((eps[i] as number) - (noise[i] as number)) ** 2;
      const measured = se / eps.length;
      // Expected: the classes' average of the analytic value with each class's true eigenvalues.
      const expected = [0, 1, 2].reduce((sum, y) => sum + gaussianExpectedEpsMse(symmetricEigen(truth(y).sigma, D).values, ab), 0) / 3;
      // (ε − ε̂) per pixel is Gaussian with variance ≈ expected, so its square has sd ≈ √2·expected;
      // a mean over 72,000 values lies within 5 standard errors, plus the fit's own error.
      expect(Math.abs(measured - expected)).toBeLessThan(5 * Math.SQRT2 * expected * Math.sqrt(1 / eps.length) + 0.01 * expected);
    }
  });

  it('the analytic value runs from 0 (all noise) to 1 (no noise, every λ > 0)', () => {
    expect(gaussianExpectedEpsMse([0.5, 2], 0)).toBe(0);
    expect(gaussianExpectedEpsMse([0.5, 2], 1)).toBe(1);
    // By hand: ᾱ = 0.5, λ = 1 → 0.5 / (0.5 + 0.5) = 1/2; λ = 3 → 1.5 / 2 = 3/4; mean 5/8.
    expect(gaussianExpectedEpsMse([1, 3], 0.5)).toBeCloseTo(0.625, 15);
  });

  it('names a class the fit never saw', () => {
    expect(() => gaussianEps(g, new Float64Array(D), [7], [0.5])).toThrow('no training example of class 7');
  });
});
