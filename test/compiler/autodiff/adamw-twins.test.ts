// The two AdamW implementations (with global-norm clipping) are one update: the fused graph's
// (compiler/autodiff/train-step.ts, run here by the f64 CPU interpreter) and the host optimizer's
// (runtime/train/optimizers.ts), step by step on a loss whose gradient is known in closed form: loss = Σ w·x ⇒ ∂loss/∂w = x.

import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../../compiler/ir/text.ts';
import { buildTrainStep, newName, stateName } from '../../../compiler/autodiff/train-step.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { clipGlobalNorm } from '../../../runtime/train/gradients.ts';
import { AdamW } from '../../../runtime/train/optimizers.ts';

const FWD = parseGraph(`%0: f32[4] = input {name="x"}
%1: f32[4] = param {name="w", trainable=true}
%2: f32[4] = mul %0, %1
%3: f32[] = reduce_sum %2 {axes=[0], keepdim=false}
output "loss" = %3
`);

describe('AdamW: the fused training-step graph and the host optimizer agree', () => {
  it.each([
    { betas: [0.9, 0.999] as const, eps: 1e-8, weightDecay: 0.01, lr: 1e-2, clip: 0 },
    { betas: [0.8, 0.95] as const, eps: 1e-6, weightDecay: 0.1, lr: 3e-3, clip: 0 },
    // ‖x‖ ≥ 1.6 at every step, so clipping to 0.5 always scales the gradient.
    { betas: [0.9, 0.95] as const, eps: 1e-8, weightDecay: 0.01, lr: 1e-2, clip: 0.5 },
  ])('betas $betas, eps $eps, weight decay $weightDecay, clip $clip: five steps within 1e-6', ({ betas, eps, weightDecay, lr, clip }) => {
    const step = buildTrainStep(FWD, 'loss', { betas, eps, weightDecay, clip });
    const host = new AdamW({ betas, eps, weightDecay });
    const w = Float32Array.of(0.5, -1, 2, 0.25);
    const hostW = new Map([['w', w.slice()]]);
    const f = (data: Float32Array, shape: number[]): Tensor => ({ dtype: 'f32', shape, data });
    let graphW: Float32Array = w.slice();
    let m = new Float32Array(4);
    let v = new Float32Array(4);
    for (let t = 1; t <= 5; t++) {
      // A different gradient each step, with a sign change, so m and v move both ways.
      const x = Float32Array.of(0.3 * t, -0.7, t % 2 === 0 ? 1.5 : -1.5, 0.01 * t);
      const feeds = new Map<string, Tensor>([
        ['x', f(x, [4])],
        ['w', f(graphW, [4])],
        [stateName('m', 'w'), f(m, [4])],
        [stateName('v', 'w'), f(v, [4])],
        ['adam.lr', f(Float32Array.of(lr), [])],
        ['adam.bc1', f(Float32Array.of(1 - betas[0] ** t), [])],
        ['adam.bc2', f(Float32Array.of(1 - betas[1] ** t), [])],
      ]);
      const out = runGraph(step.graph, feeds, { dtype: 'f64' });
      graphW = Float32Array.from(out.get(newName('w'))!.data);
      m = Float32Array.from(out.get(newName(stateName('m', 'w')))!.data);
      v = Float32Array.from(out.get(newName(stateName('v', 'w')))!.data);
      const grads = new Map([['w', x.slice()]]);
      if (clip > 0) clipGlobalNorm(grads, clip);
      host.step(hostW, grads, lr);
      const got = hostW.get('w')!;
      for (let i = 0; i < 4; i++) expect(Math.abs((graphW[i] as number) - (got[i] as number))).toBeLessThan(1e-6);
    }
  });
});
