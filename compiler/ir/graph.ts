// The serializable graph IR: the artifact contract between compiler and runtime.
// Only plain data lives here (the runtime imports these TYPES, never compiler code), so a graph
// round-trips through JSON unchanged.
//
// Invariants (checked by verify.ts): node ids are dense and equal to their index in `nodes`;
// every operand id is smaller than the node's own id (so `nodes` is a topological order);
// `shape`/`dtype` are what OP_INFO's rules derive from the operands and attrs.

import type { Span } from '../../grammar/ast.ts';
import type { Op } from './ops.ts';

/** Tensor element types of the IR (bf16 in specs lowers to f16 or f32 before reaching here). */
export type DType = 'f32' | 'f16' | 'i32' | 'bool';
export const IR_DTYPES: readonly DType[] = ['f32', 'f16', 'i32', 'bool'];

/** Static shape, outermost axis first; `[]` is a scalar. */
export type Shape = readonly number[];

/** Attribute values are JSON scalars or flat number lists (axes, shapes, strides, constant data). */
export type AttrValue = number | string | boolean | readonly number[];
export type Attrs = Readonly<Record<string, AttrValue>>;

export interface Node {
  readonly id: number;
  readonly op: Op;
  readonly inputs: readonly number[];
  readonly attrs: Attrs;
  readonly dtype: DType;
  readonly shape: Shape;
  /** Where in the spec this node came from (first creator wins under hash-consing). */
  readonly span?: Span;
}

export interface GraphOutput {
  readonly name: string;
  readonly node: number;
}

export interface Graph {
  readonly nodes: readonly Node[];
  readonly outputs: readonly GraphOutput[];
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'f32' || dtype === 'f16';
}
