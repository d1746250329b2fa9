// Exponential moving average of the weights (DiT/LiT keep one at decay 0.9999 and sample from it).

import { cloneTensors, sortedNames, type NamedTensors, type ReadonlyNamedTensors } from './tensors.ts';

/**
 * shadow ← d·shadow + (1 − d)·param after every update; the shadow starts as a copy of the
 * parameters, as in DiT's training script. With the update's 1-based step number, d warms up as
 * min(decay, (1 + step) / (10 + step)): without it, after n steps the random initial weights still
 * hold decay^n of the average (0.999^1000 ≈ 37%), so short runs would sample from mostly noise.
 *
 * @example
 * const ema = new Ema(params, 0.9999);  // after optimizer step n: ema.update(params, n)
 */
export class Ema {
  private shadowTensors: NamedTensors;

  constructor(
    params: ReadonlyNamedTensors,
    readonly decay: number,
  ) {
    if (!(decay >= 0 && decay <= 1)) throw new RangeError(`EMA decay must be in [0, 1], got ${decay}`);
    this.shadowTensors = cloneTensors(params);
  }

  /** The averaged weights (live buffers; copy before mutating). */
  get shadow(): ReadonlyNamedTensors {
    return this.shadowTensors;
  }

  /** The decay used at 1-based `step` (the warm-up above); `decay` itself without a step. */
  decayAt(step?: number): number {
    return step === undefined ? this.decay : Math.min(this.decay, (1 + step) / (10 + step));
  }

  update(params: ReadonlyNamedTensors, step?: number): void {
    const d = this.decayAt(step);
    for (const name of sortedNames(this.shadowTensors)) {
      const s = this.shadowTensors.get(name)!;
      const p = params.get(name);
      if (p === undefined || p.length !== s.length) throw new Error(`EMA: parameter '${name}' missing or resized`);
      for (let i = 0; i < s.length; i++) s[i] = d * s[i]! + (1 - d) * p[i]!;
    }
  }

  getState(): NamedTensors {
    return cloneTensors(this.shadowTensors);
  }

  setState(shadow: ReadonlyNamedTensors): void {
    const expected = sortedNames(this.shadowTensors).join(',');
    if (sortedNames(shadow).join(',') !== expected) throw new Error('EMA state names do not match the parameters');
    this.shadowTensors = cloneTensors(shadow);
  }
}
