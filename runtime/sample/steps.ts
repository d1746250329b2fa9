// One reverse step of DDPM (ancestral) and DDIM, elementwise over a flat batch, in f64. Index i is
// the position in the (respaced) schedule; ᾱ_{i−1} = 1 at i = 0. Formulas: DiT/improved-diffusion
// gaussian_diffusion.py (p_mean_variance, p_sample, ddim_sample) with clip_denoised = true.

import type { DiffusionSchedule, VarianceMode } from './types.ts';

const clip = (x: number): number => (x < -1 ? -1 : x > 1 ? 1 : x);

/** x̂_0 = x_t/√ᾱ_i − √(1/ᾱ_i − 1)·ε, clipped to [−1, 1]. */
export function predictX0(s: DiffusionSchedule, i: number, x: Float64Array, eps: Float64Array, clipDenoised = true): Float64Array {
  const a = s.alphasCumprod[i] as number;
  const r = Math.sqrt(1 / a);
  const rm1 = Math.sqrt(1 / a - 1);
  return x.map((xv, k) => {
    const p = r * xv - rm1 * (eps[k] as number);
    return clipDenoised ? clip(p) : p;
  });
}

/** log variance of p(x_{i−1} | x_i) per element. */
export function modelLogVariance(s: DiffusionSchedule, i: number, mode: VarianceMode, v: Float64Array | undefined, n: number): Float64Array {
  const minLog = s.posteriorLogVarianceClipped[i] as number;
  const maxLog = Math.log(s.betas[i] as number);
  if (mode === 'learned') {
    if (v === undefined) throw new Error('ddpm: learned variance needs the model output v');
    return v.map((vv) => {
      const f = (vv + 1) / 2;
      return f * maxLog + (1 - f) * minLog;
    });
  }
  // fixed_large: β_i, except β̃_1 at i = 0 (improved-diffusion); fixed_small: β̃_i (clipped).
  const value = mode === 'fixed_small' ? minLog : Math.log(i === 0 ? (s.posteriorVariance[1] ?? (s.betas[0] as number)) : (s.betas[i] as number));
  return new Float64Array(n).fill(value);
}

/** DDPM: x_{i−1} = μ(x̂_0, x_i) + [i > 0]·exp(½ log Σ)·z. */
export function ddpmStep(
  s: DiffusionSchedule,
  i: number,
  x: Float64Array,
  eps: Float64Array,
  noise: Float64Array,
  mode: VarianceMode,
  v?: Float64Array,
): Float64Array {
  const x0 = predictX0(s, i, x, eps);
  const c1 = s.posteriorMeanCoef1[i] as number;
  const c2 = s.posteriorMeanCoef2[i] as number;
  const logVar = modelLogVariance(s, i, mode, v, x.length);
  return x.map((xv, k) => {
    const mean = c1 * (x0[k] as number) + c2 * xv;
    return i === 0 ? mean : mean + Math.exp(0.5 * (logVar[k] as number)) * (noise[k] as number);
  });
}

/**
 * DDIM: ε' = (x_i − √ᾱ_i·x̂_0)/√(1 − ᾱ_i); σ = η·√((1 − ᾱ_{i−1})/(1 − ᾱ_i))·√(1 − ᾱ_i/ᾱ_{i−1});
 * x_{i−1} = √ᾱ_{i−1}·x̂_0 + √(1 − ᾱ_{i−1} − σ²)·ε' + [i > 0]·σ·z.
 */
export function ddimStep(s: DiffusionSchedule, i: number, x: Float64Array, eps: Float64Array, noise: Float64Array, eta: number): Float64Array {
  const a = s.alphasCumprod[i] as number;
  const aPrev = s.alphasCumprodPrev[i] as number;
  const x0 = predictX0(s, i, x, eps);
  const sigma = eta * Math.sqrt((1 - aPrev) / (1 - a)) * Math.sqrt(1 - a / aPrev);
  const dir = Math.sqrt(Math.max(0, 1 - aPrev - sigma * sigma));
  return x.map((xv, k) => {
    const x0k = x0[k] as number;
    const epsK = (xv - Math.sqrt(a) * x0k) / Math.sqrt(1 - a);
    const out = Math.sqrt(aPrev) * x0k + dir * epsK;
    return i === 0 ? out : out + sigma * (noise[k] as number);
  });
}
