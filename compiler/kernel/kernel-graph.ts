// The kernel graph: the artifact the WebGPU runtime executes. Plain serializable data only (the
// runtime imports these TYPES, never compiler code), written to plan.json by `scion compile`.
//
//   KernelGraph = buffers (logical tensors: inputs, params, intermediates, outputs)
//               + kernels in dispatch order (each: WGSL program or a host fallback)
//               + a memory plan (every buffer placed at an offset in one of a few arenas)
//
// Every value lives in an arena as f32 (i32 and bool values are exact in f32 up to 2^24, as in
// the CPU reference), so one read_write binding per arena serves every kernel.

import type { Span } from '../../grammar/ast.ts';
import type { Attrs, DType, Shape } from '../ir/graph.ts';
import type { Op } from '../ir/ops.ts';

export const KERNEL_GRAPH_VERSION = 1;

export type BufferRole = 'input' | 'param' | 'constant' | 'intermediate';

export interface BufferInfo {
  id: number;
  /** The IR node whose value this buffer holds. */
  node: number;
  role: BufferRole;
  /** Feed name (inputs and params). */
  name?: string;
  dtype: DType;
  shape: Shape;
  /** Elements (4 bytes each in the arena). */
  count: number;
  /** Literal values of a large constant, uploaded once. */
  data?: readonly number[];
}

/** One independent piece of a kernel: `rows` threads, each writing `cols` consecutive elements. */
export interface KernelSegment {
  /** The IR node written by this segment. */
  root: number;
  output: number;
  rows: number;
  cols: number;
  /**
   * Other nodes the segment's threads store too, each at the root's own index (one column per
   * thread): an optimizer step's new moments beside the new parameter (fuse-kernels.ts `storeOutputs`).
   */
  also?: { node: number; output: number }[];
}

export interface KernelInfo {
  id: number;
  /** Short description: ops fused, e.g. "reduce_max+sub+exp+reduce_sum+div". */
  name: string;
  /** Where in the spec the kernel's root came from (`file:line:col`), if known. */
  source?: string;
  kind: 'wgsl' | 'host';
  /** IR nodes computed inside the kernel (not counting free sources it recomputes). */
  nodes: number[];
  segments: KernelSegment[];
  /** Buffers read. */
  inputs: number[];
  /** Buffers written: each segment's output, then its `also` outputs. */
  outputs: number[];
  /** Inputs that may share the output's memory (read only at the output's own index). */
  inplace: { output: number; input: number }[];
  /** Host kernels: the op run on the CPU (svd), with its attrs and operand shapes. */
  host?: { op: Op; attrs: Attrs; inShapes: Shape[]; inDTypes: DType[]; outShape: Shape; outDType: DType };
  /** A fused softmax attention (fuse-attention.ts), rendered by codegen/wgsl/render-attention.ts. */
  attention?: AttentionInfo;
}

/** Where one attention operand lives: buffer, element offset in it, strides along (batch, head, seq). */
export interface AttentionOperand {
  buffer: number;
  offset: number;
  /** The feature axis is contiguous; a GQA operand's head stride steps kv heads. */
  strides: { batch: number; head: number; seq: number };
}

/** The sizes of out = softmax(scale · q·kᵀ [causal]) · v over [B, H, Sq, D] × [B, KVH, Sk, D] × [B, KVH, Sk, Dv]. */
export interface AttentionShape {
  batch: number;
  heads: number;
  /** Key/value heads; divides `heads` (GQA), equal to it for plain multi-head attention. */
  kvHeads: number;
  queries: number;
  keys: number;
  headDim: number;
  valueDim: number;
  causal: boolean;
  /** Multiplies q·k before the softmax (usually 1/√headDim). */
  scale: number;
}

/** A fused attention: its sizes and where each operand lives. */
export interface AttentionInfo extends AttentionShape {
  q: AttentionOperand;
  k: AttentionOperand;
  v: AttentionOperand;
  out: AttentionOperand;
}

export interface Placement {
  arena: number;
  /** Offset in f32 elements. */
  offset: number;
}

export interface MemoryPlan {
  /** Size of each arena in bytes. */
  arenas: number[];
  /** Placement of each buffer, by buffer id. */
  placements: Placement[];
  /** Sum of arena sizes. */
  peakBytes: number;
  /** persistent (params, inputs, outputs, constants) + the largest set of intermediates live at once. */
  lowerBoundBytes: number;
  /** Buffer pairs that share memory because the kernel wrote the output in place. */
  inplace: { output: number; input: number }[];
  /**
   * Element type of each arena when not all f32 (precision 'f16': plan-memory-f16.ts);
   * an f16 arena's placements and size count 2-byte elements. Absent: every arena is f32.
   */
  arenaTypes?: ('f32' | 'f16')[];
}

/**
 * How the renderer laid one segment out on threads (compiler/kernel/cost.ts reads it):
 * plain:   a thread per row, walking the row's columns (render-kernel.ts);
 * blocked: a register block of a matmul per thread: `steps` iterations of its K loop (batch
 *          entries summed in the loop included), then `block` elements stored (render-matmul.ts);
 * coop:    a workgroup of `lanes` threads per row; `reductions` are precomputed with each lane
 *          taking every lanes-th element (subgroup-reduce.ts);
 * tiled:   a workgroup per `tile` of a matmul's C, a register block per thread: `steps` loop
 *          iterations per thread (per K step of `tile.depth`: its share of staging the tiles in
 *          workgroup memory, then the depth), then `block` elements stored (render-matmul-tiled.ts).
 */
export type SegmentForm =
  | { kind: 'plain' }
  | { kind: 'blocked'; threads: number; steps: number; block: number }
  | { kind: 'coop'; reductions: number[]; lanes: number }
  | { kind: 'tiled'; threads: number; steps: number; block: number; tile: { rows: number; cols: number; depth: number } };

export interface CompiledKernel {
  kernel: number;
  /** Shader key: equal keys mean equal WGSL. */
  key: string;
  code: string;
  /** Total threads (Σ rows of the segments); the runtime dispatches ceil(threads / 64) groups. */
  threads: number;
  workgroupSize: number;
  /** Arenas bound, in binding order (binding k = arena arenas[k]). */
  arenas: number[];
  /** Each segment's layout, in segment order; absent for kernels with a renderer of their own (attention). */
  forms?: SegmentForm[];
}

export interface GraphIO {
  name: string;
  buffer: number;
}

export interface KernelGraph {
  version: number;
  buffers: BufferInfo[];
  kernels: KernelInfo[];
  inputs: GraphIO[];
  params: GraphIO[];
  outputs: GraphIO[];
  /** Outputs that replace an input or param for the next step (training state). */
  carry: { output: string; input: string }[];
  /** Non-source IR nodes before fusion: the denominator of the fusion ratio. */
  primitiveOps: number;
}

/** The artifact: a kernel graph, its memory plan and its WGSL. */
export interface KernelArtifact {
  graph: KernelGraph;
  memory: MemoryPlan;
  programs: CompiledKernel[];
  /**
   * WebGPU features the kernels need ('shader-f16', 'subgroups'); the runtime refuses the
   * artifact on a device without them. Absent or empty: core WebGPU.
   */
  features?: string[];
}

export function formatSource(span: Span | undefined): string | undefined {
  return span === undefined ? undefined : `${span.file}:${span.start.line}:${span.start.col}`;
}
