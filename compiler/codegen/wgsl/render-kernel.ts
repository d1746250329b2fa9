// Renders one kernel of the kernel graph into a WGSL compute shader: one value function per IR
// node it computes (NODE_RENDER), one load function per buffer it reads, one segment function
// per output, and a `main` that hands each thread to its segment.
//
//   thread t (a 2-D grid flattened: legalize.ts) → segment s, row r → writes cols elements

import type { Graph, Node } from '../../ir/graph.ts';
import { classOf } from '../../kernel/op-classes.ts';
import type { CompiledKernel, KernelGraph, KernelInfo, MemoryPlan, SegmentForm } from '../../kernel/kernel-graph.ts';
import { computedIn } from '../../kernel/cost.ts';
import { NODE_RENDER, PRELUDE, renderReduce, type NodeCtx } from './render-node.ts';
import { widenHalfLoads } from './f16-storage.ts';
import { coopSegment, coopSegments, subgroupPrelude, workgroupMain, type CoopReduction, type MainSegment } from './subgroup-reduce.ts';
import { planBlockedMatmul, type BlockedMatmul, type MatmulBlock } from './render-matmul.ts';
import { renderBlockedSegment, type BlockedSegment } from './render-matmul-segment.ts';
import { renderTiledSegment, type TiledSegment } from './render-matmul-tiled.ts';
import { renderAttentionKernel } from './render-attention.ts';
import { rollLoops } from './roll-loops.ts';
import { resetNames, u } from './wgsl-util.ts';

export const WORKGROUP_SIZE = 64;

/** FNV-1a over the source: the shader key (equal keys mean equal WGSL). */
function hashKey(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0') + text.length.toString(16);
}

export interface RenderOptions {
  /** Render matmuls over plain buffers register-blocked (default true; false forces per-element). */
  blockedMatmul?: boolean;
  /** The target has `subgroups`: row reductions run on a workgroup each (subgroup-reduce.ts). */
  subgroups?: boolean;
  /** Arenas stored as f16 (f16-storage.ts): declared array<f16>, every read widened to f32. */
  halfArenas?: ReadonlySet<number>;
  /** Keep literal-count loops rolled (roll-loops.ts; default true: lavapipe compiles unrolled ones for seconds). */
  rollLoops?: boolean;
  /** The largest register block of a blocked matmul (render-matmul.ts `blockFor`; default 8×8). */
  matmulBlock?: MatmulBlock;
  /**
   * Blocked matmuls staged through workgroup-memory tiles (render-matmul-tiled.ts), each thread
   * still a register block; default false: the register form, which lavapipe prefers.
   */
  matmulTiles?: boolean;
  /** Query rows per thread of fused attention (render-attention.ts; default 1). */
  attentionRows?: number;
}

