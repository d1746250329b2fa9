// LoRA and PiSSA: PiSSA's factors reproduce the top-r part of W (checked against the singular
// values of a matrix built with known ones), base + scale·B·A = W at step 0, merge/unmerge round
// trips, and the randomized SVD agrees with the exact one on a larger matrix.

import { describe, expect, it } from 'vitest';
import { initLora, mergeLora, topSvd, unmergeLora } from '../../../jobs/inherit/adapters/lora.ts';
import type { Dense } from '../../../jobs/inherit/tensor-ops.ts';
import { randoms } from './helpers.ts';

/** W = Σ σ_k u_k v_kᵀ from orthonormal columns made by Householder reflections of random vectors. */
function known(m: number, n: number, sigmas: number[], seed: number): Dense {
  const ortho = (d: number, s: number): number[][] => {
    const v = Array.from(randoms(d, s, 1));
    const norm = Math.hypot(...v);
    const h = v.map((x) => x / norm);
    return Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0) - 2 * h[i]! * h[j]!)); // H = I − 2hhᵀ, columns orthonormal
  };
  const U = ortho(m, seed);
  const V = ortho(n, seed + 1);
  const data = new Float32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) data[i * n + j] = sigmas.reduce((acc, s, k) => acc + s * U[i]![k]! * V[j]![k]!, 0);
  return { shape: [m, n], data };
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

describe('LoRA adapters', () => {
  it('PiSSA: scale·B·A is the rank-r truncation and base + scale·B·A = W', () => {
    const sig = [9, 5, 3, 1, 0.5, 0.25];
    const w = known(10, 6, sig, 3);
    const alpha = 4,
      rank = 2,
      scale = alpha / rank;
    const { a, b, base } = initLora(w, rank, alpha, { kind: 'pissa' });
    expect(a.shape).toEqual([2, 6]);
    expect(b.shape).toEqual([10, 2]);
    expect(maxAbs(mergeLora(base, a, b, scale).data, w.data)).toBeLessThan(1e-5);
    // The adapter holds the top two singular values, the residual the rest (Frobenius norms).
    const delta = mergeLora({ shape: w.shape, data: new Float32Array(60) }, a, b, scale).data;
    const fro = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));
    expect(fro(delta)).toBeCloseTo(Math.hypot(9, 5), 4);
    expect(fro(base.data)).toBeCloseTo(Math.hypot(3, 1, 0.5, 0.25), 4);
  });

  it('zeros and gaussian inits leave the base unchanged and start with B = 0', () => {
    const w: Dense = { shape: [4, 3], data: randoms(12, 9) };
    for (const kind of ['zeros', 'gaussian'] as const) {
      const { a, b, base } = initLora(w, 2, 4, { kind }, 1);
      expect(base.data).toBe(w.data);
      expect(Array.from(b.data).every((v) => v === 0)).toBe(true);
      expect(Array.from(a.data).some((v) => v !== 0)).toBe(true);
    }
  });

  it('merge then unmerge round-trips exactly on dyadic values and within an ulp on random ones', () => {
    const base: Dense = { shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => (i - 6) / 8) };
    const a: Dense = { shape: [2, 4], data: Float32Array.from([0.5, -1, 0.25, 2, 1, 0, -0.5, 0.125]) };
    const b: Dense = { shape: [3, 2], data: Float32Array.from([1, 0.5, -2, 0.25, 0, 4]) };
    const merged = mergeLora(base, a, b, 2);
    // Hand-computed entry: merged[1][3] = base[1][3] + 2·(B[1]·A[:,3]) = 0.125 + 2·(−2·2 + 0.25·0.125)
    expect(merged.data[7]).toBe(0.125 + 2 * (-2 * 2 + 0.25 * 0.125));
    expect(Array.from(unmergeLora(merged, a, b, 2).data)).toEqual(Array.from(base.data));
    const w: Dense = { shape: [8, 5], data: randoms(40, 11) };
    const l = initLora(w, 3, 6, { kind: 'pissa' });
    const back = unmergeLora(mergeLora(l.base, l.a, l.b, 2), l.a, l.b, 2);
    expect(maxAbs(back.data, l.base.data)).toBeLessThan(1e-6);
  });

  it('the randomized SVD finds the same top singular values as the exact one (200×150)', () => {
    const sig = Array.from({ length: 150 }, (_, k) => 100 * 0.7 ** k);
    const w = known(200, 150, sig, 5);
    const r = topSvd(w, 4, 4, 7);
    for (let k = 0; k < 4; k++) expect(r.s[k]! / sig[k]!).toBeCloseTo(1, 4);
  });
});
