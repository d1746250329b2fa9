// activation and learned_mask channel scores for a tiny UNet, each against a computation here:
// activation means from the producing layers' taps of a separately run forward, and the learned
// mask's first straight-through step against finite differences of the ε-loss with conv_in's
// output channels scaled through its weights and bias. Calibration batches are drawn here
// (4×4 images: MNIST does not fit), through unetScoring's `calib` hook.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Node } from '../../../compiler/ir/graph.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import type { HostTensor } from '../../../compiler/presets/index.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { channelSpaces } from '../../../jobs/inherit/layout/channels.ts';
import { layoutOf } from '../../../jobs/inherit/layout/layout-from-model.ts';
import type { UnitRuleSpec } from '../../../jobs/inherit/spec/spec-fields.ts';
import { unetScoring, type UnetBatch } from '../../../jobs/inherit/score/unet-scoring.ts';
import { parse, randoms, randomWeights } from './helpers.ts';

const SPEC = `model V(size = 4, channels = 1, base = 8, classes = 3, groups = 4) preset unet {
  input x: f32[batch, channels, size, size]
  input t: f32[batch]
  input y: i32[batch]
  temb = TimestepEmbedding(t, base * 2, freq_dim = 8) as time_embedding + LabelEmbedding(y, classes, base * 2) as class_embedding
  h0 = Conv2d(x, base) as conv_in
  d0 = ResBlock(h0, base, temb, groups = groups) as down[0].res[0]
  d1 = ResBlock(d0, base * 2, temb, groups = groups) as down[1].res[0]
  output eps = Conv2d(silu(GroupNorm(d1, groups = groups) as norm_out), channels) as conv_out
}
`;
const parent = lowerModel(parse(SPEC), 'V');
const W = randomWeights(parent, 3);
const read = async (p: string) => W.get(p)!;
const BATCHES: UnetBatch[] = [0, 1].map((k) => ({
  x: randoms(16, 50 + k, 1),
  t: Float32Array.of(100 + 400 * k),
  y: Int32Array.of(k + 1),
  noise: randoms(16, 70 + k, 1),
}));
const spaces = new Map(channelSpaces(layoutOf(parent)).map((g) => [g.key, g]));
const scoring = () => unetScoring(parent, read, { calib: () => BATCHES });
const rule = (metric: 'activation' | 'learned_mask', steps = 0, penalty = 0): Extract<UnitRuleSpec, { kind: 'metric' }> => ({
  kind: 'metric',
  metric,
  calib: undefined,
  steps,
  penalty,
  span: parent.instance.decl.span,
});

/** Runs V on one batch with weights `w`; returns eps and the named taps. */
function run(w: ReadonlyMap<string, HostTensor>, b: UnetBatch, taps: string[] = []): Map<string, Tensor> {
  const { builder, nodes } = GraphBuilder.from(parent.graph);
  for (const t of taps) builder.output(`tap:${t}`, nodes[parent.taps.get(t)!] as Node);
  const feeds = new Map<string, Tensor>(parent.params.map((p) => [p.path, { dtype: 'f32', shape: p.shape, data: w.get(p.path)!.data }]));
  feeds.set('x', { dtype: 'f32', shape: [1, 1, 4, 4], data: b.x });
  feeds.set('t', { dtype: 'f32', shape: [1], data: b.t });
  feeds.set('y', { dtype: 'i32', shape: [1], data: b.y });
  return runGraph(builder.build(), feeds, { dtype: 'f32' });
}

describe('UNet activation scores', () => {
  it('are mean |x| of each producing layer output per channel, averaged over each GroupNorm group', async () => {
    expect([...spaces.keys()].sort()).toEqual(['conv_in:out', 'down.1.res.0:out', 'time_embedding:out']);
    const s = scoring();
    for (const [key, tap] of [
      ['conv_in:out', 'conv_in'],
      ['down.1.res.0:out', 'down.1.res.0'],
      ['time_embedding:out', 'time_embedding'],
    ] as const) {
      const g = spaces.get(key)!;
      const r = s.unitRule('channels', rule('activation'), new Map());
      if (r.kind !== 'metric') throw new Error('expected a metric rule');
      const { scores } = await r.score(g);
      const unit = g.members[0]!.unit;
      const C = g.units * unit;
      const sum = new Float64Array(C);
      let per = 0;
      for (const b of BATCHES) {
        const v = run(W, b, [tap]).get(`tap:${tap}`)!.data; // batch 1: [C, H·W] or [C]
        per = v.length / C;
        for (let c = 0; c < C; c++) for (let p = 0; p < per; p++) sum[c] = sum[c]! + Math.abs(v[c * per + p]!);
      }
      for (let u = 0; u < g.units; u++) {
        let e = 0;
        for (let j = 0; j < unit; j++) e += sum[u * unit + j]! / (per * BATCHES.length) / unit;
        expect(scores[u], `${key} unit ${u}`).toBeCloseTo(e, 5);
      }
    }
  });
});

describe('UNet learned masks', () => {
  it('take their first straight-through step along −∂L/∂m (finite differences through conv_in rows), deterministically', async () => {
    const key = 'conv_in:out';
    const g = spaces.get(key)!; // 8 channels in 4 units of 2
    expect([g.units, g.members[0]!.unit]).toEqual([4, 2]);
    const score = async (steps: number, penalty: number) => {
      const r = scoring().unitRule('channels', rule('learned_mask', steps, penalty), new Map([[key, 2]]));
      if (r.kind !== 'metric') throw new Error('expected a metric rule');
      return Array.from((await r.score(g)).scores);
    };
    const s1 = await score(1, 0);
    // ε-loss of batch 0 with conv_in's output channel c scaled by m[c] (weight rows and bias).
    const loss = (m: number[]) => {
      const w = new Map(W);
      const cw = W.get('conv_in.weight')!,
        cb = W.get('conv_in.bias')!;
      w.set('conv_in.weight', { shape: cw.shape, data: Float32Array.from(cw.data, (v, i) => v * m[Math.floor(i / 9)]!) });
      w.set('conv_in.bias', { shape: cb.shape, data: Float32Array.from(cb.data, (v, i) => v * m[i]!) });
      const e = run(w, BATCHES[0]!).get('eps')!.data;
      return Array.from(e).reduce((a, v, i) => a + (v - BATCHES[0]!.noise[i]!) ** 2, 0) / e.length;
    };
    // All logits start at 0: the hard mask keeps units 0 and 1 (channels 0..3).
    const hard = Array.from({ length: 8 }, (_, c) => (c < 4 ? 1 : 0));
    let checked = 0;
    for (let u = 0; u < 4; u++) {
      const eps = 1e-2;
      const at = (d: number) => loss(hard.map((v, c) => (Math.floor(c / 2) === u ? v + d : v)));
      const grad = (at(eps) - at(-eps)) / (2 * eps); // ∂L/∂m_u = Σ over the unit's channels
      if (Math.abs(grad) < 1e-4) continue;
      expect(s1[u], `unit ${u}`).toBeCloseTo(1 / (1 + Math.exp(grad > 0 ? 0.1 : -0.1)), 4);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(3);
    const a = await score(3, 1),
      b = await score(3, 1);
    expect(a).toEqual(b);
    expect(a.some((v) => Math.abs(v - 0.5) > 0.03)).toBe(true);
  });
});
