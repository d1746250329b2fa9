// Renders a planned matmul block (render-matmul.ts `planBlockedMatmul`) as a register-blocked
// segment, and the parts both renderings of a plan share (render-matmul-tiled.ts is the other):
// the block's geometry, the grouping of terms by left operand, operand readers, and everything
// after the K loops — the accumulators handed to the fused epilogue, element by element, through
// the root's value function.
//
//   thread t → (batch entry ob, row block rb, column block cb): C[ob][row0.., col0..] in registers

import type { Graph, Node } from '../../ir/graph.ts';
import { numel } from '../../ir/graph.ts';
import {
  batchStrides,
  blockFor,
  DEFAULT_MATMUL_BLOCK,
  lookupBlock,
  type AffineView,
  type BlockedMatmul,
  type BlockedValue,
  type MatmulBlock,
  type MatmulTerm,
} from './render-matmul.ts';
import { remap, stridesOf, u } from './wgsl-util.ts';

/** Where an operand's elements are read: `at(index)` is the WGSL of element `index`. */
export interface Reader {
  /** Offset of the operand's first element in what `at` indexes. */
  base: number;
  at: (index: string) => string;
}

/** The arena and offset of a node's buffer. */
export type LoadAt = (node: number) => { arena: number; offset: number };

export interface BlockedSegment {
  /** WGSL: the private accumulators and block origin the value functions read. */
  privates: string[];
  /** The value functions standing in for each of `plan.values`, by node. */
  valueFns: Map<number, string>;
  /** Values whose per-element form the kernel must also emit, named f<id> (the lookup's fallback). */
  fallbacks: number[];
  segment: string;
  threads: number;
  /**
   * Iterations of the K loops per thread (every group's, summed batch entries included), for the
   * cost model; a lookup's recompute path (a read outside the thread's block) is not counted.
   */
  steps: number;
  /** Elements of C one thread stores (rows × columns of the block). */
  block: number;
}

/** Sizes of a plan's (reduced) matmul and the block one thread owns. */
export interface BlockGeometry {
  /** The matmul node of the first term (all terms share its output shape). */
  mm: Node;
  m: number;
  n: number;
  /** The matmul's batch axes; the first `plan.reduced` are summed in the K loop. */
  batch: number[];
  /** Batch entries summed inside the kernel, and batch entries of the output. */
  R: number;
  OB: number;
  rows: number;
  cols: number;
  /** vec4 accumulators per block row. */
  c4: number;
}

export function blockGeometry(g: Graph, plan: BlockedMatmul, cap: MatmulBlock): BlockGeometry {
  const mm = g.nodes[((plan.values[0] as BlockedValue).terms[0] as MatmulTerm).matmul] as Node;
  const m = mm.shape[mm.shape.length - 2] as number;
  const n = mm.shape[mm.shape.length - 1] as number;
  const batch = mm.shape.slice(0, -2);
  const { rows, cols } = plan.lookup ? lookupBlock(m, n, plan.window) : blockFor(m, n, cap);
  return { mm, m, n, batch, R: numel(batch.slice(0, plan.reduced)), OB: numel(batch.slice(plan.reduced)), rows, cols, c4: cols / 4 };
}

/** Terms that read the same left operand over the same K: one loop, one load of A per step. */
export interface TermGroup {
  terms: { x: number; term: MatmulTerm }[];
  /** K of the group's matmuls. */
  kk: number;
}

/** The plan's terms grouped by left operand (SwiGLU's x·W1 and x·W3 share one group), in order. */
export function termGroups(g: Graph, plan: BlockedMatmul, batch: readonly number[]): TermGroup[] {
  const groups = new Map<string, TermGroup>();
  plan.values.forEach((v, x) => {
    for (const term of v.terms) {
      const tm = g.nodes[term.matmul] as Node;
      const aShape = (g.nodes[tm.inputs[0] as number] as Node).shape;
      const key = JSON.stringify([term.a, aShape, batchStrides(g, tm.inputs[0] as number, term.a, batch)]);
      const group = groups.get(key) ?? { terms: [], kk: aShape[aShape.length - 1] as number };
      group.terms.push({ x, term });
      groups.set(key, group);
    }
  });
  return [...groups.values()];
}

/** Where an operand's elements are read: its buffer, or its value function (`viaFn`). */
export function readerOf(v: AffineView, load: LoadAt): Reader {
  if (v.viaFn === true) return { base: 0, at: (x) => `v${v.node}(${x})` };
  const p = load(v.node);
  return { base: p.offset + v.offset, at: (x) => `A${p.arena}[${x}]` };
}

/** Accumulator of value x, block row i, vec4 column q. */
export const accName = (x: number, i: number, q: number): string => `acc${x}_${i}_${q}`;

