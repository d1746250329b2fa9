// A planned matmul block (render-matmul.ts) rendered through workgroup-memory tiles: the form real
// GPUs favour, where a tile of A and of B staged once in workgroup memory serves every thread of
// the workgroup, so each element is read from global memory once per tile rather than once per
// thread block. On lavapipe barriers and workgroup memory cost more than they save (lesson 2 of
// research/baselines.md; the tuner's 256×264×128 probe ran 56–134 ms tiled against 10–40 ms
// register-blocked, and llvmpipe compiles a tiled kernel for seconds), so it is a per-adapter
// choice (backends/webgpu/tune-graph.ts) and the register form (render-matmul-segment.ts) stays
// the default.
//
//   workgroup w → (batch entry ob, tile row rb, tile column cb): a TM × TN tile of C,
//                 TM = gy · rows, TN = gx · cols: 64 threads as gy × gx, each a rows × cols
//                 block; gx ∈ {8, 4, 2} (gy = 64 / gx), whichever pads C least: a narrow C
//                 (an attention head's P·V, [S, D] with D = 16 or 32) gets taller tiles
//   per K step of TK (per summed batch entry q):
//     stage   A[q, ob][tile rows, k0 .. k0+TK) → mmA [TM][TK + 1]  (zeros past K; the pad
//                                                  spreads a warp's rows over memory banks)
//             B[q, ob][k0 .. k0+TK, tile cols) → mmB [TK][TN / 4]  (vec4, zeros past K; one per term)
//     barrier; acc[i][j] += mmA[row i][p] · mmB[p][col j] for p < TK; barrier
//   then the register form's epilogue: each element through the root's value function.
//
// Rows and columns past the edge are staged from the last one (in bounds) and never stored;
// positions past K are staged as zeros, so K needs no multiple of TK. The barriers sit in loops
// whose bounds are uniform: the segment runs on whole workgroups (subgroup-reduce.ts
// `workgroupMain` hands segments out by workgroup id), and the loops keep their literal bounds
// opaque through `tz`, the uniform zero main passes in (a private's value, roll-loops.ts's way,
// would not count as uniform around a barrier).

import type { Graph, Node } from '../../ir/graph.ts';
import { batchStrides, DEFAULT_MATMUL_BLOCK, type BlockedMatmul, type MatmulBlock, type MatmulTerm } from './render-matmul.ts';
import { accDecls, accName, blockGeometry, finishBlock, readerOf, termGroups, type BlockedSegment, type LoadAt, type Reader } from './render-matmul-segment.ts';
import { remap, u } from './wgsl-util.ts';

/** Threads per workgroup: the kernels' 64 (render-kernel.ts WORKGROUP_SIZE). */
export const TILE_THREADS = 64;

/**
 * Threads along the columns of a tile (gx; the rest, 64 / gx, along its rows) for an m × n C of
 * rows × cols blocks: the grid whose tiles cover C with the fewest threads past its edges, the
 * squarer on a tie (per step along K it stages the fewest elements per FMA). Never below 2: a
 * 64 × 1 grid's A tile would not fit workgroup memory.
 *
 * @example
 *   tileColumns(256, 16, 8, 8) // 2: 256×16 tiles cover a head's [256, 16] exactly (8 at 64×64 pads 4×)
 */
export function tileColumns(m: number, n: number, rows: number, cols: number): number {
  const padded = (gx: number): number => {
    const [tm, tn] = [(TILE_THREADS / gx) * rows, gx * cols];
    return Math.ceil(m / tm) * tm * Math.ceil(n / tn) * tn;
  };
  return [8, 4, 2].reduce((best, gx) => (padded(gx) < padded(best) ? gx : best));
}

/** K-tile depths tried, deepest first: the deepest whose tiles fit TILE_BYTES. */
export const TILE_DEPTHS: readonly number[] = [16, 8];

/**
 * Workgroup memory the tiles of one segment may use: WebGPU guarantees 16 KiB per workgroup
 * (maxComputeWorkgroupStorageSize); 1 KiB stays free for the subgroup reductions' slots
 * (subgroup-reduce.ts) of a kernel that has both.
 */
export const TILE_BYTES = 15 * 1024;

