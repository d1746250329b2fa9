// The compiler's back half as one ordered list: graph IR (after lowering and autodiff) → kernel
// graph → memory plan → WGSL. Each step is a pure function; `compileGraph` runs them in order.
//
// Example:
//   const artifact = compileGraph(graph, { carry: [{ output: 'new:w', input: 'w' }] });
//   artifact.programs[0].code; // WGSL

import type { Graph } from './ir/graph.ts';
import { printGraph } from './ir/text.ts';
import { verifyGraph } from './ir/verify.ts';
import { simplify } from './passes/simplify.ts';
import { eliminateCommon } from './passes/eliminate-common.ts';
import { eliminateDead } from './passes/eliminate-dead.ts';
import { fuseKernels, ROW_LIMITS } from './kernel/fuse-kernels.ts';
import { splitReductions } from './kernel/split-reductions.ts';
import { mergeIndependent } from './kernel/merge-independent.ts';
import { planMemory } from './kernel/plan-memory.ts';
import { fuseAttention } from './kernel/fuse-attention.ts';
import { DEFAULT_LIMITS, legalize, type DeviceLimits } from './codegen/wgsl/legalize.ts';
import { renderKernel } from './codegen/wgsl/render-kernel.ts';
import { expandRows } from './codegen/wgsl/expand-rows.ts';
import type { MatmulBlock } from './codegen/wgsl/render-matmul.ts';
import { halfArenas, planHalfMemory } from './kernel/plan-memory-f16.ts';
import type { KernelArtifact } from './kernel/kernel-graph.ts';

/** The IR passes, in order, each with why it is there. */
export const IR_PASSES: readonly { name: string; why: string; run: (g: Graph) => Graph }[] = [
  // Autodiff and lowering leave identities (x·1, x+0 from seeds, stop_gradient, reshape chains)
  // that would otherwise become index math in every kernel.
  { name: 'simplify', why: 'remove identities and fold constant arithmetic', run: simplify },
  // Simplification makes distinct nodes equal (two rewrites to the same x): merge them so
  // fusion sees one value with all its consumers.
  { name: 'eliminate-common', why: 'merge nodes made equal by rewrites', run: eliminateCommon },
  // Rewrites orphan nodes; fusion and memory planning must not see them.
  { name: 'eliminate-dead', why: 'drop nodes no output needs', run: eliminateDead },
];

export interface CompileOptions {
  carry?: readonly { output: string; input: string }[];
  limits?: DeviceLimits;
  /** Run the IR verifier after every pass (tests do; cheap enough to leave on). */
  verify?: boolean;
  /** Called after each IR pass. Default: SCION_DUMP_IR=1 prints the IR on stderr (docs/debugging.md). */
  onPass?: (name: string, g: Graph) => void;
  /**
   * WebGPU features the target device offers (a GpuDevice's `features`). 'subgroups' turns on
   * the subgroup row reductions (codegen/wgsl/subgroup-reduce.ts). Default: none (core WebGPU).
   */
  features?: Iterable<string>;
  /**
   * 'f32' (default; the reference) or 'f16': weights stored as f16, arithmetic in f32
   * (kernel/plan-memory-f16.ts, codegen/wgsl/f16-storage.ts). The artifact then needs 'shader-f16'.
   */
  precision?: 'f32' | 'f16';
  /** Fuse softmax attention into one kernel where it applies (default true; false for comparisons). */
  fuseAttention?: boolean;
  /**
   * The largest register block (rows × columns of C per thread) of matmuls rendered blocked; small
   * matrices still get smaller blocks (render-matmul.ts `blockFor`). Sides 4, 8 or 16. Default
   * 8×8; backends/webgpu/tune-graph.ts picks one per adapter.
   */
  matmulBlock?: MatmulBlock;
  /**
   * Stage blocked matmuls' operands through workgroup-memory tiles, a tile of C per workgroup of 64
   * threads, each thread still a `matmulBlock` (codegen/wgsl/render-matmul-tiled.ts). Default
   * false: the register form, fastest on lavapipe; backends/webgpu/tune-graph.ts turns it on for an
   * adapter where a probe says it wins (real GPUs).
   */
  matmulTiles?: boolean;
  /**
   * 'split' (default): long reductions in two passes and rows kept short, so a real GPU's threads
   * share the work (kernel/split-reductions.ts, fuse-kernels.ts ROW_LIMITS). 'serial': one thread
   * per output walking the whole reduction, as the kernels were written for lavapipe — kept only
   * to measure the difference (bench/critical-path.ts).
   */
  reductions?: 'split' | 'serial';
  /**
   * Query rows each thread of a fused attention kernel walks the keys for (default 1). More rows
   * share each key and value load, fewer threads run: backends/webgpu/tune-graph.ts picks per adapter.
   */
  attentionRows?: number;
}

