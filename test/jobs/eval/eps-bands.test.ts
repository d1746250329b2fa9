// The band table of `scion eval` on data that IS per-class Gaussian, where every figure has a
// known answer: a model that predicts ε = 0 scores E[ε²] = 1 in every band; the Gaussian
// denoiser scores the analytic (1/d)·Σ ᾱλ/(ᾱλ + 1 − ᾱ) averaged over the band's timesteps; and a
// model that returns the Gaussian denoiser's own ε̂ has ratio 1.

import { describe, expect, it } from 'vitest';
import { diffusionSchedule } from '../../../compiler/objectives/diffusion-loss.ts';
import { symmetricEigen } from '../../../runtime/cpu/kernels-linalg.ts';
import { Prng } from '../../../runtime/data/index.ts';
import { fitClassGaussians, gaussianEps, gaussianExpectedEpsMse } from '../../../runtime/sample/gaussian-denoiser.ts';
import { bandSummary, bandTable, measureBands, timestepBands, type BandRow } from '../../../jobs/eval/eps-bands.ts';
import type { Examples } from '../../../jobs/train/examples.ts';
import { evalIndexBatches } from '../../../jobs/train/train-examples.ts';

const D = 16; // 1×4×4 images

/** Class y: x_0 = μ_y + A_y z with A_y diagonal-plus-neighbour, so Σ_y = A_y A_yᵀ is known. */
function classMatrix(y: number): { mu: number[]; A: number[] } {
  const mu = Array.from({ length: D }, (_, i) => 0.5 * Math.sin(i + 2 * y));
  const A = Array.from({ length: D * D }, (_, k) => {
    const i = Math.floor(k / D);
    const j = k % D;
    if (i === j) return 0.1 + 0.05 * ((i + y) % 5);
    return j === i - 1 ? 0.2 * (y + 1) : 0;
  });
  return { mu, A };
}

function gaussianSet(n: number, seed: number): Examples {
  const rng = new Prng(seed);
  const features = new Float32Array(n * D);
  const labels = Int32Array.from({ length: n }, (_, r) => r % 2);
  for (let r = 0; r < n; r++) {
    const { mu, A } = classMatrix(labels[r] as number);
    const z = Array.from({ length: D }, () => rng.nextNormal());
    for (let i = 0; i < D; i++) features[r * D + i] = (mu[i] as number) + z.reduce((s, zj, j) => s + (A[i * D + j] as number) * zj, 0);
  }
  return { features, dtype: 'f32', shape: [1, 4, 4], labels, count: n, labelNames: ['a', 'b'] };
}

function trueEigenvalues(y: number): Float64Array {
  const { A } = classMatrix(y);
  const sigma = Array.from({ length: D * D }, (_, k) => {
    const i = Math.floor(k / D);
    const j = k % D;
    let s = 0;
    for (let m = 0; m < D; m++) s += (A[i * D + m] as number) * (A[j * D + m] as number);
    return s;
  });
  return symmetricEigen(sigma, D).values;
}

describe('timestepBands', () => {
  it('cuts 0…T−1 into equal bands, the last taking the remainder', () => {
    expect(timestepBands(1000, 10)[0]).toEqual({ from: 0, to: 99 });
    expect(timestepBands(1000, 10)[9]).toEqual({ from: 900, to: 999 });
    expect(timestepBands(1000, 3)).toEqual([
      { from: 0, to: 332 },
      { from: 333, to: 665 },
      { from: 666, to: 999 },
    ]);
    expect(() => timestepBands(1000, 1001)).toThrow('--bands 1001: give a whole number from 1 to 1000');
  });
});

