// Learning-rate and loss-weight schedules as pure functions of the step, so a resumed run needs no
// schedule state. `step` counts updates already made (0 for the first update), the convention of
// Hugging Face's get_*_schedule_with_warmup, which the reference scripts use: during warmup the
// value is base·step/warmup, so the first update of a warmed-up run has lr 0.

/** The value (learning rate or loss weight) for the update numbered `step` (0-based). */
export type Schedule = (step: number) => number;

/** Data form of a schedule, as the spec's `schedule = ...` lowers to it. */
export type ScheduleSpec =
  | { kind: 'constant'; value: number }
  | { kind: 'linear'; base: number; warmup?: number; total: number; end?: number }
  | { kind: 'warmup_cosine'; base: number; warmup?: number; total: number; minLr?: number }
  | { kind: 'ramp'; from: number; to: number; steps: number; start?: number }
  | { kind: 'cosine_weight'; value: number; total: number; floor?: number }
  | { kind: 'two_phase'; value: number; total: number; warmupRatio?: number; rampRatio?: number };

export function constant(value: number): Schedule {
  return () => value;
}

/**
 * Linear warmup from 0 to `base` over `warmup` steps, then linear decay to `end`·base at `total`
 * (held there after).
 *
 * @example
 * linear({ base: 1e-3, warmup: 10, total: 110, end: 0.1 })(60)  // 5.5e-4
 */
export function linear(o: { base: number; warmup?: number; total: number; end?: number }): Schedule {
  const warmup = checkWarmup(o.warmup ?? 0, o.total);
  const end = o.end ?? 0;
  return (step) => {
    if (step < warmup) return (o.base * step) / warmup;
    const progress = fraction(step - warmup, o.total - warmup);
    return o.base * (1 - (1 - end) * progress);
  };
}

/** Linear warmup to `base`, then half a cosine from `base` down to `minLr` at `total` (held after). */
export function warmupCosine(o: { base: number; warmup?: number; total: number; minLr?: number }): Schedule {
  const warmup = checkWarmup(o.warmup ?? 0, o.total);
  const minLr = o.minLr ?? 0;
  return (step) => {
    if (step < warmup) return (o.base * step) / warmup;
    const progress = fraction(step - warmup, o.total - warmup);
    return minLr + (o.base - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/** A loss weight moving linearly from `from` (until `start`) to `to` (from start + steps on). */
export function ramp(from: number, to: number, steps: number, start = 0): Schedule {
  if (!(steps >= 0)) throw new RangeError(`ramp: steps must be >= 0, got ${steps}`);
  return (step) => from + (to - from) * fraction(step - start, steps);
}

/** BA-LoRA's λ1 "cosine": value·(floor + (1 − floor)·½(1 + cos(π·t/T))), from value to floor·value. */
export function cosineWeight(value: number, total: number, floor = 0.1): Schedule {
  return (step) => value * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * fraction(step, total))));
}

/** BA-LoRA's λ2/λ3 "two_phase": 0 for warmupRatio·T steps, a linear ramp over rampRatio·T, then value. */
export function twoPhase(value: number, total: number, warmupRatio = 0.2, rampRatio = 0.05): Schedule {
  return ramp(0, value, rampRatio * total, warmupRatio * total);
}

export function makeSchedule(spec: ScheduleSpec): Schedule {
  switch (spec.kind) {
    case 'constant':
      return constant(spec.value);
    case 'linear':
      return linear(spec);
    case 'warmup_cosine':
      return warmupCosine(spec);
    case 'ramp':
      return ramp(spec.from, spec.to, spec.steps, spec.start ?? 0);
    case 'cosine_weight':
      return cosineWeight(spec.value, spec.total, spec.floor ?? 0.1);
    case 'two_phase':
      return twoPhase(spec.value, spec.total, spec.warmupRatio ?? 0.2, spec.rampRatio ?? 0.05);
  }
}

/** done/length clamped to [0, 1]; a zero-length span is already complete. */
function fraction(done: number, length: number): number {
  if (length <= 0) return done >= 0 ? 1 : 0;
  return Math.min(1, Math.max(0, done / length));
}

function checkWarmup(warmup: number, total: number): number {
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`warmup must be a non-negative integer, got ${warmup}`);
  if (!(total >= warmup)) throw new RangeError(`total steps (${total}) must be >= warmup (${warmup})`);
  return warmup;
}
