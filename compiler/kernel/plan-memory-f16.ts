// Memory planning for f16 storage of weights (`precision: 'f16'`, needs the `shader-f16`
// feature): parameters that are not carried (inference weights; a frozen base under an adapter)
// move out of the f32 arenas into one extra arena of f16 values — half the bytes, and half the
// memory traffic of a weight-bound forward pass. The kernels still compute in f32: the WGSL side
// (codegen/wgsl/f16-storage.ts) widens every read of that arena where it is loaded.
//
//   f32 arenas: activations, inputs, outputs, carried state (as before)
//   f16 arena : param p at an even offset (4-byte aligned, so the runtime's writeBuffer of p
//               and its readback are legal), p.count values of 2 bytes
//
// Why weights only: token ids and other i32 values ride in f32 arenas exactly up to 2^24 but
// in f16 only up to 2^11, and f16 activations would need per-op range care (softmax inputs,
// residual streams) for a small saving on the models this repository runs.

import type { KernelGraph, MemoryPlan, Placement } from './kernel-graph.ts';
import { planMemory, type MemoryContext } from './plan-memory.ts';

/** The buffers stored as f16: f32 params that no carry replaces. */
export function halfBuffers(kg: KernelGraph): Set<number> {
  const carried = new Set(kg.carry.map((c) => c.input));
  return new Set(kg.params.filter((p) => !carried.has(p.name) && kg.buffers[p.buffer]?.dtype === 'f32').map((p) => p.buffer));
}

/**
 * planMemory for the f32 buffers, then the f16 buffers packed into one more arena. The f32 plan
 * sees each f16 buffer as empty (it still gets a 1-element slot there, unused), so the weights'
 * f32 space is not reserved.
 */
export function planHalfMemory(kg: KernelGraph, ctx: MemoryContext = {}): MemoryPlan {
  const half = halfBuffers(kg);
  const plan = planMemory({ ...kg, buffers: kg.buffers.map((b) => (half.has(b.id) ? { ...b, count: 0 } : b)) }, ctx);
  if (half.size === 0) return plan;
  const arena = plan.arenas.length;
  const placements: Placement[] = [...plan.placements];
  let at = 0;
  for (const b of [...half].sort((x, y) => x - y)) {
    placements[b] = { arena, offset: at };
    at += Math.ceil((kg.buffers[b]?.count ?? 0) / 2) * 2;
  }
  const bytes = at * 2;
  return {
    ...plan,
    arenas: [...plan.arenas, bytes],
    arenaTypes: [...plan.arenas.map(() => 'f32' as const), 'f16' as const],
    placements,
    peakBytes: plan.peakBytes + bytes,
    // the weights are live throughout, so the lower bound grows by exactly their bytes
    lowerBoundBytes: plan.lowerBoundBytes + bytes,
  };
}

/** The arenas of `memory` stored as f16. */
export function halfArenas(memory: MemoryPlan): Set<number> {
  const out = new Set<number>();
  memory.arenaTypes?.forEach((t, a) => {
    if (t === 'f16') out.add(a);
  });
  return out;
}
