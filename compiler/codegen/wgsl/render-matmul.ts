// Register-blocked matmul segments inside compiled graphs. The per-element renderer computes a
// matmul as one dot product per output element; here one thread owns a block of C in registers
// (8×8 where the matrix allows, or a per-adapter cap: `blockFor`; codegen/wgsl/matmul.ts's
// `register` variant, lesson 2 of research/baselines.md: on lavapipe register blocking without
// workgroup memory beats tiles and the naive loop), then runs the kernel's fused epilogue (bias,
// activation, residual, scale, a transpose of the result) for each of its elements through the
// ordinary per-node value functions.
//
// Applies when the operands are affine views of arena buffers (transposes, reshapes, broadcasts
// and slices become strides, not copies) and the segment's root reaches its matmuls along
// index-preserving ops and permutes, optionally through a reduce_sum over leading batch axes (the
// weight gradient Σ_b X_bᵀ·G_b), which is folded into the loop over K. Several matmuls reached
// that way (SwiGLU's silu(x·W1) ⊙ (x·W3)) get one accumulator set each in the same block, their
// loops sharing the loads of a common left operand. A matmul also read at another index (RoPE's
// rotate-half reads the pair column) keeps its block in a private array: reads inside the
// thread's block come from there, others recompute the dot product. Anything else — an operand
// computed by a fused producer — keeps the per-element path (render-kernel.ts).
//
//   thread t → (batch entry ob of the reduced output, row block, column block)
//   acc[i][j] = Σ_{rb < R} Σ_p A[rb, ob][row0+i, p] · B[rb, ob][p, col0+j]
//
// This file plans; render-matmul-segment.ts renders the plan register-blocked and
// render-matmul-tiled.ts through workgroup-memory tiles (the per-adapter choice).

import type { Graph, Node } from '../../ir/graph.ts';
import { OP_TRAITS } from '../../ir/op-traits.ts';
import { classOf } from '../../kernel/op-classes.ts';
import { stridesOf } from './wgsl-util.ts';

/** An operand as strides over a buffer: element x sits at offset + Σ_k coord_k · strides[k]. */
export interface AffineView {
  /** The IR node whose buffer holds the data. */
  node: number;
  offset: number;
  strides: number[];
  /**
   * Read through the node's value function at its own row-major index instead of a buffer: an
   * operand computed in the kernel without loops that is no strided view (the attention output
   * moved back to tokens: permute, reshape, permute, which no single stride per axis describes).
   */
  viaFn?: boolean;
}

/** One matmul accumulated into the block, with its operands as views of buffers. */
export interface MatmulTerm {
  matmul: number;
  a: AffineView;
  b: AffineView;
}

/** One set of accumulators of the block: the node they stand for and the matmuls summed into it. */
export interface BlockedValue {
  /**
   * The node whose value the accumulators stand for: the matmul, its batch reduce_sum, or a tree
   * of adds over several same-shaped matmuls (a gradient reaching one tensor along several paths,
   * e.g. dx = dq·Wq + dk·Wk + dv·Wv), each accumulated into the same registers.
   */
  value: number;
  /** The matmuls summed, one or more; all of one output shape. */
  terms: MatmulTerm[];
}

/** What the blocked segment needs, found by `planBlockedMatmul`. */
export interface BlockedMatmul {
  /**
   * The accumulator sets, one per matmul value the root reads at its own index: one for a
   * projection, two for SwiGLU's silu(x·W1) ⊙ (x·W3) (their loops share the loads of x when both
   * read the same left operand). All of one output shape.
   */
  values: BlockedValue[];
  /** Leading batch axes summed inside the kernel (0 without a reduce_sum; 0 for several terms or values). */
  reduced: number;
  /** Permutes from the values up to the root, bottom first: the index map to the root's layout. */
  permutes: number[];
  /** The nodes from the root down to the matmuls (with an add tree's inner nodes). */
  chain: number[];
  /**
   * Something in the kernel reads a value at another index than the element being stored (RoPE's
   * rotate-half reads the projection at the pair column): the block is kept in a private array,
   * read there when the index falls inside this thread's block and recomputed as a dot product
   * otherwise.
   */
  lookup: boolean;
  /**
   * With `lookup`: the last-axis extent of the nodes read at other indices (a RoPE head's width:
   * rotate-half's slices stay inside the head's row), which the block's columns cover where they
   * can (`lookupBlock`), so no read falls outside it.
   */
  window: number;
}

