import { describe, expect, it } from 'vitest';
import { constant, cosineWeight, linear, makeSchedule, ramp, twoPhase, warmupCosine } from '../../../runtime/train/schedules.ts';

describe('learning-rate schedules', () => {
  it('constant', () => {
    expect([0, 5, 1e6].map(constant(3e-4))).toEqual([3e-4, 3e-4, 3e-4]);
  });

  it('linear: warmup then decay to end × base', () => {
    // base 1e-3, warmup 10, total 110, end 0.1: step 5 → 5e-4; step 10 → 1e-3;
    // step 60 is half-way through the decay → 1e-3·(1 − 0.9·0.5) = 5.5e-4; step 110 and later → 1e-4.
    const s = linear({ base: 1e-3, warmup: 10, total: 110, end: 0.1 });
    expect(s(0)).toBe(0);
    expect(s(5)).toBeCloseTo(5e-4, 15);
    expect(s(10)).toBeCloseTo(1e-3, 15);
    expect(s(60)).toBeCloseTo(5.5e-4, 15);
    expect(s(110)).toBeCloseTo(1e-4, 15);
    expect(s(500)).toBeCloseTo(1e-4, 15);
  });

  it('warmup_cosine: warmup then half a cosine to min_lr', () => {
    // base 1, min 0.1, warmup 4, total 104: step 2 → 0.5; step 4 → 1; step 54 (half) → 0.1 + 0.9·0.5 = 0.55;
    // step 29 (a quarter) → 0.1 + 0.9·½(1 + cos(π/4)) = 0.1 + 0.45·(1 + 0.70710678) = 0.86819805; step 104 → 0.1.
    const s = warmupCosine({ base: 1, warmup: 4, total: 104, minLr: 0.1 });
    expect(s(2)).toBe(0.5);
    expect(s(4)).toBe(1);
    expect(s(29)).toBeCloseTo(0.86819805, 8);
    expect(s(54)).toBeCloseTo(0.55, 12);
    expect(s(104)).toBeCloseTo(0.1, 12);
    expect(s(1000)).toBeCloseTo(0.1, 12);
  });

  it('ramp for loss weights', () => {
    // 0 → 0.5 over 10 steps starting at step 20: step 25 → 0.25.
    const s = ramp(0, 0.5, 10, 20);
    expect([0, 20, 25, 30, 99].map(s)).toEqual([0, 0, 0.25, 0.5, 0.5]);
    expect(ramp(1, 0, 4)(1)).toBe(0.75);
  });

  it('BA-LoRA λ schedules: cosine to 0.1λ and two_phase', () => {
    // λ1 = 1e-4 over T = 1000: t=0 → 1e-4; t=500 → 0.1e-4 + 0.9e-4·0.5 = 5.5e-5; t=1000 → 1e-5.
    const c = cosineWeight(1e-4, 1000);
    expect(c(0)).toBeCloseTo(1e-4, 15);
    expect(c(500)).toBeCloseTo(5.5e-5, 15);
    expect(c(1000)).toBeCloseTo(1e-5, 15);
    // λ2 = 3e-4, T = 1000: 0 until step 200, ramp over 50 steps (step 225 → 1.5e-4), then 3e-4.
    const t = twoPhase(3e-4, 1000);
    expect(t(199)).toBe(0);
    expect(t(200)).toBe(0);
    expect(t(225)).toBeCloseTo(1.5e-4, 15);
    expect(t(250)).toBeCloseTo(3e-4, 15);
    expect(t(900)).toBeCloseTo(3e-4, 15);
  });

  it('builds the same functions from data', () => {
    const s = makeSchedule({ kind: 'warmup_cosine', base: 1, warmup: 4, total: 104, minLr: 0.1 });
    expect(s(54)).toBeCloseTo(0.55, 12);
    expect(makeSchedule({ kind: 'linear', base: 2, total: 10 })(5)).toBe(1);
    expect(() => linear({ base: 1, warmup: 20, total: 10 })).toThrow(/must be >= warmup/);
  });
});
