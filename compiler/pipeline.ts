// The compiler's back half as one ordered list: graph IR (after lowering and autodiff) → kernel
// graph → memory plan → WGSL. Each step is a pure function; `compileGraph` runs them in order.
//
// Example:
//   const artifact = compileGraph(graph, { carry: [{ output: 'new:w', input: 'w' }] });
//   artifact.programs[0].code; // WGSL

import type { Graph } from './ir/graph.ts';
import { verifyGraph } from './ir/verify.ts';
import { simplify } from './passes/simplify.ts';
import { eliminateCommon } from './passes/eliminate-common.ts';
import { eliminateDead } from './passes/eliminate-dead.ts';
import { fuseKernels } from './passes/fuse-kernels.ts';
import { mergeIndependent } from './passes/merge-independent.ts';
import { planMemory } from './kernel/plan-memory.ts';
import { DEFAULT_LIMITS, legalize, type DeviceLimits } from './codegen/wgsl/legalize.ts';
import { renderKernel } from './codegen/wgsl/render-kernel.ts';
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
  /** Called after each IR pass, e.g. to dump the IR (SCION_DUMP_IR). */
  onPass?: (name: string, g: Graph) => void;
}

/** The IR after every pass, verified after each. */
export function optimizeGraph(g: Graph, opts: CompileOptions = {}): Graph {
  let cur = g;
  for (const p of IR_PASSES) {
    cur = p.run(cur);
    if (opts.verify ?? true) verifyGraph(cur);
    opts.onPass?.(p.name, cur);
  }
  return cur;
}

export function compileGraph(graph: Graph, opts: CompileOptions = {}): KernelArtifact & { optimized: Graph } {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const g = optimizeGraph(graph, opts);
  // Partition into kernels: vertical fusion (producers into consumers).
  const fused = fuseKernels(g, opts.carry === undefined ? {} : { carry: opts.carry });
  // Independent kernels share a dispatch: horizontal fusion (the optimizer over all params).
  const kg = mergeIndependent(fused);
  // Liveness-based placement in arenas; carried state written in place.
  const memory = planMemory(kg, { maxArenaBytes: limits.maxStorageBufferBindingSize });
  // Device limits: indices, binding sizes, dispatch grids.
  legalize(g, kg, memory, limits);
  // The dumb part: one WGSL program per kernel from the per-op table.
  const programs = kg.kernels.filter((k) => k.kind === 'wgsl').map((k) => renderKernel(g, kg, memory, k));
  return { graph: kg, memory, programs, optimized: g };
}
