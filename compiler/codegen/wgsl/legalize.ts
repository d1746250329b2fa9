// Legalization for WGSL and the device's limits, before rendering: every index fits a u32 (and
// every index value carried as f32 is exact, i.e. < 2^24), every arena fits one storage binding,
// and every dispatch fits the per-dimension workgroup limit (a 1-D launch too large becomes
// 2-D; the kernel flattens it back: render-kernel.ts).

import type { Graph } from '../../ir/graph.ts';
import { numel } from '../../ir/graph.ts';
import type { KernelGraph, MemoryPlan } from '../../kernel/kernel-graph.ts';

export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBuffersPerShaderStage: number;
}

/** WebGPU's guaranteed minimums: what a compile without a device targets. */
export const DEFAULT_LIMITS: DeviceLimits = {
  maxStorageBufferBindingSize: 128 * 1024 * 1024,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 8,
};

export class LegalizeError extends Error {
  override name = 'LegalizeError';
}

/** Throws LegalizeError naming what does not fit; these are model-size limits, not bugs. */
export function legalize(g: Graph, kg: KernelGraph, memory: MemoryPlan, limits: DeviceLimits): void {
  for (const n of g.nodes) {
    if (numel(n.shape) >= 2 ** 31) throw new LegalizeError(`%${n.id} ${n.op} has ${numel(n.shape)} elements; kernels index with u32 and need fewer than 2^31`);
    if ((n.op === 'gather' || n.op === 'take_along_axis') && (g.nodes[n.inputs[0] as number]?.shape[n.attrs['axis'] as number] ?? 0) > 2 ** 24) {
      throw new LegalizeError(`%${n.id} ${n.op} indexes an axis longer than 2^24: indices are carried as f32 and would lose precision`);
    }
  }
  memory.arenas.forEach((bytes, a) => {
    if (bytes > limits.maxStorageBufferBindingSize)
      throw new LegalizeError(`arena ${a} needs ${bytes} bytes; the device binds at most ${limits.maxStorageBufferBindingSize}`);
  });
  if (memory.arenas.length > limits.maxStorageBuffersPerShaderStage) {
    throw new LegalizeError(
      `the plan needs ${memory.arenas.length} arenas; the device binds at most ${limits.maxStorageBuffersPerShaderStage} storage buffers per kernel`,
    );
  }
  for (const k of kg.kernels) {
    const threads = k.segments.reduce((s, x) => s + x.rows, 0);
    if (dispatchGrid(threads, 64, limits.maxComputeWorkgroupsPerDimension)[1] > limits.maxComputeWorkgroupsPerDimension) {
      throw new LegalizeError(`kernel ${k.id} (${k.name}) needs ${threads} threads, more than a 2-D dispatch holds`);
    }
  }
}

/** Workgroups [x, y, 1] covering `threads` threads: 1-D while it fits, else 2-D. */
export function dispatchGrid(threads: number, workgroupSize: number, maxPerDim: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(threads / workgroupSize));
  if (groups <= maxPerDim) return [groups, 1, 1];
  const x = maxPerDim;
  return [x, Math.ceil(groups / x), 1];
}
