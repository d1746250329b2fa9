// Shared by the WebGPU op tests: compile a graph, run it on the device through the executor, and
// compare with the CPU reference interpreter in f32.

import type { Graph } from '../../../../compiler/ir/graph.ts';
import { compileGraph, type CompileOptions } from '../../../../compiler/pipeline.ts';
import { runGraph } from '../../../../runtime/cpu/run-graph.ts';
import { tensor, type Tensor } from '../../../../runtime/cpu/tensor.ts';
import type { GpuDevice } from '../../../../runtime/webgpu/device.ts';
import { runArtifact } from '../../../../runtime/webgpu/executor.ts';
import type { PipelineCache } from '../../../../runtime/webgpu/pipeline-cache.ts';
import { randomF32 } from '../gpu-fixture.ts';

export interface Compared {
  gpu: Map<string, Tensor>;
  cpu: Map<string, Tensor>;
  dispatches: number;
  primitiveOps: number;
}

export async function compareWithCpu(
  gpu: GpuDevice,
  g: Graph,
  feeds: ReadonlyMap<string, Tensor>,
  cache?: PipelineCache,
  opts: CompileOptions = {},
): Promise<Compared> {
  const art = compileGraph(g, opts);
  const out = await runArtifact(gpu, art, feeds, cache);
  return { gpu: out, cpu: runGraph(g, feeds, { dtype: 'f32' }), dispatches: art.graph.kernels.length, primitiveOps: art.graph.primitiveOps };
}

/** Max over elements of |got − want| / max(1, |want|) (NaN-aware: NaN only matches NaN). */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let e = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    if (g === w || (Number.isNaN(g) && Number.isNaN(w))) continue;
    if (Number.isNaN(g) || Number.isNaN(w)) return NaN;
    e = Math.max(e, Math.abs(g - w) / Math.max(1, Math.abs(w)));
  }
  return e;
}

/** A seeded random f32 tensor of `shape` (values from gpu-fixture's randomF32). */
export const randomTensor = (shape: number[], seed: number): Tensor =>
  tensor(
    randomF32(
      shape.reduce((a, d) => a * d, 1),
      seed,
    ),
    shape,
  );
