// Example sets and feeders against hand-computed values: images become [N, C, H, W] in [−1, 1];
// a diffusion batch holds x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·noise with the very noise and x_0 it feeds;
// label dropout replaces ~10% of labels by the null class while training and none in evaluation.

import { describe, expect, it } from 'vitest';
import { linearSchedule } from '../../../compiler/objectives/diffusion-schedule.ts';
import { Prng, type ImageSet } from '../../../runtime/data/index.ts';
import { genreExamples, imageExamples, lmExamples } from '../../../jobs/train/examples.ts';
import { diffusionFeeder, supervisedFeeder } from '../../../jobs/train/feeders.ts';
import { argmaxRows, evalIndexBatches } from '../../../jobs/train/train-examples.ts';
import type { BpeTokenizer } from '../../../runtime/tokenizer/index.ts';

const set: ImageSet = {
  // 2 images of 1×2 pixels with 2 channels, [N, H, W, C]
  images: Float32Array.of(0, 1, 0.5, 0.25, 1, 0, 0.75, 0.5),
  labels: Int32Array.of(3, 7),
  count: 2,
  height: 1,
  width: 2,
  channels: 2,
  labelNames: [],
};

describe('example sets', () => {
  it('moves channels first and scales [0, 1] to [−1, 1]', () => {
    const e = imageExamples(set);
    expect(e.shape).toEqual([2, 1, 2]);
    // image 0: channel 0 = (0, 0.5) → (−1, 0); channel 1 = (1, 0.25) → (1, −0.5)
    expect([...e.features]).toEqual([-1, 0, 1, -0.5, 1, 0.5, -1, 0]);
  });

  it('cuts a stream into ctx-token windows sharing one token', () => {
    const e = lmExamples(Int32Array.of(1, 2, 3, 4, 5, 6, 7, 8), 3);
    expect(e.count).toBe(3);
    expect([...e.features]).toEqual([1, 2, 3, 3, 4, 5, 5, 6, 7]);
  });

  it('labels Brown windows with their genre id', () => {
    // A "tokenizer" mapping each character to an id: windows are easy to count by hand.
    const tok = { encode: (s: string) => [...s].map((c) => c.charCodeAt(0) % 50) } as unknown as BpeTokenizer;
    const e = genreExamples({ source: 'brown', args: { split: 'calib' }, where: 't' }, tok, 512, ['g']);
    expect(e.count).toBeGreaterThan(10);
    expect(e.features.length).toBe(e.count * 512);
    expect(new Set(e.labels).size).toBeGreaterThan(1);
    expect(Math.max(...e.labels)).toBeLessThan(15);
  });
});

describe('feeders', () => {
  const e = imageExamples(set);

  it('feeds the input and labels of a supervised batch', () => {
    const f = supervisedFeeder({ input: 'image', label: 'label' }).feeds(e, Int32Array.of(1, 0), new Prng(1), true);
    expect(f.get('image')?.shape).toEqual([2, 2, 1, 2]);
    expect([...(f.get('image')?.data ?? [])].slice(0, 4)).toEqual([1, 0.5, -1, 0]);
    expect([...(f.get('label')?.data ?? [])]).toEqual([7, 3]);
  });

  it('builds x_t from the x_0 and noise it feeds', () => {
    const s = linearSchedule(1000);
    const f = diffusionFeeder({ x: 'x', t: 't', tDtype: 'f32', y: 'y', schedule: s }).feeds(e, Int32Array.of(0, 1), new Prng(5), true);
    const x0 = f.get('diffusion.x_start')!.data;
    const noise = f.get('diffusion.noise')!.data;
    const xt = f.get('x')!.data;
    const t = f.get('t')!.data;
    expect([...x0]).toEqual([...e.features]);
    for (let i = 0; i < 2; i++) {
      const ti = t[i] as number;
      expect(Number.isInteger(ti) && ti >= 0 && ti < 1000).toBe(true);
      const a = s.alphasCumprod[ti] as number;
      for (let k = i * 4; k < i * 4 + 4; k++) expect(xt[k]).toBeCloseTo(Math.sqrt(a) * (x0[k] as number) + Math.sqrt(1 - a) * (noise[k] as number), 5);
    }
    expect([...f.get('y')!.data]).toEqual([3, 7]);
  });

  it('drops ~10% of labels to the null class while training, none when evaluating', () => {
    const many = imageExamples({ ...set, images: new Float32Array(4000 * 4), labels: new Int32Array(1000).fill(4), count: 1000 });
    const feeder = diffusionFeeder({ x: 'x', t: 't', tDtype: 'f32', y: 'y', schedule: linearSchedule(1000), labelDropout: { nullClass: 10, p: 0.1 } });
    const idx = Int32Array.from({ length: 1000 }, (_, i) => i);
    const y = feeder.feeds(many, idx, new Prng(2), true).get('y')!.data;
    const dropped = [...y].filter((v) => v === 10).length;
    expect([...y].every((v) => v === 10 || v === 4)).toBe(true);
    expect(dropped).toBeGreaterThan(70); // Binomial(1000, 0.1): mean 100, sd 9.5
    expect(dropped).toBeLessThan(130);
    expect([...feeder.feeds(many, idx, new Prng(2), false).get('y')!.data].every((v) => v === 4)).toBe(true);
  });
});

describe('evaluation helpers', () => {
  it('argmax per row, first on ties', () => {
    expect([...argmaxRows([0, 2, 1, 5, 5, 0], 3)]).toEqual([1, 0]);
  });

  it('spreads fixed evaluation batches over the whole set', () => {
    expect(evalIndexBatches(10, 2, 8).map((b) => [...b])).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
      [6, 7],
      [8, 9],
    ]);
    expect(evalIndexBatches(100, 2, 2).map((b) => [...b])).toEqual([
      [0, 25],
      [50, 75],
    ]);
  });
});