export function renderKernel(g: Graph, kg: KernelGraph, memory: MemoryPlan, kernel: KernelInfo, opts: RenderOptions = {}): CompiledKernel {
  if (kernel.kind !== 'wgsl') throw new Error(`renderKernel: kernel ${kernel.id} runs on the host`);
  // Fused attention (compiler/kernel/fuse-attention.ts) has a renderer of its own.
  if (kernel.attention !== undefined) return renderAttentionKernel(kernel, memory, opts.attentionRows);
  resetNames();
  const bufferOfNode = new Map<number, number>();
  for (const b of kg.buffers) bufferOfNode.set(b.node, b.id);
  const roots = new Set(kernel.segments.map((s) => s.root));
  const arenas = [...new Set([...kernel.inputs, ...kernel.outputs].map((b) => (memory.placements[b] ?? fail(`buffer ${b} is not placed`)).arena))].sort(
    (a, b) => a - b,
  );
  const fns: string[] = [];
  const privates: string[] = [];
  const done = new Set<number>();

  const at = (buffer: number): { arena: number; offset: number } => memory.placements[buffer] ?? fail(`buffer ${buffer} is not placed`);
  // Inside this kernel: its members and the free nodes it recomputes; everything else is loaded.
  const isComputed = computedIn(g, kg, kernel);
  const blocked = opts.blockedMatmul === false ? new Map<number, BlockedMatmul>() : planBlocked(g, kernel, isComputed, roots);
  const overridden = new Map<number, string>();
  const fallbacks = new Set<number>();
  // A node's render context: operand k's value is a call of its function v<j>, emitted on first use.
  const nodeCtx = (node: Node, lines: string[]): NodeCtx => ({
    node,
    ins: node.inputs.map((j) => g.nodes[j] as Node),
    lines,
    v: (k, idx) => {
      const j = node.inputs[k] as number;
      emit(j);
      return `v${j}(${idx})`;
    },
  });
  const emit = (id: number): void => {
    if (done.has(id)) return;
    done.add(id);
    const node = g.nodes[id] as Node;
    const buffer = bufferOfNode.get(id);
    const fixed = overridden.get(id);
    if (fixed !== undefined) {
      // a blocked value read at other indices falls back to its per-element form, f<id>
      if (fallbacks.has(id)) perElement(node, `f${id}`);
      fns.push(fixed);
      return;
    }
    const computed = isComputed(id);
    if (!computed) {
      if (buffer === undefined) fail(`node %${id} has no buffer and is not computed in kernel ${kernel.id}`);
      const p = at(buffer);
      fns.push(`fn v${id}(i: u32) -> f32 { return A${p.arena}[${u(p.offset)} + i]; } // %${id} ${node.op}`);
      return;
    }
    perElement(node, `v${id}`);
  };
  // The value function `name` of a node computed in the kernel, one element per call.
  const perElement = (node: Node, name: string): void => {
    const id = node.id;
    const lines: string[] = [];
    const value = NODE_RENDER[node.op](nodeCtx(node, lines));
    const body = [...lines, `return ${value};`].map((l) => `  ${l}`).join('\n');
    const where = node.span ? ` @ ${node.span.file}:${node.span.start.line}:${node.span.start.col}` : '';
    if (classOf(node) === 'loop') {
      // Memoized on the last index: a row kernel's reductions run once per row.
      privates.push(`var<private> mi${id}: u32 = 0xffffffffu;`, `var<private> mv${id}: f32;`);
      fns.push(`fn c${id}(i: u32) -> f32 { // %${id} ${node.op}${where}\n${body}\n}`);
      fns.push(`fn ${name}(i: u32) -> f32 { if (i == mi${id}) { return mv${id}; } let r = c${id}(i); mi${id} = i; mv${id} = r; return r; }`);
    } else {
      fns.push(`fn ${name}(i: u32) -> f32 { // %${id} ${node.op}${where}\n${body}\n}`);
    }
  };

  // A reduction's cooperative form p<id>: this lane's share of the loop, then the combine.
  const partialFn = (x: CoopReduction): string => {
    const node = g.nodes[x.id] as Node;
    const lines: string[] = [];
    const acc = renderReduce(nodeCtx(node, lines), x.kind, { first: 'sgLane', step: WORKGROUP_SIZE });
    const body = [...lines, `return ${x.kind === 'sum' ? 'wgSum' : 'wgMax'}(${acc});`].map((l) => `  ${l}`).join('\n');
    return `fn p${x.id}(i: u32) -> f32 { // %${x.id} ${node.op} across the workgroup\n${body}\n}`;
  };

  const segs: string[] = [];
  const dispatch: string[] = [];
  let first = 0;
  const coop = opts.subgroups === true ? coopSegments(g, kernel, isComputed, new Set(blocked.keys())) : new Map<number, never>();
  const mainSegs: MainSegment[] = [];
  const forms: SegmentForm[] = [];
  const partials = new Set<number>();
  // workgroup memory of the tiled segments: one mmA and one mmB, as large as the largest needs
  // (a workgroup runs one segment, so segments share them)
  const tiles = { a: 0, b4: 0 };
  kernel.segments.forEach((s, k) => {
    const reductions = coop.get(k);
    if (reductions !== undefined) {
      emit(s.root);
      for (const x of reductions) if (!partials.has(x.id)) fns.push(partialFn(x));
      for (const x of reductions) partials.add(x.id);
      segs.push(coopSegment(k, reductions, s, at(s.output), WORKGROUP_SIZE));
      mainSegs.push({ k, rows: s.rows, form: 'coop' });
      forms.push({ kind: 'coop', reductions: reductions.map((x) => x.id), lanes: WORKGROUP_SIZE });
      return;
    }
    const plan = blocked.get(k);
    if (plan !== undefined) {
      const nodeAt = (id: number): { arena: number; offset: number } => at(bufferOfNode.get(id) ?? fail(`matmul operand %${id} has no buffer`));
      const tiled = opts.matmulTiles === true ? renderTiledSegment(g, plan, k, `v${s.root}`, nodeAt, at(s.output), opts.matmulBlock) : undefined;
      const r: BlockedSegment | TiledSegment = tiled ?? renderBlockedSegment(g, plan, k, `v${s.root}`, nodeAt, at(s.output), opts.matmulBlock);
      for (const [id, fn] of r.valueFns) overridden.set(id, fn);
      for (const id of r.fallbacks) fallbacks.add(id);
      privates.push(...r.privates);
      emit(s.root);
      // operands read through their value functions (render-matmul.ts `viaFn`)
      for (const v of plan.values) for (const t of v.terms) for (const o of [t.a, t.b]) if (o.viaFn === true) emit(o.node);
      segs.push(r.segment);
      if (tiled !== undefined) {
        tiles.a = Math.max(tiles.a, tiled.sharedA);
        tiles.b4 = Math.max(tiles.b4, tiled.sharedB4);
        mainSegs.push({ k, rows: tiled.workgroups, form: 'tiled' });
        forms.push({ kind: 'tiled', threads: tiled.threads, steps: tiled.steps, block: tiled.block, tile: tiled.tile });
      } else {
        dispatch.push(`  if (t < ${u(first + r.threads)}) { s${k}(t - ${u(first)}); return; }`);
        mainSegs.push({ k, rows: r.threads, form: 'thread' });
        forms.push({ kind: 'blocked', threads: r.threads, steps: r.steps, block: r.block });
      }
      first += r.threads;
      return;
    }
    emit(s.root);
    const p = at(s.output);
    if (s.also !== undefined) {
      // Several outputs per thread (one column): every value first, then the stores, so an output
      // written in place over an input never changes what another value of this thread reads.
      for (const x of s.also) emit(x.node);
      const outs = [{ node: s.root, at: p }, ...s.also.map((x) => ({ node: x.node, at: at(x.output) }))];
      segs.push(
        [
          `fn s${k}(r: u32) {`,
          ...outs.map((o, q) => `  let x${q} = v${o.node}(r);`),
          ...outs.map((o, q) => `  A${o.at.arena}[${u(o.at.offset)} + r] = x${q};`),
          '}',
        ].join('\n'),
      );
      dispatch.push(`  if (t < ${u(first + s.rows)}) { s${k}(t - ${u(first)}); return; }`);
      mainSegs.push({ k, rows: s.rows, form: 'thread' });
      forms.push({ kind: 'plain' });
      first += s.rows;
      return;
    }
    segs.push(
      `fn s${k}(r: u32) {\n  for (var j = 0u; j < ${u(s.cols)}; j++) {\n    let i = r * ${u(s.cols)} + j;\n    A${p.arena}[${u(p.offset)} + i] = v${s.root}(i);\n  }\n}`,
    );
    dispatch.push(`  if (t < ${u(first + s.rows)}) { s${k}(t - ${u(first)}); return; }`);
    mainSegs.push({ k, rows: s.rows, form: 'thread' });
    forms.push({ kind: 'plain' });
    first += s.rows;
  });

  const header = [
    `// scion kernel ${kernel.id}: ${kernel.name}${kernel.source ? ` @ ${kernel.source}` : ''}`,
    ...arenas.map((a, k) => `@group(0) @binding(${k}) var<storage, read_write> A${a}: array<f32>;`),
  ];
  // Cooperative and tiled segments need whole workgroups: then main hands out workgroups.
  const cooperative = coop.size > 0 || tiles.a > 0 ? workgroupMain(mainSegs, WORKGROUP_SIZE) : undefined;
  if (cooperative !== undefined) first = cooperative.threads;
  const main = cooperative?.main ?? [
    `@compute @workgroup_size(${WORKGROUP_SIZE})`,
    'fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {',
    `  let t = gid.x + gid.y * groups.x * ${u(WORKGROUP_SIZE)};`,
    ...dispatch,
    '}',
  ];
  const enables = [
    ...(opts.halfArenas !== undefined && arenas.some((a) => opts.halfArenas?.has(a)) ? ['enable f16;'] : []),
    ...(coop.size > 0 ? ['enable subgroups;'] : []),
  ];
  const shared = tiles.a > 0 ? [`var<workgroup> mmA: array<f32, ${tiles.a}>;`, `var<workgroup> mmB: array<vec4f, ${tiles.b4}>;`] : [];
  const prelude = coop.size === 0 ? PRELUDE : PRELUDE + subgroupPrelude(WORKGROUP_SIZE);
  const text = [header[0] as string, ...enables, ...header.slice(1), ...shared, ...privates, prelude, ...fns, ...segs, ...main].join('\n') + '\n';
  const rolled = opts.rollLoops === false ? text : rollLoops(text);
  const code = opts.halfArenas === undefined ? rolled : widenHalfLoads(rolled, opts.halfArenas);
  // The key ignores the first comment line so identical kernels share one pipeline.
  return { kernel: kernel.id, key: `scion/${hashKey(code.slice(code.indexOf('\n') + 1))}`, code, threads: first, workgroupSize: WORKGROUP_SIZE, arenas, forms };
}

