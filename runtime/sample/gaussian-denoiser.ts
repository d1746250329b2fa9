// The per-class Gaussian denoiser: the closed-form ε-prediction that is optimal when each class's
// images are x_0 ~ N(μ_y, Σ_y). A model that has learned only what a Gaussian captures (the mean
// digit and its pixel correlations) does no better than this; one that has learned shapes does.
//
// Derivation (a = √ᾱ_t, s = √(1 − ᾱ_t), x_t = a·x_0 + s·ε, ε ~ N(0, I) independent of x_0):
//   x_t ~ N(a·μ, C) with C = a²Σ + s²I, and Cov(ε, x_t) = s·I, so (ε, x_t) is jointly Gaussian and
//   E[ε | x_t]   = s·C⁻¹(x_t − a·μ)
//   Cov[ε | x_t] = I − s²·C⁻¹.
// The first equals the textbook route through E[x_0 | x_t] = μ + a·ΣC⁻¹(x_t − a·μ) and
// ε̂ = (x_t − a·E[x_0 | x_t]) / s, since (C − a²Σ)/s = s·I. With Σ = Q·diag(λ)·Qᵀ (one
// eigendecomposition per class) C⁻¹ = Q·diag(1/(ᾱλ_k + 1 − ᾱ))·Qᵀ, so each t costs two products
// with Q. The second gives the expected error: E‖ε − ε̂‖²/d = (1/d)·Σ_k ᾱλ_k / (ᾱλ_k + 1 − ᾱ), which
// goes to 0 as ᾱ → 0 (x_t is almost all noise) and to the share of directions with λ ≫ 1 − ᾱ as ᾱ → 1.

import { symmetricEigen } from '../cpu/kernels-linalg.ts';

/** One class's Gaussian: its mean and the eigendecomposition of its covariance (ridge included). */
export interface ClassGaussian {
  /** Training examples the fit saw. */
  readonly count: number;
  /** μ [d]. */
  readonly mean: Float64Array;
  /** Eigenvalues of Σ + ridge·I, ascending [d]. */
  readonly values: Float64Array;
  /** Eigenvectors as rows [d, d]. */
  readonly vectors: Float64Array;
}

export interface GaussianDenoiser {
  readonly dim: number;
  readonly ridge: number;
  /** By class id; undefined for a class the training data does not hold. */
  readonly classes: readonly (ClassGaussian | undefined)[];
}

/**
 * Fits N(μ_y, Σ_y + ridge·I) to each class of `features` ([count, dim] row-major; `labels` [count]).
 * Σ_y is the maximum-likelihood covariance (divided by the count). The ridge keeps Σ invertible where
 * the data never varies (an MNIST border pixel), so an image that differs there is not predicted
 * with an unbounded ε̂.
 */
