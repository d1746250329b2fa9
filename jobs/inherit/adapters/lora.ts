// LoRA adapters on a frozen weight W [out, in] (PyTorch layout): the update is scale·B·A with
// A [r, in], B [out, r] and scale = alpha / r, as PEFT stores lora_A / lora_B.
//   zeros    — PEFT's default: A kaiming-uniform(a=√5), B = 0 (the adapter starts as no change);
//   gaussian — A ~ N(0, 1/r), B = 0;
//   pissa    — the top-r singular triplets of W: B = U_r·√S_r / √scale, A = √S_r·V_rᵀ / √scale, and
//              the frozen base becomes the residual W − scale·B·A (research/seeds.md §3.1), so the
//              model computes the same function at step 0.
// Merging adds scale·B·A into the base; unmerging subtracts it. Both accumulate in f64.

import { svd } from '../../../runtime/cpu/kernels-linalg.ts';
import { Prng } from '../../../runtime/data/index.ts';
import type { Dense } from '../tensor-ops.ts';

export type LoraInit = { readonly kind: 'zeros' } | { readonly kind: 'gaussian' } | { readonly kind: 'pissa'; readonly niter?: number };

export interface LoraWeights {
  /** lora_A.weight [r, in] */
  readonly a: Dense;
  /** lora_B.weight [out, r] */
  readonly b: Dense;
  /** The frozen base [out, in]: W itself, or W's residual for PiSSA. */
  readonly base: Dense;
}

/** Exact Jacobi SVD up to this short side; a randomized range finder beyond it. */
const EXACT_LIMIT = 128;

function dims(w: Dense): [number, number] {
  if (w.shape.length !== 2) throw new Error(`LoRA targets 2-D weights, got [${w.shape.join(', ')}]`);
  return w.shape as [number, number];
}

/** y = scale·B·A as f64 [out, in]. */
function lowRank(a: Dense, b: Dense, scale: number): Float64Array {
  const [r, n] = a.shape as [number, number];
  const m = b.shape[0] as number;
  if (b.shape[1] !== r) throw new Error(`LoRA: B [${b.shape.join(', ')}] does not match A [${a.shape.join(', ')}]`);
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < r; k++) {
      const bik = (b.data[i * r + k] as number) * scale;
      if (bik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] = (out[i * n + j] as number) + bik * (a.data[k * n + j] as number);
    }
  }
  return out;
}

/** base + scale·B·A */
export function mergeLora(base: Dense, a: Dense, b: Dense, scale: number): Dense {
  const d = lowRank(a, b, scale);
  return { shape: base.shape, data: Float32Array.from(base.data, (v, i) => v + (d[i] as number)) };
}

/** merged − scale·B·A: the inverse of mergeLora (exact whenever the merge was). */
export function unmergeLora(merged: Dense, a: Dense, b: Dense, scale: number): Dense {
  const d = lowRank(a, b, scale);
  return { shape: merged.shape, data: Float32Array.from(merged.data, (v, i) => v - (d[i] as number)) };
}

/** Orthonormalizes the columns of X [m, k] in place (modified Gram–Schmidt, twice for stability). */
function orthonormalize(x: Float64Array, m: number, k: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let c = 0; c < k; c++) {
      for (let p = 0; p < c; p++) {
        let dot = 0;
        for (let i = 0; i < m; i++) dot += (x[i * k + c] as number) * (x[i * k + p] as number);
        for (let i = 0; i < m; i++) x[i * k + c] = (x[i * k + c] as number) - dot * (x[i * k + p] as number);
      }
      let norm = 0;
      for (let i = 0; i < m; i++) norm += (x[i * k + c] as number) ** 2;
      norm = Math.sqrt(norm) || 1;
      for (let i = 0; i < m; i++) x[i * k + c] = (x[i * k + c] as number) / norm;
    }
  }
}

/**
 * The top-`rank` singular triplets of W [m, n]: U [m, rank], s [rank], V [n, rank] (f64).
 * Exact for small matrices; otherwise Halko et al.'s randomized range finder with `niter` power
 * iterations and 5 oversampling columns.
 */
