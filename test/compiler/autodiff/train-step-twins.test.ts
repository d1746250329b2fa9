// The one step builder's other updates against their host twins (runtime/train): SGD with
// momentum and coupled weight decay, the EMA of the parameters with the host's warm-up, gradient
// accumulation over micro-batches (acc buffers and the apply flag) with clipping of the mean, and
// the health outputs (grad_norm before clipping; nonfinite 0, or NaN once a gradient is infinite).
// The loss Σ w·x has the gradient x, so every step's gradient is chosen here.

import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../../compiler/ir/text.ts';
import { buildTrainStep, newName, STEP_SCALARS, stateName, type TrainStepGraph } from '../../../compiler/autodiff/train-step.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { clipGlobalNorm, globalNorm, GradAccumulator } from '../../../runtime/train/gradients.ts';
import { AdamW, Sgd, type Optimizer } from '../../../runtime/train/optimizers.ts';
import { Ema } from '../../../runtime/train/ema.ts';

const FWD = parseGraph(`%0: f32[4] = input {name="x"}
%1: f32[4] = param {name="w", trainable=true}
%2: f32[4] = mul %0, %1
%3: f32[] = reduce_sum %2 {axes=[0], keepdim=false}
output "loss" = %3
`);

const f = (data: Float32Array | number[], shape: number[] = [4]): Tensor => ({ dtype: 'f32', shape, data: Float32Array.from(data) });
/** A different gradient every micro-batch, signs changing, so state moves both ways. */
const xOf = (i: number): Float32Array => Float32Array.of(0.3 * (i + 1), -0.7 + 0.1 * i, i % 2 === 0 ? 1.5 : -1.5, 0.01 * (i + 1));

/** Runs `updates` updates of the graph step (f64 interpreter) beside the host loop's pieces; returns the max differences. */
function twin(
  step: TrainStepGraph,
  host: Optimizer,
  o: { accumulate: number; clip: number; ema?: number; lr: number; betas?: readonly [number, number] },
  updates = 4,
) {
  const w0 = Float32Array.of(0.5, -1, 2, 0.25);
  const state = new Map<string, Float32Array>([['w', w0.slice()]]);
  for (const s of step.state) for (const input of s.inputs) state.set(input, s.kind === 'ema' ? w0.slice() : new Float32Array(4));
  const hostW = new Map([['w', w0.slice()]]);
  const ema = o.ema === undefined ? undefined : new Ema(hostW, o.ema);
  let diff = 0;
  let normDiff = 0;
  for (let u = 0; u < updates; u++) {
    const t = u + 1;
    const acc = new GradAccumulator();
    for (let m = 0; m < o.accumulate; m++) {
      const x = xOf(u * o.accumulate + m);
      const feeds = new Map<string, Tensor>([['x', f(x)]]);
      for (const [name, v] of state) feeds.set(name, f(v));
      for (const name of step.scalars) {
        const value: Record<string, number> = {
          [STEP_SCALARS.adamLr]: o.lr,
          [STEP_SCALARS.sgdLr]: o.lr,
          [STEP_SCALARS.adamBc1]: 1 - (o.betas?.[0] ?? 0.9) ** t,
          [STEP_SCALARS.adamBc2]: 1 - (o.betas?.[1] ?? 0.999) ** t,
          [STEP_SCALARS.emaDecay]: ema?.decayAt(t) ?? 0,
          [STEP_SCALARS.apply]: m === o.accumulate - 1 ? 1 : 0,
        };
        feeds.set(name, f([value[name] as number], []));
      }
      const out = runGraph(step.graph, feeds, { dtype: 'f64' });
      for (const c of step.carry) state.set(c.input, Float32Array.from(out.get(c.output)!.data as ArrayLike<number>));
      acc.add(0, new Map([['w', x]]));
      if (m === o.accumulate - 1) {
        const { grads } = acc.take();
        const norm = o.clip > 0 ? clipGlobalNorm(grads, o.clip) : globalNorm(grads);
        normDiff = Math.max(normDiff, Math.abs((out.get('grad_norm')!.data[0] as number) - norm));
        expect(out.get('nonfinite')!.data[0]).toBe(0);
        host.step(hostW, grads, o.lr);
        ema?.update(hostW, t);
      }
    }
    const w = hostW.get('w')!;
    for (let i = 0; i < 4; i++) diff = Math.max(diff, Math.abs((state.get('w')![i] as number) - (w[i] as number)));
    if (ema !== undefined) {
      const s = ema.shadow.get('w')!;
      for (let i = 0; i < 4; i++) diff = Math.max(diff, Math.abs((state.get(stateName('ema', 'w'))![i] as number) - (s[i] as number)));
    }
    for (const s of step.state.filter((x) => x.kind === 'acc')) expect([...(state.get(s.inputs[0] as string) as Float32Array)]).toEqual([0, 0, 0, 0]);
  }
  return { diff, normDiff };
}

