// Where a graph runs. The job only needs `run(graph, feeds) → outputs`, so the CPU reference and
// the WebGPU executor are interchangeable behind this interface. `--device auto` takes WebGPU when
// an adapter exists AND the executor can run the graph, and otherwise says once, clearly, that it
// falls back to the CPU.

import type { Graph } from '../../compiler/ir/graph.ts';
import { runGraph } from '../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';

export type DeviceChoice = 'auto' | 'cpu' | 'webgpu';

export interface Backend {
  readonly name: 'cpu' | 'webgpu';
  /** Runs `graph` with inputs and parameters fed by name; returns the requested outputs (default all). */
  run(graph: Graph, feeds: ReadonlyMap<string, Tensor>, outputs?: readonly string[]): Promise<Map<string, Tensor>>;
  /** Releases device resources (idempotent). */
  dispose(): void;
}

/** The CPU reference interpreter in f32. */
export const cpuBackend: Backend = {
  name: 'cpu',
  run: (graph, feeds, outputs) => Promise.resolve(runGraph(graph, feeds, outputs === undefined ? { dtype: 'f32' } : { dtype: 'f32', outputs })),
  dispose: () => undefined,
};

/** Thrown for `--device webgpu` when WebGPU cannot run the job; the message says why. */
export class DeviceUnavailable extends Error {}

async function webgpuBackend(graph: Graph, allowSoftware: boolean): Promise<{ backend: Backend } | { reason: string }> {
  // Loaded on demand: the CPU path never pays for Dawn or the WGSL compiler.
  const { createWebGpuBackend } = await import('./webgpu-backend.ts');
  const r = await createWebGpuBackend(graph, { allowSoftware });
  return 'run' in r ? { backend: r } : { reason: r.reason };
}

/**
 * The backend for `--device`. 'auto' takes a hardware WebGPU adapter and otherwise the CPU (a
 * software adapter such as llvmpipe is slower than the CPU backend); `log` receives the one-line
 * notice of that fallback.
 * 'webgpu' without a usable device throws DeviceUnavailable.
 */
export async function selectBackend(device: DeviceChoice, graph: Graph, log: (line: string) => void): Promise<Backend> {
  if (device === 'cpu') return cpuBackend;
  const r = await webgpuBackend(graph, device === 'webgpu');
  if ('backend' in r) return r.backend;
  if (device === 'webgpu') throw new DeviceUnavailable(`--device webgpu: ${r.reason}`);
  log(`note: running on the CPU reference backend (WebGPU not used: ${r.reason})`);
  return cpuBackend;
}
