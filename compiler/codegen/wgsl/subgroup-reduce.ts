// Row reductions with subgroup operations (the `subgroups` feature). Without it, a row kernel
// (softmax, RMSNorm, LayerNorm statistics, a loss's mean) gives each row to ONE thread, which
// loops over the row for every reduction (memoized per row, render-node.ts). With it, a row goes
// to a whole workgroup of WORKGROUP_SIZE threads:
//
//   workgroup w = row r            (a 2-D grid flattened, as in render-kernel.ts)
//   for each reduction R of the row, in SSA order:
//     lane l sums elements l, l + 64, l + 128, ...      (partial)
//     subgroupAdd / subgroupMax over the subgroup        (one value per subgroup)
//     the subgroups' values combined through workgroup memory, in slot order
//     → every thread memoizes R's value for row r (mi/mv of render-kernel.ts)
//   for j = l, l + 64, ... < cols: out[r, j] = root(r, j)   (the memos hit)
//
// Correct for any subgroup size: each subgroup claims a slot with an atomic counter (the mapping of
// local_invocation_index to subgroups is not specified by WGSL), so 64 threads in 64 subgroups of
// one, or one subgroup of 64, or anything between, combine the same way; every thread sums the
// slots in the same order, so all threads of a row see bitwise the same value.
//
// A reduction is precomputed when its output has one element per row (its size equals the
// segment's rows), and it is memoized at index r. If some value function then asks for a
// different index, the memo misses and the ordinary serial loop (c<id>) runs: slower, still right.

import type { Graph, Node } from '../../ir/graph.ts';
import { numel } from '../../ir/graph.ts';
import type { KernelInfo } from '../../kernel/kernel-graph.ts';
import { f, u } from './wgsl-util.ts';

/** Rows whose largest reduction is shorter than this stay on the one-thread-per-row path. */
export const SUBGROUP_MIN_REDUCE = 16;

/** A reduction precomputed cooperatively: node id and whether it sums or takes the max. */
export interface CoopReduction {
  id: number;
  kind: 'sum' | 'max';
}

/**
 * The segments of `kernel` that take the cooperative form, each with the reductions to
 * precompute in SSA order: those whose root reaches (through nodes computed in the kernel) a
 * reduction with one value per row of at least SUBGROUP_MIN_REDUCE elements. `skip` names
 * segments rendered another way (register-blocked matmuls).
 */
export function coopSegments(g: Graph, kernel: KernelInfo, computed: (id: number) => boolean, skip: ReadonlySet<number>): Map<number, CoopReduction[]> {
  const out = new Map<number, CoopReduction[]>();
  kernel.segments.forEach((seg, k) => {
    if (skip.has(k) || seg.also !== undefined) return;
    const reach = new Set<number>();
    const walk = (id: number): void => {
      if (reach.has(id) || !computed(id)) return;
      reach.add(id);
      for (const j of (g.nodes[id] as Node).inputs) walk(j);
    };
    walk(seg.root);
    const found: CoopReduction[] = [];
    let longest = 0;
    for (const id of [...reach].sort((a, b) => a - b)) {
      const n = g.nodes[id] as Node;
      if ((n.op !== 'reduce_sum' && n.op !== 'reduce_max') || numel(n.shape) !== seg.rows) continue;
      found.push({ id, kind: n.op === 'reduce_sum' ? 'sum' : 'max' });
      longest = Math.max(longest, numel((g.nodes[n.inputs[0] as number] as Node).shape) / Math.max(1, seg.rows));
    }
    if (found.length > 0 && longest >= SUBGROUP_MIN_REDUCE) out.set(k, found);
  });
  return out;
}

/** Workgroup state and the two combining functions; the partial's identity is the caller's. */
export function subgroupPrelude(workgroupSize: number): string {
  return `
var<workgroup> sgPart: array<f32, ${workgroupSize}>;
var<workgroup> sgCount: atomic<u32>;
var<private> sgLane: u32;
var<private> sgSlot: u32;
var<private> sgGroups: u32;
fn wgSum(x: f32) -> f32 {
  let s = subgroupAdd(x);
  if (subgroupElect()) { sgPart[sgSlot] = s; }
  workgroupBarrier();
  var t = sgPart[0];
  for (var k = 1u; k < sgGroups; k++) { t += sgPart[k]; }
  workgroupBarrier();
  return t;
}
fn wgMax(x: f32) -> f32 {
  // NaN wins, as in the serial loop (subgroupMax leaves NaN unspecified)
  let nan = subgroupMax(select(0u, 1u, x != x));
  let s = select(subgroupMax(x), bitcast<f32>(BITS_NAN), nan != 0u);
  if (subgroupElect()) { sgPart[sgSlot] = s; }
  workgroupBarrier();
  var t = sgPart[0];
  for (var k = 1u; k < sgGroups; k++) { let v = sgPart[k]; if (v > t || v != v) { t = v; } }
  workgroupBarrier();
  return t;
}`;
}

