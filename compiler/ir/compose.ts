// Derived ops written as compositions of primitives: the layer library calls these; the WebGPU
// backend fuses them later. Nothing here is a primitive, so autodiff needs no extra rules (log
// softmax is the primitive log_softmax, ops.ts says why).
// Convention: `axis` defaults to the last axis; shapes in comments use [B, T, C]-style names.

import type { GraphBuilder } from './builder.ts';
import type { DType, Node } from './graph.ts';
import { normAxis } from './shape-rules.ts';

/** The most negative finite value of a float dtype (masking without -inf, as HF does). */
export function lowest(dtype: DType): number {
  return dtype === 'f16' ? -65504 : -3.4028234663852886e38;
}

function axesOf(x: Node, axes: number | readonly number[]): number[] {
  return (typeof axes === 'number' ? [axes] : [...axes]).map((a) => normAxis(a, x.shape.length));
}

export function mean(b: GraphBuilder, x: Node, axes: number | readonly number[] = x.shape.map((_d, i) => i), keepdim = false): Node {
  const ax = axesOf(x, axes);
  const count = ax.reduce((p, a) => p * (x.shape[a] as number), 1);
  return b.div(b.sum(x, ax, keepdim), count);
}

/** Biased variance (divide by n), as LayerNorm/GroupNorm use. */
export function variance(b: GraphBuilder, x: Node, axes: number | readonly number[], keepdim = false): Node {
  const d = b.sub(x, mean(b, x, axes, true));
  return mean(b, b.mul(d, d), axes, keepdim);
}

/** Max-shifted so exp never overflows; the shift is a constant to autodiff (softmax ignores it). */
export function softmax(b: GraphBuilder, x: Node, axis = -1): Node {
  const m = b.stopGradient(b.max(x, axis, true));
  const e = b.exp(b.sub(x, m));
  return b.div(e, b.sum(e, axis, true));
}

export function logsumexp(b: GraphBuilder, x: Node, axis = -1, keepdim = false): Node {
  const m = b.stopGradient(b.max(x, axis, true));
  const s = b.add(b.log(b.sum(b.exp(b.sub(x, m)), axis, true)), m);
  return keepdim
    ? s
    : b.reshape(
        s,
        x.shape.filter((_d, i) => i !== normAxis(axis, x.shape.length)),
      );
}

/** The primitive log_softmax: one row pass forward, a VJP from its saved output. */
export function logSoftmax(b: GraphBuilder, x: Node, axis = -1): Node {
  return b.logSoftmax(x, axis);
}

export interface NormOpts {
  weight?: Node;
  bias?: Node;
  eps?: number;
}

/** LayerNorm over the last axis: (x − mean)/√(var + eps)·w + b. x [..., C], w/b [C]. */
export function layerNorm(b: GraphBuilder, x: Node, opts: NormOpts = {}): Node {
  const mu = mean(b, x, -1, true);
  const d = b.sub(x, mu);
  const v = mean(b, b.mul(d, d), -1, true);
  return affine(b, b.mul(d, b.rsqrt(b.add(v, opts.eps ?? 1e-5))), opts);
}

/** RMSNorm over the last axis: x/√(mean(x²) + eps)·w (llama). */
export function rmsNorm(b: GraphBuilder, x: Node, opts: NormOpts = {}): Node {
  const ms = mean(b, b.mul(x, x), -1, true);
  return affine(b, b.mul(x, b.rsqrt(b.add(ms, opts.eps ?? 1e-5))), opts);
}

/** GroupNorm: x [N, C, ...] normalised over (C/groups, ...) per group; w/b [C]. */
export function groupNorm(b: GraphBuilder, x: Node, groups: number, opts: NormOpts = {}): Node {
  const [n, c] = x.shape as [number, number];
  const rest = x.shape.slice(2);
  const xg = b.reshape(x, [n, groups, -1]); // [N, G, C/G·H·W]
  const mu = mean(b, xg, 2, true);
  const d = b.sub(xg, mu);
  const v = mean(b, b.mul(d, d), 2, true);
  const y = b.reshape(b.mul(d, b.rsqrt(b.add(v, opts.eps ?? 1e-5))), x.shape);
  // Per-channel affine broadcasts over the spatial axes: [C] → [C, 1, 1].
  const chan = (p: Node): Node => b.reshape(p, [c, ...rest.map(() => 1)]);
  let out = y;
  if (opts.weight) out = b.mul(out, chan(opts.weight));
  if (opts.bias) out = b.add(out, chan(opts.bias));
  return out;
}

