// Register-blocked matmul segments inside compiled graphs. The per-element renderer computes a
// matmul as one dot product per output element; here one thread owns a 4×4 block of C in
// registers (codegen/wgsl/matmul.ts's `register` variant, lesson 2 of research/baselines.md:
// on lavapipe register blocking without workgroup memory beats tiles and the naive loop), then
// runs the kernel's fused epilogue (bias, activation, residual, scale, a transpose of the result)
// for each of its 16 elements through the ordinary per-node value functions.
//
// Applies when the operands are affine views of arena buffers (transposes, reshapes, broadcasts
// and slices become strides, not copies) and the segment's root reaches the matmul along one
// chain of index-preserving ops and permutes, optionally through a reduce_sum over leading batch
// axes (the weight gradient Σ_b X_bᵀ·G_b), which is folded into the loop over K. Anything else —
// an operand computed by a fused producer, a matmul read at several indices — keeps the
// per-element path (render-kernel.ts).
//
//   thread t → (batch entry ob of the reduced output, 4-row block, 4-column block)
//   acc[i][j] = Σ_{rb < R} Σ_p A[rb, ob][row0+i, p] · B[rb, ob][p, col0+j]

import type { Graph, Node } from '../../ir/graph.ts';
import { numel } from '../../ir/graph.ts';
import { classOf } from '../../kernel/op-classes.ts';
import { remap, stridesOf, u } from './wgsl-util.ts';

/** An operand as strides over a buffer: element x sits at offset + Σ_k coord_k · strides[k]. */
export interface AffineView {
  /** The IR node whose buffer holds the data. */
  node: number;
  offset: number;
  strides: number[];
}

/** What the blocked segment needs, found by `planBlockedMatmul`. */
export interface BlockedMatmul {
  matmul: number;
  /** The node whose value the accumulators stand for: the matmul or its batch reduce_sum. */
  value: number;
  a: AffineView;
  b: AffineView;
  /** Leading batch axes summed inside the kernel (0 without a reduce_sum). */
  reduced: number;
  /** Permutes from `value` up to the root, bottom first: the index map to the root's layout. */
  permutes: number[];
  /** The nodes from the root down to the matmul. */
  chain: number[];
}

/** Whether node `id` is evaluated inside the kernel (else it is loaded from its buffer). */
export type IsComputed = (id: number) => boolean;

