// Exponential moving average of the weights (DiT/LiT keep one at decay 0.9999 and sample from it).

import { cloneTensors, sortedNames, type NamedTensors, type ReadonlyNamedTensors } from './tensors.ts';

/**
 * shadow ← decay·shadow + (1 − decay)·param after every update; the shadow starts as a copy of the
 * parameters, as in DiT's training script.
 *
 * @example
 * const ema = new Ema(params, 0.9999);  // after each optimizer step: ema.update(params)
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

  update(params: ReadonlyNamedTensors): void {
    const d = this.decay;
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