export class TargetError extends Error {
  override name = 'TargetError';
}

/**
 * The debug switch SCION_DUMP_IR=1: the IR text as lowered and after every pass, on stderr. Read
 * through globalThis so the compiler still bundles for a page, where there is no process.
 */
function irDumpFromEnv(): ((name: string, g: Graph) => void) | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined>; stderr?: { write(text: string): unknown } } }).process;
  const stderr = proc?.stderr;
  if (proc?.env?.['SCION_DUMP_IR'] !== '1' || stderr === undefined) return undefined;
  return (pass, g) => void stderr.write(`// ── IR ${pass === '' ? 'as lowered' : `after ${pass}`} (${g.nodes.length} nodes) ──\n${printGraph(g)}\n`);
}

/** The IR after every pass, verified after each. */
export function optimizeGraph(g: Graph, opts: CompileOptions = {}): Graph {
  const dump = opts.onPass === undefined ? irDumpFromEnv() : undefined;
  dump?.('', g);
  let cur = g;
  for (const p of IR_PASSES) {
    cur = p.run(cur);
    if (opts.verify ?? true) verifyGraph(cur);
    (opts.onPass ?? dump)?.(p.name, cur);
  }
  return cur;
}

export function compileGraph(graph: Graph, opts: CompileOptions = {}): KernelArtifact & { optimized: Graph } {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  // log_softmax as max, Σ exp and maps: the renderer's row kernels memoize only reductions.
  const optimized = expandRows(optimizeGraph(graph, opts));
  const serial = opts.reductions === 'serial';
  // Long reductions in two passes, the first materialized: each thread sums √n elements, not n.
  const split = serial ? { graph: optimized, partials: new Set<number>() } : splitReductions(optimized);
  const g = split.graph;
  if (!serial && (opts.verify ?? true)) verifyGraph(g);
  // Partition into kernels: vertical fusion (producers into consumers).
  const fused = fuseKernels(g, {
    ...(opts.carry === undefined ? {} : { carry: opts.carry }),
    ...(serial ? {} : { materialize: split.partials, ...ROW_LIMITS, storeOutputs: true }),
  });
  // Independent kernels share a dispatch: horizontal fusion (the optimizer over all params).
  const merged = mergeIndependent(fused);
  // Softmax attention whose scores only feed P·V (forward graphs): one kernel, scores never stored
  // (kernel/fuse-attention.ts). Its kernel reads f32 arenas, so f16 storage keeps the unfused form.
  const kg = opts.precision === 'f16' || opts.fuseAttention === false ? merged : fuseAttention(g, merged);
  const features = new Set(opts.features ?? []);
  const f16 = opts.precision === 'f16';
  // A target that lists its features and lacks shader-f16 cannot run f16; an unknown one may.
  if (f16 && opts.features !== undefined && !features.has('shader-f16'))
    throw new TargetError("precision 'f16' needs the WebGPU feature shader-f16, which the target device lacks");
  // Liveness-based placement in arenas; carried state written in place; with f16, the weights
  // in an f16 arena of their own.
  const ctx = { maxArenaBytes: limits.maxStorageBufferBindingSize };
  const memory = f16 ? planHalfMemory(kg, ctx) : planMemory(kg, ctx);
  // Device limits: indices, binding sizes, dispatch grids.
  legalize(g, kg, memory, limits);
  // The dumb part: one WGSL program per kernel from the per-op table.
  const half = halfArenas(memory);
  const render = {
    subgroups: features.has('subgroups'),
    ...(half.size > 0 ? { halfArenas: half } : {}),
    ...(opts.matmulBlock !== undefined ? { matmulBlock: opts.matmulBlock } : {}),
    ...(opts.matmulTiles === true ? { matmulTiles: true } : {}),
    ...(opts.attentionRows !== undefined && opts.attentionRows > 1 ? { attentionRows: opts.attentionRows } : {}),
  };
  const programs = kg.kernels.filter((k) => k.kind === 'wgsl').map((k) => renderKernel(g, kg, memory, k, render));
  // What the kernels ended up needing, not what was offered: the artifact runs wherever these exist.
  const needs = [...(half.size > 0 ? ['shader-f16'] : []), ...(programs.some((p) => p.code.includes('\nenable subgroups;')) ? ['subgroups'] : [])];
  return { graph: kg, memory, programs, ...(needs.length > 0 ? { features: needs } : {}), optimized: g };
}