export interface TiledSegment extends BlockedSegment {
  /** Workgroups the segment runs on (threads = workgroups × 64). */
  workgroups: number;
  /** The tile of C a workgroup computes and its K depth. */
  tile: { rows: number; cols: number; depth: number };
  /** f32 elements of mmA and vec4 elements of mmB the segment stages (the kernel declares the largest). */
  sharedA: number;
  sharedB4: number;
}

/**
 * Renders segment `k` tiled (arguments as `renderBlockedSegment`'s), or undefined when its tiles
 * do not fit TILE_BYTES at any depth (many terms sharing a left operand): the caller keeps the
 * register form.
 */
export function renderTiledSegment(
  g: Graph,
  plan: BlockedMatmul,
  k: number,
  rootFn: string,
  load: LoadAt,
  store: { arena: number; offset: number },
  cap: MatmulBlock = DEFAULT_MATMUL_BLOCK,
): TiledSegment | undefined {
  const geo = blockGeometry(g, plan, cap);
  const { m, n, batch, R, OB, rows, cols, c4 } = geo;
  const threads = TILE_THREADS;
  const gx = tileColumns(m, n, rows, cols);
  const gy = threads / gx;
  const [TM, TN] = [gy * rows, gx * cols];
  const TN4 = TN / 4;
  const groups = termGroups(g, plan, batch);
  const most = Math.max(...groups.map((x) => x.terms.length));
  const TK = TILE_DEPTHS.find((d) => 4 * (TM * (d + 1) + most * d * TN) <= TILE_BYTES);
  if (TK === undefined) return undefined;
  // A's row stride in mmA: threads of one warp read rows·TK apart, a multiple of 32 floats, which
  // would put their reads in one memory bank; one float of padding per row spreads them
  const AS = TK + 1;
  // staging loads per thread: A's share is exact (TM·TK ≥ 8·4·8 = 256 elements, a power of two);
  // B's may be less than one vec4 each for a narrow tile, then the lanes past it skip
  const [perA, perB] = [(TM * TK) / threads, Math.ceil((TK * TN4) / threads)];
  const bSkip = (TK * TN4) % threads !== 0;
  const [mb, nb] = [Math.ceil(m / TM), Math.ceil(n / TN)];
  const I = [...Array(rows).keys()];
  const Q = [...Array(c4).keys()];
  const L: string[] = [];
  L.push(`let cb = w % ${u(nb)};`, `let rb = (w / ${u(nb)}) % ${u(mb)};`, `let ob = w / ${u(mb * nb)};`);
  L.push(`let tr0 = rb * ${u(TM)};`, `let tc0 = cb * ${u(TN)};`);
  L.push(`let row0 = tr0 + (lid / ${u(gx)}) * ${u(rows)};`, `let col0 = tc0 + (lid % ${u(gx)}) * ${u(cols)};`);
  // this thread's rows in mmA and vec4 columns in mmB
  L.push(`let ta = (lid / ${u(gx)}) * ${u(rows * AS)};`, `let tb = (lid % ${u(gx)}) * ${u(c4)};`);
  L.push(...accDecls(plan, geo));
  const kks = plan.values.map(() => 0);
  let steps = 0;
  for (const group of groups) {
    const lead = group.terms[0] as { x: number; term: MatmulTerm };
    const tm = g.nodes[lead.term.matmul] as Node;
    const kk = group.kk;
    for (const { x } of group.terms) kks[x] = (kks[x] as number) + kk;
    steps += R * Math.ceil(kk / TK) * (perA + group.terms.length * perB + TK);
    // K past its end reads the last column (in bounds) as zero; a K of whole tiles needs neither
    const ragged = kk % TK !== 0;
    const kAt = (p: string): string => (ragged ? `min(k0 + ${p}, ${u(kk - 1)})` : `(k0 + ${p})`);
    const zeroPastK = (p: string, v: string, zero: string): string => (ragged ? `select(${zero}, ${v}, k0 + ${p} < ${u(kk)})` : v);
    const sa = lead.term.a.strides;
    const [sAr, sAk] = [sa[sa.length - 2] as number, sa[sa.length - 1] as number];
    const ra = readerOf(lead.term.a, load);
    L.push(`{ // ${group.terms.map(({ term }) => `%${term.matmul}`).join(' ')}`);
    L.push(`  for (var q = 0u; q < ${u(R)} + tz; q++) {`);
    const inner: string[] = [`let bt = q * ${u(OB)} + ob;`];
    const ao = remap(inner, 'bt', batch, batchStrides(g, tm.inputs[0] as number, lead.term.a, batch), ra.base);
    const rbs = group.terms.map(({ term }) => readerOf(term.b, load));
    const bos = group.terms.map(({ term }, t) =>
      remap(inner, 'bt', batch, batchStrides(g, (g.nodes[term.matmul] as Node).inputs[1] as number, term.b, batch), (rbs[t] as Reader).base),
    );
    L.push(...inner.map((l) => `    ${l}`));
    L.push(`    for (var k0 = 0u; k0 < ${u(kk)} + tz; k0 += ${u(TK)}) {`);
    // Staging: consecutive lanes take consecutive elements along the operand's unit stride (a
    // transposed view walks rows), so a real GPU coalesces the loads.
    const [ar, ap] = sAr === 1 && sAk !== 1 ? [`e % ${u(TM)}`, `e / ${u(TM)}`] : [`e / ${u(TK)}`, `e % ${u(TK)}`];
    L.push(`      for (var s = 0u; s < ${u(perA)}; s++) {`, `        let e = s * ${u(threads)} + lid;`, `        let ar = ${ar};`, `        let ap = ${ap};`);
    const aAt = ra.at(`${ao} + min(tr0 + ar, ${u(m - 1)}) * ${u(sAr)} + ${kAt('ap')} * ${u(sAk)}`);
    L.push(`        mmA[ar * ${u(AS)} + ap] = ${zeroPastK('ap', aAt, '0.0')};`, '      }');
    group.terms.forEach(({ term }, t) => {
      const sb = term.b.strides;
      const [sBk, sBn] = [sb[sb.length - 2] as number, sb[sb.length - 1] as number];
      const rb = rbs[t] as Reader;
      const [bp, bc] = sBk === 1 && sBn !== 1 ? [`e % ${u(TK)}`, `e / ${u(TK)}`] : [`e / ${u(TN4)}`, `e % ${u(TN4)}`];
      L.push(`      for (var s = 0u; s < ${u(perB)}; s++) {`, `        let e = s * ${u(threads)} + lid;`);
      if (bSkip) L.push(`        if (e >= ${u(TK * TN4)}) { break; }`);
      L.push(`        let bp = ${bp};`, `        let bc = ${bc};`);
      L.push(`        let br = ${bos[t]} + ${kAt('bp')} * ${u(sBk)};`, `        let c = tc0 + bc * 4u;`);
      const col = (j: number): string => rb.at(`br + min(c + ${u(j)}, ${u(n - 1)}) * ${u(sBn)}`);
      const v = `vec4f(${col(0)}, ${col(1)}, ${col(2)}, ${col(3)})`;
      L.push(`        mmB[${t === 0 ? '' : `${u(t * TK * TN4)} + `}bp * ${u(TN4)} + bc] = ${zeroPastK('bp', v, 'vec4f(0.0)')};`, '      }');
    });
    L.push('      workgroupBarrier();');
    L.push(`      for (var p = 0u; p < ${u(TK)}; p++) {`);
    for (const i of I) L.push(`        let a${i} = vec4f(mmA[ta + ${u(i * AS)} + p]);`);
    L.push(`        let bb = p * ${u(TN4)} + tb;`);
    group.terms.forEach(({ x }, t) => {
      for (const q of Q) L.push(`        let bv${t}_${q} = mmB[bb + ${u(t * TK * TN4 + q)}];`);
      for (const i of I) for (const q of Q) L.push(`        ${accName(x, i, q)} = fma(a${i}, bv${t}_${q}, ${accName(x, i, q)});`);
    });
    L.push('      }', '      workgroupBarrier();', '    }', '  }', '}');
  }
  const done = finishBlock(g, plan, k, rootFn, store, geo, kks, L);
  const V = plan.values.length;
  const workgroups = OB * mb * nb;
  return {
    ...done,
    segment: `fn s${k}(w: u32, lid: u32, tz: u32) { // workgroup-tiled ${TM}x${TN}x${TK}, ${gy}x${gx} threads of ${rows}x${cols}${V > 1 ? ` (${V} matmuls)` : ''}\n${L.map((l) => `  ${l}`).join('\n')}\n}`,
    threads: workgroups * threads,
    workgroups,
    steps,
    block: rows * cols,
    tile: { rows: TM, cols: TN, depth: TK },
    sharedA: TM * AS,
    sharedB4: most * TK * TN4,
  };
}
