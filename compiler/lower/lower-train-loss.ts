// The loss table of `train`: one lowering rule per callable of context 'loss' in
// grammar/library/signatures.ts, typed `Record<LossName, LossRule>` so tsc names any loss that
// gains a signature without a rule. Rules build their math from compose.ts primitives; a loss
// this version cannot run yet throws E0904 naming it and the spec line.

import type { Span } from '../../grammar/ast.ts';
import type { LIBRARY, LibraryName } from '../../grammar/library/signatures.ts';
import type { GraphBuilder } from '../ir/builder.ts';
import { crossEntropy, klDiv, linear, logSoftmax, mean, mse, softmax, topk } from '../ir/compose.ts';
import type { Node } from '../ir/graph.ts';
import { fmt, lastDim, type CallCtx } from '../layers/context.ts';
import { kaimingUniform, type Init } from '../layers/init.ts';
import { diffusionLossRule } from '../objectives/diffusion-loss.ts';
import { BA_LORA_RULES } from '../objectives/ba-lora-rules.ts';

/** Callables usable as losses and regularizers. */
export type LossName = { [K in LibraryName]: (typeof LIBRARY)[K]['context'] extends 'loss' ? K : never }[LibraryName];

/** A trainable parameter a loss creates (feature_kd's projection): trained and checkpointed, not part of the model file. */
export interface LossParam {
  path: string;
  shape: readonly number[];
  init: Init;
  span: Span;
}

/** What a loss rule may do besides reading its arguments: create a trainable parameter. */
export interface LossEnv {
  /** Registers `loss.<callee>.<k>.<name>` (k counts calls of that loss) and returns its node. */
  param(name: string, shape: readonly number[], init: Init): Node;
}

export type LossRule = (c: CallCtx, env: LossEnv) => Node;

const float = (b: GraphBuilder, x: Node): Node => (x.dtype === 'f32' || x.dtype === 'f16' ? x : b.cast(x, 'f32'));

/** Mean entropy −Σ p·log p of softmax over the last axis (over the top-k logits when k > 0). */
function entropy(b: GraphBuilder, x: Node, k: number): Node {
  const logits = k > 0 ? topk(b, x, Math.min(k, lastDim(x))).values : x; // [..., k]
  const p = softmax(b, logits, -1);
  const rows = b.neg(b.sum(b.mul(p, logSoftmax(b, logits, -1)), -1)); // [...]
  return mean(b, rows);
}

export const LOSS_RULES: Record<LossName, LossRule> = {
  cross_entropy: (c) => {
    const logits = float(c.b, c.tensor('logits'));
    const target = c.tensor('target');
    if (target.dtype !== 'i32') c.fail(`'target' must hold integer class ids, found ${target.dtype}${fmt(target.shape)}`);
    const rows = logits.shape.slice(0, -1);
    if (rows.length !== target.shape.length || rows.some((d, k) => d !== target.shape[k])) {
      c.fail(`logits ${fmt(logits.shape)} need targets of shape ${fmt(rows)}, found ${fmt(target.shape)}`);
    }
    return crossEntropy(c.b, logits, target, { ignoreIndex: c.int('ignore') });
  },
  kd: (c) => {
    const s = float(c.b, c.tensor('student'));
    const t = float(c.b, c.tensor('teacher'));
    if (fmt(s.shape) !== fmt(t.shape)) c.fail(`student ${fmt(s.shape)} and teacher ${fmt(t.shape)} logits must have one shape`);
    const temperature = c.num('T');
    if (!(temperature > 0)) c.fail(`the temperature T must be positive, found ${temperature}`);
    // The teacher is a target: no gradient flows into it even if it is a student tap.
    return klDiv(c.b, s, c.b.stopGradient(t), { temperature });
  },
  mse: (c) => {
    const x = float(c.b, c.tensor('a'));
    const y = float(c.b, c.tensor('b'));
    if (fmt(x.shape) !== fmt(y.shape)) c.fail(`'a' ${fmt(x.shape)} and 'b' ${fmt(y.shape)} must have one shape`);
    return mse(c.b, x, y);
  },
  feature_kd: (c, env) => {
    let s = float(c.b, c.tensor('student'));
    const t = c.b.stopGradient(float(c.b, c.tensor('teacher')));
    if (fmt(s.shape.slice(0, -1)) !== fmt(t.shape.slice(0, -1))) {
      c.fail(`student ${fmt(s.shape)} and teacher ${fmt(t.shape)} features must agree on every axis but the last`);
    }
    const sw = lastDim(s);
    const tw = lastDim(t);
    if (sw !== tw) {
      // A learned projection student width → teacher width (PyTorch Linear default init).
      const w = env.param('proj.weight', [tw, sw], kaimingUniform(sw));
      s = linear(c.b, s, w); // [..., tw]
    }
    return mse(c.b, s, t);
  },
  entropy: (c) => {
    const k = c.int('k');
    if (k < 0) c.fail(`k must be >= 0, found ${k}`);
    return entropy(c.b, float(c.b, c.tensor('x')), k);
  },
  ...BA_LORA_RULES, // consistency, diversity, svd_energy (compiler/objectives/ba-lora-rules.ts)
  // Feeds `diffusion.noise` and `diffusion.x_start` besides x = x_t and t: compiler/objectives/diffusion-loss.ts.
  diffusion: (c) => diffusionLossRule(c),
};

export function isLossName(name: string): name is LossName {
  return Object.hasOwn(LOSS_RULES, name);
}
