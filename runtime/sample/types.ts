// The shapes the samplers share. A denoiser is anything that maps (x_t, t, labels) to the model's
// ε (and the learned-range variance output v when the model has one): a graph on some backend, a
// guided pair of calls, a cached sub-graph, or a switch between models. It may answer at once or
// through a promise (a device backend reads its outputs back asynchronously). The noise schedule
// is plain data made by compiler/objectives/diffusion-schedule.ts (the runtime imports only its type).

import type { Graph } from '../../compiler/ir/graph.ts';
import type { DiffusionSchedule } from '../../compiler/objectives/diffusion-schedule.ts';
import type { Tensor } from '../cpu/tensor.ts';

export type { DiffusionSchedule };

export interface DenoiserOutput {
  /** ε prediction, [B, C, H, W] row-major. */
  eps: Float64Array;
  /** Raw variance output v ∈ [−1, 1] of learned-range models, same shape; absent for ε-only models. */
  v?: Float64Array;
}

export interface Denoiser {
  /**
   * @param x x_t [B, C, H, W]
   * @param t the ORIGINAL timestep (0 … T−1) of this step, the same for the whole batch
   * @param labels class ids [B]
   * @param step 0-based index of this sampler step (for caching schedules)
   */
  (x: Float64Array, t: number, labels: Int32Array, step: number): DenoiserOutput | Promise<DenoiserOutput>;
}

/**
 * Evaluates `graph` with inputs and parameters fed by name and returns the named outputs: the CPU
 * reference (cpuRunner) or a device backend's `run`. A backend may compile each distinct Graph
 * object once, so denoisers build their graphs once and pass the same objects on every call.
 */
export type GraphRunner = (graph: Graph, feeds: ReadonlyMap<string, Tensor>, outputs: readonly string[]) => Promise<Map<string, Tensor>>;

/** A respaced schedule with the original timesteps it keeps (ascending), as `respace` returns. */
export interface SamplerPlan {
  schedule: DiffusionSchedule;
  timesteps: readonly number[];
}

export type VarianceMode = 'learned' | 'fixed_small' | 'fixed_large';

export type SamplerKind = { kind: 'ddpm' } | { kind: 'ddim'; eta: number };