/** Whether node `id` is evaluated inside the kernel (else it is loaded from its buffer). */
export type IsComputed = (id: number) => boolean;

/** Nodes that keep the flat index of their operand: the root reads them at its own index. */
function indexPreserving(g: Graph, n: Node, k: number): boolean {
  const x = g.nodes[n.inputs[k] as number] as Node;
  if (n.op === 'reshape' || n.op === 'stop_gradient') return true;
  if (n.op === 'cast') return n.dtype === x.dtype;
  if (classOf(n) !== 'map' || OP_TRAITS[n.op].index === 'keyed') return false;
  return x.shape.length === n.shape.length && x.shape.every((d, i) => d === n.shape[i]);
}

/** Strides of `to` viewing the same memory as `from` with `strides`, or undefined if it needs a copy. */
export function reshapeStrides(from: readonly number[], strides: readonly number[], to: readonly number[]): number[] | undefined {
  const od = from.map((d, k) => [d, strides[k] as number] as const).filter(([d]) => d !== 1);
  const out = to.map(() => 0);
  const nn = to.length;
  let oi = 0;
  let ni = 0;
  while (ni < nn && oi < od.length) {
    let oj = oi + 1;
    let nj = ni + 1;
    let np = to[ni] as number;
    let op = (od[oi] as readonly [number, number])[0];
    while (np !== op) {
      if (np < op) {
        if (nj >= nn) return undefined;
        np *= to[nj++] as number;
      } else {
        if (oj >= od.length) return undefined;
        op *= (od[oj++] as readonly [number, number])[0];
      }
    }
    // the old axes merged here must be contiguous with one another
    for (let q = oi; q < oj - 1; q++) {
      const [, s] = od[q] as readonly [number, number];
      const [d1, s1] = od[q + 1] as readonly [number, number];
      if (s !== d1 * s1) return undefined;
    }
    out[nj - 1] = (od[oj - 1] as readonly [number, number])[1];
    for (let q = nj - 1; q > ni; q--) out[q - 1] = (out[q] as number) * (to[q] as number);
    ni = nj;
    oi = oj;
  }
  return out;
}

/** `id` as an affine view of a buffer, through views computed in the kernel; undefined otherwise. */
export function affineView(g: Graph, id: number, computed: IsComputed): AffineView | undefined {
  const n = g.nodes[id] as Node;
  if (!computed(id)) return { node: id, offset: 0, strides: stridesOf(n.shape) };
  const x = n.inputs[0] === undefined ? undefined : (g.nodes[n.inputs[0]] as Node);
  if (x === undefined) return undefined;
  const child = (): AffineView | undefined => affineView(g, x.id, computed);
  switch (n.op) {
    case 'stop_gradient':
      return child();
    case 'cast':
      return n.dtype === x.dtype ? child() : undefined;
    case 'permute': {
      const c = child();
      const perm = n.attrs['perm'] as readonly number[];
      return c && { ...c, strides: perm.map((p) => c.strides[p] as number) };
    }
    case 'reshape': {
      const c = child();
      const s = c && reshapeStrides(x.shape, c.strides, n.shape);
      return c && s && { ...c, strides: s };
    }
    case 'broadcast_to': {
      const c = child();
      const lead = n.shape.length - x.shape.length;
      return c && { ...c, strides: n.shape.map((_d, i) => (i < lead || x.shape[i - lead] === 1 ? 0 : (c.strides[i - lead] as number))) };
    }
    case 'slice': {
      const c = child();
      const starts = n.attrs['starts'] as readonly number[];
      return c && { ...c, offset: c.offset + starts.reduce((acc, s, k) => acc + s * (c.strides[k] as number), 0) };
    }
    default:
      return undefined;
  }
}

