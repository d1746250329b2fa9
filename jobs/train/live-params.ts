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
