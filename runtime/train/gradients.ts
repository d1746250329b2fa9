// Gradient plumbing between the step function and the optimizer: global-norm clipping
// (torch.nn.utils.clip_grad_norm_) and accumulation of micro-batch gradients into one update.

import { sortedNames, type NamedTensors, type ReadonlyNamedTensors } from './tensors.ts';

/** √(Σ g²) over every gradient tensor, accumulated in f64 in sorted-name order. */
export function globalNorm(grads: ReadonlyNamedTensors): number {
  let sum = 0;
  for (const name of sortedNames(grads)) {
    const g = grads.get(name)!;
    for (let i = 0; i < g.length; i++) sum += g[i]! * g[i]!;
  }
  return Math.sqrt(sum);
}

/**
 * Scales all gradients in place so their global norm is at most `maxNorm`, as PyTorch does:
 * coef = maxNorm / (norm + 1e-6), applied only when coef < 1. Returns the norm before clipping.
 *
 * @example
 * const norm = clipGlobalNorm(grads, 1.0);
 */
export function clipGlobalNorm(grads: NamedTensors, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`clipGlobalNorm: maxNorm must be > 0, got ${maxNorm}`);
  const norm = globalNorm(grads);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i] = g[i]! * coef;
  }
  return norm;
}

/**
 * Sums micro-batch gradients (and losses) and hands back their mean, so `accumulate` micro-batches
 * give the same update as one batch `accumulate` times larger whose loss is a mean.
 */
export class GradAccumulator {
  private readonly sums: Map<string, Float64Array> = new Map();
  private lossSum = 0;
  private n = 0;

  get count(): number {
    return this.n;
  }

  add(loss: number, grads: ReadonlyNamedTensors): void {
    if (this.n > 0 && grads.size !== this.sums.size) {
      throw new Error(`micro-batch gradients name ${grads.size} tensors, earlier ones named ${this.sums.size}`);
    }
    for (const [name, g] of grads) {
      let s = this.sums.get(name);
      if (s === undefined) {
        if (this.n > 0) throw new Error(`micro-batch gradient '${name}' was absent from earlier micro-batches`);
        s = new Float64Array(g.length);
        this.sums.set(name, s);
      }
      if (s.length !== g.length) throw new Error(`micro-batch gradient '${name}' changed size (${s.length} → ${g.length})`);
      for (let i = 0; i < g.length; i++) s[i] = s[i]! + g[i]!;
    }
    this.lossSum += loss;
    this.n++;
  }

  /** The mean loss and mean gradients (fresh f32 buffers); then resets. */
  take(): { loss: number; grads: NamedTensors } {
    if (this.n === 0) throw new Error('GradAccumulator.take: nothing accumulated');
    const grads: NamedTensors = new Map();
    // A plain loop: Float32Array.from with a mapping function took ~250 ms a step for the main
    // job's 1.8M gradients (V8 calls the function through the iterator protocol), the same bits.
    for (const [name, s] of this.sums) {
      const g = new Float32Array(s.length);
      for (let i = 0; i < s.length; i++) g[i] = s[i]! / this.n;
      grads.set(name, g);
    }
    const loss = this.lossSum / this.n;
    this.sums.clear();
    this.lossSum = 0;
    this.n = 0;
    return { loss, grads };
  }
}
