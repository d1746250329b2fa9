// Binding a WgslProgram to buffers and uniform values, and dispatching it. Bind group and uniform
// buffer are built once per prepared dispatch, so repeated runs (benchmarks, training steps) pay
// only for encoding and submission.

/// <reference types="@webgpu/types" />

import type { WgslProgram } from '../../compiler/codegen/wgsl/program.ts';
import type { GpuDevice } from './device.ts';
import { uniformU32 } from './buffers.ts';
import { withErrorScopes } from './errors.ts';
import type { PipelineCache } from './pipeline-cache.ts';

export interface DispatchRequest {
  program: WgslProgram;
  /** A value for every name in program.uniforms. */
  uniforms: Readonly<Record<string, number>>;
  /** A buffer for every name in program.bindings. */
  buffers: Readonly<Record<string, GPUBuffer>>;
  /** Workgroups along x, y, z. */
  grid: readonly [number, number, number];
}

export interface PreparedDispatch {
  /** Records the dispatch into an open compute pass. */
  encode(pass: GPUComputePassEncoder): void;
  /** Submits `times` back-to-back dispatches in one command buffer and waits for them. */
  run(times?: number): Promise<void>;
  /** Frees the uniform buffer (the caller owns the storage buffers). */
  destroy(): void;
}

/** Packs the program's u32 uniforms in declaration order; a missing or invalid value is a bug. */
export function packUniforms(program: WgslProgram, values: Readonly<Record<string, number>>): Uint32Array {
  const words = new Uint32Array(Math.ceil(program.uniforms.length / 4) * 4);
  program.uniforms.forEach((name, i) => {
    const value = values[name];
    if (value === undefined || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new Error(`${program.key}: uniform '${name}' must be a u32, got ${String(value)}`);
    }
    words[i] = value;
  });
  return words;
}

/** Workgroup count for `n` items covered `per` at a time. */
export function groupsFor(n: number, per: number): number {
  return Math.max(1, Math.ceil(n / per));
}

export async function prepareDispatch(gpu: GpuDevice, cache: PipelineCache, request: DispatchRequest): Promise<PreparedDispatch> {
  const { program, grid } = request;
  const max = gpu.limits['maxComputeWorkgroupsPerDimension'] ?? 65535;
  if (grid.some((g) => g > max)) throw new Error(`${program.key}: grid [${grid.join(', ')}] exceeds ${max} workgroups per dimension`);
  const { pipeline, layout } = await cache.get(program);
  const uniforms = uniformU32(gpu, packUniforms(program, request.uniforms), `${program.key} uniforms`);
  const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniforms } }];
  for (const { binding, name } of program.bindings) {
    const buffer = request.buffers[name];
    if (buffer === undefined) throw new Error(`${program.key}: no buffer for binding '${name}'`);
    entries.push({ binding, resource: { buffer } });
  }
  const bindGroup = await withErrorScopes(gpu.device, `bind group for '${program.key}'`, () =>
    gpu.device.createBindGroup({ label: program.key, layout, entries }),
  );
  const encode = (pass: GPUComputePassEncoder): void => {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
  };
  return {
    encode,
    async run(times = 1) {
      gpu.assertAlive();
      const encoder = gpu.device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      for (let i = 0; i < times; i++) encode(pass);
      pass.end();
      gpu.device.queue.submit([encoder.finish()]);
      await gpu.device.queue.onSubmittedWorkDone();
      gpu.assertAlive();
    },
    destroy() {
      uniforms.destroy();
    },
  };
}
