// The static cost model: what each dispatch of a compiled graph asks of a GPU, counted from the
// kernel descriptions the WGSL renderer works from (kernel graph, segment forms, OP_TRAITS' trip
// counts), never by running anything. Device-independent, so a test can hold it where there is no GPU.
//
//   threads  launched: workgroups × workgroup size
//   loop     the longest per-thread loop: every loop iteration one thread of the slowest segment
//            runs (the row walk, each reduction or contraction it evaluates, nested ones
//            multiplied out), whatever the body of an iteration
//   bytes    read and written: each buffer the kernel binds as input or output, once
//
// For the whole graph (a forward pass or a training step), the critical path is Σ over dispatches
// of the longest per-thread loop: dispatches run one after another, and a dispatch lasts at least
// as long as its slowest thread. On a real GPU a short critical path is what keeps the device busy
// (issue #16: one thread per output column walking all rows leaves it idle).
//
// Evaluations of a loop node (render-node.ts memoizes loop nodes on their last index): a thread
// evaluates its root once per column; each loop node reached from there (without crossing another
// loop node) once per evaluation of what reaches it, and each loop node inside another's operand
// once per iteration of the enclosing loop. A loop node with at most one value per thread (a row's
// reduction broadcast back along the row, a column sum) hits its memo after the first evaluation.

import type { Graph, Node } from '../ir/graph.ts';
import { numel } from '../ir/graph.ts';
import { OP_TRAITS } from '../ir/op-traits.ts';
import { classOf } from './op-classes.ts';
import type { CompiledKernel, KernelArtifact, KernelGraph, KernelInfo, KernelSegment, MemoryPlan, SegmentForm } from './kernel-graph.ts';

export interface KernelCost {
  kernel: number;
  name: string;
  kind: 'wgsl' | 'host';
  /** Threads launched (workgroups × workgroup size); 0 for a host kernel. */
  threads: number;
  /** Loop iterations of the slowest thread; 0 for a host kernel (it runs on the CPU). */
  loop: number;
  bytesRead: number;
  bytesWritten: number;
}

export interface CostReport {
  kernels: KernelCost[];
  /** Σ over dispatches of the longest per-thread loop. */
  criticalPath: number;
  threads: number;
  bytesRead: number;
  bytesWritten: number;
}

/** Whether node `id` is evaluated inside `kernel` (else it is loaded from its buffer), as render-kernel.ts decides. */
export function computedIn(g: Graph, kg: KernelGraph, kernel: KernelInfo): (id: number) => boolean {
  const buffered = new Set(kg.buffers.map((b) => b.node));
  const members = new Set(kernel.nodes);
  const roots = new Set(kernel.segments.map((s) => s.root));
  return (id) => members.has(id) || roots.has(id) || (!buffered.has(id) && classOf(g.nodes[id] as Node) !== 'buffer');
}

/**
 * Loop iterations of one thread of a plain or cooperative segment: its column walk (split over
 * `lanes` threads when cooperative) plus every loop node it evaluates times its trips.
 *
 * @example
 *   // a column sum of x[128, 16] (one thread per column): 1 column + 128 rows = 129
 *   segmentLoop(g, { root: sum.id, output: 0, rows: 16, cols: 1 }, computed)
 */
