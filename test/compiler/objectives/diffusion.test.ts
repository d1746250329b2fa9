// The diffusion objective against an independent scalar JS computation of DiT's formulas
// (gaussian_diffusion.py: q_sample, normal_kl, discretized_gaussian_log_likelihood, learned-range
// variance, _vb_terms_bpd), hand-checked small cases, and finite differences of the VB term wrt v.

import { describe, expect, it } from 'vitest';
import { gradients } from '../../../compiler/autodiff/grad.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Node } from '../../../compiler/ir/graph.ts';
import { linearBetas, linearSchedule, respace, scheduleFromBetas, type DiffusionSchedule } from '../../../compiler/objectives/diffusion-schedule.ts';
import {
  approxStandardNormalCdf,
  diffusionLoss,
  discretizedGaussianLogLikelihood,
  learnedRangeLogVariance,
  normalKl,
  qSample,
  vbTerm,
} from '../../../compiler/objectives/diffusion.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { tensor, type Tensor } from '../../../runtime/cpu/tensor.ts';
import { cdf, vbRef } from './diffusion-reference.ts';

const flat = (t: Tensor | undefined): number[] => [...(t?.data ?? [])];
const run = (b: GraphBuilder, feeds: [string, Tensor][]): Map<string, Tensor> => runGraph(b.build(), new Map(feeds), { dtype: 'f64' });

describe('diffusion schedule', () => {
  it('is the linear β schedule and its derived tables (hand-checked on β = 0.1, 0.2, 0.3)', () => {
    const b1000 = linearBetas(1000);
    expect(b1000[0]).toBeCloseTo(1e-4, 15);
    expect(b1000[999]).toBeCloseTo(0.02, 15);
    expect((b1000[1] as number) - (b1000[0] as number)).toBeCloseTo((0.02 - 1e-4) / 999, 15);
    const b100 = linearBetas(100);
    expect([b100[0], b100[99]]).toEqual([expect.closeTo(1e-3, 15), expect.closeTo(0.2, 15)]);

    const s = scheduleFromBetas(Float64Array.from([0.1, 0.2, 0.3]));
    expect([...s.alphasCumprod]).toEqual([expect.closeTo(0.9, 14), expect.closeTo(0.72, 14), expect.closeTo(0.504, 14)]);
    expect([...s.alphasCumprodPrev]).toEqual([1, expect.closeTo(0.9, 14), expect.closeTo(0.72, 14)]);
    // β̃_1 = 0.2·0.1/0.28, β̃_2 = 0.3·0.28/0.496; β̃_0 = 0 is clipped to β̃_1 in log space.
    expect(s.posteriorVariance[0]).toBe(0);
    expect(s.posteriorVariance[1]).toBeCloseTo(0.02 / 0.28, 14);
    expect(s.posteriorVariance[2]).toBeCloseTo(0.084 / 0.496, 14);
    expect(s.posteriorLogVarianceClipped[0]).toBeCloseTo(Math.log(0.02 / 0.28), 14);
    // coef1_2 = 0.3·√0.72/0.496, coef2_2 = 0.28·√0.7/0.496
    expect(s.posteriorMeanCoef1[2]).toBeCloseTo((0.3 * Math.sqrt(0.72)) / 0.496, 14);
    expect(s.posteriorMeanCoef2[2]).toBeCloseTo((0.28 * Math.sqrt(0.7)) / 0.496, 14);
  });

  it('respaces to evenly spaced steps keeping ᾱ at the kept steps', () => {
    const base = linearSchedule(1000);
    const { schedule, timesteps } = respace(base, 50);
    expect(timesteps).toHaveLength(50);
    expect([timesteps[0], timesteps[1], timesteps[49]]).toEqual([0, Math.round(999 / 49), 999]);
    timesteps.forEach((t, i) => expect(schedule.alphasCumprod[i]).toBeCloseTo(base.alphasCumprod[t] as number, 12));
  });
});

