// Horizontal fusion: kernels that do not depend on each other run as one dispatch (each keeps
// its own thread range, a "segment"). Each dispatch costs ~16–28 µs on Dawn whatever its size
// (research/baselines.md), and a training step has many small independent kernels: per-parameter
// gradient reductions, and the optimizer update of every parameter.
//
// Schedule: kernels run at their earliest level (as soon as their operands exist: frees forward
// activations early), except the update tail — kernels that write carried state (the optimizer)
// — which runs last, all parameters together.

import type { KernelGraph, KernelInfo } from './kernel-graph.ts';

export interface MergeContext {
  /** Max segments per dispatch (keeps shaders a sane size). */
  maxSegments?: number;
}

export function mergeIndependent(kg: KernelGraph, ctx: MergeContext = {}): KernelGraph {
  const maxSegments = ctx.maxSegments ?? 64;
  const producer = new Map<number, number>();
  kg.kernels.forEach((k, i) => k.outputs.forEach((b) => producer.set(b, i)));
  const carried = new Set(kg.carry.map((c) => kg.outputs.find((o) => o.name === c.output)?.buffer));

  // The update tail: kernels that write carried state (the optimizer's new params and moments).
  const tail = new Uint8Array(kg.kernels.length);
  kg.kernels.forEach((k, i) => {
    if (k.kind === 'wgsl' && k.outputs.some((b) => carried.has(b))) tail[i] = 1;
  });
  const level = new Int32Array(kg.kernels.length);
  let maxBody = 0;
  kg.kernels.forEach((k, i) => {
    if (tail[i]) return;
    let l = 0;
    for (const b of k.inputs) {
      const p = producer.get(b);
      if (p !== undefined) l = Math.max(l, (level[p] as number) + 1);
    }
    level[i] = l;
    maxBody = Math.max(maxBody, l);
  });
  kg.kernels.forEach((k, i) => {
    if (!tail[i]) return;
    let l = maxBody + 1;
    for (const b of k.inputs) {
      const p = producer.get(b);
      if (p !== undefined) l = Math.max(l, (level[p] as number) + 1);
    }
    level[i] = l;
  });

  const byLevel = new Map<number, number[]>();
  kg.kernels.forEach((_k, i) => byLevel.set(level[i] as number, [...(byLevel.get(level[i] as number) ?? []), i]));
  const merged: KernelInfo[] = [];
  for (const l of [...byLevel.keys()].sort((a, b) => a - b)) {
    const ids = byLevel.get(l) as number[];
    const wgsl = ids.filter((i) => kg.kernels[i]?.kind === 'wgsl');
    for (const i of ids) if (kg.kernels[i]?.kind === 'host') merged.push({ ...(kg.kernels[i] as KernelInfo), id: merged.length });
    for (let s = 0; s < wgsl.length; s += maxSegments)
      merged.push(
        combine(
          wgsl.slice(s, s + maxSegments).map((i) => kg.kernels[i] as KernelInfo),
          merged.length,
        ),
      );
  }
  return { ...kg, kernels: merged };
}

function combine(parts: KernelInfo[], id: number): KernelInfo {
  if (parts.length === 1) return { ...(parts[0] as KernelInfo), id };
  // An input read by two segments cannot be overwritten in place by one of them.
  const readers = new Map<number, number>();
  for (const p of parts) for (const b of p.inputs) readers.set(b, (readers.get(b) ?? 0) + 1);
  const first = parts[0] as KernelInfo;
  const info: KernelInfo = {
    id,
    name:
      parts.length > 3
        ? `${parts.length} kernels: ${parts
            .slice(0, 3)
            .map((p) => p.name)
            .join(' | ')} | ...`
        : parts.map((p) => p.name).join(' | '),
    kind: 'wgsl',
    nodes: parts.flatMap((p) => p.nodes),
    segments: parts.flatMap((p) => p.segments),
    inputs: [...new Set(parts.flatMap((p) => p.inputs))].sort((a, b) => a - b),
    outputs: parts.flatMap((p) => p.outputs),
    inplace: parts.flatMap((p) => p.inplace).filter((x) => readers.get(x.input) === 1),
  };
  if (first.source !== undefined) info.source = first.source;
  return info;
}
