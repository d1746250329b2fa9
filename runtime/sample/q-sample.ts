// q_sample in plain numbers, for the data side of a diffusion training step (x_t fed as the model's
// input x): x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·noise, with one t per sample.

import type { DiffusionSchedule } from './types.ts';

/** x0, noise [B, …] flat; t [B] integer timesteps. */
export function qSampleHost(s: DiffusionSchedule, x0: ArrayLike<number>, t: ArrayLike<number>, noise: ArrayLike<number>): Float32Array {
  const b = t.length;
  const per = x0.length / b;
  if (!Number.isInteger(per) || noise.length !== x0.length)
    throw new Error(`qSampleHost: ${x0.length} values, ${noise.length} noise values, ${b} timesteps do not fit`);
  const out = new Float32Array(x0.length);
  for (let i = 0; i < b; i++) {
    const a = s.alphasCumprod[t[i] as number];
    if (a === undefined) throw new RangeError(`qSampleHost: t = ${t[i]} is outside 0..${s.T - 1}`);
    const sa = Math.sqrt(a);
    const sb = Math.sqrt(1 - a);
    for (let k = i * per; k < (i + 1) * per; k++) out[k] = sa * (x0[k] as number) + sb * (noise[k] as number);
  }
  return out;
}