describe('measureBands on per-class Gaussian data', async () => {
  const schedule = diffusionSchedule();
  const train = gaussianSet(8000, 1);
  const val = gaussianSet(512, 2);
  const g = fitClassGaussians(train.features, train.labels, D, 1e-6);
  const batches = evalIndexBatches(val.count, 64, 8);
  const gaussianPredict = async (xt: Float32Array, t: Int32Array, labels: Int32Array) =>
    gaussianEps(
      g,
      xt,
      labels,
      Float64Array.from(t, (s) => schedule.alphasCumprod[s] as number),
    );
  const zeros = await measureBands({ schedule, bands: 10, set: val, batches, gaussian: g, predict: async (xt) => new Float32Array(xt.length) });
  const own = await measureBands({ schedule, bands: 10, set: val, batches, gaussian: g, predict: gaussianPredict });

  it('a model that predicts zeros scores ε-MSE ≈ 1 in every band (ε ~ N(0, I))', () => {
    expect(zeros.map((r) => r.band)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // 512 images × 16 pixels: the mean of 8,192 χ²(1) values has standard error √(2/8192) ≈ 0.016.
    for (const r of zeros) expect(Math.abs(r.model - 1)).toBeLessThan(0.08);
  });

  it("the Gaussian denoiser's ε-MSE matches the analytic value averaged over the band's timesteps", () => {
    const l0 = trueEigenvalues(0);
    const l1 = trueEigenvalues(1);
    for (const r of own) {
      let expected = 0;
      for (let t = r.tFrom; t <= r.tTo; t++) {
        const ab = schedule.alphasCumprod[t] as number;
        expected += (gaussianExpectedEpsMse(l0, ab) + gaussianExpectedEpsMse(l1, ab)) / 2;
      }
      expected /= r.tTo - r.tFrom + 1;
      expect(Math.abs(r.gaussian - expected) / expected).toBeLessThan(0.06);
    }
    // The bands see the same images and noise whatever the model: the Gaussian column agrees.
    own.forEach((r, k) => expect(r.gaussian).toBe(zeros[k]?.gaussian));
    // Large t is nearly all noise: the Gaussian denoiser's error falls as t grows.
    expect(own[9]!.gaussian).toBeLessThan(own[0]!.gaussian);
  });

  it("a model that returns the Gaussian denoiser's own ε̂ has ratio 1 in every band", () => {
    for (const r of own) {
      expect(r.model).toBe(r.gaussian);
      expect(r.ratio).toBe(1);
    }
  });
});

describe('bandSummary and bandTable', () => {
  const row = (band: number, ratio: number): BandRow => ({ band, tFrom: (band - 1) * 100, tTo: band * 100 - 1, model: 0.1 * ratio, gaussian: 0.1, ratio });
  it('says in words where the model beats the baseline', () => {
    const early = [row(1, 0.5), row(2, 0.8), row(3, 1.2), row(4, 1.5)];
    expect(bandSummary(early)).toBe(
      "The model beats the per-class Gaussian denoiser at t 0–199 and not at t 200–399: the further the bands it wins reach into large t, the more of the digits' shapes it has learned (at the largest t both errors are tiny and the ratio is a poor guide).",
    );
    expect(bandSummary([row(1, 0.5), row(2, 1.1), row(3, 0.9)])).toBe(
      'The model beats the per-class Gaussian denoiser at t 0–99 and 200–299 and not at t 100–199.',
    );
    expect(bandSummary([row(1, 0.5), row(2, 0.9)])).toMatch(/^The model beats the per-class Gaussian denoiser in every band/);
    expect(bandSummary([row(1, 1.5), row(2, 1)])).toMatch(/^The model beats the per-class Gaussian denoiser in no band/);
  });
  it('prints one row per band with t range, both ε-MSEs and the ratio, then the summary', () => {
    const text = bandTable({
      model: 'M',
      split: 'val',
      images: 256,
      T: 400,
      ridge: 1e-3,
      bands: [row(1, 0.5), row(2, 2), { ...row(3, 25_000), model: 0.5, gaussian: 2e-5 }],
      summary: 'S.',
    });
    expect(text.split('\n')).toEqual([
      'ε-MSE per timestep band: M on 256 val images per band (T = 400), beside the per-class Gaussian denoiser (full covariance, ridge 0.001)',
      'band  t range    model ε-MSE  Gaussian ε-MSE     ratio',
      '   1  0–99            0.0500          0.1000     0.500',
      '   2  100–199         0.2000          0.1000     2.000',
      '   3  200–299         0.5000         2.00e-5   2.50e+4',
      'S.',
      '',
    ]);
  });
});
