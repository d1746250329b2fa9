// A-SDM multi-model switching: `switch = [UNet when t > 600, SmallUNet]` — the first alternative
// whose condition holds at the step's ORIGINAL timestep t runs; the last is the default. Each
// alternative is its own denoiser (with its own reuse cache).

import type { Denoiser, DenoiserOutput } from './types.ts';

export interface SwitchArm {
  /** The model's name, for reports. */
  name: string;
  denoiser: Denoiser;
  /** Absent on the default (last) arm. */
  when?: (t: number) => boolean;
}

export interface SwitchingDenoiser extends Denoiser {
  /** Which arm ran at each call, in order: [t, name]. */
  readonly trace: readonly (readonly [number, string])[];
}

/** The arm that runs at t. */
export function pickArm(arms: readonly SwitchArm[], t: number): SwitchArm {
  for (const a of arms) if (a.when === undefined || a.when(t)) return a;
  throw new Error(`switch: no alternative for t = ${t} and no default`);
}

export function switching(arms: readonly SwitchArm[]): SwitchingDenoiser {
  if (arms.length === 0) throw new Error('switch: no alternatives');
  const last = arms[arms.length - 1] as SwitchArm;
  if (last.when !== undefined) throw new Error(`switch: the last alternative (${last.name}) must be the unconditional default`);
  const trace: [number, string][] = [];
  const fn = (x: Float64Array, t: number, labels: Int32Array, step: number): DenoiserOutput | Promise<DenoiserOutput> => {
    const arm = pickArm(arms, t);
    trace.push([t, arm.name]);
    return arm.denoiser(x, t, labels, step);
  };
  return Object.defineProperty(fn, 'trace', { value: trace }) as SwitchingDenoiser;
}