function affine(b: GraphBuilder, y: Node, opts: NormOpts): Node {
  let out = y;
  if (opts.weight) out = b.mul(out, opts.weight);
  if (opts.bias) out = b.add(out, opts.bias);
  return out;
}

/** y = x·Wᵀ + bias with W [out, in] (the Hugging Face / PyTorch layout). */
export function linear(b: GraphBuilder, x: Node, weight: Node, bias?: Node): Node {
  const y = b.matmul(x, b.transpose(weight));
  return bias ? b.add(y, bias) : y;
}

/** one_hot(idx)[..., d] = (idx == d), as `dtype`. */
export function oneHot(b: GraphBuilder, idx: Node, depth: number, dtype: DType = 'f32'): Node {
  const shape = [...idx.shape, depth];
  return b.cast(b.eq(b.reshape(idx, [...idx.shape, 1]), b.iota(shape, -1, idx.dtype)), dtype);
}

export interface CrossEntropyOpts {
  /** Label value that contributes nothing (Hugging Face uses -100). */
  ignoreIndex?: number;
  reduction?: 'mean' | 'sum';
}

/** Mean (over non-ignored positions) of −log softmax(logits)[label]. logits [..., V], labels i32 [...]. */
export function crossEntropy(b: GraphBuilder, logits: Node, labels: Node, opts: CrossEntropyOpts = {}): Node {
  const lsm = logSoftmax(b, logits, -1);
  const col = [...labels.shape, 1];
  let picked: Node;
  if (opts.ignoreIndex === undefined) {
    picked = b.reshape(b.takeAlongAxis(lsm, b.reshape(labels, col), -1), labels.shape);
    const total = b.neg(b.sum(picked));
    return opts.reduction === 'sum'
      ? total
      : b.div(
          total,
          Math.max(
            1,
            labels.shape.reduce((p, d) => p * d, 1),
          ),
        );
  }
  const valid = b.ne(labels, opts.ignoreIndex);
  const safe = b.where(valid, labels, 0); // ignored rows read class 0, then get weight 0
  const w = b.cast(valid, logits.dtype);
  picked = b.mul(b.reshape(b.takeAlongAxis(lsm, b.reshape(safe, col), -1), labels.shape), w);
  const total = b.neg(b.sum(picked));
  return opts.reduction === 'sum' ? total : b.div(total, b.maximum(b.sum(w), 1));
}

export interface KlOpts {
  temperature?: number;
  /** [...] 0/1 weights per row (valid tokens); the result is the mean over weighted rows. */
  mask?: Node;
}

/**
 * T²·KL(softmax(teacher/T) ‖ softmax(student/T)), summed over the last axis and averaged over rows
 * (BA-LoRA consistency, Hinton KD). Gradients flow into both unless the caller stops one.
 */
export function klDiv(b: GraphBuilder, student: Node, teacher: Node, opts: KlOpts = {}): Node {
  const t = opts.temperature ?? 1;
  const ls = logSoftmax(b, b.div(student, t), -1);
  const lt = logSoftmax(b, b.div(teacher, t), -1);
  const rows = b.sum(b.mul(b.exp(lt), b.sub(lt, ls)), -1); // [...]
  let avg: Node;
  if (opts.mask) avg = b.div(b.sum(b.mul(rows, opts.mask)), b.maximum(b.sum(opts.mask), 1));
  else avg = mean(b, rows);
  return b.mul(avg, t * t);
}

export function mse(b: GraphBuilder, x: Node, y: Node): Node {
  const d = b.sub(x, y);
  return mean(b, b.mul(d, d));
}

/** Nearest-neighbour upsampling of x [N, C, H, W] by an integer factor (a broadcast, no copy op). */
export function upsampleNearest(b: GraphBuilder, x: Node, scale: number): Node {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const wide = b.broadcastTo(b.reshape(x, [n, c, h, 1, w, 1]), [n, c, h, scale, w, scale]);
  return b.reshape(wide, [n, c, h * scale, w * scale]);
}

/** The k largest along the last axis (descending) and their indices; values carry gradients. */
export function topk(b: GraphBuilder, x: Node, k: number): { values: Node; indices: Node } {
  const indices = b.topkIndices(x, k);
  return { values: b.takeAlongAxis(x, indices, -1), indices };
}
