// DDPM and DDIM: step formulas against hand-computed values, DDIM (η = 0) with an oracle ε
// recovering x0, guidance arithmetic, and switching by t.

import { describe, expect, it } from 'vitest';
import { linearSchedule, respace, scheduleFromBetas } from '../../../compiler/objectives/diffusion-schedule.ts';
import { Prng } from '../../../runtime/data/prng.ts';
import { ddimStep, ddpmStep, guided, pickArm, sampleLoop, switching, type Denoiser } from '../../../runtime/sample/index.ts';

const s3 = scheduleFromBetas(Float64Array.from([0.1, 0.2, 0.3])); // ᾱ = 0.9, 0.72, 0.504

describe('step formulas (β = 0.1, 0.2, 0.3)', () => {
  it('DDIM at i = 2: x̂0 = (x − √0.496·ε)/√0.504, then √0.72·x̂0 + √(0.28 − σ²)·ε′ + σ·z', () => {
    const x = Float64Array.of(0.4);
    const eps = Float64Array.of(0.5);
    const x0 = (0.4 - Math.sqrt(0.496) * 0.5) / Math.sqrt(0.504); // ≈ −0.0336, inside [−1, 1]
    // η = 0: ε′ = ε exactly when x̂0 is not clipped.
    expect(ddimStep(s3, 2, x, eps, Float64Array.of(9), 0)[0]).toBeCloseTo(Math.sqrt(0.72) * x0 + Math.sqrt(0.28) * 0.5, 14);
    // η = 1: σ = √(0.28/0.496)·√(1 − 0.504/0.72)
    const sigma = Math.sqrt(0.28 / 0.496) * Math.sqrt(1 - 0.504 / 0.72);
    expect(ddimStep(s3, 2, x, eps, Float64Array.of(-0.7), 1)[0]).toBeCloseTo(Math.sqrt(0.72) * x0 + Math.sqrt(0.28 - sigma ** 2) * 0.5 + sigma * -0.7, 14);
    // x̂0 is clipped to [−1, 1]: x = 3, ε = 0 → x̂0 = 1, and ε′ is recomputed from the clipped x̂0.
    const epsC = (3 - Math.sqrt(0.504)) / Math.sqrt(0.496);
    expect(ddimStep(s3, 2, Float64Array.of(3), Float64Array.of(0), Float64Array.of(0), 0)[0]).toBeCloseTo(Math.sqrt(0.72) + Math.sqrt(0.28) * epsC, 14);
    // The last step (i = 0) returns x̂0 (ᾱ_{−1} = 1).
    expect(ddimStep(s3, 0, Float64Array.of(0.3), Float64Array.of(0.2), Float64Array.of(5), 1)[0]).toBeCloseTo(
      (0.3 - Math.sqrt(0.1) * 0.2) / Math.sqrt(0.9),
      14,
    );
  });

  it('DDPM at i = 2 with fixed-small, fixed-large and learned variance; no noise at i = 0', () => {
    const x = Float64Array.of(0.4);
    const eps = Float64Array.of(0.5);
    const x0 = (0.4 - Math.sqrt(0.496) * 0.5) / Math.sqrt(0.504);
    const mean = ((0.3 * Math.sqrt(0.72)) / 0.496) * x0 + ((0.28 * Math.sqrt(0.7)) / 0.496) * 0.4;
    const postVar = (0.3 * 0.28) / 0.496;
    const z = Float64Array.of(-1.3);
    expect(ddpmStep(s3, 2, x, eps, z, 'fixed_small')[0]).toBeCloseTo(mean + Math.sqrt(postVar) * -1.3, 14);
    expect(ddpmStep(s3, 2, x, eps, z, 'fixed_large')[0]).toBeCloseTo(mean + Math.sqrt(0.3) * -1.3, 14);
    // v = 0.5 → f = 0.75: log Σ = 0.75·log 0.3 + 0.25·log β̃_2
    const logVar = 0.75 * Math.log(0.3) + 0.25 * Math.log(postVar);
    expect(ddpmStep(s3, 2, x, eps, z, 'learned', Float64Array.of(0.5))[0]).toBeCloseTo(mean + Math.exp(0.5 * logVar) * -1.3, 14);
    const x0at0 = (0.4 - Math.sqrt(0.1) * 0.5) / Math.sqrt(0.9);
    expect(ddpmStep(s3, 0, x, eps, z, 'fixed_small')[0]).toBeCloseTo((0.1 / 0.1) * x0at0, 14);
  });
});

