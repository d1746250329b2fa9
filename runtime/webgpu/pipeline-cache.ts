// Compute pipelines cached by shader key. Shader compilation costs 0.3–0.9 s per kernel on
// lavapipe (research/baselines.md, lesson 5), so a kernel is compiled once per device, and the
// time it took is kept so benchmarks can report it separately from steady-state figures.

/// <reference types="@webgpu/types" />

import type { WgslProgram } from '../../compiler/codegen/wgsl/program.ts';
import type { GpuDevice } from './device.ts';
import { withErrorScopes } from './errors.ts';

export interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  compileMs: number;
}

export class PipelineCache {
  // Promises, so concurrent requests for one key share one compile.
  private readonly entries = new Map<string, Promise<CachedPipeline>>();

  constructor(private readonly gpu: GpuDevice) {}

  /** The pipeline for `program`, compiled on first use. A WGSL or validation error throws (a bug). */
  get(program: WgslProgram): Promise<CachedPipeline> {
    let entry = this.entries.get(program.key);
    if (entry === undefined) {
      entry = this.compile(program);
      this.entries.set(program.key, entry);
      // A failed compile should not poison the key for a later, fixed attempt.
      entry.catch(() => this.entries.delete(program.key));
    }
    return entry;
  }

  /** Number of distinct pipelines compiled so far. */
  get size(): number {
    return this.entries.size;
  }

  private async compile(program: WgslProgram): Promise<CachedPipeline> {
    this.gpu.assertAlive();
    const { device } = this.gpu;
    const start = performance.now();
    const pipeline = await withErrorScopes(device, `kernel '${program.key}'`, async () => {
      const module = device.createShaderModule({ label: program.key, code: program.code });
      return device.createComputePipelineAsync({ label: program.key, layout: 'auto', compute: { module, entryPoint: program.entryPoint } });
    });
    return { pipeline, layout: pipeline.getBindGroupLayout(0), compileMs: performance.now() - start };
  }
}
