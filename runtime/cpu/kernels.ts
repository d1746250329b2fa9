// The CPU kernel of every op: the executable definition of the IR. Exhaustive over Op, so tsc
// names any op a new entry in OP_INFO lacks here.

import type { Op } from '../../compiler/ir/ops.ts';
import type { CpuKernel } from './kernel.ts';
import { type BINARY_FNS, binaryKernel, castKernel, identityKernel, type UNARY_FNS, unaryKernel, whereKernel } from './kernels-elementwise.ts';
import { gatherKernel, scatterAddAlongAxisKernel, scatterAddKernel, takeAlongAxisKernel, topkIndicesKernel } from './kernels-index.ts';
import { conv2dGradInputKernel, conv2dGradWeightKernel, conv2dKernel, matmulKernel } from './kernels-contract.ts';
import { svdValuesGradKernel, svdValuesKernel } from './kernels-linalg.ts';
import {
  argmaxKernel,
  broadcastToKernel,
  concatKernel,
  padKernel,
  permuteKernel,
  reduceMaxKernel,
  reduceSumKernel,
  reshapeKernel,
  sliceKernel,
} from './kernels-movement.ts';
import { logSoftmaxKernel } from './kernels-softmax.ts';
import { constantKernel, feedKernel, fullKernel, iotaKernel, randomNormalKernel, randomUniformKernel } from './kernels-source.ts';

const u = (op: keyof typeof UNARY_FNS): CpuKernel => unaryKernel(op);
const bin = (op: keyof typeof BINARY_FNS): CpuKernel => binaryKernel(op);

export const CPU_KERNELS: Record<Op, CpuKernel> = {
  input: feedKernel,
  param: feedKernel,
  constant: constantKernel,
  full: fullKernel,
  iota: iotaKernel,
  random_uniform: randomUniformKernel,
  random_normal: randomNormalKernel,
  neg: u('neg'),
  abs: u('abs'),
  sign: u('sign'),
  exp: u('exp'),
  log: u('log'),
  sqrt: u('sqrt'),
  rsqrt: u('rsqrt'),
  tanh: u('tanh'),
  sigmoid: u('sigmoid'),
  relu: u('relu'),
  silu: u('silu'),
  gelu_tanh: u('gelu_tanh'),
  sin: u('sin'),
  cos: u('cos'),
  recip: u('recip'),
  add: bin('add'),
  sub: bin('sub'),
  mul: bin('mul'),
  div: bin('div'),
  pow: bin('pow'),
  maximum: bin('maximum'),
  minimum: bin('minimum'),
  eq: bin('eq'),
  ne: bin('ne'),
  lt: bin('lt'),
  le: bin('le'),
  gt: bin('gt'),
  ge: bin('ge'),
  where: whereKernel,
  cast: castKernel,
  stop_gradient: identityKernel,
  reduce_sum: reduceSumKernel,
  reduce_max: reduceMaxKernel,
  argmax: argmaxKernel,
  log_softmax: logSoftmaxKernel,
  reshape: reshapeKernel,
  permute: permuteKernel,
  broadcast_to: broadcastToKernel,
  slice: sliceKernel,
  concat: concatKernel,
  pad: padKernel,
  gather: gatherKernel,
  scatter_add: scatterAddKernel,
  take_along_axis: takeAlongAxisKernel,
  scatter_add_along_axis: scatterAddAlongAxisKernel,
  topk_indices: topkIndicesKernel,
  matmul: matmulKernel,
  conv2d: conv2dKernel,
  conv2d_grad_input: conv2dGradInputKernel,
  conv2d_grad_weight: conv2dGradWeightKernel,
  svd_values: svdValuesKernel,
  svd_values_grad: svdValuesGradKernel,
};