describe('diffusion graph compositions', () => {
  const s3 = scheduleFromBetas(Float64Array.from([0.1, 0.2, 0.3]));

  it('q_sample is √ᾱ_t·x0 + √(1−ᾱ_t)·noise per sample', () => {
    const b = new GraphBuilder();
    const x0 = b.input('x0', [2, 1, 1, 2]);
    const noise = b.input('noise', [2, 1, 1, 2]);
    const t = b.input('t', [2]);
    b.output('xt', qSample(b, s3, x0, t, noise));
    const out = run(b, [
      ['x0', tensor([1, -1, 0.5, 0.25], [2, 1, 1, 2])],
      ['noise', tensor([0.3, 0.7, -2, 1], [2, 1, 1, 2])],
      ['t', tensor([0, 2], [2])],
    ]);
    const want = [
      Math.sqrt(0.9) * 1 + Math.sqrt(0.1) * 0.3,
      -Math.sqrt(0.9) + Math.sqrt(0.1) * 0.7,
      Math.sqrt(0.504) * 0.5 - Math.sqrt(0.496) * 2,
      Math.sqrt(0.504) * 0.25 + Math.sqrt(0.496),
    ];
    flat(out.get('xt')).forEach((v, i) => expect(v).toBeCloseTo(want[i] as number, 14));
  });

  it('normal KL, the tanh CDF and the discretized likelihood match hand values', () => {
    const b = new GraphBuilder();
    const m1 = b.input('m1', [3]);
    const lv1 = b.input('lv1', [3]);
    const m2 = b.input('m2', [3]);
    const lv2 = b.input('lv2', [3]);
    b.output('kl', normalKl(b, m1, lv1, m2, lv2));
    b.output('cdf', approxStandardNormalCdf(b, m1));
    b.output('ll', discretizedGaussianLogLikelihood(b, m1, m2, lv2));
    const out = run(b, [
      ['m1', tensor([0, -1, 1], [3])],
      ['lv1', tensor([0, 0, Math.log(4)], [3])],
      ['m2', tensor([1, 0, 0], [3])],
      ['lv2', tensor([0, 0, 0], [3])],
    ]);
    // KL(N(0,1)‖N(1,1)) = ½; KL(N(-1,1)‖N(0,1)) = ½; KL(N(1,4)‖N(0,1)) = ½(−1 − ln4 + 4 + 1) = 2 − ln 2
    expect(flat(out.get('kl'))).toEqual([expect.closeTo(0.5, 14), expect.closeTo(0.5, 14), expect.closeTo(2 - Math.LN2, 14)]);
    // Φ(0) = ½ exactly; the tanh form is within 1e-3 of the true Φ(±1) = 0.158655, 0.841345.
    const c = flat(out.get('cdf'));
    expect(c[0]).toBe(0.5);
    expect(Math.abs((c[1] as number) - 0.158655)).toBeLessThan(1e-3);
    expect(Math.abs((c[2] as number) - 0.841345)).toBeLessThan(1e-3);
    // x = 0 under N(1, 1): an interior bin; x = −1 and x = 1 under N(0, 1): the edge bins take the tails.
    const ll = flat(out.get('ll'));
    expect(ll[0]).toBeCloseTo(Math.log(cdf(-1 + 1 / 255) - cdf(-1 - 1 / 255)), 12);
    expect(ll[1]).toBeCloseTo(Math.log(cdf(-1 + 1 / 255)), 12);
    expect(ll[2]).toBeCloseTo(Math.log(1 - cdf(1 - 1 / 255)), 12);
    // An interior bin one σ from the mean has mass ≈ φ(1)·2/255 (the tanh CDF is close to Φ).
    expect(ll[0]).toBeCloseTo(Math.log(((2 / 255) * Math.exp(-0.5)) / Math.sqrt(2 * Math.PI)), 2);
  });

  it('learned-range log Σ interpolates log β_t (v = 1) and log β̃_t (v = −1)', () => {
    const b = new GraphBuilder();
    const v = b.input('v', [3, 1]);
    const t = b.input('t', [3]);
    b.output('lv', learnedRangeLogVariance(b, s3, v, t));
    const out = run(b, [
      ['v', tensor([1, -1, 0], [3, 1])],
      ['t', tensor([2, 2, 1], [3])],
    ]);
    const lb2 = Math.log(0.3);
    const lpv2 = Math.log(0.084 / 0.496);
    expect(flat(out.get('lv'))).toEqual([
      expect.closeTo(lb2, 14),
      expect.closeTo(lpv2, 14),
      expect.closeTo(0.5 * Math.log(0.2) + 0.5 * Math.log(0.02 / 0.28), 14),
    ]);
  });
});