/** `var acc… = vec4f(0.0);` for every value, row and vec4 column of the block. */
export function accDecls(plan: BlockedMatmul, geo: BlockGeometry): string[] {
  const L: string[] = [];
  plan.values.forEach((_v, x) => {
    for (let i = 0; i < geo.rows; i++) for (let q = 0; q < geo.c4; q++) L.push(`var ${accName(x, i, q)} = vec4f(0.0);`);
  });
  return L;
}

/**
 * Lines (pushed to L) that hand the block (its origin row0, col0, ob in scope) to the root's
 * value function element by element and store the results, with the privates and value
 * functions they read. `kks[x]` is value x's K, for the comment.
 */
export function finishBlock(
  g: Graph,
  plan: BlockedMatmul,
  k: number,
  rootFn: string,
  store: { arena: number; offset: number },
  geo: BlockGeometry,
  kks: readonly number[],
  L: string[],
): Pick<BlockedSegment, 'privates' | 'valueFns' | 'fallbacks'> {
  const { mm, m, n, R, rows, cols, c4 } = geo;
  const I = [...Array(rows).keys()];
  const Q = [...Array(c4).keys()];
  const V = plan.values.map((_v, x) => x);
  const name = (x: number): number => (plan.values[x] as BlockedValue).value;
  const privates: string[] = [];
  if (plan.lookup) {
    // the block where the value functions find it; other threads (other segments) see no block
    for (const x of V) privates.push(`var<private> mmb${name(x)}: array<vec4f, ${rows * c4}>;`);
    privates.push(`var<private> mmo${k}: vec3u = vec3u(0xffffffffu);`);
    L.push(`mmo${k} = vec3u(col0, row0, ob);`);
    for (const x of V) for (const i of I) for (const q of Q) L.push(`mmb${name(x)}[${u(i * c4 + q)}] = ${accName(x, i, q)};`);
  } else {
    for (const x of V) privates.push(`var<private> mmv${name(x)}: f32;`);
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
  // variable; each block runs the root's value function (the fused epilogue) per element. A
  // lookup block is in its array already: one rolled loop keeps a single copy of the epilogue
  // (its fallback dot products, inlined per call, made unrolled copies compile for seconds).
  if (plan.lookup) {
    L.push(`for (var e = 0u; e < ${u(rows * cols)}; e++) {`, `  let row = row0 + e / ${u(cols)};`, `  let col = col0 + e % ${u(cols)};`);
    L.push(`  if (row < ${u(m)} && col < ${u(n)}) {`, ...up.map((l) => `    ${l}`));
    L.push(`    A${store.arena}[${u(store.offset)} + ${idx}] = ${rootFn}(${idx});`, '  }', '}');
  }
  for (const i of plan.lookup ? [] : I) {
    L.push(`if (row0 + ${i}u < ${u(m)}) {`, `  let row = row0 + ${i}u;`);
    for (const q of Q) {
      L.push(`  for (var j = 0u; j < 4u; j++) {`, `    let col = col0 + ${u(4 * q)} + j;`, `    if (col >= ${u(n)}) { break; }`);
      if (!plan.lookup) for (const x of V) L.push(`    mmv${name(x)} = ${accName(x, i, q)}[j];`);
      L.push(...up.map((l) => `    ${l}`));
      L.push(`    A${store.arena}[${u(store.offset)} + ${idx}] = ${rootFn}(${idx});`, '  }');
    }
    L.push('}');
  }
  const what = (x: number): string => {
    const v = plan.values[x] as BlockedValue;
    const terms = v.terms.length > 1 ? ` (${v.terms.length} matmuls added)` : '';
    return `// %${v.value} blocked ${mm.op} ${m}x${n}x${kks[x]}${R > 1 ? ` summed over ${R}` : ''}${terms}`;
  };
  const valueFns = new Map<number, string>();
  for (const x of V) {
    const id = name(x);
    if (!plan.lookup) {
      valueFns.set(id, `fn v${id}(i: u32) -> f32 { return mmv${id}; } ${what(x)}`);
      continue;
    }
    // i - origin wraps around below the block, so one comparison per side bounds it
    const body = [
      `let dr = (i / ${u(n)}) % ${u(m)} - mmo${k}.y;`,
      `let dc = i % ${u(n)} - mmo${k}.x;`,
      `if (i / ${u(m * n)} == mmo${k}.z && dr < ${u(rows)} && dc < ${u(cols)}) { return mmb${id}[dr * ${u(c4)} + dc / 4u][dc % 4u]; }`,
      `return f${id}(i);`,
    ];
    valueFns.set(id, `fn v${id}(i: u32) -> f32 { ${what(x)}, read in the block, else recomputed\n${body.map((l) => `  ${l}`).join('\n')}\n}`);
  }
  return { privates, valueFns, fallbacks: plan.lookup ? V.map(name) : [] };
}

/**
 * Renders segment `k` register-blocked: `load(node)` names the arena read of a buffer
 * (`A3[120u + `), `rootFn` the root's value function, `store` the output's arena and offset.
 */
export function renderBlockedSegment(
  g: Graph,
  plan: BlockedMatmul,
  k: number,
  rootFn: string,
  load: LoadAt,
  store: { arena: number; offset: number },
  cap: MatmulBlock = DEFAULT_MATMUL_BLOCK,
): BlockedSegment {
  const geo = blockGeometry(g, plan, cap);
  const { m, n, batch, R, OB, rows, cols, c4 } = geo;
  const [mb, nb] = [Math.ceil(m / rows), Math.ceil(n / cols)];
  const I = [...Array(rows).keys()];
  const J = [...Array(cols).keys()];
  const Q = [...Array(c4).keys()];
  const L: string[] = [];
  L.push(`let cb = r % ${u(nb)};`, `let rb = (r / ${u(nb)}) % ${u(mb)};`, `let ob = r / ${u(mb * nb)};`);
  L.push(`let row0 = rb * ${u(rows)};`, `let col0 = cb * ${u(cols)};`);
  L.push(...accDecls(plan, geo));
  const kks = plan.values.map(() => 0);
  // K-loop iterations one thread runs over all groups (they run one after another), for the cost model
  let kTotal = 0;
  for (const group of termGroups(g, plan, batch)) {
    const lead = group.terms[0] as { x: number; term: MatmulTerm };
    const tm = g.nodes[lead.term.matmul] as Node;
    const kk = group.kk;
    for (const { x } of group.terms) kks[x] = (kks[x] as number) + kk;
    kTotal += kk;
    const sa = lead.term.a.strides;
    const [sAr, sAk] = [sa[sa.length - 2] as number, sa[sa.length - 1] as number];
    const ra = readerOf(lead.term.a, load);
    L.push(`{ // ${group.terms.map(({ term }) => `%${term.matmul}`).join(' ')}`);
    // rows/columns past the edge read the last one (in bounds) and are never stored
    for (const i of I) L.push(`  let ar${i} = min(row0 + ${i}u, ${u(m - 1)}) * ${u(sAr)};`);
    group.terms.forEach(({ term }, t) => {
      const sb = term.b.strides;
      for (const j of J) L.push(`  let bc${t}_${j} = min(col0 + ${j}u, ${u(n - 1)}) * ${u(sb[sb.length - 1] as number)};`);
    });
    L.push(`  for (var q = 0u; q < ${u(R)}; q++) {`);
    const inner: string[] = [`let bt = q * ${u(OB)} + ob;`];
    const ao = remap(inner, 'bt', batch, batchStrides(g, tm.inputs[0] as number, lead.term.a, batch), ra.base);
    const rbs = group.terms.map(({ term }) => readerOf(term.b, load));
    const bos = group.terms.map(({ term }, t) =>
      remap(inner, 'bt', batch, batchStrides(g, (g.nodes[term.matmul] as Node).inputs[1] as number, term.b, batch), (rbs[t] as Reader).base),
    );
    L.push(...inner.map((l) => `    ${l}`));
    L.push(`    for (var p = 0u; p < ${u(kk)}; p++) {`);
    L.push(`      let ap = ${ao} + p * ${u(sAk)};`);
    for (const i of I) L.push(`      let a${i} = vec4f(${ra.at(`ap + ar${i}`)});`);
    group.terms.forEach(({ x, term }, t) => {
      const sb = term.b.strides;
      const rb = rbs[t] as Reader;
      L.push(`      let bp${t} = ${bos[t]} + p * ${u(sb[sb.length - 2] as number)};`);
      const bAt = (j: number): string => rb.at(`bp${t} + bc${t}_${j}`);
      for (const q of Q) L.push(`      let bv${t}_${q} = vec4f(${bAt(4 * q)}, ${bAt(4 * q + 1)}, ${bAt(4 * q + 2)}, ${bAt(4 * q + 3)});`);
      for (const i of I) for (const q of Q) L.push(`      ${accName(x, i, q)} = fma(a${i}, bv${t}_${q}, ${accName(x, i, q)});`);
    });
    L.push('    }', '  }', '}');
  }
  const done = finishBlock(g, plan, k, rootFn, store, geo, kks, L);
  const V = plan.values.length;
  return {
    ...done,
    segment: `fn s${k}(r: u32) { // register-blocked ${rows}x${cols}${V > 1 ? ` (${V} matmuls)` : ''}\n${L.map((l) => `  ${l}`).join('\n')}\n}`,
    threads: OB * mb * nb,
    steps: R * kTotal,
    block: rows * cols,
  };
}
