// The Gaussian-diffusion noise schedule (DiT / improved-diffusion `gaussian_diffusion.py`), in
// f64 numbers. This is plain data: the training objective bakes the tables into the graph as
// constants, and the samplers (runtime/sample) take the same object as input, so the runtime
// needs no compiler code and both sides read one definition.
//
// Example:
//   const s = linearSchedule(1000);  // β from 1e-4 to 0.02, ᾱ_t = Π_{s≤t} (1 − β_s)

/** The schedule tables, each of length T, indexed by the timestep t = 0 … T−1. */
export interface DiffusionSchedule {
  readonly T: number;
  readonly betas: Float64Array;
  /** ᾱ_t = Π_{s≤t} (1 − β_s). */
  readonly alphasCumprod: Float64Array;
  /** ᾱ_{t−1}, with ᾱ_{−1} = 1. */
  readonly alphasCumprodPrev: Float64Array;
  /** β̃_t = β_t·(1 − ᾱ_{t−1})/(1 − ᾱ_t): the variance of q(x_{t−1} | x_t, x_0). */
  readonly posteriorVariance: Float64Array;
  /** log β̃_t with β̃_0 (= 0) replaced by β̃_1, as the reference does. */
  readonly posteriorLogVarianceClipped: Float64Array;
  /** Posterior mean = coef1·x_0 + coef2·x_t. */
  readonly posteriorMeanCoef1: Float64Array;
  readonly posteriorMeanCoef2: Float64Array;
}

/** Linear β from 1e-4·(1000/T) to 0.02·(1000/T), T values (numpy linspace, endpoints included). */
export function linearBetas(T: number): Float64Array {
  if (!Number.isInteger(T) || T < 2) throw new RangeError(`linearBetas: T must be an integer >= 2, got ${T}`);
  const scale = 1000 / T;
  const lo = scale * 1e-4;
  const hi = scale * 0.02;
  return Float64Array.from({ length: T }, (_, i) => lo + ((hi - lo) * i) / (T - 1));
}

/** All derived tables of a β sequence. */
export function scheduleFromBetas(betas: Float64Array): DiffusionSchedule {
  const T = betas.length;
  const ac = new Float64Array(T);
  let p = 1;
  for (let i = 0; i < T; i++) {
    const b = betas[i] as number;
    if (!(b > 0 && b <= 1)) throw new RangeError(`scheduleFromBetas: β_${i} = ${b} is not in (0, 1]`);
    p *= 1 - b;
    ac[i] = p;
  }
  const prev = Float64Array.from({ length: T }, (_, i) => (i === 0 ? 1 : (ac[i - 1] as number)));
  const postVar = Float64Array.from({ length: T }, (_, i) => ((betas[i] as number) * (1 - (prev[i] as number))) / (1 - (ac[i] as number)));
  const clipped = Float64Array.from({ length: T }, (_, i) => Math.log((i === 0 && T > 1 ? postVar[1] : postVar[i]) as number));
  const coef1 = Float64Array.from({ length: T }, (_, i) => ((betas[i] as number) * Math.sqrt(prev[i] as number)) / (1 - (ac[i] as number)));
  const coef2 = Float64Array.from({ length: T }, (_, i) => ((1 - (prev[i] as number)) * Math.sqrt(1 - (betas[i] as number))) / (1 - (ac[i] as number)));
  return {
    T,
    betas,
    alphasCumprod: ac,
    alphasCumprodPrev: prev,
    posteriorVariance: postVar,
    posteriorLogVarianceClipped: clipped,
    posteriorMeanCoef1: coef1,
    posteriorMeanCoef2: coef2,
  };
}

export function linearSchedule(T = 1000): DiffusionSchedule {
  return scheduleFromBetas(linearBetas(T));
}

/**
 * The schedule restricted to `steps` evenly spaced timesteps (DiT's `space_timesteps` with one
 * section): new β_i = 1 − ᾱ_{t_i}/ᾱ_{t_{i−1}}, so ᾱ at the kept steps is unchanged. Returns the
 * kept original timesteps (ascending) with it: the model is still called with the original t.
 */
export function respace(base: DiffusionSchedule, steps: number): { schedule: DiffusionSchedule; timesteps: number[] } {
  if (!Number.isInteger(steps) || steps < 1 || steps > base.T) throw new RangeError(`respace: steps must be an integer in 1..${base.T}, got ${steps}`);
  const timesteps: number[] = [];
  if (steps === 1) timesteps.push(0);
  else {
    // improved-diffusion: frac_stride = (T − 1)/(steps − 1), t = round(i·stride)
    const stride = (base.T - 1) / (steps - 1);
    for (let i = 0; i < steps; i++) timesteps.push(Math.round(i * stride));
  }
  let last = 1;
  const betas = Float64Array.from(timesteps, (t) => {
    const a = base.alphasCumprod[t] as number;
    const b = 1 - a / last;
    last = a;
    return b;
  });
  return { schedule: scheduleFromBetas(betas), timesteps };
}