describe('the VB term and the full loss', () => {
  // Batch of 3 at t = 0, 1, 2 (t = 0 takes the decoder NLL), 4 elements each, x0 touching both edges.
  const s3 = scheduleFromBetas(Float64Array.from([0.1, 0.2, 0.3]));
  const shape = [3, 1, 2, 2];
  const x0 = [-1, 0.2, 1, -0.4, 0.5, -1, 0.1, 0.9, 1, 0.3, -0.7, 0];
  const noise = [0.3, -1.2, 0.8, 0.05, -0.4, 1.1, 0.6, -0.9, 0.2, -0.3, 1.5, -0.6];
  const eps = [0.25, -1, 0.9, 0.1, -0.5, 1, 0.4, -0.7, 0.3, -0.2, 1.3, -0.5];
  const v = [0.1, -0.3, 0.6, -0.9, 0.0, 0.4, -0.2, 0.8, -0.6, 0.3, 0.05, -0.1];
  const ts = [0, 1, 2];
  const xt = x0.map((x, i) => {
    const a = s3.alphasCumprod[ts[Math.floor(i / 4)] as number] as number;
    return Math.sqrt(a) * x + Math.sqrt(1 - a) * (noise[i] as number);
  });

  function build(): { b: GraphBuilder; vNode: Node; epsNode: Node; sched: DiffusionSchedule } {
    const b = new GraphBuilder();
    const epsNode = b.param('eps', shape);
    const vNode = b.param('v', shape);
    const { loss, mse, vb } = diffusionLoss(b, s3, {
      eps: epsNode,
      v: vNode,
      noise: b.input('noise', shape),
      xStart: b.input('x0', shape),
      xT: b.input('xt', shape),
      t: b.input('t', [3]),
    });
    b.output('loss', loss);
    b.output('mse', mse);
    if (vb) b.output('vb', vb);
    b.output('vb_per_sample', vbTerm(b, s3, { eps: epsNode, v: vNode, xStart: b.input('x0', shape), xT: b.input('xt', shape), t: b.input('t', [3]) }));
    return { b, vNode, epsNode, sched: s3 };
  }
  const feeds = (vv: number[], ee: number[] = eps): [string, Tensor][] => [
    ['eps', tensor(ee, shape)],
    ['v', tensor(vv, shape)],
    ['noise', tensor(noise, shape)],
    ['x0', tensor(x0, shape)],
    ['xt', tensor(xt, shape)],
    ['t', tensor(ts, [3])],
  ];

  it('matches the scalar reference per sample (KL at t > 0, decoder NLL at t = 0) and sums mse + vb', () => {
    const { b } = build();
    const out = run(b, feeds(v));
    const per = flat(out.get('vb_per_sample'));
    const betas = [0.1, 0.2, 0.3];
    ts.forEach((t, k) => {
      const sl = (a: number[]): number[] => a.slice(4 * k, 4 * k + 4);
      expect(per[k]).toBeCloseTo(vbRef(betas, t, sl(x0), sl(xt), sl(eps), sl(v)), 12);
    });
    const mseRef = eps.reduce((p, e, i) => p + (e - (noise[i] as number)) ** 2, 0) / eps.length;
    expect(out.get('mse')?.data[0]).toBeCloseTo(mseRef, 14);
    expect(out.get('vb')?.data[0]).toBeCloseTo(per.reduce((p, q) => p + q, 0) / 3, 14);
    expect(out.get('loss')?.data[0]).toBeCloseTo(mseRef + per.reduce((p, q) => p + q, 0) / 3, 14);
  });

  it('∂loss/∂v matches central finite differences; ε gets only the MSE gradient (VB sees ε detached)', () => {
    const { b, vNode, epsNode } = build();
    const loss = b.nodes[b.outputs.find((o) => o.name === 'loss')?.node ?? -1] as Node;
    const [gv, ge] = gradients(b, loss, [vNode, epsNode]);
    b.output('gv', gv as Node);
    b.output('ge', ge as Node);
    const out = run(b, feeds(v));
    const g = flat(out.get('gv'));
    const h = 1e-6;
    const lossAt = (vv: number[]): number => {
      const { b: b2 } = build();
      return run(b2, feeds(vv)).get('loss')?.data[0] as number;
    };
    for (let i = 0; i < v.length; i++) {
      const up = [...v];
      const dn = [...v];
      up[i] = (up[i] as number) + h;
      dn[i] = (dn[i] as number) - h;
      const fd = (lossAt(up) - lossAt(dn)) / (2 * h);
      expect(Math.abs((g[i] as number) - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    }
    expect(g.some((x) => Math.abs(x) > 1e-3)).toBe(true);
    // ∂mse/∂ε_i = 2(ε_i − noise_i)/N exactly: the VB term adds nothing through ε.
    flat(out.get('ge')).forEach((x, i) => expect(x).toBeCloseTo((2 * ((eps[i] as number) - (noise[i] as number))) / eps.length, 12));
  });

  it('without v the loss is the ε-MSE alone', () => {
    const b = new GraphBuilder();
    const e = b.input('eps', [1, 1, 1, 2]);
    const r = diffusionLoss(b, s3, { eps: e, noise: b.input('noise', [1, 1, 1, 2]), xStart: e, xT: e, t: b.input('t', [1]) });
    expect(r.vb).toBeUndefined();
    b.output('loss', r.loss);
    const out = run(b, [
      ['eps', tensor([1, 2], [1, 1, 1, 2])],
      ['noise', tensor([0, 0], [1, 1, 1, 2])],
      ['t', tensor([1], [1])],
    ]);
    expect(out.get('loss')?.data[0]).toBeCloseTo(2.5, 14);
  });
});
