// Memory planning: places every buffer of a kernel graph at an offset in a few arenas, reusing
// memory by liveness (a buffer's range is free again after the last kernel that reads it) and
// writing outputs in place over an input that dies in the same kernel where that is safe (the
// kernel reads the input only at the output's own index). Carried state (training: new params
// and optimizer moments) is written in place over the old state, so a step needs no copies.
//
// Peak bytes are the arena sizes; the lower bound is the most bytes live at any one kernel
// (params, optimizer state, inputs, outputs, and the intermediates — gradients included — live
// across it), counting an in-place pair once. No placement can use less.

import type { KernelGraph, MemoryPlan, Placement } from './kernel-graph.ts';

export interface MemoryContext {
  /** The device's maxStorageBufferBindingSize: no arena may exceed it. */
  maxArenaBytes?: number;
}

interface Interval {
  offset: number;
  size: number;
  buffer: number;
}

/** First fit over a sorted list of allocated intervals; returns the chosen offset. */
function firstFit(allocated: Interval[], size: number, cap: number): number | undefined {
  let at = 0;
  for (const iv of allocated) {
    if (iv.offset - at >= size) break;
    at = Math.max(at, iv.offset + iv.size);
  }
  return at + size <= cap ? at : undefined;
}

export function planMemory(kg: KernelGraph, ctx: MemoryContext = {}): MemoryPlan {
  const capElems = Math.floor((ctx.maxArenaBytes ?? 128 * 1024 * 1024) / 4);
  const nk = kg.kernels.length;
  const nb = kg.buffers.length;
  const start = new Int32Array(nb).fill(-1);
  const end = new Int32Array(nb).fill(-1);
  kg.kernels.forEach((k, i) => {
    for (const b of k.outputs) start[b] = i;
    for (const b of k.inputs) end[b] = Math.max(end[b] as number, i);
  });
  const carryIn = new Set<number>();
  const carryOut = new Map<number, number>();
  for (const c of kg.carry) {
    const o = kg.outputs.find((x) => x.name === c.output)?.buffer;
    const i = [...kg.inputs, ...kg.params].find((x) => x.name === c.input)?.buffer;
    if (o === undefined || i === undefined) throw new Error(`planMemory: carry ${c.output} → ${c.input} names a missing output or input`);
    carryIn.add(i);
    carryOut.set(o, i);
  }
  for (const b of kg.buffers) {
    // Host-fed buffers exist from the start; non-carried ones (and all outputs) until the end.
    if (b.role !== 'intermediate') start[b.id] = -1;
    if (b.role !== 'intermediate' && !carryIn.has(b.id)) end[b.id] = nk;
  }
  for (const o of kg.outputs) end[o.buffer] = nk;

  const placements: Placement[] = new Array(nb);
  const arenas: Interval[][] = [];
  const highWater: number[] = [];
  const free = (b: number): void => {
    const p = placements[b];
    if (p === undefined) return;
    const list = arenas[p.arena] as Interval[];
    const at = list.findIndex((iv) => iv.buffer === b);
    if (at >= 0) list.splice(at, 1);
  };
  const place = (b: number): void => {
    const size = Math.max(1, kg.buffers[b]?.count ?? 1);
    if (size > capElems)
      throw new Error(`planMemory: buffer ${b} needs ${size * 4} bytes, more than one storage binding allows (${capElems * 4}); split the tensor`);
    for (let a = 0; ; a++) {
      const list = (arenas[a] ??= []);
      const off = firstFit(list, size, capElems);
      if (off === undefined) continue;
      list.push({ offset: off, size, buffer: b });
      list.sort((x, y) => x.offset - y.offset);
      placements[b] = { arena: a, offset: off };
      highWater[a] = Math.max(highWater[a] ?? 0, off + size);
      return;
    }
  };
  const share = (b: number, with_: number): void => {
    const p = placements[with_] as Placement;
    placements[b] = p;
    const iv = (arenas[p.arena] as Interval[]).find((x) => x.buffer === with_);
    if (iv) iv.buffer = b;
  };

  const inplace: { output: number; input: number }[] = [];
  const used = new Set<number>();
  const order = kg.buffers.map((b) => b.id).filter((b) => start[b] === -1 && (end[b] as number) >= 0);
  for (const b of order) place(b);
  // A buffer whose in-place partner (the carried input) is read by later kernels cannot alias.
  for (let k = 0; k < nk; k++) {
    const kernel = kg.kernels[k];
    if (kernel === undefined) continue;
    for (const o of kernel.outputs) {
      if (end[o] === -1) end[o] = k; // written, never read (kept for the memory it takes)
      const want = carryOut.get(o);
      const cand = kernel.inplace.find(
        (x) =>
          x.output === o &&
          (end[x.input] as number) === k &&
          !used.has(x.input) &&
          (kg.buffers[x.input]?.role === 'intermediate' || carryIn.has(x.input)) &&
          (want === undefined || want === x.input),
      );
      if (cand !== undefined) {
        used.add(cand.input);
        share(o, cand.input);
        inplace.push(cand);
      } else place(o);
    }
    // Inputs read for the last time here are free for the next kernel.
    for (const b of kernel.inputs) if (end[b] === k && !kernel.outputs.some((o) => placements[o] === placements[b])) free(b);
    for (const b of kernel.outputs) if (end[b] === k) free(b);
  }

  // Lower bound: the most bytes live at one kernel (in-place pairs once).
  let lowerBound = 0;
  for (let k = 0; k < nk; k++) {
    let live = 0;
    for (let b = 0; b < nb; b++) if ((start[b] as number) <= k && (end[b] as number) >= k && end[b] !== -1) live += (kg.buffers[b]?.count ?? 0) * 4;
    for (const x of kg.kernels[k]?.inplace ?? [])
      if (end[x.input] === k && !(kg.buffers[x.input]?.role !== 'intermediate' && !carryIn.has(x.input))) live -= (kg.buffers[x.input]?.count ?? 0) * 4;
    lowerBound = Math.max(lowerBound, live);
  }
  const arenaBytes = arenas.map((_l, a) => (highWater[a] ?? 0) * 4);
  return { arenas: arenaBytes, placements, peakBytes: arenaBytes.reduce((s, x) => s + x, 0), lowerBoundBytes: lowerBound, inplace };
}
