// The `diffusion(eps, sigma)` loss rule for the train loss table (compiler/lower/lower-train-loss.ts).
//
// Contract with the training job (the data side of a diffusion step):
//   - the model's image input `x` holds x_t = q_sample(x_0, t, noise) and its input `t` holds the
//     integer timesteps (as f32), both as the model declares them;
//   - the rule adds two graph inputs the job must feed: `diffusion.noise` (the noise that made x_t)
//     and `diffusion.x_start` (x_0 in [−1, 1]), both shaped like `eps`;
//   - the schedule is the linear β schedule with T = DIFFUSION_T (seeds.md §5).
// The job draws t and noise on the host (runtime/sample/q-sample.ts has the same q_sample in
// plain numbers) — drawing them in the graph would tie the model's input x to a graph node.

import type { Node } from '../ir/graph.ts';
import type { CallCtx } from '../layers/context.ts';
import { fmt } from '../layers/context.ts';
import { diffusionLoss } from './diffusion.ts';
import { linearSchedule, type DiffusionSchedule } from './diffusion-schedule.ts';

export const DIFFUSION_T = 1000;
export const NOISE_INPUT = 'diffusion.noise';
export const X_START_INPUT = 'diffusion.x_start';

let cached: DiffusionSchedule | undefined;
/** The schedule every diffusion loss trains with (and `scion eval`'s timestep bands measure over). */
export function diffusionSchedule(): DiffusionSchedule {
  cached ??= linearSchedule(DIFFUSION_T);
  return cached;
}

/** The model input called `name`, found among the graph's input nodes. */
function modelInput(c: CallCtx, name: string, want: string): Node {
  const node = c.b.nodes.find((n) => n.op === 'input' && n.attrs['name'] === name);
  if (node === undefined) c.fail(`the diffusion loss needs the model to take ${want} as an input named '${name}'`);
  return node;
}

/** Rule body, typed against CallCtx only so the loss table can hold it as a LossRule. */
export function diffusionLossRule(c: CallCtx): Node {
  const b = c.b;
  const eps = c.tensor('eps');
  const sigma = c.optTensor('sigma');
  if (eps.shape.length < 2 || (eps.dtype !== 'f32' && eps.dtype !== 'f16')) c.fail(`'eps' must be a float tensor [B, …], found ${eps.dtype}${fmt(eps.shape)}`);
  if (sigma !== undefined && fmt(sigma.shape) !== fmt(eps.shape)) c.fail(`'sigma' ${fmt(sigma.shape)} must have the shape of 'eps' ${fmt(eps.shape)}`);
  const xT = modelInput(c, 'x', 'the noisy image x_t');
  const t = modelInput(c, 't', 'the timesteps');
  if (fmt(xT.shape) !== fmt(eps.shape)) c.fail(`'eps' ${fmt(eps.shape)} must have the shape of the model input x ${fmt(xT.shape)}`);
  if (t.shape.length !== 1 || t.shape[0] !== eps.shape[0]) c.fail(`the model input t must be [${eps.shape[0] ?? '?'}], found ${fmt(t.shape)}`);
  const noise = b.input(NOISE_INPUT, eps.shape, eps.dtype);
  const xStart = b.input(X_START_INPUT, eps.shape, eps.dtype);
  const parts = diffusionLoss(b, diffusionSchedule(), sigma === undefined ? { eps, noise, xStart, xT, t } : { eps, v: sigma, noise, xStart, xT, t });
  return parts.loss;
}
