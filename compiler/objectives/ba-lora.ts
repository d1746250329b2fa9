// BA-LoRA's three regularizers as compositions of IR primitives, in both published versions
// (research/seeds.md §3.2 ICLR, §3.3 arXiv). Nothing here is a new op: autodiff differentiates them
// through the existing VJP rules (svd_values included), and fusion sees them as ordinary graph.
//
// Shapes: Z [..., C] are the fine-tuned outputs (logits or features), rows = every leading
// position; an optional `mask` [...] of 0/1 weights says which rows count (NLG: labels ≠ ignore).
// Masked rows are zeroed before the SVD, which is exact: zero rows change neither the singular
// values nor the Frobenius norm.

import type { GraphBuilder } from '../ir/builder.ts';
import { klDiv, logSoftmax, mean, topk } from '../ir/compose.ts';
import type { Node } from '../ir/graph.ts';

export type BaLoraVariant = 'iclr' | 'arxiv';
export const BA_LORA_VARIANTS: readonly BaLoraVariant[] = ['iclr', 'arxiv'];

export type SvdNorm = 'sum_sigma' | 'frobenius';
export const SVD_NORMS: readonly SvdNorm[] = ['sum_sigma', 'frobenius'];

/** Below this normalizer the SVD term is 0 (the reference code skips it). */
export const SVD_MIN_NORM = 1e-8;

const lastDim = (x: Node): number => x.shape[x.shape.length - 1] ?? 1;

/** x [..., C] → [R, C] with R the product of the leading axes. */
function rows2d(b: GraphBuilder, x: Node): Node {
  return b.reshape(x, [-1, lastDim(x)]);
}

/** Σ over valid rows of v [...] divided by their count (all rows without a mask). */
function maskedMean(b: GraphBuilder, v: Node, mask: Node | undefined): Node {
  if (mask === undefined) return mean(b, v);
  return b.div(b.sum(b.mul(v, mask)), b.maximum(b.sum(mask), 1));
}

/** torch.nn.functional.normalize(x, dim=-1): x / max(‖x‖₂, 1e-12). */
export function l2Normalize(b: GraphBuilder, x: Node): Node {
  return b.div(x, b.maximum(b.sqrt(b.sum(b.mul(x, x), -1, true)), 1e-12));
}

export interface ConsistencyOpts {
  variant?: BaLoraVariant;
  /** ICLR temperature T (default 2). */
  temperature?: number;
  mask?: Node;
}

/**
 * Knowledge-drift regularizer against the frozen base's outputs (no gradient reaches `base`).
 * iclr: T²·KL(softmax(Z_P/T) ‖ softmax(Z_F/T)), summed over classes, mean over valid rows.
 * arxiv: MSE(normalize₂(Z_F), normalize₂(Z_P)), mean over valid rows and classes.
 */
export function consistency(b: GraphBuilder, student: Node, base: Node, opts: ConsistencyOpts = {}): Node {
  const zp = b.stopGradient(base);
  if ((opts.variant ?? 'iclr') === 'iclr') {
    return klDiv(b, student, zp, { temperature: opts.temperature ?? 2, ...(opts.mask === undefined ? {} : { mask: opts.mask }) });
  }
  const d = b.sub(l2Normalize(b, student), l2Normalize(b, zp)); // [..., C]
  const perRow = b.div(b.sum(b.mul(d, d), -1), lastDim(student)); // [...]
  return maskedMean(b, perRow, opts.mask);
}

/**
 * ICLR NLG diversity: −mean over valid rows of the entropy of log-softmax over each row's top-k
 * logits (k is clamped to C). Minimizing it spreads probability over the top candidates.
 */
export function topkEntropyDiversity(b: GraphBuilder, z: Node, k: number, mask?: Node): Node {
  const top = topk(b, z, Math.min(k, lastDim(z))).values; // [..., k]
  const lp = logSoftmax(b, top, -1);
  const h = b.neg(b.sum(b.mul(b.exp(lp), lp), -1)); // [...]
  return b.neg(maskedMean(b, h, mask));
}