describe('buildTrainStep: SGD, EMA, accumulation and health outputs agree with the host loop', () => {
  it.each([
    { momentum: 0.9, weightDecay: 0.01, accumulate: 1, clip: 0 },
    { momentum: 0.9, weightDecay: 0, accumulate: 3, clip: 0.5 },
    { momentum: 0, weightDecay: 0.1, accumulate: 2, clip: 0 },
  ])('SGD momentum $momentum, weight decay $weightDecay, accumulate $accumulate, clip $clip: within 1e-6', (c) => {
    const step = buildTrainStep(FWD, 'loss', {
      kind: 'sgd',
      momentum: c.momentum,
      weightDecay: c.weightDecay,
      clip: c.clip,
      accumulate: c.accumulate,
      health: true,
    });
    expect(step.state.map((s) => s.kind)).toEqual([...(c.accumulate > 1 ? ['acc'] : []), ...(c.momentum > 0 ? ['momentum'] : [])]);
    const r = twin(step, new Sgd({ momentum: c.momentum, weightDecay: c.weightDecay }), { accumulate: c.accumulate, clip: c.clip, lr: 0.05 });
    expect(r.diff).toBeLessThan(1e-6);
    expect(r.normDiff).toBeLessThan(1e-6);
  });

  it('AdamW with an EMA (decay 0.99, warmed up), two micro-batches and clipping: within 1e-6', () => {
    const betas = [0.9, 0.95] as const;
    const step = buildTrainStep(FWD, 'loss', { betas, weightDecay: 0.01, clip: 0.8, accumulate: 2, ema: true, health: true });
    expect(step.state.map((s) => s.kind)).toEqual(['acc', 'm', 'v', 'ema']);
    const r = twin(step, new AdamW({ betas, weightDecay: 0.01 }), { accumulate: 2, clip: 0.8, ema: 0.99, lr: 1e-2, betas }, 5);
    expect(r.diff).toBeLessThan(1e-6);
    expect(r.normDiff).toBeLessThan(1e-6);
  });

  it('flags an infinite gradient: nonfinite is NaN, the loss and the norm say so too', () => {
    const step = buildTrainStep(FWD, 'loss', { health: true });
    const feeds = new Map<string, Tensor>([
      ['x', f([1, Infinity, 0, 0])],
      ['w', f([1, 1, 1, 1])],
      [stateName('m', 'w'), f([0, 0, 0, 0])],
      [stateName('v', 'w'), f([0, 0, 0, 0])],
      ['adam.lr', f([1e-3], [])],
      ['adam.bc1', f([0.1], [])],
      ['adam.bc2', f([0.001], [])],
    ]);
    const out = runGraph(step.graph, feeds, { dtype: 'f64' });
    expect(out.get('nonfinite')!.data[0]).toBeNaN();
    expect(out.get('grad_norm')!.data[0]).toBe(Infinity);
    expect(out.has(newName('w'))).toBe(true);
  });

  it('takes the gradients a graph already outputs, and drops them from the step', () => {
    const withGrad = parseGraph(`%0: f32[4] = input {name="x"}
%1: f32[4] = param {name="w", trainable=true}
%2: f32[4] = mul %0, %1
%3: f32[] = reduce_sum %2 {axes=[0], keepdim=false}
output "loss" = %3
output "grad:w" = %0
`);
    const step = buildTrainStep(withGrad, 'loss', { kind: 'sgd', grads: new Map([['w', 'grad:w']]) });
    expect(step.graph.outputs.map((o) => o.name)).toEqual(['loss', 'new:w']);
    const out = runGraph(
      step.graph,
      new Map([
        ['x', f([1, 2, 3, 4])],
        ['w', f([0, 0, 0, 0])],
        ['sgd.lr', f([0.5], [])],
      ]),
      { dtype: 'f64' },
    );
    expect([...out.get('new:w')!.data]).toEqual([-0.5, -1, -1.5, -2]);
  });
});
