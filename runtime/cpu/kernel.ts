// The CPU kernel contract and the index helpers kernels share. All tensors are held in the run's
// working float array type (i32 and bool values are exact in both f32 up to 2^24 and f64), so a
// kernel is one function from operand buffers to a result buffer: a fresh one from `alloc`
// (zeroed), or an operand unchanged (reshape, stop_gradient). Kernels never write their operands.

import type { Node } from '../../compiler/ir/graph.ts';
import type { FloatArray, Tensor } from './tensor.ts';

export interface KernelCtx {
  readonly node: Node;
  readonly ins: readonly FloatArray[];
  readonly inNodes: readonly Node[];
  readonly feeds: ReadonlyMap<string, Tensor>;
  alloc(n: number): FloatArray;
  /**
   * Per operand, element strides (one per axis of inNodes[i].shape) to read ins[i] with, when it
   * is a view (a permute runGraph did not materialize); absent or undefined means row-major.
   * Only ops in VIEW_READERS (run-graph.ts) are ever given views.
   */
  readonly strides?: readonly (readonly number[] | undefined)[];
}

export type CpuKernel = (c: KernelCtx) => FloatArray;

export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i] as number;
  }
  return s;
}

/**
 * For every position of `shape` (row-major), the offset Σ idx_k·strides[k] + base. One allocation
 * per op, none per element; rows.ts calls it on the outer axes only (one offset per row).
 */
export function offsets(shape: readonly number[], strides: readonly number[], base = 0): Int32Array {
  const n = size(shape);
  const out = new Int32Array(n);
  const r = shape.length;
  if (n === 0) return out;
  const idx = new Array<number>(r).fill(0);
  let off = base;
  for (let i = 0; i < n; i++) {
    out[i] = off;
    for (let k = r - 1; k >= 0; k--) {
      const d = shape[k] as number;
      const st = strides[k] as number;
      if ((idx[k] as number) + 1 < d) {
        idx[k] = (idx[k] as number) + 1;
        off += st;
        break;
      }
      off -= st * (d - 1);
      idx[k] = 0;
    }
  }
  return out;
}

/** Strides that read `from` (numpy-broadcastable) at every position of `to`: 0 on broadcast axes. */
export function broadcastStrides(from: readonly number[], to: readonly number[]): number[] {
  const st = stridesOf(from);
  return to.map((_d, i) => {
    const k = from.length - to.length + i;
    return k < 0 || from[k] === 1 ? 0 : (st[k] as number);
  });
}

/**
 * Strides (in elements) that read an operand of shape `from`, laid out with `fromStrides`, at every
 * position of the larger shape `to` it broadcasts into: 0 on broadcast axes.
 */
export function alignedStrides(from: readonly number[], fromStrides: readonly number[], to: readonly number[]): number[] {
  return to.map((_d, i) => {
    const k = from.length - to.length + i;
    return k < 0 || from[k] === 1 ? 0 : (fromStrides[k] as number);
  });
}

/** The strides operand i is read with: its view strides, else row-major. */
export function operandStrides(c: KernelCtx, i: number): readonly number[] {
  return c.strides?.[i] ?? stridesOf(shapeOf(c, i));
}

/** Splits a shape around one axis into [outer, dim, inner] extents. */
export function around(shape: readonly number[], axis: number): [number, number, number] {
  return [size(shape.slice(0, axis)), shape[axis] as number, size(shape.slice(axis + 1))];
}

export function num(node: Node, key: string): number {
  return node.attrs[key] as number;
}

export function nums(node: Node, key: string): readonly number[] {
  return node.attrs[key] as readonly number[];
}

export function in0(c: KernelCtx): FloatArray {
  return c.ins[0] as FloatArray;
}

export function shapeOf(c: KernelCtx, i: number): readonly number[] {
  return (c.inNodes[i] as Node).shape;
}