export function segmentLoop(
  g: Graph,
  seg: KernelSegment,
  computed: (id: number) => boolean,
  coop?: { reductions: ReadonlySet<number>; lanes: number },
): number {
  const lanes = coop?.lanes ?? 1;
  const isLoop = (id: number): boolean => classOf(g.nodes[id] as Node) === 'loop';
  // The loop nodes an evaluation of `starts` reaches directly (not inside another loop node's operand).
  const direct = (starts: readonly number[]): Set<number> => {
    const found = new Set<number>();
    const seen = new Set<number>();
    const walk = (id: number): void => {
      if (seen.has(id) || !computed(id)) return;
      seen.add(id);
      if (isLoop(id)) found.add(id);
      else for (const j of (g.nodes[id] as Node).inputs) walk(j);
    };
    for (const s of starts) walk(s);
    return found;
  };
  const walks = Math.ceil(seg.cols / lanes);
  const evals = new Map<number, number>();
  const add = (ids: Iterable<number>, times: number): void => {
    for (const m of ids) evals.set(m, (evals.get(m) ?? 0) + times);
  };
  add(direct([seg.root]), walks);
  let total = walks;
  // SSA order: every loop node that encloses m has a larger id, so m's count is final when reached.
  for (let id = seg.root; id >= 0; id--) {
    const times = evals.get(id);
    if (times === undefined) continue;
    const n = g.nodes[id] as Node;
    const ins = n.inputs.map((j) => g.nodes[j] as Node);
    const shared = coop?.reductions.has(id) === true;
    const once = shared || numel(n.shape) <= seg.rows;
    const trips = OP_TRAITS[n.op].trips(n, ins);
    const iters = (once ? 1 : times) * (shared ? Math.ceil(trips / lanes) : trips);
    total += iters;
    add(direct(n.inputs), iters);
  }
  return total;
}

/**
 * Loop iterations of a fused attention thread (render-attention.ts) of the `items` its program
 * runs: the q rows, every key's dot and value row, the stores. A thread of several query rows
 * (CompileOptions `attentionRows`) loads each q and key column once for all of them, and stores
 * each row's output in a loop of its own.
 */
function attentionLoop(k: KernelInfo, items: number): number {
  const a = k.attention;
  if (a === undefined) return 0;
  const rows = Math.ceil(a.queries / Math.max(1, items / (a.batch * a.heads)));
  return a.headDim + a.keys * (1 + a.headDim + a.valueDim) + rows * a.valueDim;
}

function formLoop(g: Graph, seg: KernelSegment, form: SegmentForm, computed: (id: number) => boolean): number {
  switch (form.kind) {
    case 'plain':
      return segmentLoop(g, seg, computed);
    case 'blocked':
    case 'tiled':
      return form.steps + form.block;
    case 'coop':
      return segmentLoop(g, seg, computed, { reductions: new Set(form.reductions), lanes: form.lanes });
  }
}

/** One dispatch's cost; `program` is its rendered WGSL (absent for host kernels). */
export function kernelCost(g: Graph, kg: KernelGraph, memory: MemoryPlan, kernel: KernelInfo, program?: CompiledKernel): KernelCost {
  const elementBytes = (buffer: number): number => {
    const arena = memory.placements[buffer]?.arena ?? 0;
    return memory.arenaTypes?.[arena] === 'f16' ? 2 : 4;
  };
  const bytes = (ids: readonly number[]): number => ids.reduce((s, b) => s + (kg.buffers[b]?.count ?? 0) * elementBytes(b), 0);
  const base = { kernel: kernel.id, name: kernel.name, kind: kernel.kind, bytesRead: bytes(kernel.inputs), bytesWritten: bytes(kernel.outputs) };
  if (kernel.kind === 'host' || program === undefined) return { ...base, threads: 0, loop: 0 };
  const threads = Math.ceil(program.threads / program.workgroupSize) * program.workgroupSize;
  if (kernel.attention !== undefined) return { ...base, threads, loop: attentionLoop(kernel, program.threads) };
  const computed = computedIn(g, kg, kernel);
  const loop = Math.max(0, ...kernel.segments.map((s, k) => formLoop(g, s, program.forms?.[k] ?? { kind: 'plain' }, computed)));
  return { ...base, threads, loop };
}

/**
 * The cost of every dispatch of a compiled graph and the graph's critical path. `g` is the graph
 * the kernels were fused from (compileGraph's `optimized`).
 */
export function costReport(g: Graph, art: KernelArtifact): CostReport {
  const programs = new Map(art.programs.map((p) => [p.kernel, p]));
  const kernels = art.graph.kernels.map((k) => kernelCost(g, art.graph, art.memory, k, programs.get(k.id)));
  const sum = (f: (k: KernelCost) => number): number => kernels.reduce((s, k) => s + f(k), 0);
  return {
    kernels,
    criticalPath: sum((k) => k.loop),
    threads: sum((k) => k.threads),
    bytesRead: sum((k) => k.bytesRead),
    bytesWritten: sum((k) => k.bytesWritten),
  };
}
