// Register-blocked matmul segments inside compiled graphs. The per-element renderer computes a
// matmul as one dot product per output element; here one thread owns a block of C in registers
// (8×8 where the matrix allows, or a per-adapter cap: `blockFor`; codegen/wgsl/matmul.ts's
// `register` variant, lesson 2 of research/baselines.md: on lavapipe register blocking without
// workgroup memory beats tiles and the naive loop), then runs the kernel's fused epilogue (bias,
// activation, residual, scale, a transpose of the result) for each of its elements through the
// ordinary per-node value functions.
//
// Applies when the operands are affine views of arena buffers (transposes, reshapes, broadcasts
// and slices become strides, not copies) and the segment's root reaches the matmul along one
// chain of index-preserving ops and permutes, optionally through a reduce_sum over leading batch
// axes (the weight gradient Σ_b X_bᵀ·G_b), which is folded into the loop over K. Anything else —
// an operand computed by a fused producer, a matmul read at several indices — keeps the
// per-element path (render-kernel.ts).
//
//   thread t → (batch entry ob of the reduced output, row block, column block)
//   acc[i][j] = Σ_{rb < R} Σ_p A[rb, ob][row0+i, p] · B[rb, ob][p, col0+j]

import type { Graph, Node } from '../../ir/graph.ts';
import { numel } from '../../ir/graph.ts';
import { OP_TRAITS } from '../../ir/op-traits.ts';
import { classOf } from '../../kernel/op-classes.ts';
import { remap, stridesOf, u } from './wgsl-util.ts';

/** An operand as strides over a buffer: element x sits at offset + Σ_k coord_k · strides[k]. */
export interface AffineView {
  /** The IR node whose buffer holds the data. */
  node: number;
  offset: number;
  strides: number[];
}

/** One matmul accumulated into the block, with its operands as views of buffers. */
export interface MatmulTerm {
  matmul: number;
  a: AffineView;
  b: AffineView;
}

/** What the blocked segment needs, found by `planBlockedMatmul`. */
export interface BlockedMatmul {
  /**
   * The node whose value the accumulators stand for: the matmul, its batch reduce_sum, or a tree
   * of adds over several same-shaped matmuls (a gradient reaching one tensor along several paths,
   * e.g. dx = dq·Wq + dk·Wk + dv·Wv), each accumulated into the same registers.
   */
  value: number;
  /** The matmuls summed, one or more; all of one output shape. */
  terms: MatmulTerm[];
  /** Leading batch axes summed inside the kernel (0 without a reduce_sum; 0 for several terms). */
  reduced: number;
  /** Permutes from `value` up to the root, bottom first: the index map to the root's layout. */
  permutes: number[];
  /** The nodes from the root down to the matmuls (with an add tree's inner nodes). */
  chain: number[];
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
 * lists every node evaluated in the kernel with its in-kernel operands (to check that nothing
 * else reads the matmul's chain at another index).
 */
export function planBlockedMatmul(g: Graph, root: number, computed: IsComputed, reach: ReadonlySet<number>): BlockedMatmul | undefined {
  // Walk down the single chain: index-preserving ops and permutes, then a matmul (maybe summed),
  // or an add tree whose leaves are matmuls of one shape.
  const chain: number[] = [root];
  // chain node → the one node allowed to read it
  const parent = new Map<number, number>();
  const permutes: number[] = [];
  let cur = g.nodes[root] as Node;
  let value: Node | undefined;
  let matmuls: number[] = [];
  for (let guard = 0; guard < 64; guard++) {
    if (cur.op === 'matmul') {
      matmuls = [cur.id];
      value = value ?? cur;
      break;
    }
    if (cur.op === 'reduce_sum') {
      const x = g.nodes[cur.inputs[0] as number] as Node;
      if (x.op !== 'matmul' || !computed(x.id) || value !== undefined) return undefined;
      const axes = cur.attrs['axes'] as readonly number[];
      if (!axes.every((a, k) => a === k) || axes.length > x.shape.length - 2) return undefined;
      value = cur;
      chain.push(x.id);
      parent.set(x.id, cur.id);
      cur = x;
      continue;
    }
    const tree = cur.op === 'add' && value === undefined ? addTreeOfMatmuls(g, cur, computed, parent) : undefined;
    if (tree !== undefined) {
      matmuls = tree.matmuls;
      value = cur;
      chain.push(...tree.inner);
      break;
    }
    // pick the operand that leads to a matmul: the only in-kernel one that is not a free source
    const next = cur.inputs.map((j, k) => ({ j, k })).filter(({ j }) => computed(j) && leadsToMatmul(g, j, computed));
    if (next.length !== 1) return undefined;
    const { j, k } = next[0] as { j: number; k: number };
    if (cur.op === 'permute') permutes.unshift(cur.id);
    else if (!indexPreserving(g, cur, k)) return undefined;
    parent.set(j, cur.id);
    cur = g.nodes[j] as Node;
    chain.push(j);
  }
  if (matmuls.length === 0 || value === undefined) return undefined;
  // Below the root, chain nodes may be read only by their parent in the chain.
  for (const id of reach) {
    for (const j of (g.nodes[id] as Node).inputs) if (parent.has(j) && parent.get(j) !== id) return undefined;
  }
  const terms: MatmulTerm[] = [];
  for (const id of matmuls) {
    const mm = g.nodes[id] as Node;
    const a = affineView(g, mm.inputs[0] as number, computed);
    const b = affineView(g, mm.inputs[1] as number, computed);
    if (a === undefined || b === undefined) return undefined;
    terms.push({ matmul: id, a, b });
  }
  const reduced = value.op === 'reduce_sum' ? (value.attrs['axes'] as readonly number[]).length : 0;
  return { value: value.id, terms, reduced, permutes, chain };
}

/**
 * The matmul leaves of an add tree rooted at `top` (adds of equal shapes, no broadcast, every
 * node computed in the kernel), with the tree's nodes below `top` recorded in `parent`; undefined
 * unless it has at least two leaves, all matmuls of one shape.
 */
function addTreeOfMatmuls(g: Graph, top: Node, computed: IsComputed, parent: Map<number, number>): { matmuls: number[]; inner: number[] } | undefined {
  const matmuls: number[] = [];
  const inner: number[] = [];
  const edges: [number, number][] = [];
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
      edges.push([j, n.id]);
      return walk(x);
    });
  };
  if (!walk(top) || matmuls.length < 2 || new Set(matmuls).size !== matmuls.length) return undefined;
  const shape = (g.nodes[matmuls[0] as number] as Node).shape;
  if (!matmuls.every((id) => (g.nodes[id] as Node).shape.every((d, i) => d === shape[i]))) return undefined;
  for (const [child, p] of edges) parent.set(child, p);
  return { matmuls, inner };
}

