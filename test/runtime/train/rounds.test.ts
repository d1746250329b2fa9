import { describe, expect, it } from 'vitest';
import { Prng } from '../../../runtime/data/prng.ts';
import { batchProbabilities, sampleBatches, sampleCount } from '../../../runtime/train/rounds.ts';

describe('multiple-round batch sampling', () => {
  it('computes softmax(loss / τ) stably', () => {
    // e² = 7.389056, e³ = 20.085537, e^2.5 = 12.182494; sum 39.657087.
    const p = batchProbabilities([2, 3, 2.5]);
    [0.186324, 0.50648, 0.307196].forEach((e, i) => expect(p[i]).toBeCloseTo(e, 6));
    // Losses of 1000 would overflow exp; the difference of 1 gives 1/(1+e) and e/(1+e).
    const big = batchProbabilities([1000, 1001]);
    expect(big[0]).toBeCloseTo(0.268941, 6);
    expect(big[1]).toBeCloseTo(0.731059, 6);
    // τ = 2 halves the logits: [0, 2] / 2 → 1/(1+e), e/(1+e).
    const tempered = batchProbabilities([0, 2], 2);
    expect(tempered[0]).toBeCloseTo(0.268941, 6);
  });

  it('draws round(fraction·N) distinct batches, reproducibly per seed', () => {
    const losses = Array.from({ length: 11 }, (_, i) => 2 + Math.sin(i));
    expect(sampleCount(11, 0.5)).toBe(6);
    const a = sampleBatches(losses, { fraction: 0.5, rng: new Prng(1) });
    expect(a.length).toBe(6);
    expect(new Set(a).size).toBe(6);
    expect([...sampleBatches(losses, { fraction: 0.5, rng: new Prng(1) })]).toEqual([...a]);
    expect(
      sampleBatches(losses, { fraction: 1, rng: new Prng(2) })
        .slice()
        .sort(),
    ).toEqual(Int32Array.from({ length: 11 }, (_, i) => i));
  });

  it('first draws follow softmax(loss) (20k draws, within 4σ)', () => {
    const losses = [0, 1, 2, 3];
    const p = batchProbabilities(losses);
    const rng = new Prng(77);
    const draws = 20000;
    const counts = [0, 0, 0, 0];
    for (let t = 0; t < draws; t++) counts[sampleBatches(losses, { fraction: 0.25, rng })[0]!]!++;
    counts.forEach((c, i) => {
      const sigma = Math.sqrt(draws * p[i]! * (1 - p[i]!));
      expect(Math.abs(c - draws * p[i]!)).toBeLessThan(4 * sigma);
    });
  });

  it('inclusion probabilities for 2 of 3 match successive draws without replacement', () => {
    // P(i drawn) = p_i + Σ_{j≠i} p_j · p_i / (1 − p_j): drawn first, or second after j.
    const losses = [1, 2, 4];
    const p = [...batchProbabilities(losses)];
    const expected = p.map((pi, i) => pi + p.reduce((s, pj, j) => (j === i ? s : s + (pj * pi) / (1 - pj)), 0));
    expect(expected.reduce((a, b) => a + b, 0)).toBeCloseTo(2, 12);
    const rng = new Prng(2025);
    const draws = 20000;
    const counts = [0, 0, 0];
    for (let t = 0; t < draws; t++) for (const i of sampleBatches(losses, { fraction: 2 / 3, rng })) counts[i]!++;
    counts.forEach((c, i) => {
      const sigma = Math.sqrt(draws * expected[i]! * (1 - expected[i]!));
      expect(Math.abs(c - draws * expected[i]!)).toBeLessThan(4 * sigma);
    });
  });
});
