// Plain JavaScript matmul in float64: the independent expectation the GPU kernels are checked
// against, with the rounding-error bound each element may differ by.

import type { Activation, MatmulDims } from '../../../compiler/codegen/wgsl/matmul.ts';

const ACT: Record<Activation, (x: number) => number> = {
  none: (x) => x,
  relu: (x) => Math.max(x, 0),
  gelu: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  silu: (x) => x / (1 + Math.exp(-x)),
};

export interface Reference {
  /** [batch, M, N] */
  values: Float64Array;
  /** Σ_k |a_ik · b_kj| per element, which scales f32 accumulation error. */
  magnitude: Float64Array;
}

/** a: [batch, M, K], b: [batch, K, N] or [K, N] (broadcastB), bias: [N] */
export function referenceMatmul(dims: MatmulDims, a: Float32Array, b: Float32Array, bias: Float32Array | undefined, activation: Activation): Reference {
  const { batch, m, n, k } = dims;
  const values = new Float64Array(batch * m * n);
  const magnitude = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    const bz = dims.broadcastB === true ? 0 : z * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        let mag = 0;
        for (let p = 0; p < k; p++) {
          const prod = a[z * m * k + i * k + p]! * b[bz + p * n + j]!;
          sum += prod;
          mag += Math.abs(prod);
        }
        const out = z * m * n + i * n + j;
        values[out] = ACT[activation](sum + (bias?.[j] ?? 0));
        magnitude[out] = mag + Math.abs(bias?.[j] ?? 0);
      }
    }
  }
  return { values, magnitude };
}

/**
 * Allowed |gpu - ref|: f32 summation of K products in any order errs by at most about K·u·Σ|a·b|
 * (u = 2^-24); we allow 2× that, plus 1e-5 relative and 1e-6 absolute slack for the GPU's exp/tanh
 * in the activations (the activations' slopes are at most ~1.13, well inside the 2×).
 */
export function tolerance(k: number, magnitude: number, ref: number): number {
  return 2 * (k + 1) * 2 ** -24 * magnitude + 1e-5 * Math.abs(ref) + 1e-6;
}
