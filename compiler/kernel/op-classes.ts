// How fusion sees each op: where its value comes from (a buffer, a free recomputation, a loop)
// and how many times computing a consumer reads each operand element. Exhaustive over Op.

import type { Graph, Node } from '../ir/graph.ts';
import { numel } from '../ir/graph.ts';
import type { Op } from '../ir/ops.ts';

/**
 * buffer: fed by the host (input, param).
 * free:   recomputed wherever used (full, iota, small constants): cheaper than a load.
 * loop:   each output element loops over many operand elements (reductions, contractions).
 * host:   run on the CPU between dispatches (small linear algebra without a WGSL form).
 * view:   pure index remapping (no arithmetic).
 * map:    elementwise arithmetic.
 */
export type OpClass = 'buffer' | 'free' | 'loop' | 'host' | 'view' | 'map';

export const OP_CLASS: Record<Op, OpClass> = {
  input: 'buffer',
  param: 'buffer',
  constant: 'free',
  full: 'free',
  iota: 'free',
  random_uniform: 'map',
  random_normal: 'map',
  neg: 'map',
  abs: 'map',
  sign: 'map',
  exp: 'map',
  log: 'map',
  sqrt: 'map',
  rsqrt: 'map',
  tanh: 'map',
  sigmoid: 'map',
  relu: 'map',
  silu: 'map',
  gelu_tanh: 'map',
  sin: 'map',
  cos: 'map',
  recip: 'map',
  add: 'map',
  sub: 'map',
  mul: 'map',
  div: 'map',
  pow: 'map',
  maximum: 'map',
  minimum: 'map',
  eq: 'map',
  ne: 'map',
  lt: 'map',
  le: 'map',
  gt: 'map',
  ge: 'map',
  where: 'map',
  cast: 'view',
  stop_gradient: 'view',
  reduce_sum: 'loop',
  reduce_max: 'loop',
  argmax: 'loop',
  reshape: 'view',
  permute: 'view',
  broadcast_to: 'view',
  slice: 'view',
  concat: 'view',
  pad: 'view',
  gather: 'view',
  take_along_axis: 'view',
  scatter_add: 'loop',
  scatter_add_along_axis: 'loop',
  topk_indices: 'loop',
  matmul: 'loop',
  conv2d: 'loop',
  conv2d_grad_input: 'loop',
  conv2d_grad_weight: 'loop',
  svd_values: 'host',
  svd_values_grad: 'host',
};

/** Constants up to this many elements are inlined into the WGSL; larger ones become buffers. */
export const INLINE_CONSTANT_MAX = 64;

export function classOf(n: Node): OpClass {
  if (n.op === 'constant' && numel(n.shape) > INLINE_CONSTANT_MAX) return 'buffer';
  return OP_CLASS[n.op];
}

/**
 * Operand reads per element of the consumer's output, summed over the consumer: computing all
 * of `c` calls operand k's value function this many times. Divided by the operand's size, it is
 * how often each operand element would be recomputed if the operand were inlined.
 */
export function operandReads(g: Graph, c: Node, k: number): number {
  const out = numel(c.shape);
  const ins = c.inputs.map((j) => g.nodes[j] as Node);
  const inSize = numel((ins[k] as Node).shape);
  switch (c.op) {
    case 'reduce_sum':
    case 'reduce_max':
    case 'argmax':
      return inSize;
    case 'matmul': {
      const a = (ins[0] as Node).shape;
      return out * (a[a.length - 1] as number);
    }
    case 'conv2d':
    case 'conv2d_grad_input':
    case 'conv2d_grad_weight': {
      const w = (c.op === 'conv2d_grad_weight' ? c.shape : (ins[1] as Node).shape) as number[];
      return ((out * numel(w)) / Math.max(1, w[0] as number)) * (c.op === 'conv2d' ? 1 : (w[0] as number));
    }
    case 'scatter_add':
      return k === 0 ? out : out * numel((ins[1] as Node).shape);
    case 'scatter_add_along_axis': {
      const axis = c.attrs['axis'] as number;
      return k === 0 ? out : out * ((ins[1] as Node).shape[axis] as number);
    }
    case 'topk_indices': {
      const n = c.shape.length ? ((ins[0] as Node).shape[(ins[0] as Node).shape.length - 1] as number) : 1;
      return out * n * n;
    }
    case 'concat':
    case 'slice':
      return inSize === 0 ? 0 : Math.min(out, inSize);
    case 'gather':
      return k === 0 ? out : (out / Math.max(1, inSize)) * inSize;
    default:
      return out;
  }
}
