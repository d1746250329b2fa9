import { describe, expect, it } from 'vitest';
import { AdamW, Sgd } from '../../../runtime/train/optimizers.ts';
import { clipGlobalNorm, GradAccumulator, globalNorm } from '../../../runtime/train/gradients.ts';
import { Ema } from '../../../runtime/train/ema.ts';
import { Prng } from '../../../runtime/data/prng.ts';

const two = (a: number, b: number) => new Float32Array([a, b]);
const expectClose = (actual: Float32Array, expected: number[], tol = 1e-6) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i]! - e)).toBeLessThan(tol));
};

describe('AdamW', () => {
  it('matches hand-computed values for two steps on a 2-element parameter', () => {
    // p = [1, -2], g = [0.5, -1] both steps, lr 0.1, β (0.9, 0.999), eps 1e-8, wd 0.01.
    // Step 1: decay p·(1 − 0.001) = [0.999, −1.998]; m = 0.1g, v = 0.001g²; bias-corrected m̂ = g,
    //   v̂ = g², so the step is lr·g/(|g| + 1e-8) = [0.099999998, −0.099999999] → [0.899000002, −1.898000001].
    // Step 2: the corrected moments are again g and g² (constant g), so the step repeats:
    //   p = [0.899000002·0.999 − 0.099999998, −1.898000001·0.999 + 0.099999999] = [0.798101004, −1.796102002].
    const params = new Map([['w', two(1, -2)]]);
    const grads = new Map([['w', two(0.5, -1)]]);
    const opt = new AdamW({ weightDecay: 0.01 });
    opt.step(params, grads, 0.1);
    expectClose(params.get('w')!, [0.899000002, -1.898000001]);
    opt.step(params, grads, 0.1);
    expectClose(params.get('w')!, [0.798101004, -1.796102002]);
    const state = opt.getState();
    expect(state.step).toBe(2);
    // m after 2 steps = (1 − 0.9²)·g = 0.19g; v = (1 − 0.999²)·g² = 0.001999g².
    expectClose(state.tensors.get('exp_avg/w')!, [0.095, -0.19], 1e-8);
    expectClose(state.tensors.get('exp_avg_sq/w')!, [0.00049975, 0.001999], 1e-9);
  });

  it('agrees with a straightforward reference over 20 steps with varying grads and lr', () => {
    const rng = new Prng(7);
    const n = 5;
    const init = Float32Array.from({ length: n }, () => rng.nextNormal());
    const params = new Map([
      ['a', init.slice()],
      ['b', two(0.3, -0.7)],
    ]);
    // Reference: plain arrays, f64, the textbook AdamW with the same decoupled decay.
    const ref = { a: [...init], b: [0.3, -0.7] };
    const mom: Record<string, { m: number[]; v: number[] }> = { a: { m: Array(n).fill(0), v: Array(n).fill(0) }, b: { m: [0, 0], v: [0, 0] } };
    const [b1, b2, eps, wd] = [0.9, 0.95, 1e-8, 0.1];
    const opt = new AdamW({ betas: [b1, b2], weightDecay: wd, decays: (name) => name !== 'b' });
    for (let t = 1; t <= 20; t++) {
      const lr = 1e-2 * (1 + Math.sin(t));
      const ga = Float32Array.from({ length: n }, () => rng.nextNormal());
      const gb = Float32Array.from({ length: 2 }, () => rng.nextNormal());
      opt.step(
        params,
        new Map([
          ['a', ga],
          ['b', gb],
        ]),
        lr,
      );
      for (const [key, g, decays] of [
        ['a', ga, true],
        ['b', gb, false],
      ] as const) {
        const p = ref[key];
        const s = mom[key]!;
        for (let i = 0; i < p.length; i++) {
          if (decays) p[i] = p[i]! * (1 - lr * wd);
          s.m[i] = b1 * s.m[i]! + (1 - b1) * g[i]!;
          s.v[i] = b2 * s.v[i]! + (1 - b2) * g[i]! ** 2;
          const mHat = s.m[i]! / (1 - b1 ** t);
          const vHat = s.v[i]! / (1 - b2 ** t);
          p[i] = p[i]! - (lr * mHat) / (Math.sqrt(vHat) + eps);
        }
      }
    }
    // f32 state and parameters against the f64 reference: tolerance 1e-5.
    expectClose(params.get('a')!, ref.a, 1e-5);
    expectClose(params.get('b')!, ref.b, 1e-5);
  });

  it('resumes bit-identically from getState/setState', () => {
    const rng = new Prng(3);
    const gradsAt = (t: number) => new Map([['w', Float32Array.from({ length: 4 }, (_, i) => Math.sin(t * 7 + i))]]);
    const a = new Map([['w', Float32Array.from({ length: 4 }, () => rng.nextNormal())]]);
    const b = new Map([['w', a.get('w')!.slice()]]);
    const optA = new AdamW();
    for (let t = 0; t < 3; t++) optA.step(a, gradsAt(t), 0.01);
    const optB = new AdamW();
    b.set('w', a.get('w')!.slice());
    optB.setState(optA.getState());
    for (let t = 3; t < 6; t++) {
      optA.step(a, gradsAt(t), 0.01);
      optB.step(b, gradsAt(t), 0.01);
    }
    expect([...b.get('w')!]).toEqual([...a.get('w')!]);
    expect(() => new Sgd().setState(optA.getState())).toThrow(/adamw optimizer state into sgd/);
  });
});