/**
 * The blocked form of the segment rooted at `root`, or undefined when it does not apply. `reach`
 * lists every node evaluated in the kernel with its in-kernel operands (to find what reads the
 * chain at another index).
 */
export function planBlockedMatmul(g: Graph, root: number, computed: IsComputed, reach: ReadonlySet<number>): BlockedMatmul | undefined {
  // Walk down from the root along index-preserving ops and permutes (every branch that leads to
  // a matmul) to the values: a matmul (maybe summed over its batch), or an add tree whose leaves
  // are matmuls of one shape. Operands read at another index (slices, concats) are side reads.
  const chain: number[] = [];
  // reader → operand edges along which the root's index reaches a chain node unchanged
  const primary = new Set<string>();
  // chain node → the permutes above it (top first), as a signature: one node, one index map
  const seen = new Map<number, string>();
  const leaves: { value: number; matmuls: number[]; reduced: number; permutes: number[] }[] = [];
  const sig = (permutes: readonly number[]): string =>
    permutes.map((p) => JSON.stringify([(g.nodes[p] as Node).attrs['perm'], (g.nodes[p] as Node).shape])).join();
  // whether `cur` reaches a value along primary edges (then it joins the chain); `bad` when the
  // plan cannot apply at all
  let bad = false;
  const reaches = new Map<number, boolean>();
  const walk = (cur: Node, above: number[]): boolean => {
    const s = sig(above);
    const before = seen.get(cur.id);
    if (before !== undefined) {
      if (before !== s) bad = true;
      return reaches.get(cur.id) ?? false;
    }
    seen.set(cur.id, s);
    if (seen.size > 64) bad = true;
    if (bad) return false;
    const leaf = (value: number, matmuls: number[], reduced: number, below: number[], edges: string[]): boolean => {
      leaves.push({ value, matmuls, reduced, permutes: [...above].reverse() });
      chain.push(cur.id, ...below);
      for (const e of edges) primary.add(e);
      reaches.set(cur.id, true);
      return true;
    };
    if (cur.op === 'matmul') return leaf(cur.id, [cur.id], 0, [], []);
    if (cur.op === 'reduce_sum') {
      const x = g.nodes[cur.inputs[0] as number] as Node;
      const axes = cur.attrs['axes'] as readonly number[];
      if (x.op !== 'matmul' || !computed(x.id) || !axes.every((a, k) => a === k) || axes.length > x.shape.length - 2) return false;
      return leaf(cur.id, [x.id], axes.length, [x.id], [`${cur.id}>${x.id}`]);
    }
    const tree = cur.op === 'add' ? addTreeOfMatmuls(g, cur, computed) : undefined;
    if (tree !== undefined) return leaf(cur.id, tree.matmuls, 0, tree.inner, tree.edges);
    // operands that lead to a matmul: the in-kernel ones that are not free sources
    const next = cur.inputs.map((j, k) => ({ j, k })).filter(({ j }) => computed(j) && leadsToMatmul(g, j, computed));
    let any = false;
    for (const { j, k } of next) {
      const isPermute = cur.op === 'permute';
      if (!isPermute && !indexPreserving(g, cur, k)) continue;
      if (!walk(g.nodes[j] as Node, isPermute ? [...above, cur.id] : above)) continue;
      primary.add(`${cur.id}>${j}`);
      any = true;
    }
    if (any) chain.push(cur.id);
    reaches.set(cur.id, any);
    return any;
  };
  if (!walk(g.nodes[root] as Node, []) || bad) return undefined;
  const first = leaves[0];
  if (first === undefined) return undefined;
  const shapeOf = (id: number): readonly number[] => (g.nodes[id] as Node).shape;
  const m0 = shapeOf(first.matmuls[0] as number);
  const same = leaves.every(
    (l) =>
      sig(l.permutes) === sig(first.permutes) &&
      l.matmuls.every((id) => shapeOf(id).length === m0.length && shapeOf(id).every((d, i) => d === m0[i])) &&
      (leaves.length === 1 || l.reduced === 0),
  );
  if (!same || new Set(leaves.map((l) => l.value)).size !== leaves.length) return undefined;
  // A chain node read by anything other than along a primary edge is read at another index.
  const inChain = new Set(chain);
  let lookup = false;
  let window = 0;
  for (const id of reach) {
    for (const j of (g.nodes[id] as Node).inputs) {
      if (!inChain.has(j) || j === root || primary.has(`${id}>${j}`)) continue;
      lookup = true;
      const shape = shapeOf(j);
      window = Math.max(window, shape[shape.length - 1] ?? 1);
    }
  }
  const values: BlockedValue[] = [];
  for (const l of leaves) {
    const terms: MatmulTerm[] = [];
    for (const id of l.matmuls) {
      const mm = g.nodes[id] as Node;
      const a = affineView(g, mm.inputs[0] as number, computed) ?? viewThroughFn(g, mm.inputs[0] as number, computed);
      const b = affineView(g, mm.inputs[1] as number, computed) ?? viewThroughFn(g, mm.inputs[1] as number, computed);
      if (a === undefined || b === undefined) return undefined;
      terms.push({ matmul: id, a, b });
    }
    values.push({ value: l.value, terms });
  }
  return { values, reduced: first.reduced, permutes: first.permutes, chain, lookup, window };
}

