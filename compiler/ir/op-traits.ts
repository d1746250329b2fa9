// What the back half and `scion explain` need to know about each op, one entry per op beside
// OP_INFO: how fusion sees it (class), how it indexes its operands, how often it reads them and
// how many FLOPs it costs. Exhaustive over Op, so tsc names every fact a new op is missing — no
// op-name list elsewhere can silently leave it out.

import type { Node } from './graph.ts';
import { numel } from './graph.ts';
import type { Op } from './ops.ts';

/**
 * How fusion sees an op (compiler/kernel/fuse-kernels.ts, codegen/wgsl/render-kernel.ts):
 * buffer: fed by the host (input, param).
 * free:   recomputed wherever used (full, iota, small constants): cheaper than a load.
 * loop:   each output element loops over many operand elements (reductions, contractions).
 * host:   run on the CPU between dispatches (small linear algebra without a WGSL form).
 * view:   pure index remapping (no arithmetic).
 * map:    elementwise arithmetic.
 */
export type OpClass = 'buffer' | 'free' | 'loop' | 'host' | 'view' | 'map';

/**
 * Where an op reads its operands, relative to the output element it computes:
 * none:      reads no operand per element (sources; host ops read theirs whole on the CPU).
 * aligned:   each operand at the output's own index, when their shapes are equal (elementwise).
 * keyed:     the whole key operand for every element (random_*): never aligned, never recomputed.
 * flat:      the same flat index (reshape): always aligned.
 * broadcast: a broadcast of its operand (broadcast_to): a reduction broadcast back is memoized per row.
 * remap:     a static index map (permute, slice, pad, concat).
 * data:      an index read from another operand (gather, take_along_axis): not recomputed for free.
 * row:       a reduction whose rows can be memoized in a row kernel (reduce_sum, reduce_max).
 * loop:      other loops over many operand elements (argmax, scatters, top-k).
 * contract:  a contraction (matmul, convolutions): materialized and register-blocked when long.
 */
export type OpIndex = 'none' | 'aligned' | 'keyed' | 'flat' | 'broadcast' | 'remap' | 'data' | 'row' | 'loop' | 'contract';

/**
 * Operand reads per element of the consumer's output, summed over the consumer: computing all of
 * `c` calls operand k's value function this many times. Divided by the operand's size, it is how
 * often each operand element would be recomputed if the operand were inlined.
 */
export type ReadsRule = (c: Node, ins: readonly Node[], k: number) => number;

/**
 * FLOPs of one node, counted from the graph a layer lowers to (`scion explain`). Conventions: a
 * multiply-add is 2 FLOPs (matmul 2·M·N·K, conv 2·out·(C/g)·k²); elementwise ops 1 per output
 * element; reductions 1 per input element; sources, movement, indexing and casts 0. The
 * convolution gradients count 0: explain counts forward graphs.
 */
export type FlopsRule = (n: Node, ins: readonly Node[]) => number;

/**
 * Iterations of the loop one output element runs, as the WGSL renderer writes it (render-node.ts):
 * a reduction's length, a matmul's K, a convolution's window; 0 for ops without a loop. The static
 * cost model (compiler/kernel/cost.ts) multiplies these along a kernel's loop nests.
 */
export type TripsRule = (n: Node, ins: readonly Node[]) => number;

export interface OpTraits {
  readonly class: OpClass;
  readonly index: OpIndex;
  readonly reads: ReadsRule;
  readonly flops: FlopsRule;
  readonly trips: TripsRule;
}

const perOutput: ReadsRule = (c) => numel(c.shape);
const perInput: ReadsRule = (_c, ins, k) => numel(ins[k]?.shape ?? []);
const noFlops: FlopsRule = () => 0;
const outputFlops: FlopsRule = (n) => numel(n.shape);
const inputFlops: FlopsRule = (_n, ins) => numel(ins[0]?.shape ?? []);

const noTrips: TripsRule = () => 0;
/** One pass over the operand elements behind each output element (reductions, argmax). */
const perInputTrips: TripsRule = (n, ins) => numel(ins[0]?.shape ?? []) / Math.max(1, numel(n.shape));

const source = (cls: 'buffer' | 'free'): OpTraits => ({ class: cls, index: 'none', reads: perOutput, flops: noFlops, trips: noTrips });
const random: OpTraits = { class: 'map', index: 'keyed', reads: perOutput, flops: noFlops, trips: noTrips };
const map: OpTraits = { class: 'map', index: 'aligned', reads: perOutput, flops: outputFlops, trips: noTrips };
const view = (index: OpIndex, reads: ReadsRule = perOutput): OpTraits => ({ class: 'view', index, reads, flops: noFlops, trips: noTrips });
const loop = (index: OpIndex, reads: ReadsRule, trips: TripsRule, flops: FlopsRule = noFlops): OpTraits => ({ class: 'loop', index, reads, flops, trips });
const host: OpTraits = { class: 'host', index: 'none', reads: perOutput, flops: noFlops, trips: noTrips };

/** Each operand element once at most: slice reads part of its input, concat each input once. */
const upToOnce: ReadsRule = (c, ins, k) => {
  const inSize = numel(ins[k]?.shape ?? []);
  return inSize === 0 ? 0 : Math.min(numel(c.shape), inSize);
};

