// What one batch feeds the training graph, per kind of task. A feeder turns a list of example
// indices (and a PRNG for whatever the step draws) into named input tensors:
//   - supervised: the model's one input and, when the loss reads it, `label`;
//   - diffusion: x = x_t, t, y (with classifier-free-guidance label dropout while training),
//     `diffusion.noise` and `diffusion.x_start` — the contract of compiler/objectives/diffusion-loss.ts.

import type { DiffusionSchedule } from '../../compiler/objectives/diffusion-schedule.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import type { Prng } from '../../runtime/data/index.ts';
import { qSampleHost } from '../../runtime/sample/q-sample.ts';
import { gatherFeatures, gatherLabels, type Examples } from './examples.ts';

/** The graph inputs `diffusion(eps, sigma)` adds (compiler/objectives/diffusion-loss.ts). */
export const NOISE_INPUT = 'diffusion.noise';
export const X_START_INPUT = 'diffusion.x_start';

export interface Feeder {
  /**
   * Feeds for the examples `indices` of `set`. `training` turns on what only training does (label
   * dropout); `rng` draws timesteps, noise and dropout, so a fixed rng gives a fixed batch.
   */
  feeds(set: Examples, indices: Int32Array, rng: Prng, training: boolean): Map<string, Tensor>;
}

/** Inputs of the model a supervised batch fills: the features input, and `label` if the loss reads it. */
export interface SupervisedInputs {
  input: string;
  /** Absent: the loss reads no labels (a language model). */
  label?: string;
}

export function supervisedFeeder(io: SupervisedInputs): Feeder {
  return {
    feeds(set, indices) {
      const feeds = new Map<string, Tensor>();
      feeds.set(io.input, { dtype: set.dtype, shape: [indices.length, ...set.shape], data: gatherFeatures(set, indices) });
      if (io.label !== undefined) feeds.set(io.label, { dtype: 'i32', shape: [indices.length], data: gatherLabels(set, indices) });
      return feeds;
    },
  };
}

export interface DiffusionInputs {
  x: string;
  t: string;
  /** The dtype the model declares for t (DiT: f32). */
  tDtype: 'f32' | 'i32';
  /** Absent: an unconditional model. */
  y?: string;
  schedule: DiffusionSchedule;
  /**
   * Classifier-free guidance: while training, each label is replaced by `nullClass` with
   * probability `dropout` (DiT: 0.1; the null class is `classes`, the table's extra row).
   */
  labelDropout?: { nullClass: number; p: number };
}

/**
 * A diffusion batch: x_0 from the set, t ~ U{0, …, T−1}, noise ~ N(0, I), x_t = q_sample(x_0, t, noise).
 * The draws are made in a fixed order (t for the batch, then noise, then dropout), so a resumed
 * PRNG state reproduces the batch.
 */
export function diffusionFeeder(io: DiffusionInputs): Feeder {
  return {
    feeds(set, indices, rng, training) {
      const b = indices.length;
      const shape = [b, ...set.shape];
      const x0 = gatherFeatures(set, indices) as Float32Array; // [B, C, H, W] in [−1, 1]
      const t = Int32Array.from({ length: b }, () => rng.nextInt(io.schedule.T));
      const noise = Float32Array.from({ length: x0.length }, () => rng.nextNormal());
      const xt = qSampleHost(io.schedule, x0, t, noise);
      const feeds = new Map<string, Tensor>([
        [io.x, { dtype: 'f32', shape, data: xt }],
        [io.t, io.tDtype === 'i32' ? { dtype: 'i32', shape: [b], data: t } : { dtype: 'f32', shape: [b], data: Float32Array.from(t) }],
        [NOISE_INPUT, { dtype: 'f32', shape, data: noise }],
        [X_START_INPUT, { dtype: 'f32', shape, data: x0 }],
      ]);
      if (io.y !== undefined) {
        const y = gatherLabels(set, indices);
        const drop = io.labelDropout;
        if (training && drop !== undefined && drop.p > 0) {
          for (let i = 0; i < b; i++) if (rng.nextFloat() < drop.p) y[i] = drop.nullClass;
        }
        feeds.set(io.y, { dtype: 'i32', shape: [b], data: y });
      }
      return feeds;
    },
  };
}
