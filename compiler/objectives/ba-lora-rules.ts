// The loss-table entries (compiler/lower/lower-train-loss.ts LOSS_RULES) of BA-LoRA's regularizers:
// read a call's arguments per grammar/library/signatures.ts, check them, build the composition.
//   consistency(logits, base, T = 2, variant = "iclr")
//   diversity(x, k = 10, variant = "iclr")
//   svd_energy(x, k = 5, norm = "sum_sigma")
// Their weights (constants or `ramp(from, to, steps)`) are the train lowering's business.

import type { Node } from '../ir/graph.ts';
import { fmt, type CallCtx } from '../layers/context.ts';
import type { LossRule } from '../lower/lower-train-loss.ts';
import { BA_LORA_VARIANTS, consistency, diversity, SVD_NORMS, svdEnergy, type BaLoraVariant, type SvdNorm } from './ba-lora.ts';

function floatTensor(c: CallCtx, name: string): Node {
  const x = c.tensor(name);
  if (x.shape.length === 0) c.fail(`'${name}' must have a class or feature axis, found a scalar`);
  return x.dtype === 'f32' || x.dtype === 'f16' ? x : c.b.cast(x, 'f32');
}

function variantOf(c: CallCtx): BaLoraVariant {
  const v = c.str('variant');
  const hit = BA_LORA_VARIANTS.find((x) => x === v);
  return hit ?? c.fail(`variant must be ${BA_LORA_VARIANTS.map((x) => `"${x}"`).join(' or ')}, found "${v}"`);
}

function positiveInt(c: CallCtx, name: string): number {
  const k = c.int(name);
  if (k < 1) c.fail(`${name} must be >= 1, found ${k}`);
  return k;
}

export const BA_LORA_RULES = {
  consistency: (c) => {
    const student = floatTensor(c, 'logits');
    const base = floatTensor(c, 'base');
    if (fmt(student.shape) !== fmt(base.shape)) c.fail(`logits ${fmt(student.shape)} and base ${fmt(base.shape)} must have one shape`);
    const temperature = c.num('T');
    if (!(temperature > 0)) c.fail(`the temperature T must be positive, found ${temperature}`);
    return consistency(c.b, student, base, { variant: variantOf(c), temperature });
  },
  diversity: (c) => {
    const x = floatTensor(c, 'x');
    const variant = variantOf(c);
    if (variant === 'arxiv' && x.shape.slice(0, -1).reduce((p, d) => p * d, 1) < 2) c.fail(`a covariance needs at least 2 rows, found ${fmt(x.shape)}`);
    return diversity(c.b, x, { variant, k: positiveInt(c, 'k') });
  },
  svd_energy: (c) => {
    const x = floatTensor(c, 'x');
    if (x.shape.length < 2) c.fail(`singular values need a matrix (rows × features), found ${fmt(x.shape)}`);
    const norm = c.str('norm');
    const hit: SvdNorm = SVD_NORMS.find((n) => n === norm) ?? c.fail(`norm must be ${SVD_NORMS.map((n) => `"${n}"`).join(' or ')}, found "${norm}"`);
    return svdEnergy(c.b, x, { k: positiveInt(c, 'k'), norm: hit });
  },
} satisfies Record<'consistency' | 'diversity' | 'svd_energy', LossRule>;
