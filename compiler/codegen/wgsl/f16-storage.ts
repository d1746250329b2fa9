// f16 storage of weights (`precision: 'f16'`, needs the `shader-f16` feature). Parameters that
// are not carried (inference weights; a frozen base under an adapter) move out of the f32
// arenas into one extra arena declared `array<f16>`: half the bytes, and half the memory traffic
// of a weight-bound forward pass. Every read of it is widened to f32 where it is loaded, so all
// arithmetic — matmul accumulators and reductions included — stays f32; only the stored weights
// are rounded (to the nearest f16, on upload: runtime/webgpu/f16-convert.ts).
//
//   f32 arenas: activations, inputs, outputs, carried state (as before)
//   f16 arena : param p at an even offset (4-byte aligned, so the runtime's writeBuffer of p
//               and its readback are legal), p.count values of 2 bytes
//
// Why weights only: token ids and other i32 values ride in f32 arenas exactly up to 2^24 but
// in f16 only up to 2^11, and f16 activations would need per-op range care (softmax inputs,
// residual streams) for a small saving on the models this repository runs.

import type { KernelGraph, MemoryPlan, Placement } from '../../kernel/kernel-graph.ts';
import { planMemory, type MemoryContext } from '../../kernel/plan-memory.ts';

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

/**
 * Rewrites a rendered kernel for f16 arenas: `A<a>: array<f32>` becomes `array<f16>` and every
 * read `A<a>[...]` becomes `f32(A<a>[...])`. The renderer (and the blocked matmul) stay f32-only;
 * this is the one place that knows the weights are narrower. Writing an f16 arena is a bug.
 */
export function widenHalfLoads(code: string, half: ReadonlySet<number>): string {
  return widenReads(code, half).replace(/var<storage, read_write> A(\d+): array<f32>;/g, (decl, a: string) =>
    half.has(Number(a)) ? decl.replace('array<f32>', 'array<f16>') : decl,
  );
}

/** `code` with every read of an f16 arena wrapped in f32(...), index expressions included. */
function widenReads(code: string, half: ReadonlySet<number>): string {
  let out = '';
  let from = 0;
  const access = /\bA(\d+)\[/g;
  for (let m = access.exec(code); m !== null; m = access.exec(code)) {
    if (!half.has(Number(m[1]))) continue;
    let depth = 0;
    let end = m.index + m[0].length - 1;
    for (; end < code.length; end++) {
      const ch = code[end];
      if (ch === '[') depth++;
      else if (ch === ']' && --depth === 0) break;
    }
    if (/^\s*=[^=]/.test(code.slice(end + 1, end + 4))) throw new Error(`f16 storage bug: a kernel writes f16 arena A${m[1]}`);
    const open = m.index + m[0].length;
    out += `${code.slice(from, m.index)}f32(A${m[1]}[${widenReads(code.slice(open, end), half)}])`;
    from = end + 1;
    access.lastIndex = from;
  }
  return out + code.slice(from);
}
