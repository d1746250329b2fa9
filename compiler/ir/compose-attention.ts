// Attention pieces as compositions: rotary position embedding in Hugging Face llama's
// rotate_half convention, and scaled dot-product attention with causal mask and GQA.

import type { GraphBuilder } from './builder.ts';
import { lowest, softmax } from './compose.ts';
import type { Node } from './graph.ts';

/**
 * cos/sin tables [T, D] for positions offset..offset+T-1: inv_freq_i = base^(−2i/D) for i < D/2,
 * angles duplicated as cat(freqs, freqs) exactly as HF's LlamaRotaryEmbedding builds them.
 */
export function ropeTables(b: GraphBuilder, seqLen: number, headDim: number, opts: { base?: number; offset?: number } = {}): { cos: Node; sin: Node } {
  const half = headDim / 2;
  const pos = b.add(b.iota([seqLen, half], 0, 'f32'), opts.offset ?? 0); // [T, D/2]
  const expo = b.div(b.mul(b.iota([seqLen, half], 1, 'f32'), 2), headDim); // 2i/D
  const invFreq = b.pow(b.scalar(opts.base ?? 10000), b.neg(expo));
  const freqs = b.mul(pos, invFreq);
  const emb = b.concat([freqs, freqs], 1); // [T, D]
  return { cos: b.cos(emb), sin: b.sin(emb) };
}

/** rotate_half(x) = cat(−x[..., D/2:], x[..., :D/2]). */
export function rotateHalf(b: GraphBuilder, x: Node): Node {
  const d = x.shape[x.shape.length - 1] as number;
  return b.concat([b.neg(b.sliceAxis(x, -1, d / 2, d)), b.sliceAxis(x, -1, 0, d / 2)], -1);
}

/** x·cos + rotate_half(x)·sin; x [..., T, D], cos/sin [T, D]. */
export function applyRope(b: GraphBuilder, x: Node, cos: Node, sin: Node): Node {
  return b.add(b.mul(x, cos), b.mul(rotateHalf(b, x), sin));
}

/** HF repeat_kv: [B, KV, S, D] → [B, KV·n, S, D], query head h reads kv head ⌊h/n⌋. */
export function repeatKv(b: GraphBuilder, x: Node, n: number): Node {
  if (n === 1) return x;
  const [bs, kv, s, d] = x.shape as [number, number, number, number];
  const wide = b.broadcastTo(b.reshape(x, [bs, kv, 1, s, d]), [bs, kv, n, s, d]);
  return b.reshape(wide, [bs, kv * n, s, d]);
}

export interface AttentionOpts {
  causal?: boolean;
  /** Defaults to 1/√D. */
  scale?: number;
}

/**
 * softmax(q·kᵀ·scale + mask)·v with q [B, H, T, D], k/v [B, KV, S, D], H a multiple of KV.
 * Causal: query t sees keys s ≤ t + (S − T) (so a query block at the end of a cache works).
 */
export function attention(b: GraphBuilder, q: Node, k: Node, v: Node, opts: AttentionOpts = {}): Node {
  const h = q.shape[1] as number;
  const kv = k.shape[1] as number;
  const t = q.shape[2] as number;
  const s = k.shape[2] as number;
  const d = q.shape[3] as number;
  if (h % kv !== 0) throw new Error(`attention: ${h} query heads are not a multiple of ${kv} kv heads`);
  const kr = repeatKv(b, k, h / kv);
  const vr = repeatKv(b, v, h / kv);
  let scores = b.mul(b.matmul(q, b.transpose(kr)), opts.scale ?? 1 / Math.sqrt(d)); // [B, H, T, S]
  if (opts.causal) {
    const allowed = b.le(b.iota([t, s], 1), b.add(b.iota([t, s], 0), s - t)); // [T, S]
    scores = b.where(allowed, scores, lowest(q.dtype));
  }
  return b.matmul(softmax(b, scores, -1), vr); // [B, H, T, D]
}
