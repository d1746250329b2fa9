// AdamW and SGD with PyTorch's semantics and defaults (torch.optim.AdamW / torch.optim.SGD,
// single-tensor path, amsgrad/nesterov off). Arithmetic is done in f64 per element and stored
// back into f32 buffers, as f32 state is what a checkpoint holds; resuming from it is exact.

import { gradFor, sortedNames, type NamedTensors, type ReadonlyNamedTensors } from './tensors.ts';

/** Serializable optimizer state: step counter plus named f32 buffers ("exp_avg/<param>", ...). */
export interface OptimizerState {
  kind: OptimizerKind;
  /** Updates applied so far (PyTorch's per-parameter `step`, shared here by all parameters). */
  step: number;
  tensors: NamedTensors;
}

export type OptimizerKind = 'adamw' | 'sgd';

export interface Optimizer {
  readonly kind: OptimizerKind;
  /** Applies one update in place to `params` with learning rate `lr` (from the schedule). */
  step(params: NamedTensors, grads: ReadonlyNamedTensors, lr: number): void;
  getState(): OptimizerState;
  /** Restores a state from getState (copied, so the caller may drop it). */
  setState(state: OptimizerState): void;
}

export interface AdamWOptions {
  /** Default (0.9, 0.999), PyTorch's. */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled decay, p ← p·(1 − lr·wd); default 1e-2, PyTorch's. */
  weightDecay?: number;
  /** Which parameters decay (default all, as one PyTorch param group); e.g. skip biases and norms. */
  decays?: (name: string) => boolean;
}

/**
 * AdamW (Loshchilov & Hutter), exactly torch.optim.AdamW's update:
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + eps)
 *
 * @example
 * const opt = new AdamW({ betas: [0.9, 0.95], weightDecay: 0.1 });
 * opt.step(params, grads, 3e-4);
 */
export class AdamW implements Optimizer {
  readonly kind = 'adamw';
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;
  private readonly decays: (name: string) => boolean;
  private t = 0;
  private readonly m: NamedTensors = new Map();
  private readonly v: NamedTensors = new Map();

  constructor(options: AdamWOptions = {}) {
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 1e-2;
    this.decays = options.decays ?? (() => true);
    for (const [what, x] of [
      ['beta1', this.beta1],
      ['beta2', this.beta2],
    ] as const) {
      if (!(x >= 0 && x < 1)) throw new RangeError(`AdamW: ${what} must be in [0, 1), got ${x}`);
    }
    if (!(this.eps >= 0) || !(this.weightDecay >= 0)) throw new RangeError('AdamW: eps and weight decay must be >= 0');
  }

  step(params: NamedTensors, grads: ReadonlyNamedTensors, lr: number): void {
    this.t++;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2Sqrt = Math.sqrt(1 - this.beta2 ** this.t);
    const stepSize = lr / bc1;
    const { beta1, beta2, eps } = this;
    for (const name of sortedNames(params)) {
      const p = params.get(name)!;
      const g = gradFor(grads, name, p.length);
      const m = buffer(this.m, name, p.length);
      const v = buffer(this.v, name, p.length);
      const decay = this.decays(name) ? 1 - lr * this.weightDecay : 1;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]!;
        m[i] = beta1 * m[i]! + (1 - beta1) * gi;
        v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi;
        // m, v are read back as stored (f32), as PyTorch's f32 state is.
        p[i] = p[i]! * decay - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / bc2Sqrt + eps);
      }
    }
  }

  getState(): OptimizerState {
    const tensors: NamedTensors = new Map();
    for (const [name, t] of this.m) tensors.set(`exp_avg/${name}`, t.slice());
    for (const [name, t] of this.v) tensors.set(`exp_avg_sq/${name}`, t.slice());
    return { kind: this.kind, step: this.t, tensors };
  }

  setState(state: OptimizerState): void {
    checkKind(this.kind, state);
    this.t = state.step;
    restoreBuffers(state.tensors, { exp_avg: this.m, exp_avg_sq: this.v });
  }
}

export interface SgdOptions {
  /** Default 0 (plain SGD). */
  momentum?: number;
  /** Coupled L2 decay, g ← g + wd·p (PyTorch's SGD); default 0. */
  weightDecay?: number;
  decays?: (name: string) => boolean;
}

/**
 * SGD with momentum, exactly torch.optim.SGD with dampening 0 and nesterov false:
 *   g ← g + wd·p;  b ← g on the first step, else μ·b + g;  p ← p − lr·b
 */
export class Sgd implements Optimizer {
  readonly kind = 'sgd';
  private readonly momentum: number;
  private readonly weightDecay: number;
  private readonly decays: (name: string) => boolean;
  private t = 0;
  private readonly buf: NamedTensors = new Map();

  constructor(options: SgdOptions = {}) {
    this.momentum = options.momentum ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.decays = options.decays ?? (() => true);
    if (!(this.momentum >= 0) || !(this.weightDecay >= 0)) throw new RangeError('SGD: momentum and weight decay must be >= 0');
  }

  step(params: NamedTensors, grads: ReadonlyNamedTensors, lr: number): void {
    this.t++;
    for (const name of sortedNames(params)) {
      const p = params.get(name)!;
      const g = gradFor(grads, name, p.length);
      const wd = this.decays(name) ? this.weightDecay : 0;
      if (this.momentum === 0) {
        for (let i = 0; i < p.length; i++) p[i] = p[i]! - lr * (g[i]! + wd * p[i]!);
        continue;
      }
      let b = this.buf.get(name);
      const first = b === undefined;
      if (b === undefined) {
        b = new Float32Array(p.length);
        this.buf.set(name, b);
      }
      for (let i = 0; i < p.length; i++) {
        const d = g[i]! + wd * p[i]!;
        b[i] = first ? d : this.momentum * b[i]! + d;
        p[i] = p[i]! - lr * b[i]!;
      }
    }
  }

  getState(): OptimizerState {
    const tensors: NamedTensors = new Map();
    for (const [name, t] of this.buf) tensors.set(`momentum_buffer/${name}`, t.slice());
    return { kind: this.kind, step: this.t, tensors };
  }

  setState(state: OptimizerState): void {
    checkKind(this.kind, state);
    this.t = state.step;
    restoreBuffers(state.tensors, { momentum_buffer: this.buf });
  }
}

function buffer(store: NamedTensors, name: string, length: number): Float32Array {
  let b = store.get(name);
  if (b === undefined) {
    b = new Float32Array(length);
    store.set(name, b);
  }
  return b;
}

function checkKind(kind: OptimizerKind, state: OptimizerState): void {
  if (state.kind !== kind) throw new Error(`cannot load ${state.kind} optimizer state into ${kind}`);
  if (!Number.isSafeInteger(state.step) || state.step < 0) throw new Error(`optimizer state has invalid step ${state.step}`);
}

/** Splits "prefix/param" names back into the optimizer's buffer maps (fresh copies). */
function restoreBuffers(tensors: ReadonlyNamedTensors, stores: Record<string, NamedTensors>): void {
  for (const store of Object.values(stores)) store.clear();
  for (const [key, t] of tensors) {
    const slash = key.indexOf('/');
    const store = slash < 0 ? undefined : stores[key.slice(0, slash)];
    if (store === undefined) throw new Error(`unexpected optimizer state tensor '${key}' (expected ${Object.keys(stores).join(' or ')}/<param>)`);
    store.set(key.slice(slash + 1), t.slice());
  }
}