/** Contraction length: the last axis of the left operand. */
const matmulK = (ins: readonly Node[]): number => {
  const a = ins[0]?.shape ?? [];
  return a[a.length - 1] ?? 0;
};

/** out · (C/g)·k² per weight row, times the output channels for the gradients (which sum over them). */
const convReads =
  (op: 'conv2d' | 'conv2d_grad_input' | 'conv2d_grad_weight'): ReadsRule =>
  (c, ins) => {
    const w = (op === 'conv2d_grad_weight' ? c.shape : (ins[1] as Node).shape) as number[];
    return ((numel(c.shape) * numel(w)) / Math.max(1, w[0] as number)) * (op === 'conv2d' ? 1 : (w[0] as number));
  };

export const OP_TRAITS: Record<Op, OpTraits> = {
  input: source('buffer'),
  param: source('buffer'),
  constant: source('free'),
  full: source('free'),
  iota: source('free'),
  random_uniform: random,
  random_normal: random,
  neg: map,
  abs: map,
  sign: map,
  exp: map,
  log: map,
  sqrt: map,
  rsqrt: map,
  tanh: map,
  sigmoid: map,
  relu: map,
  silu: map,
  gelu_tanh: map,
  sin: map,
  cos: map,
  recip: map,
  add: map,
  sub: map,
  mul: map,
  div: map,
  pow: map,
  maximum: map,
  minimum: map,
  eq: map,
  ne: map,
  lt: map,
  le: map,
  gt: map,
  ge: map,
  where: map,
  cast: view('aligned'),
  stop_gradient: view('aligned'),
  reduce_sum: loop('row', perInput, perInputTrips, inputFlops),
  reduce_max: loop('row', perInput, perInputTrips, inputFlops),
  // The first element seeds the best; the loop compares the rest.
  argmax: loop('loop', perInput, (n, ins) => Math.max(0, perInputTrips(n, ins) - 1), inputFlops),
  // Counted as its composite runs (the reference kernel, ONNX LogSoftmax, WGSL's expansion): a max
  // pass, Σ exp(x − max), then x − (max + log Σ): 5 FLOPs per element and 2 per row; x is read 3
  // times; the two row loops run the axis length each. WGSL never renders it (expand-rows.ts).
  log_softmax: loop(
    'row',
    (_c, ins, k) => 3 * numel(ins[k]?.shape ?? []),
    (n) => 2 * (n.shape[n.attrs['axis'] as number] ?? 0),
    (n) => 5 * numel(n.shape) + (2 * numel(n.shape)) / Math.max(1, n.shape[n.attrs['axis'] as number] ?? 1),
  ),
  reshape: view('flat'),
  permute: view('remap'),
  broadcast_to: view('broadcast'),
  slice: view('remap', upToOnce),
  concat: view('remap', upToOnce),
  pad: view('remap'),
  // The table (operand 0) is read once per output element; the indices once per gathered row.
  gather: view('data', (c, ins, k) => {
    const out = numel(c.shape);
    const inSize = numel(ins[k]?.shape ?? []);
    return k === 0 ? out : (out / Math.max(1, inSize)) * inSize;
  }),
  take_along_axis: view('data'),
  // Each output element sums every update that lands on it: all of them, or those along the axis.
  scatter_add: loop(
    'loop',
    (c, ins, k) => (k === 0 ? numel(c.shape) : numel(c.shape) * numel((ins[1] as Node).shape)),
    (_n, ins) => numel(ins[1]?.shape ?? []),
  ),
  scatter_add_along_axis: loop(
    'loop',
    (c, ins, k) => (k === 0 ? numel(c.shape) : numel(c.shape) * ((ins[1] as Node).shape[c.attrs['axis'] as number] as number)),
    (n, ins) => (ins[1] as Node).shape[n.attrs['axis'] as number] as number,
  ),
  // A rank over the last axis: each output compares n candidates n times.
  topk_indices: loop(
    'loop',
    (c, ins) => {
      const x = (ins[0] as Node).shape;
      const n = c.shape.length ? (x[x.length - 1] as number) : 1;
      return numel(c.shape) * n * n;
    },
    (_n, ins) => ((ins[0] as Node).shape.at(-1) ?? 1) ** 2,
  ),
  matmul: loop(
    'contract',
    (c, ins) => numel(c.shape) * matmulK(ins),
    (_n, ins) => matmulK(ins),
    (n, ins) => 2 * numel(n.shape) * matmulK(ins),
  ),
  // Loops as render-node.ts's convPull writes them: the weight window, the output channels of the
  // group with the window, every output position of the batch.
  conv2d: loop(
    'contract',
    convReads('conv2d'),
    (_n, ins) => numel(ins[1]?.shape.slice(1) ?? []),
    (n, ins) => 2 * numel(n.shape) * numel(ins[1]?.shape.slice(1) ?? []),
  ),
  conv2d_grad_input: loop('contract', convReads('conv2d_grad_input'), (n, ins) => {
    const [o = 1, , kh = 1, kw = 1] = (ins[1] as Node).shape;
    return (o / (n.attrs['groups'] as number)) * kh * kw;
  }),
  conv2d_grad_weight: loop('contract', convReads('conv2d_grad_weight'), (_n, ins) => {
    const [batch = 1, , oh = 1, ow = 1] = (ins[1] as Node).shape;
    return batch * oh * ow;
  }),
  svd_values: host,
  svd_values_grad: host,
};