/**
 * The matmul leaves of an add tree rooted at `top` (adds of equal shapes, no broadcast, every
 * node computed in the kernel), with the tree's nodes below `top` and its reader → operand edges;
 * undefined unless it has at least two leaves, all matmuls of one shape.
 */
function addTreeOfMatmuls(g: Graph, top: Node, computed: IsComputed): { matmuls: number[]; inner: number[]; edges: string[] } | undefined {
  const matmuls: number[] = [];
  const inner: number[] = [];
  const edges: string[] = [];
  const walk = (n: Node): boolean => {
    if (n.op === 'matmul') {
      matmuls.push(n.id);
      return true;
    }
    if (n.op !== 'add' || n.inputs[0] === n.inputs[1]) return false;
    return n.inputs.every((j) => {
      const x = g.nodes[j] as Node;
      if (!computed(j) || x.shape.length !== n.shape.length || !x.shape.every((d, i) => d === n.shape[i])) return false;
      inner.push(j);
      edges.push(`${n.id}>${j}`);
      return walk(x);
    });
  };
  if (!walk(top) || matmuls.length < 2 || new Set(matmuls).size !== matmuls.length) return undefined;
  const shape = (g.nodes[matmuls[0] as number] as Node).shape;
  if (!matmuls.every((id) => (g.nodes[id] as Node).shape.every((d, i) => d === shape[i]))) return undefined;
  return { matmuls, inner, edges };
}

/**
 * Operand `id` read through its value function, when nothing it computes in the kernel loops: a
 * block reads each operand element once per thread where the per-element path reads it once per
 * output, and a reduction inside would miss its one-entry memo as the block alternates rows.
 */
function viewThroughFn(g: Graph, id: number, computed: IsComputed): AffineView | undefined {
  const seen = new Set<number>();
  const loopFree = (j: number): boolean => {
    if (seen.has(j) || !computed(j)) return true;
    seen.add(j);
    const n = g.nodes[j] as Node;
    return classOf(n) !== 'loop' && n.inputs.every(loopFree);
  };
  if (!loopFree(id)) return undefined;
  return { node: id, offset: 0, strides: stridesOf((g.nodes[id] as Node).shape), viaFn: true };
}

function leadsToMatmul(g: Graph, id: number, computed: IsComputed): boolean {
  const n = g.nodes[id] as Node;
  if (n.op === 'matmul') return true;
  if (classOf(n) === 'free' || (classOf(n) === 'loop' && n.op !== 'reduce_sum')) return false;
  return n.inputs.some((j) => computed(j) && leadsToMatmul(g, j, computed));
}