/** Nodes that keep the flat index of their operand: the root reads them at its own index. */
function indexPreserving(g: Graph, n: Node, k: number): boolean {
  const x = g.nodes[n.inputs[k] as number] as Node;
  if (n.op === 'reshape' || n.op === 'stop_gradient') return true;
  if (n.op === 'cast') return n.dtype === x.dtype;
  if (classOf(n) !== 'map' || n.op.startsWith('random')) return false;
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
  // Walk down the single chain: index-preserving ops and permutes, then a matmul (maybe summed).
  const chain: number[] = [root];
  const permutes: number[] = [];
  let cur = g.nodes[root] as Node;
  let value: Node | undefined;
  let mm: Node | undefined;
  for (let guard = 0; guard < 64; guard++) {
    if (cur.op === 'matmul') {
      mm = cur;
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
      cur = x;
      continue;
    }
    // pick the operand that leads to a matmul: the only in-kernel one that is not a free source
    const next = cur.inputs.map((j, k) => ({ j, k })).filter(({ j }) => computed(j) && leadsToMatmul(g, j, computed));
    if (next.length !== 1) return undefined;
    const { j, k } = next[0] as { j: number; k: number };
    if (cur.op === 'permute') permutes.unshift(cur.id);
    else if (!indexPreserving(g, cur, k)) return undefined;
    cur = g.nodes[j] as Node;
    chain.push(j);
  }
  if (mm === undefined || value === undefined) return undefined;
  // Below the root, chain nodes may be read only by their parent in the chain.
  const parent = new Map<number, number>();
  for (let q = 1; q < chain.length; q++) parent.set(chain[q] as number, chain[q - 1] as number);
  for (const id of reach) {
    for (const j of (g.nodes[id] as Node).inputs) if (parent.has(j) && parent.get(j) !== id) return undefined;
  }
  const a = affineView(g, mm.inputs[0] as number, computed);
  const b = affineView(g, mm.inputs[1] as number, computed);
  if (a === undefined || b === undefined) return undefined;
  const reduced = value === mm ? 0 : (value.attrs['axes'] as readonly number[]).length;
  return { matmul: mm.id, value: value.id, a, b, reduced, permutes, chain };
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

export interface BlockedSegment {
  /** WGSL: the private accumulator the value function returns, and the segment function. */
  privates: string[];
  /** The value function standing in for `plan.value`. */
  valueFn: string;
  segment: string;
  threads: number;
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
): BlockedSegment {
  const mm = g.nodes[plan.matmul] as Node;
  const aShape = (g.nodes[mm.inputs[0] as number] as Node).shape;
  const m = mm.shape[mm.shape.length - 2] as number;
  const n = mm.shape[mm.shape.length - 1] as number;
  const kk = aShape[aShape.length - 1] as number;
  const batch = mm.shape.slice(0, -2);
  const rBatch = batch.slice(0, plan.reduced);
  const oBatch = batch.slice(plan.reduced);
  const [R, OB] = [numel(rBatch), numel(oBatch)];
  const [mb, nb] = [Math.ceil(m / 4), Math.ceil(n / 4)];
  const sa = plan.a.strides;
  const sb = plan.b.strides;
  const [sAr, sAk] = [sa[sa.length - 2] as number, sa[sa.length - 1] as number];
  const [sBk, sBc] = [sb[sb.length - 2] as number, sb[sb.length - 1] as number];
  const pa = load(plan.a.node);
  const pb = load(plan.b.node);
  const L: string[] = [];
  L.push(`let cb = r % ${u(nb)};`, `let rb = (r / ${u(nb)}) % ${u(mb)};`, `let ob = r / ${u(mb * nb)};`);
  L.push('let row0 = rb * 4u;', 'let col0 = cb * 4u;');
  // rows/columns past the edge read the last one (in bounds) and are never stored
  for (let i = 0; i < 4; i++) L.push(`let ar${i} = min(row0 + ${i}u, ${u(m - 1)}) * ${u(sAr)};`);
  for (let j = 0; j < 4; j++) L.push(`let bc${j} = min(col0 + ${j}u, ${u(n - 1)}) * ${u(sBc)};`);
  for (let i = 0; i < 4; i++) L.push(`var acc${i} = vec4f(0.0);`);
  L.push(`for (var q = 0u; q < ${u(R)}; q++) {`);
  const inner: string[] = [`let bt = q * ${u(OB)} + ob;`];
  const ao = remap(inner, 'bt', batch, batchStrides(g, mm.inputs[0] as number, plan.a, batch), pa.offset + plan.a.offset);
  const bo = remap(inner, 'bt', batch, batchStrides(g, mm.inputs[1] as number, plan.b, batch), pb.offset + plan.b.offset);
  L.push(...inner.map((l) => `  ${l}`));
  L.push(`  for (var p = 0u; p < ${u(kk)}; p++) {`);
  L.push(`    let ap = ${ao} + p * ${u(sAk)};`, `    let bp = ${bo} + p * ${u(sBk)};`);
  L.push(`    let bv = vec4f(A${pb.arena}[bp + bc0], A${pb.arena}[bp + bc1], A${pb.arena}[bp + bc2], A${pb.arena}[bp + bc3]);`);
  for (let i = 0; i < 4; i++) L.push(`    acc${i} = fma(vec4f(A${pa.arena}[ap + ar${i}]), bv, acc${i});`);
  L.push('  }', '}');
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
  L.push(`for (var i = 0u; i < 4u; i++) {`, '  let row = row0 + i;', `  if (row >= ${u(m)}) { break; }`);
  L.push('  let accRow = select(select(select(acc3, acc2, i == 2u), acc1, i == 1u), acc0, i == 0u);');
  L.push('  for (var j = 0u; j < 4u; j++) {', '    let col = col0 + j;', `    if (col >= ${u(n)}) { break; }`);
  L.push(`    mmv${plan.value} = accRow[j];`, ...up.map((l) => `    ${l}`));
  L.push(`    A${store.arena}[${u(store.offset)} + ${idx}] = ${rootFn}(${idx});`, '  }', '}');
  return {
    privates: [`var<private> mmv${plan.value}: f32;`],
    valueFn: `fn v${plan.value}(i: u32) -> f32 { return mmv${plan.value}; } // %${plan.value} blocked ${mm.op} ${m}x${n}x${kk}${R > 1 ? ` summed over ${R}` : ''}`,
    segment: `fn s${k}(r: u32) { // register-blocked 4x4\n${L.map((l) => `  ${l}`).join('\n')}\n}`,
    threads: OB * mb * nb,
  };
}
