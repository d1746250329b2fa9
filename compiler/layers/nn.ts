// Building blocks shared by the layer rules: linear, conv and norm sub-modules (which create their
// parameters under a sub-name) and multi-head plumbing, over the IR's compositions (compose.ts). Each follows the reference PyTorch code line by line; shape comments use B batch,
// T/S query/key length, D width, H heads, hd head width.

import type { GraphBuilder } from '../ir/builder.ts';
import { attention, applyRope, ropeTables } from '../ir/compose-attention.ts';
import { groupNorm as composeGroupNorm, linear as composeLinear } from '../ir/compose.ts';
import type { Node } from '../ir/graph.ts';
import { fmt, lastDim, type CallCtx } from './context.ts';
import type { InitTag } from './init.ts';

const sub = (name: string, leaf: string): string => (name === '' ? leaf : `${name}.${leaf}`);

/** x[..., in] → x·Wᵀ + b: [..., out]; W is [out, in] as in torch.nn.Linear. */
export function linear(c: CallCtx, name: string, x: Node, out: number, bias: boolean, tag?: InitTag, biasTag?: InitTag): Node {
  if (x.shape.length === 0) c.fail(`a linear map needs a tensor with a feature axis, found a scalar`);
  const inF = lastDim(x);
  const w = c.param(sub(name, 'weight'), [out, inF], { kind: 'weight', module: 'linear', fanIn: inF, fanOut: out }, tag);
  const b = bias ? c.param(sub(name, 'bias'), [out], { kind: 'bias', module: 'linear', fanIn: inF }, biasTag ?? tag) : undefined;
  return applyLinear(c.b, x, w, b);
}

/** x[..., in] · w[out, in]ᵀ (+ b[out]) for existing weight nodes. */
export function applyLinear(b: GraphBuilder, x: Node, w: Node, bias: Node | undefined): Node {
  if (x.shape.length === 1) return b.reshape(composeLinear(b, b.reshape(x, [1, lastDim(x)]), w, bias), [w.shape[0] ?? 1]);
  return composeLinear(b, x, w, bias); // [..., out]
}

export interface ConvSpec {
  out: number;
  kernel: number;
  stride: number;
  padding: number;
  groups: number;
  bias: boolean;
}

/** x[B, C, H, W] → conv with W[out, C/groups, k, k] (+ b[out]) like torch.nn.Conv2d. */
export function conv(c: CallCtx, name: string, x: Node, s: ConvSpec, tag?: InitTag): Node {
  if (x.shape.length !== 4) c.fail(`a 2-D convolution needs [B, C, H, W], found ${fmt(x.shape)}`);
  const ch = x.shape[1] ?? 0;
  if (ch % s.groups !== 0 || s.out % s.groups !== 0) c.fail(`groups = ${s.groups} must divide the ${ch} input and ${s.out} output channels`);
  const fanIn = (ch / s.groups) * s.kernel * s.kernel;
  const fanOut = (s.out / s.groups) * s.kernel * s.kernel;
  const w = c.param(
    sub(name, 'weight'),
    [s.out, ch / s.groups, s.kernel, s.kernel],
    { kind: 'weight', module: 'conv', fanIn, fanOut: tag === 'patch' ? s.out : fanOut },
    tag,
  );
  const bias = s.bias ? c.param(sub(name, 'bias'), [s.out], { kind: 'bias', module: 'conv', fanIn }, tag) : undefined;
  const h = x.shape[2] ?? 0;
  const wd = x.shape[3] ?? 0;
  if (h + 2 * s.padding < s.kernel || wd + 2 * s.padding < s.kernel)
    c.fail(`the kernel ${s.kernel}×${s.kernel} is larger than the padded input ${fmt(x.shape)}`);
  const y = c.b.conv2d(x, w, { stride: s.stride, padding: s.padding, groups: s.groups }); // [B, out, OH, OW]
  return bias === undefined ? y : c.b.add(y, c.b.reshape(bias, [s.out, 1, 1]));
}

/** x[B, C, H, W] normalized over channel groups (torch.nn.GroupNorm), optional per-channel affine. */
export function groupNorm(c: CallCtx, name: string, x: Node, groups: number, eps: number, affine: boolean): Node {
  if (x.shape.length < 2) c.fail(`GroupNorm needs [B, C, …], found ${fmt(x.shape)}`);
  const ch = x.shape[1] ?? 0;
  if (groups < 1 || ch % groups !== 0) c.fail(`${ch} channels do not split into ${groups} groups`);
  if (!affine) return composeGroupNorm(c.b, x, groups, { eps });
  const weight = c.param(sub(name, 'weight'), [ch], { kind: 'norm_weight' });
  const bias = c.param(sub(name, 'bias'), [ch], { kind: 'norm_bias' });
  return composeGroupNorm(c.b, x, groups, { eps, weight, bias });
}

/** [B, T, H·hd] → [B, H, T, hd]. */
export function splitHeads(b: GraphBuilder, x: Node, heads: number): Node {
  const [bsz, t, d] = x.shape as [number, number, number];
  return b.permute(b.reshape(x, [bsz, t, heads, d / heads]), [0, 2, 1, 3]);
}

/** [B, H, T, hd] → [B, T, H·hd]. */
export function mergeHeads(b: GraphBuilder, x: Node): Node {
  const [bsz, h, t, hd] = x.shape as [number, number, number, number];
  return b.reshape(b.permute(x, [0, 2, 1, 3]), [bsz, t, h * hd]);
}

/**
 * softmax(q·kᵀ/√hd [+ causal mask])·v for q[B, H, T, hd], k/v[B, KV, S, hd] (grouped heads repeated
 * as HF repeat_kv) → [B, H, T, hd].
 */
export function sdpa(b: GraphBuilder, q: Node, k: Node, v: Node, causal: boolean): Node {
  return attention(b, q, k, v, { causal });
}

/** HF llama rotary embedding on [B, H, T, hd] (rotate_half convention, base θ). */
export function rope(b: GraphBuilder, x: Node, theta: number): Node {
  const { cos, sin } = ropeTables(b, x.shape[2] ?? 1, x.shape[3] ?? 2, { base: theta });
  return applyRope(b, x, cos, sin);
}