export function topSvd(w: Dense, rank: number, niter = 16, seed = 0): { u: Float64Array; s: Float64Array; v: Float64Array } {
  const [m, n] = dims(w);
  const p = Math.min(m, n);
  if (rank < 1 || rank > p) throw new RangeError(`SVD rank ${rank} must be in 1..${p}`);
  const take = (r: { u: Float64Array; s: Float64Array; v: Float64Array }, q: number, rows: number, cols: number) => ({
    u: Float64Array.from({ length: rows * rank }, (_, i) => r.u[Math.floor(i / rank) * q + (i % rank)] as number),
    s: r.s.slice(0, rank),
    v: Float64Array.from({ length: cols * rank }, (_, i) => r.v[Math.floor(i / rank) * q + (i % rank)] as number),
  });
  if (p <= EXACT_LIMIT) return take(svd(w.data, m, n), p, m, n);
  const k = Math.min(p, rank + 5);
  const rng = new Prng(seed);
  const omega = Float64Array.from({ length: n * k }, () => rng.nextNormal());
  const mul = (x: Float64Array, cols: number, transposeW: boolean): Float64Array => {
    // W·X ([m,n]·[n,cols]) or Wᵀ·X ([n,m]·[m,cols])
    const rows = transposeW ? n : m;
    const inner = transposeW ? m : n;
    const out = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++)
      for (let t = 0; t < inner; t++) {
        const wv = transposeW ? (w.data[t * n + i] as number) : (w.data[i * n + t] as number);
        if (wv === 0) continue;
        for (let c = 0; c < cols; c++) out[i * cols + c] = (out[i * cols + c] as number) + wv * (x[t * cols + c] as number);
      }
    return out;
  };
  let y = mul(omega, k, false);
  orthonormalize(y, m, k);
  for (let it = 0; it < niter; it++) {
    const z = mul(y, k, true);
    orthonormalize(z, n, k);
    y = mul(z, k, false);
    orthonormalize(y, m, k);
  }
  // B = Qᵀ W [k, n]; its SVD lifts back through Q.
  const small = new Float64Array(k * n);
  for (let c = 0; c < k; c++)
    for (let i = 0; i < m; i++) {
      const q = y[i * k + c] as number;
      for (let j = 0; j < n; j++) small[c * n + j] = (small[c * n + j] as number) + q * (w.data[i * n + j] as number);
    }
  const r = svd(small, k, n); // u [k, k], v [n, k]
  const u = new Float64Array(m * k);
  for (let i = 0; i < m; i++)
    for (let c = 0; c < k; c++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += (y[i * k + t] as number) * (r.u[t * k + c] as number);
      u[i * k + c] = acc;
    }
  return take({ u, s: r.s, v: r.v }, k, m, n);
}

/**
 * Initializes a LoRA adapter on W [out, in].
 *
 * @example
 * const { a, b, base } = initLora(w, 8, 16, { kind: 'pissa', niter: 16 }); // base + 2·B·A ≈ w
 */
export function initLora(w: Dense, rank: number, alpha: number, init: LoraInit, seed = 0): LoraWeights {
  const [out, inF] = dims(w);
  const scale = alpha / rank;
  const zerosB: Dense = { shape: [out, rank], data: new Float32Array(out * rank) };
  const rng = new Prng(seed);
  switch (init.kind) {
    case 'zeros': {
      const bound = 1 / Math.sqrt(inF);
      return { a: { shape: [rank, inF], data: Float32Array.from({ length: rank * inF }, () => (2 * rng.nextFloat() - 1) * bound) }, b: zerosB, base: w };
    }
    case 'gaussian':
      return { a: { shape: [rank, inF], data: Float32Array.from({ length: rank * inF }, () => rng.nextNormal() / rank) }, b: zerosB, base: w };
    case 'pissa': {
      const { u, s, v } = topSvd(w, rank, init.niter ?? 16, seed);
      const root = Float64Array.from(s, (x) => Math.sqrt(x / scale));
      const a: Dense = {
        shape: [rank, inF],
        data: Float32Array.from(
          { length: rank * inF },
          (_, i) => (root[Math.floor(i / inF)] as number) * (v[(i % inF) * rank + Math.floor(i / inF)] as number),
        ),
      };
      const b: Dense = { shape: [out, rank], data: Float32Array.from({ length: out * rank }, (_, i) => (u[i] as number) * (root[i % rank] as number)) };
      return { a, b, base: unmergeLora(w, a, b, scale) };
    }
  }
}