/** Strides of operand view `v` (rank r ≥ 2) over the matmul's batch axes, 0 where it broadcasts. */
export function batchStrides(g: Graph, operand: number, v: AffineView, batch: readonly number[]): number[] {
  const shape = (g.nodes[operand] as Node).shape;
  const lead = batch.length - (shape.length - 2);
  return batch.map((_d, i) => (i < lead || shape[i - lead] === 1 ? 0 : (v.strides[i - lead] as number)));
}

/** A register block: rows × columns of C one thread owns. */
export interface MatmulBlock {
  rows: number;
  cols: number;
}

/** The block compiled graphs use unless told otherwise (CompileOptions `matmulBlock`). */
export const DEFAULT_MATMUL_BLOCK: MatmulBlock = { rows: 8, cols: 8 };

/**
 * Block sides the renderer accepts: columns are held as vec4 accumulators (multiples of 4), and a
 * side halves down to 4 for small matrices, so powers of two.
 */
export const MATMUL_BLOCK_SIDES: readonly number[] = [4, 8, 16];

/**
 * Rows × columns of C one thread owns, at most `cap` (default 8×8; a per-adapter choice of
 * backends/webgpu/tune-graph.ts otherwise). On lavapipe every storage load in the K loop costs ~100
 * instructions (llvmpipe loads lane by lane with bounds checks; measured from its assembly), so a
 * bigger block pays: per step along K a thread loads rows + cols scalars for rows · cols FMAs,
 * 16 loads for 64 FMAs at 8×8 against 8 for 16 at 4×4. A side is halved (never below 4) while
 * the matrix fits in half of it, so edge blocks do not mostly compute clamped duplicates.
 */
export function blockFor(m: number, n: number, cap: MatmulBlock = DEFAULT_MATMUL_BLOCK): MatmulBlock {
  for (const side of [cap.rows, cap.cols])
    if (!MATMUL_BLOCK_SIDES.includes(side)) throw new Error(`matmul block side ${side} is not one of ${MATMUL_BLOCK_SIDES.join(', ')}`);
  const shrink = (extent: number, side: number): number => (side > 4 && extent <= side / 2 ? shrink(extent, Math.max(4, side / 2)) : side);
  return { rows: shrink(m, cap.rows), cols: shrink(n, cap.cols) };
}

/**
 * The block of a lookup plan whose window no block covers (narrower than 16 columns, wider than 64,
 * or not dividing the matrix): reads outside it recompute their dot product; 4 rows keep the
 * accumulators at 64.
 */
export const LOOKUP_MATMUL_BLOCK: MatmulBlock = { rows: 4, cols: 16 };

/** Most accumulators of a lookup block (spilled on lavapipe, but cheaper there than recomputed dot products). */
const LOOKUP_ACCUMULATORS = 128;

/**
 * The block of a lookup plan over an m × n matmul whose other-index reads stay inside rows of
 * `window` columns (RoPE's rotate-half reads the column half a head away: a 32-wide head's pair
 * sits 16 columns off). Columns cover the window where it divides n (up to 64), so every read is
 * the thread's own; otherwise, or for a wider window, the fixed 4×16 block and the recomputing
 * fallback. A window the columns do not actually align with costs speed, never correctness:
 * the value function checks the block before reading it (finishBlock).
 */
export function lookupBlock(m: number, n: number, window: number): MatmulBlock {
  if (window < 16 || window > 64 || window % 4 !== 0 || n % window !== 0) return blockFor(m, n, LOOKUP_MATMUL_BLOCK);
  // a power of two: at most LOOKUP_ACCUMULATORS in all, halved while the matrix fits in half of it
  let rows = 2 ** Math.floor(Math.log2(LOOKUP_ACCUMULATORS / window));
  while (rows > 1 && m <= rows / 2) rows /= 2;
  return { rows, cols: window };
}