describe('sampling loop', () => {
  const shape = [2, 1, 2, 3];
  const x0 = Float64Array.of(-1, -0.5, 0, 0.25, 0.9, 1, 0.3, -0.2, 0.7, -0.95, 0.05, 0.6);
  /** ε that a perfect model of the single point x0 would predict: (x_t − √ᾱ_t·x0)/√(1 − ᾱ_t). */
  const oracle =
    (base: typeof s3): Denoiser =>
    (x, t) => {
      const a = base.alphasCumprod[t] as number;
      return { eps: x.map((xv, k) => (xv - Math.sqrt(a) * (x0[k] as number)) / Math.sqrt(1 - a)) };
    };

  it('DDIM with η = 0 and an oracle ε recovers x0 exactly (1000 → 50 and 1000 → 7 steps)', async () => {
    const base = linearSchedule(1000);
    for (const steps of [50, 7]) {
      const out = await sampleLoop({
        plan: respace(base, steps),
        sampler: { kind: 'ddim', eta: 0 },
        denoiser: oracle(base),
        shape,
        labels: Int32Array.of(0, 1),
        rng: new Prng(3),
      });
      out.forEach((v, k) => expect(Math.abs(v - (x0[k] as number))).toBeLessThan(1e-12));
    }
  });

  it('calls the denoiser with the original timesteps, largest first, and the step index', async () => {
    const base = linearSchedule(1000);
    const seen: [number, number][] = [];
    const plan = respace(base, 5);
    await sampleLoop({
      plan,
      sampler: { kind: 'ddpm' },
      denoiser: (x, t, _y, step) => (seen.push([t, step]), { eps: new Float64Array(x.length) }),
      shape,
      labels: Int32Array.of(0, 1),
      rng: new Prng(1),
    });
    // stride 999/4 = 249.75: t = round(i·249.75) = 0, 250, 500, 749, 999, walked from the top.
    expect(seen).toEqual([
      [999, 0],
      [749, 1],
      [500, 2],
      [250, 3],
      [0, 4],
    ]);
    expect(plan.timesteps).toEqual([0, 250, 500, 749, 999]);
  });
});

describe('guidance and switching', () => {
  it('classifier-free guidance: one doubled call, labels [y; null], ε = ε_u + s·(ε_c − ε_u), v from the conditional half', async () => {
    const calls: number[][] = [];
    // Inner model: ε = label + x, v = label/10.
    const inner: Denoiser = (x, _t, labels) => {
      calls.push([...labels]);
      const per = x.length / labels.length;
      return { eps: x.map((xv, k) => xv + (labels[Math.floor(k / per)] as number)), v: x.map((_xv, k) => (labels[Math.floor(k / per)] as number) / 10) };
    };
    const g = guided(inner, 3, 10);
    const out = await g(Float64Array.of(1, 2), 5, Int32Array.of(4, 7), 0);
    expect(calls).toEqual([[4, 7, 10, 10]]);
    // sample 0: ε_c = 1 + 4, ε_u = 1 + 10 → 11 + 3·(5 − 11) = −7; sample 1: 12 + 3·(9 − 12) = 3
    expect([...out.eps]).toEqual([-7, 3]);
    expect([...(out.v ?? [])]).toEqual([0.4, 0.7]);
  });

  it('switch = [UNet when t > 600, SmallUNet] picks UNet above 600 and SmallUNet otherwise', async () => {
    const tag =
      (name: string): Denoiser =>
      (x) => ({ eps: new Float64Array(x.length).fill(name === 'UNet' ? 1 : 2) });
    const arms = [
      { name: 'UNet', denoiser: tag('UNet'), when: (t: number) => t > 600 },
      { name: 'SmallUNet', denoiser: tag('SmallUNet') },
    ];
    const sw = switching(arms);
    const base = linearSchedule(1000);
    await sampleLoop({
      plan: respace(base, 10),
      sampler: { kind: 'ddim', eta: 0 },
      denoiser: sw,
      shape: [1, 1, 1, 1],
      labels: Int32Array.of(0),
      rng: new Prng(2),
    });
    expect(sw.trace.map(([t]) => t)).toEqual([999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
    expect(sw.trace.map(([, n]) => n)).toEqual(['UNet', 'UNet', 'UNet', 'UNet', 'SmallUNet', 'SmallUNet', 'SmallUNet', 'SmallUNet', 'SmallUNet', 'SmallUNet']);
    expect([pickArm(arms, 600).name, pickArm(arms, 601).name]).toEqual(['SmallUNet', 'UNet']);
    expect(() => switching([arms[0] as (typeof arms)[0]])).toThrow(/must be the unconditional default/);
  });
});
