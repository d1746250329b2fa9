// The layer library's lowering tables. Typed by the library's names (grammar/library), so tsc
// names any layer or function that has no rule; parameter names come from param-names.ts and a
// test checks every rule creates exactly those.

import type { LayerName } from '../../grammar/library/param-names.ts';
import { LIBRARY, type LibraryName } from '../../grammar/library/signatures.ts';
import type { FnName, LayerRule } from './context.ts';
import { DiTBlock, DiTFinal, LabelEmbedding, LinearAttention, PatchEmbed, TimestepEmbedding } from './diffusion.ts';
import { Attention, Embedding, LayerNorm, Linear, LoRA, MLP, RMSNorm, SwiGLU } from './transformer.ts';
import { AttnBlock, CondConv2d, Conv2d, DepthwiseConv2d, GroupNorm, ResBlock } from './unet.ts';

export const LAYER_RULES: Record<LayerName, LayerRule> = {
  Embedding,
  Linear,
  RMSNorm,
  LayerNorm,
  GroupNorm,
  Attention,
  LinearAttention,
  SwiGLU,
  MLP,
  Conv2d,
  DepthwiseConv2d,
  CondConv2d,
  ResBlock,
  TimestepEmbedding,
  LabelEmbedding,
  PatchEmbed,
  AttnBlock,
  DiTBlock,
  DiTFinal,
  LoRA,
};

export { FN_RULES } from './fns.ts';
export type { FnName, LayerName };

export function isFnName(name: string): name is FnName {
  return Object.hasOwn(LIBRARY, name) && LIBRARY[name as LibraryName].context === 'fn';
}