describe('SGD', () => {
  it('matches hand-computed momentum steps (dampening 0, nesterov off)', () => {
    // p = [1, -2], g = [0.5, -1], lr 0.1, μ 0.9: b1 = g → p = [0.95, −1.9];
    // b2 = 0.9·g + g = [0.95, −1.9] → p = [0.855, −1.71].
    const params = new Map([['w', two(1, -2)]]);
    const grads = new Map([['w', two(0.5, -1)]]);
    const opt = new Sgd({ momentum: 0.9 });
    opt.step(params, grads, 0.1);
    expectClose(params.get('w')!, [0.95, -1.9]);
    opt.step(params, grads, 0.1);
    expectClose(params.get('w')!, [0.855, -1.71]);
    expectClose(opt.getState().tensors.get('momentum_buffer/w')!, [0.95, -1.9]);
  });

  it('adds coupled weight decay to the gradient', () => {
    // g' = g + 0.1·p = [0.6, −1.2]; p = [1 − 0.06, −2 + 0.12] = [0.94, −1.88].
    const params = new Map([['w', two(1, -2)]]);
    new Sgd({ momentum: 0.5, weightDecay: 0.1 }).step(params, new Map([['w', two(0.5, -1)]]), 0.1);
    expectClose(params.get('w')!, [0.94, -1.88]);
  });
});

describe('gradient clipping and accumulation', () => {
  it('clips to the global norm like clip_grad_norm_', () => {
    // ‖[3, 4]‖ = 5 → scaled by 1/(5 + 1e-6) ≈ [0.6, 0.8]; a norm under the limit is left alone.
    const grads = new Map([
      ['a', new Float32Array([3])],
      ['b', new Float32Array([4])],
    ]);
    expect(clipGlobalNorm(grads, 1)).toBeCloseTo(5, 6);
    expect(grads.get('a')![0]).toBeCloseTo(0.6, 6);
    expect(grads.get('b')![0]).toBeCloseTo(0.8, 6);
    expect(globalNorm(grads)).toBeCloseTo(1, 5);
    const small = new Map([['a', two(0.3, 0.4)]]);
    expect(clipGlobalNorm(small, 1)).toBeCloseTo(0.5, 6);
    expect([...small.get('a')!]).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });

  it('averages micro-batch losses and gradients', () => {
    const acc = new GradAccumulator();
    acc.add(1, new Map([['w', two(1, 2)]]));
    acc.add(3, new Map([['w', two(3, -2)]]));
    const { loss, grads } = acc.take();
    expect(loss).toBe(2);
    expect([...grads.get('w')!]).toEqual([2, 0]);
    expect(acc.count).toBe(0);
    acc.add(0, new Map([['w', two(0, 0)]]));
    expect(() => acc.add(0, new Map([['v', two(0, 0)]]))).toThrow(/'v' was absent/);
  });
});

describe('EMA', () => {
  it('moves the shadow toward the parameters by (1 − decay)', () => {
    // shadow starts at [1, −2]; params become [2, 0]; decay 0.9 → [1.1, −1.8], then [1.19, −1.62].
    const params = new Map([['w', two(1, -2)]]);
    const ema = new Ema(params, 0.9);
    params.set('w', two(2, 0));
    ema.update(params);
    expectClose(ema.shadow.get('w') as Float32Array, [1.1, -1.8]);
    ema.update(params);
    expectClose(ema.shadow.get('w') as Float32Array, [1.19, -1.62]);
  });

  it('warms the decay up as min(decay, (1 + step) / (10 + step)) when given the step', () => {
    // step 1: d = 2/11; shadow [0] → (9/11)·4 = 3.2727…; step 2: d = min(0.5, 3/12) = 0.25 →
    // 0.25·3.2727 + 0.75·4 = 3.8182; step 90: d = min(0.5, 91/100) = 0.5.
    const params = new Map([['w', two(0, 0)]]);
    const ema = new Ema(params, 0.5);
    params.set('w', two(4, -4));
    ema.update(params, 1);
    expectClose(ema.shadow.get('w') as Float32Array, [36 / 11, -36 / 11]);
    ema.update(params, 2);
    expectClose(ema.shadow.get('w') as Float32Array, [0.25 * (36 / 11) + 3, -(0.25 * (36 / 11) + 3)]);
    expect(ema.decayAt(90)).toBe(0.5);
    expect(ema.decayAt()).toBe(0.5);
  });
});
