// The trainable parameters as the optimizer's live buffers, and the feeds that wrap them: the
// optimizer updates `params` in place, so the same feed tensors carry the new values every step.

import type { Tensor } from '../../runtime/cpu/tensor.ts';
import type { NamedTensors } from '../../runtime/train/index.ts';

export interface ParamPlan {
  trainable: readonly { path: string; shape: readonly number[] }[];
  initial: ReadonlyMap<string, Float32Array>;
  frozen: ReadonlyMap<string, Tensor>;
}

export function liveParams(plan: ParamPlan, job: string): { params: NamedTensors; feeds: Map<string, Tensor> } {
  const params: NamedTensors = new Map(
    plan.trainable.map((p) => {
      const init = plan.initial.get(p.path);
      if (init === undefined) throw new Error(`${job}: no initial value for '${p.path}'`);
      return [p.path, init.slice()];
    }),
  );
  const feeds = new Map<string, Tensor>(plan.frozen);
  for (const p of plan.trainable) feeds.set(p.path, { dtype: 'f32', shape: p.shape, data: params.get(p.path)! });
  return { params, feeds };
}

/** The gradient of each trainable parameter, by parameter path, from a step's outputs. */
export function gradsOf(out: ReadonlyMap<string, Tensor>, trainable: readonly { path: string; grad: string }[]): Map<string, Float32Array> {
  const grads = new Map<string, Float32Array>();
  for (const p of trainable) {
    const g = out.get(p.grad)!.data;
    grads.set(p.path, g instanceof Float32Array ? g : Float32Array.from(g));
  }
  return grads;
}

/** Mean training loss over the last 10% of updates (at most 20, at least 1): one step's loss is noisy. */
export function tailMeanLoss(losses: readonly number[]): number | null {
  const tail = losses.slice(-Math.max(1, Math.min(20, Math.ceil(losses.length / 10))));
  return tail.length === 0 ? null : tail.reduce((a, x) => a + x, 0) / tail.length;
}