/**
 * Off-diagonal covariance diversity (arXiv version; also ICLR NLU): C = Z_cᵀZ_c/(N−1) over the
 * valid rows of Z [..., D], L = (1/D)·Σ_{i≠j} C_ij². Decorrelates the output dimensions.
 */
export function covarianceDiversity(b: GraphBuilder, z: Node, mask?: Node): Node {
  const x = rows2d(b, z); // [N, D]
  const d = lastDim(x);
  const w = mask === undefined ? undefined : b.reshape(mask, [-1, 1]); // [N, 1]
  const n = w === undefined ? b.scalar(x.shape[0] ?? 1, x.dtype) : b.sum(w);
  const mu = b.div(b.sum(w === undefined ? x : b.mul(x, w), 0, true), n); // [1, D]
  const xc = w === undefined ? b.sub(x, mu) : b.mul(b.sub(x, mu), w); // [N, D], invalid rows 0
  const cov = b.div(b.matmul(b.transpose(xc), xc), b.maximum(b.sub(n, 1), 1)); // [D, D]
  const off = b.sub(b.full(1, [d, d], x.dtype), b.cast(b.eq(b.iota([d, d], 0), b.iota([d, d], 1)), x.dtype));
  return b.div(b.sum(b.mul(b.mul(cov, cov), off)), d);
}

export interface DiversityOpts {
  variant?: BaLoraVariant;
  /** Top-k of the ICLR entropy (default 10). */
  k?: number;
  mask?: Node;
}

/** iclr → top-k entropy; arxiv → off-diagonal covariance (the signature's two readings). */
export function diversity(b: GraphBuilder, z: Node, opts: DiversityOpts = {}): Node {
  return (opts.variant ?? 'iclr') === 'iclr' ? topkEntropyDiversity(b, z, opts.k ?? 10, opts.mask) : covarianceDiversity(b, z, opts.mask);
}

export interface SvdEnergyOpts {
  k?: number;
  norm?: SvdNorm;
  /**
   * iclr: rows of Z [..., C] as one [R, C] matrix. arxiv: a rank-3 Z [B, L, V] is read as
   * [B, L·V] (the reference reshape); rank 2 is the same in both.
   */
  variant?: BaLoraVariant;
  mask?: Node;
}

/**
 * Spectral-energy regularizer: −Σ_{i≤k} σ_i / Σ_j σ_j (or / ‖Z‖_F), exact singular values of the
 * valid rows; 0 when the normalizer is below 1e-8. Gradient ∂σ_i/∂Z = u_i v_iᵀ needs distinct σ.
 */
export function svdEnergy(b: GraphBuilder, z: Node, opts: SvdEnergyOpts = {}): Node {
  let x = z;
  if (opts.mask !== undefined) x = b.mul(x, b.reshape(opts.mask, [...opts.mask.shape, 1]));
  x = opts.variant === 'arxiv' && x.shape.length === 3 ? b.reshape(x, [x.shape[0] ?? 1, -1]) : rows2d(b, x); // [M, N]
  const sigma = b.svdValues(x); // [min(M, N)] descending
  const k = Math.min(opts.k ?? 5, sigma.shape[0] ?? 1);
  const top = b.sum(b.sliceAxis(sigma, 0, 0, k));
  // 1e-30 keeps sqrt's derivative finite at Z = 0, where the guard below zeroes the term anyway.
  const denom = (opts.norm ?? 'sum_sigma') === 'sum_sigma' ? b.sum(sigma) : b.sqrt(b.add(b.sum(b.mul(x, x)), 1e-30));
  const ok = b.gt(denom, SVD_MIN_NORM);
  return b.where(ok, b.neg(b.div(top, b.maximum(denom, SVD_MIN_NORM))), 0);
}