function leadsToMatmul(g: Graph, id: number, computed: IsComputed): boolean {
  const n = g.nodes[id] as Node;
  if (n.op === 'matmul') return true;
  if (classOf(n) === 'free' || (classOf(n) === 'loop' && n.op !== 'reduce_sum')) return false;
  return n.inputs.some((j) => computed(j) && leadsToMatmul(g, j, computed));
}

/** Strides of operand view `v` (rank r ≥ 2) over the matmul's batch axes, 0 where it broadcasts. */
function batchStrides(g: Graph, operand: number, v: AffineView, batch: readonly number[]): number[] {
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

export interface BlockedSegment {
  /** WGSL: the private accumulator the value function returns, and the segment function. */
  privates: string[];
  /** The value function standing in for `plan.value`. */
  valueFn: string;
  segment: string;
  threads: number;
  /** Iterations of the K loop per thread (summed batch entries included), for the cost model. */
  steps: number;
  /** Elements of C one thread stores (rows × columns of the block). */
  block: number;
}

/**
 * Renders segment `k`: `load(node)` names the arena read of a buffer (`A3[120u + `), `rootFn`
 * the root's value function, `store` the output's arena and offset.
 */
export function renderBlockedSegment(
  g: Graph,
  plan: BlockedMatmul,
  k: number,
  rootFn: string,
  load: (node: number) => { arena: number; offset: number },
  store: { arena: number; offset: number },
  cap: MatmulBlock = DEFAULT_MATMUL_BLOCK,
): BlockedSegment {
  const mm = g.nodes[(plan.terms[0] as MatmulTerm).matmul] as Node;
  const m = mm.shape[mm.shape.length - 2] as number;
  const n = mm.shape[mm.shape.length - 1] as number;
  const batch = mm.shape.slice(0, -2);
  const rBatch = batch.slice(0, plan.reduced);
  const oBatch = batch.slice(plan.reduced);
  const [R, OB] = [numel(rBatch), numel(oBatch)];
  const { rows, cols } = blockFor(m, n, cap);
  const c4 = cols / 4;
  const [mb, nb] = [Math.ceil(m / rows), Math.ceil(n / cols)];
  const I = [...Array(rows).keys()];
  const J = [...Array(cols).keys()];
  const Q = [...Array(c4).keys()];
  const L: string[] = [];
  L.push(`let cb = r % ${u(nb)};`, `let rb = (r / ${u(nb)}) % ${u(mb)};`, `let ob = r / ${u(mb * nb)};`);
  L.push(`let row0 = rb * ${u(rows)};`, `let col0 = cb * ${u(cols)};`);
  for (const i of I) for (const q of Q) L.push(`var acc${i}_${q} = vec4f(0.0);`);
  let kk = 0;
  // one block per term, each with its own views, summed into the same accumulators
  for (const term of plan.terms) {
    const tm = g.nodes[term.matmul] as Node;
    const aShape = (g.nodes[tm.inputs[0] as number] as Node).shape;
    const k = aShape[aShape.length - 1] as number;
    kk += k;
    const sa = term.a.strides;
    const sb = term.b.strides;
    const [sAr, sAk] = [sa[sa.length - 2] as number, sa[sa.length - 1] as number];
    const [sBk, sBc] = [sb[sb.length - 2] as number, sb[sb.length - 1] as number];
    const pa = load(term.a.node);
    const pb = load(term.b.node);
    L.push(`{ // %${term.matmul}`);
    // rows/columns past the edge read the last one (in bounds) and are never stored
    for (const i of I) L.push(`  let ar${i} = min(row0 + ${i}u, ${u(m - 1)}) * ${u(sAr)};`);
    for (const j of J) L.push(`  let bc${j} = min(col0 + ${j}u, ${u(n - 1)}) * ${u(sBc)};`);
    L.push(`  for (var q = 0u; q < ${u(R)}; q++) {`);
    const inner: string[] = [`let bt = q * ${u(OB)} + ob;`];
    const ao = remap(inner, 'bt', batch, batchStrides(g, tm.inputs[0] as number, term.a, batch), pa.offset + term.a.offset);
    const bo = remap(inner, 'bt', batch, batchStrides(g, tm.inputs[1] as number, term.b, batch), pb.offset + term.b.offset);
    L.push(...inner.map((l) => `    ${l}`));
    L.push(`    for (var p = 0u; p < ${u(k)}; p++) {`);
    L.push(`      let ap = ${ao} + p * ${u(sAk)};`, `      let bp = ${bo} + p * ${u(sBk)};`);
    const bAt = (j: number): string => `A${pb.arena}[bp + bc${j}]`;
    for (const q of Q) L.push(`      let bv${q} = vec4f(${bAt(4 * q)}, ${bAt(4 * q + 1)}, ${bAt(4 * q + 2)}, ${bAt(4 * q + 3)});`);
    for (const i of I) {
      L.push(`      let a${i} = vec4f(A${pa.arena}[ap + ar${i}]);`);
      for (const q of Q) L.push(`      acc${i}_${q} = fma(a${i}, bv${q}, acc${i}_${q});`);
    }
    L.push('    }', '  }', '}');
  }
  // Each element: its index in the (reduced) matmul, mapped up through the permutes to the root.
  const up: string[] = [`let j0 = (ob * ${u(m)} + row) * ${u(n)} + col;`];
  let idx = 'j0';
  for (const pid of plan.permutes) {
    const p = g.nodes[pid] as Node;
    const x = g.nodes[p.inputs[0] as number] as Node;
    const perm = p.attrs['perm'] as readonly number[];
    const outSt = stridesOf(p.shape);
    const st = x.shape.map((_d, a) => outSt[perm.indexOf(a)] as number);
    idx = remap(up, idx, x.shape, st);
  }
  // Stores unrolled per accumulator (rows × vec4 columns), so every accumulator stays a plain
  // variable; each block runs the root's value function (the fused epilogue) per element.
  for (const i of I) {
    L.push(`if (row0 + ${i}u < ${u(m)}) {`, `  let row = row0 + ${i}u;`);
    for (const q of Q) {
      L.push(`  for (var j = 0u; j < 4u; j++) {`, `    let col = col0 + ${u(4 * q)} + j;`, `    if (col >= ${u(n)}) { break; }`);
      L.push(`    mmv${plan.value} = acc${i}_${q}[j];`, ...up.map((l) => `    ${l}`));
      L.push(`    A${store.arena}[${u(store.offset)} + ${idx}] = ${rootFn}(${idx});`, '  }');
    }
    L.push('}');
  }
  return {
    privates: [`var<private> mmv${plan.value}: f32;`],
    valueFn: `fn v${plan.value}(i: u32) -> f32 { return mmv${plan.value}; } // %${plan.value} blocked ${mm.op} ${m}x${n}x${kk}${R > 1 ? ` summed over ${R}` : ''}${plan.terms.length > 1 ? ` (${plan.terms.length} matmuls added)` : ''}`,
    segment: `fn s${k}(r: u32) { // register-blocked ${rows}x${cols}\n${L.map((l) => `  ${l}`).join('\n')}\n}`,
    threads: OB * mb * nb,
    steps: R * kk,
    block: rows * cols,
  };
}