export function fitClassGaussians(features: ArrayLike<number>, labels: ArrayLike<number>, dim: number, ridge: number): GaussianDenoiser {
  const count = labels.length;
  if (features.length !== count * dim) throw new RangeError(`fitClassGaussians: ${features.length} values are not ${count} × ${dim}`);
  if (!(ridge >= 0)) throw new RangeError(`fitClassGaussians: ridge must be >= 0, got ${ridge}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < count; i++) {
    const y = labels[i] as number;
    const list = byClass.get(y) ?? [];
    list.push(i);
    byClass.set(y, list);
  }
  const classes: (ClassGaussian | undefined)[] = [];
  for (const [y, rows] of [...byClass.entries()].sort((p, q) => p[0] - q[0])) classes[y] = fitOne(features, rows, dim, ridge);
  return { dim, ridge, classes };
}

function fitOne(features: ArrayLike<number>, rows: readonly number[], dim: number, ridge: number): ClassGaussian {
  // Moments about a per-pixel pivot (the class's minimum): the same covariance, but image
  // backgrounds become exact zeros that the outer-product loop skips (MNIST: ~80% of pixels).
  const pivot = new Float64Array(dim).fill(Number.POSITIVE_INFINITY);
  for (const r of rows) for (let i = 0; i < dim; i++) pivot[i] = Math.min(pivot[i] as number, features[r * dim + i] as number);
  const sum = new Float64Array(dim);
  const outer = new Float64Array(dim * dim); // upper triangle of Σ z zᵀ
  const z = new Float64Array(dim);
  const nz = new Int32Array(dim);
  for (const r of rows) {
    let k = 0;
    for (let i = 0; i < dim; i++) {
      const v = (features[r * dim + i] as number) - (pivot[i] as number);
      z[i] = v;
      sum[i] = (sum[i] as number) + v;
      if (v !== 0) nz[k++] = i;
    }
    for (let p = 0; p < k; p++) {
      const i = nz[p] as number;
      const zi = z[i] as number;
      const row = i * dim;
      for (let q = p; q < k; q++) {
        const j = nz[q] as number;
        outer[row + j] = (outer[row + j] as number) + zi * (z[j] as number);
      }
    }
  }
  const n = rows.length;
  const mz = Float64Array.from(sum, (s) => s / n);
  const cov = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const c = (outer[i * dim + j] as number) / n - (mz[i] as number) * (mz[j] as number) + (i === j ? ridge : 0);
      cov[i * dim + j] = c;
      cov[j * dim + i] = c;
    }
  }
  const { values, vectors } = symmetricEigen(cov, dim);
  // Rounding can leave a tiny negative eigenvalue where the data has none; a covariance has none.
  for (let k = 0; k < dim; k++) values[k] = Math.max(values[k] as number, 0);
  return { count: n, mean: Float64Array.from(mz, (m, i) => m + (pivot[i] as number)), values, vectors };
}

/** The class's Gaussian, or an error naming the class the fit never saw. */
export function classGaussian(g: GaussianDenoiser, y: number): ClassGaussian {
  const c = g.classes[y];
  if (c === undefined) throw new RangeError(`the Gaussian baseline saw no training example of class ${y}`);
  return c;
}

/**
 * ε̂ = √(1 − ᾱ)·C⁻¹(x_t − √ᾱ·μ_y) for each image of a batch. xt [B, d]; labels [B]; alphaBar [B]
 * (ᾱ_t of each image's timestep). Returns [B, d].
 */
export function gaussianEps(g: GaussianDenoiser, xt: ArrayLike<number>, labels: ArrayLike<number>, alphaBar: ArrayLike<number>): Float64Array {
  const d = g.dim;
  const b = labels.length;
  if (xt.length !== b * d || alphaBar.length !== b)
    throw new RangeError(`gaussianEps: ${xt.length} values, ${b} labels and ${alphaBar.length} ᾱ do not fit d = ${d}`);
  const out = new Float64Array(b * d);
  const v = new Float64Array(d);
  const w = new Float64Array(d);
  for (let n = 0; n < b; n++) {
    const c = classGaussian(g, labels[n] as number);
    const ab = alphaBar[n] as number;
    const a = Math.sqrt(ab);
    const s = Math.sqrt(1 - ab);
    for (let i = 0; i < d; i++) v[i] = (xt[n * d + i] as number) - a * (c.mean[i] as number);
    // w = diag(s / (ᾱλ + 1 − ᾱ))·Qᵀv, then ε̂ = Q·w (eigenvectors are the rows of `vectors`).
    for (let k = 0; k < d; k++) {
      let dot = 0;
      const row = k * d;
      for (let i = 0; i < d; i++) dot += (c.vectors[row + i] as number) * (v[i] as number);
      w[k] = (s * dot) / (ab * (c.values[k] as number) + 1 - ab);
    }
    const o = n * d;
    for (let k = 0; k < d; k++) {
      const wk = w[k] as number;
      const row = k * d;
      for (let i = 0; i < d; i++) out[o + i] = (out[o + i] as number) + wk * (c.vectors[row + i] as number);
    }
  }
  return out;
}

/**
 * The expected ε-MSE per pixel of the Gaussian denoiser at ᾱ when the data really is N(μ, Σ) with
 * Σ's eigenvalues `values`: (1/d)·Σ_k ᾱλ_k / (ᾱλ_k + 1 − ᾱ), the trace of Cov[ε | x_t] over d.
 */
export function gaussianExpectedEpsMse(values: ArrayLike<number>, alphaBar: number): number {
  let s = 0;
  for (let k = 0; k < values.length; k++) {
    const l = values[k] as number;
    s += (alphaBar * l) / (alphaBar * l + 1 - alphaBar);
  }
  return s / values.length;
}
