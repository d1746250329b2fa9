// Every backend is held to the f32 reference at the same tolerance per op: max |backend − reference|
// / max(1, |reference|), default 1e-6 (exact arithmetic, only reordered). WebGPU's op-case test and
// ONNX Runtime's read this one table.

import type { Op } from '../../../compiler/ir/ops.ts';

export const TOLERANCE: Partial<Record<Op, number>> = {
  // transcendental functions: the driver's f32 implementations differ from JS's by a few ulp
  exp: 1e-5,
  log: 1e-5,
  sqrt: 1e-6,
  rsqrt: 1e-5,
  tanh: 1e-5,
  sigmoid: 1e-5,
  silu: 1e-5,
  gelu_tanh: 1e-5,
  sin: 1e-5,
  cos: 1e-5,
  pow: 1e-5,
  log_softmax: 1e-5,
  random_normal: 1e-4,
  // accumulation order differs from the CPU's loops
  matmul: 1e-5,
  conv2d: 1e-5,
  conv2d_grad_input: 1e-5,
  conv2d_grad_weight: 1e-5,
  reduce_sum: 1e-6,
  svd_values: 1e-6,
  svd_values_grad: 1e-6,
};
