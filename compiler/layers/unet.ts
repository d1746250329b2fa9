// Convolutional (UNet) layers, following diffusers' ResnetBlock2D and mid-block Attention, and
// ME-CondConv as timm's CondConv2d with sigmoid routing (seeds.md §2): per-sample kernel
// W(x) = Σₑ αₑ(x)·Wₑ with α = sigmoid(GAP(x)·Rᵀ + b), applied as a grouped conv over the batch.

import type { Node } from '../ir/graph.ts';
import { fmt, type CallCtx, type LayerRule } from './context.ts';
import { mean } from '../ir/compose.ts';
import { conv, groupNorm, linear, mergeHeads, sdpa, splitHeads } from './nn.ts';

function padding(c: CallCtx, kernel: number): number {
  return c.optInt('padding') ?? Math.floor(kernel / 2);
}

export const Conv2d: LayerRule = (c) => {
  const k = c.int('kernel');
  return conv(c, '', c.tensor('x'), {
    out: c.int('out'),
    kernel: k,
    stride: c.int('stride'),
    padding: padding(c, k),
    groups: c.int('groups'),
    bias: c.bool('bias'),
  });
};

export const DepthwiseConv2d: LayerRule = (c) => {
  const x = c.tensor('x');
  if (x.shape.length !== 4) c.fail(`needs [B, C, H, W], found ${fmt(x.shape)}`);
  const ch = x.shape[1] ?? 1;
  const k = c.int('kernel');
  return conv(c, '', x, { out: ch, kernel: k, stride: 1, padding: Math.floor(k / 2), groups: ch, bias: c.bool('bias') });
};

export const GroupNorm: LayerRule = (c) => groupNorm(c, '', c.tensor('x'), c.int('groups'), c.num('eps'), c.bool('affine'));

export const CondConv2d: LayerRule = (c) => {
  const b = c.b;
  const x = c.tensor('x'); // [B, C, H, W]
  if (x.shape.length !== 4) c.fail(`needs [B, C, H, W], found ${fmt(x.shape)}`);
  const [bsz, ch, h, w] = x.shape as [number, number, number, number];
  const out = c.int('out');
  const e = c.int('experts');
  const k = c.int('kernel');
  const stride = c.int('stride');
  const pad = padding(c, k);
  const alpha = b.sigmoid(linear(c, 'routing', mean(b, x, [2, 3], false), e, true)); // [B, E]
  const fanIn = ch * k * k;
  const experts = c.param('weight', [e, out, ch, k, k], { kind: 'weight', module: 'conv', fanIn, fanOut: out * k * k }); // [E, O, C, k, k]
  const mixed = b.matmul(alpha, b.reshape(experts, [e, out * ch * k * k])); // [B, O·C·k·k]
  // One conv with groups = B: sample i's channels meet only sample i's kernel.
  const y = b.conv2d(b.reshape(x, [1, bsz * ch, h, w]), b.reshape(mixed, [bsz * out, ch, k, k]), { stride, padding: pad, groups: bsz });
  return b.reshape(y, [bsz, out, y.shape[2] ?? 1, y.shape[3] ?? 1]);
};

/**
 * diffusers ResnetBlock2D: h = conv1(SiLU(norm1(x))); h += time_emb_proj(SiLU(temb))[:, :, None, None];
 * h = conv2(SiLU(norm2(h))); out = shortcut(x) + h, the shortcut a 1×1 conv when channels change.
 */
export const ResBlock: LayerRule = (c) => {
  const b = c.b;
  const x = c.tensor('x');
  if (x.shape.length !== 4) c.fail(`needs [B, C, H, W], found ${fmt(x.shape)}`);
  const [bsz, ch] = x.shape as [number, number];
  const out = c.int('out');
  const groups = c.int('groups');
  const conv3 = { out, kernel: 3, stride: 1, padding: 1, groups: 1, bias: true };
  let h = conv(c, 'conv1', b.silu(groupNorm(c, 'norm1', x, groups, 1e-5, true)), conv3);
  const temb = c.optTensor('temb');
  if (temb !== undefined) {
    if (temb.shape.length !== 2 || temb.shape[0] !== bsz) c.fail(`temb must be [B, dim] with B = ${bsz}, found ${fmt(temb.shape)}`);
    h = b.add(h, b.reshape(linear(c, 'time_emb_proj', b.silu(temb), out, true), [bsz, out, 1, 1]));
  }
  h = conv(c, 'conv2', b.silu(groupNorm(c, 'norm2', h, groups, 1e-5, true)), conv3);
  const skip = ch === out ? x : conv(c, 'conv_shortcut', x, { out, kernel: 1, stride: 1, padding: 0, groups: 1, bias: true });
  return b.add(skip, h);
};

/**
 * diffusers mid-block Attention on [B, C, H, W]: group_norm, tokens [B, H·W, C], multi-head softmax
 * attention (keys/values from `context` when given), to_out, back to [B, C, H, W], plus the residual.
 */
export const AttnBlock: LayerRule = (c) => {
  const b = c.b;
  const x = c.tensor('x');
  if (x.shape.length !== 4) c.fail(`needs [B, C, H, W], found ${fmt(x.shape)}`);
  const [bsz, ch, h, w] = x.shape as [number, number, number, number];
  const heads = c.int('heads');
  if (heads < 1 || ch % heads !== 0) c.fail(`${ch} channels do not split into ${heads} heads`);
  const n = groupNorm(c, 'group_norm', x, c.int('groups'), 1e-5, true);
  const tokens = b.permute(b.reshape(n, [bsz, ch, h * w]), [0, 2, 1]); // [B, HW, C]
  const ctx: Node = c.optTensor('context') ?? tokens;
  if (ctx.shape.length !== 3 || ctx.shape[0] !== bsz) c.fail(`context must be [B, S, D], found ${fmt(ctx.shape)}`);
  const q = splitHeads(b, linear(c, 'to_q', tokens, ch, true), heads);
  const k = splitHeads(b, linear(c, 'to_k', ctx, ch, true), heads);
  const v = splitHeads(b, linear(c, 'to_v', ctx, ch, true), heads);
  const o = linear(c, 'to_out', mergeHeads(b, sdpa(b, q, k, v, false)), ch, true); // [B, HW, C]
  return b.add(b.reshape(b.permute(o, [0, 2, 1]), [bsz, ch, h, w]), x);
};
