// The sampling loop: start from x_T ~ N(0, I), walk the respaced timesteps from last to first,
// ask the denoiser for ε (and v) at the ORIGINAL timestep, and apply one DDPM or DDIM step.
//
// Example:
//   const plan = respace(linearSchedule(1000), 50);              // compiler side: plain data
//   const x0 = await sampleLoop({ plan, sampler: { kind: 'ddim', eta: 0 }, denoiser, shape: [4, 1, 28, 28],
//                           labels: Int32Array.of(0, 1, 2, 3), rng: new Prng(1) });

import type { Prng } from '../data/prng.ts';
import { ddimStep, ddpmStep } from './steps.ts';
import type { Denoiser, SamplerKind, SamplerPlan, VarianceMode } from './types.ts';

export interface SampleLoopOptions {
  plan: SamplerPlan;
  sampler: SamplerKind;
  denoiser: Denoiser;
  /** [B, C, H, W] of x. */
  shape: readonly number[];
  labels: Int32Array;
  rng: Prng;
  /** DDPM variance: 'learned' when the model outputs v (default then), else 'fixed_small'. */
  variance?: VarianceMode;
  /** Start from this x_T instead of fresh noise (tests). */
  xT?: Float64Array;
  /** Called after each step with the step index (0 = first step taken, at the largest t). */
  onStep?: (step: number, t: number) => void;
}

function normals(rng: Prng, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) out[k] = rng.nextNormal();
  return out;
}

/** Returns x_0 [B, C, H, W] (values roughly in [−1, 1]). */
export async function sampleLoop(o: SampleLoopOptions): Promise<Float64Array> {
  const n = o.shape.reduce((p, d) => p * d, 1);
  if (o.labels.length !== (o.shape[0] ?? 0)) throw new Error(`sampleLoop: ${o.labels.length} labels for a batch of ${o.shape[0] ?? 0}`);
  let x = o.xT ?? normals(o.rng, n);
  if (x.length !== n) throw new Error(`sampleLoop: x_T has ${x.length} values, the shape needs ${n}`);
  const { schedule, timesteps } = o.plan;
  let step = 0;
  for (let i = timesteps.length - 1; i >= 0; i--, step++) {
    const t = timesteps[i] as number;
    const out = await o.denoiser(x, t, o.labels, step);
    if (out.eps.length !== n) throw new Error(`sampleLoop: the denoiser returned ${out.eps.length} ε values for ${n}`);
    // Noise is drawn on every step (even where unused) so runs with η = 0 and η > 0 stay aligned.
    const z = normals(o.rng, n);
    if (o.sampler.kind === 'ddim') x = ddimStep(schedule, i, x, out.eps, z, o.sampler.eta);
    else x = ddpmStep(schedule, i, x, out.eps, z, o.variance ?? (out.v ? 'learned' : 'fixed_small'), out.v);
    o.onStep?.(step, t);
  }
  return x;
}