/** The identity each lane's partial starts from. */
export function reduceIdentity(kind: 'sum' | 'max'): string {
  return kind === 'sum' ? '0.0' : f(-Infinity);
}

/**
 * One segment of a kernel whose main hands out workgroups: `rows` threads for 'thread', rows (one
 * workgroup each) for 'coop', workgroups for 'tiled' (render-matmul-tiled.ts).
 */
export interface MainSegment {
  k: number;
  rows: number;
  form: 'thread' | 'coop' | 'tiled';
}

/**
 * The segment function `q<k>(r)` of a cooperative segment: precompute its reductions at row r
 * (each `p<id>` returns the combined value), then write the row, WORKGROUP_SIZE columns at a time.
 */
export function coopSegment(
  k: number,
  reductions: readonly CoopReduction[],
  seg: { rows: number; cols: number; root: number },
  store: { arena: number; offset: number },
  workgroupSize: number,
): string {
  return [
    `fn q${k}(r: u32) { // row r on one workgroup`,
    ...reductions.map((x) => `  mv${x.id} = p${x.id}(r); mi${x.id} = r;`),
    `  for (var j = sgLane; j < ${u(seg.cols)}; j += ${u(workgroupSize)}) {`,
    `    let i = r * ${u(seg.cols)} + j;`,
    `    A${store.arena}[${u(store.offset)} + i] = v${seg.root}(i);`,
    '  }',
    '}',
  ].join('\n');
}

/**
 * The entry point of a kernel with cooperative or tiled segments. Segments are handed out by
 * WORKGROUP (uniform control flow, which subgroup operations and barriers need): a cooperative
 * segment takes one workgroup per row, a tiled one its tiles, any other segment
 * ceil(threads / size) workgroups and runs as before. With cooperative segments every workgroup
 * first claims subgroup slots (all threads reach the barrier); tiled segments get the uniform
 * zero `tz` that keeps their barrier loops rolled (render-matmul-tiled.ts).
 */
export function workgroupMain(segments: readonly MainSegment[], workgroupSize: number): { main: string[]; threads: number } {
  const coop = segments.some((s) => s.form === 'coop');
  const lines = [
    `@compute @workgroup_size(${workgroupSize})`,
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {',
  ];
  if (coop) {
    lines.push(
      '  sgLane = lid;',
      '  var slot = 0u;',
      '  if (subgroupElect()) { slot = atomicAdd(&sgCount, 1u); }',
      '  sgSlot = subgroupBroadcastFirst(slot);',
      '  workgroupBarrier();',
      '  sgGroups = atomicLoad(&sgCount);',
    );
  }
  lines.push('  let w = wid.x + wid.y * groups.x;');
  if (segments.some((s) => s.form === 'tiled')) lines.push('  let tz = min(groups.z, 1u) - 1u; // 0, uniform and opaque: keeps barrier loops rolled');
  let first = 0;
  for (const s of segments) {
    const groups = s.form === 'coop' || s.form === 'tiled' ? s.rows : Math.ceil(s.rows / workgroupSize);
    if (s.form === 'coop') lines.push(`  if (w < ${u(first + groups)}) { q${s.k}(w - ${u(first)}); return; }`);
    else if (s.form === 'tiled') lines.push(`  if (w < ${u(first + groups)}) { s${s.k}(w - ${u(first)}, lid, tz); return; }`);
    else lines.push(`  if (w < ${u(first + groups)}) { let t = (w - ${u(first)}) * ${u(workgroupSize)} + lid; if (t < ${u(s.rows)}) { s${s.k}(t); } return; }`);
    first += groups;
  }
  lines.push('}');
  return { main: lines, threads: first * workgroupSize };
}
