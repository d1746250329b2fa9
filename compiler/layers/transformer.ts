// Transformer layers: embeddings, Linear, norms, (grouped-query, rotary, causal) attention, the
// llama SwiGLU MLP, the GPT/DiT MLP and LoRA. Semantics follow Hugging Face's llama and GPT-2
// modules exactly (see nn.ts for RoPE, repeat_kv and attention).

import type { Node } from '../ir/graph.ts';
import { fmt, lastDim, type CallCtx, type LayerRule } from './context.ts';
import { layerNorm, rmsNorm } from '../ir/compose.ts';
import { applyLinear, linear, mergeHeads, rope, sdpa, splitHeads } from './nn.ts';

/** ids[...] → table rows [..., dim]. */
export const Embedding: LayerRule = (c) => {
  const ids = c.tensor('ids');
  if (ids.dtype !== 'i32') c.fail(`ids must be i32 token ids, found ${ids.dtype}`);
  const w = c.param('weight', [c.int('num'), c.int('dim')], { kind: 'embedding' });
  return c.b.gather(w, ids, 0);
};

export const Linear: LayerRule = (c) => linear(c, '', c.tensor('x'), c.int('out'), c.bool('bias'));

export const RMSNorm: LayerRule = (c) => {
  const x = c.tensor('x');
  const w = c.param('weight', [lastDim(x)], { kind: 'norm_weight' });
  return rmsNorm(c.b, x, { eps: c.num('eps'), weight: w });
};

export const LayerNorm: LayerRule = (c) => {
  const x = c.tensor('x');
  const eps = c.num('eps');
  if (!c.bool('affine')) return layerNorm(c.b, x, { eps });
  const weight = c.param('weight', [lastDim(x)], { kind: 'norm_weight' });
  const bias = c.param('bias', [lastDim(x)], { kind: 'norm_bias' });
  return layerNorm(c.b, x, { eps, weight, bias });
};

/** Checks x is [B, T, D] and D splits into heads; returns the head width. */
function headWidth(c: CallCtx, x: Node, heads: number): number {
  if (x.shape.length !== 3) c.fail(`attention needs tokens [B, T, D], found ${fmt(x.shape)}`);
  const d = lastDim(x);
  if (heads < 1 || d % heads !== 0) c.fail(`the width ${d} does not split into ${heads} heads`);
  return d / heads;
}

/**
 * HF LlamaAttention (and GPT-2's when bias = true): q/k/v projections, optional RoPE on q and k,
 * grouped-query heads repeated with repeat_kv, softmax(q·kᵀ/√hd) with an optional causal mask,
 * o_proj. With `context`, keys and values come from it (cross-attention, no RoPE on them).
 */
export const Attention: LayerRule = (c) => {
  const x = c.tensor('x'); // [B, T, D]
  const heads = c.int('heads');
  const kvHeads = c.optInt('kv_heads') ?? heads;
  const hd = headWidth(c, x, heads);
  if (kvHeads < 1 || heads % kvHeads !== 0) c.fail(`${heads} query heads do not group evenly over ${kvHeads} kv heads`);
  const ctx = c.optTensor('context') ?? x; // [B, S, Dc]
  if (ctx.shape.length !== 3 || ctx.shape[0] !== x.shape[0]) c.fail(`context must be [B, S, D] with the batch of x, found ${fmt(ctx.shape)}`);
  const bias = c.bool('bias');
  const b = c.b;
  const d = lastDim(x);
  let q = splitHeads(b, linear(c, 'q_proj', x, heads * hd, bias), heads); // [B, H, T, hd]
  let k = splitHeads(b, linear(c, 'k_proj', ctx, kvHeads * hd, bias), kvHeads); // [B, kv, S, hd]
  const v = splitHeads(b, linear(c, 'v_proj', ctx, kvHeads * hd, bias), kvHeads); // [B, kv, S, hd]
  if (c.bool('rope')) {
    if (hd % 2 !== 0) c.fail(`RoPE needs an even head width, found ${hd}`);
    const theta = c.num('rope_theta');
    q = rope(b, q, theta);
    if (ctx === x) k = rope(b, k, theta);
  }
  const o = sdpa(b, q, k, v, c.bool('causal')); // [B, H, T, hd]
  return linear(c, 'o_proj', mergeHeads(b, o), d, bias);
};

/** HF LlamaMLP: down(silu(gate(x)) · up(x)), all bias-free. */
export const SwiGLU: LayerRule = (c) => {
  const x = c.tensor('x');
  const hidden = c.int('hidden');
  const g = linear(c, 'gate_proj', x, hidden, false);
  const u = linear(c, 'up_proj', x, hidden, false);
  return linear(c, 'down_proj', c.b.mul(c.b.silu(g), u), lastDim(x), false);
};

/** fc2(act(fc1(x))), GELU-tanh by default (timm Mlp in DiT, GPT-2's gelu_new). */
export const MLP: LayerRule = (c) => {
  const x = c.tensor('x');
  const bias = c.bool('bias');
  const h = linear(c, 'fc1', x, c.int('hidden'), bias);
  return linear(c, 'fc2', activation(c, c.str('act'), h), lastDim(x), bias);
};

export function activation(c: CallCtx, act: string, h: Node): Node {
  switch (act) {
    case 'gelu_tanh':
    case 'gelu':
      return c.b.geluTanh(h);
    case 'relu':
      return c.b.relu(h);
    case 'silu':
      return c.b.silu(h);
    case 'tanh':
      return c.b.tanh(h);
    default:
      return c.fail(`unknown activation '${act}' (expected gelu_tanh, gelu, relu, silu or tanh)`);
  }
}

/**
 * LoRA's low-rank path alone: x·Aᵀ·Bᵀ·alpha/rank with A[rank, in] kaiming-uniform and B[out, rank]
 * zero (PEFT's default), so a fresh adapter adds nothing. Adapters add it beside the frozen weight.
 */
export const LoRA: LayerRule = (c) => {
  const x = c.tensor('x');
  const rank = c.int('rank');
  const inF = lastDim(x);
  const out = c.int('out');
  const a = c.param('lora_A.weight', [rank, inF], { kind: 'weight', module: 'linear', fanIn: inF, fanOut: rank }, 'lora_a');
  const bw = c.param('lora_B.weight', [out, rank], { kind: 'weight', module: 'linear', fanIn: rank, fanOut: out }, 'lora_b');
  const h = applyLinear(c.b, applyLinear(c.b, x, a, undefined), bw, undefined);
  return c.b.mul(h, c.num('alpha') / rank);
};
