// `loss = diffusion(eps, sigma)` through the train loss table: the lowered train graph's loss equals
// the scalar reference computed from the model's own outputs (T = 1000 linear schedule).

import { describe, expect, it } from 'vitest';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { lowerTrain } from '../../../compiler/lower/lower-train.ts';
import { linearBetas } from '../../../compiler/objectives/diffusion-schedule.ts';
import { NOISE_INPUT, X_START_INPUT } from '../../../compiler/objectives/diffusion-loss.ts';
import { parseProgram } from '../../../grammar/dsl/parse.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { tensor, type Tensor } from '../../../runtime/cpu/tensor.ts';
import { vbRef } from './diffusion-reference.ts';

const SPEC = `
model Tiny(size = 4, channels = 1) {
  input x: f32[batch, channels, size, size]
  input t: f32[batch]
  out = Conv2d(x, channels * 2) as conv
  output eps = chunk(out, 2, 0, axis = 1)
  output sigma = chunk(out, 2, 1, axis = 1)
}
train Tiny {
  data = mnist(split = "train")
  loss = diffusion(eps, sigma)
  steps = 1
}
`;

const wave = (n: number, k: number, s = 1): number[] => Array.from({ length: n }, (_, i) => s * Math.sin(1.7 * i + k));

describe('diffusion(eps, sigma) in the train loss table', () => {
  it('equals mse + vb of the model outputs, with noise and x_start fed as diffusion.* inputs', () => {
    const { program, diagnostics } = parseProgram(SPEC, 'tiny.scion');
    expect(diagnostics).toEqual([]);
    const train = lowerTrain(program, 'Tiny', { batch: 2, grads: false });
    const inputs = train.graph.nodes.filter((n) => n.op === 'input').map((n) => n.attrs['name']);
    expect(inputs).toEqual(['x', 't', NOISE_INPUT, X_START_INPUT]);

    const n = 16;
    const x0 = wave(2 * n, 0.3, 0.9);
    const noise = wave(2 * n, 1.1);
    const ts = [0, 437];
    const betas = [...linearBetas(1000)];
    const xt = x0.map((x, i) => {
      const a = betas.slice(0, (ts[Math.floor(i / n)] as number) + 1).reduce((p, b) => p * (1 - b), 1);
      return Math.sqrt(a) * x + Math.sqrt(1 - a) * (noise[i] as number);
    });
    const feeds = new Map<string, Tensor>([
      ['conv.weight', tensor(wave(18, 2, 0.3), [2, 1, 3, 3])],
      ['conv.bias', tensor([0.05, -0.1], [2])],
      ['x', tensor(xt, [2, 1, 4, 4])],
      ['t', tensor(ts, [2])],
      [NOISE_INPUT, tensor(noise, [2, 1, 4, 4])],
      [X_START_INPUT, tensor(x0, [2, 1, 4, 4])],
    ]);
    const loss = runGraph(train.graph, feeds, { dtype: 'f64', outputs: ['loss'] }).get('loss')?.data[0] as number;

    const fwd = runGraph(lowerModel(program, 'Tiny', { dims: { batch: 2 } }).graph, feeds, { dtype: 'f64' });
    const eps = [...(fwd.get('eps')?.data ?? [])];
    const v = [...(fwd.get('sigma')?.data ?? [])];
    const mse = eps.reduce((p, e, i) => p + (e - (noise[i] as number)) ** 2, 0) / eps.length;
    const sl = (a: number[], k: number): number[] => a.slice(k * n, (k + 1) * n);
    const vb = (vbRef(betas, 0, sl(x0, 0), sl(xt, 0), sl(eps, 0), sl(v, 0)) + vbRef(betas, 437, sl(x0, 1), sl(xt, 1), sl(eps, 1), sl(v, 1))) / 2;
    expect(loss).toBeCloseTo(mse + vb, 10);
  });
});