/**
 * The segments rendered register-blocked, by segment index. Each plan's chain (root down to the
 * matmul) must be its own: not another segment's root and not shared with another plan.
 */
function planBlocked(g: Graph, kernel: KernelInfo, computed: (id: number) => boolean, roots: ReadonlySet<number>): Map<number, BlockedMatmul> {
  const reach = new Set<number>();
  const walk = (id: number): void => {
    if (reach.has(id) || !computed(id)) return;
    reach.add(id);
    for (const j of (g.nodes[id] as Node).inputs) walk(j);
  };
  for (const s of kernel.segments) walk(s.root);
  const plans = new Map<number, BlockedMatmul>();
  const used = new Set<number>();
  kernel.segments.forEach((s, k) => {
    // a row kernel walks rows in order for its memoized reductions; someone reading the root
    // would see the accumulator's stand-in
    if (s.cols !== 1 || s.also !== undefined || [...reach].some((id) => (g.nodes[id] as Node).inputs.includes(s.root))) return;
    const plan = planBlockedMatmul(g, s.root, computed, reach);
    if (plan === undefined) return;
    if (plan.chain.some((id) => used.has(id) || (id !== s.root && roots.has(id)))) return;
    for (const id of plan.chain) used.add(id);
    plans.set(k, plan);
  });
  return plans;
}

function fail(msg: string): never {
  throw new Error(`renderKernel bug: ${msg}`);
}
