// Scion's matmul on the WebGPU runtime: the compiler's kernel templates bound to runtime buffers,
// plus the autotuned choice of variant. This glue sits outside runtime/ because runtime/ may import
// only the compiler's artifact types (DESIGN.md), not its generators.

/// <reference types="@webgpu/types" />

import { matmulCandidates, matmulProgram, matmulUniforms, type MatmulDims, type MatmulEpilogue, type MatmulSpec } from '../compiler/codegen/wgsl/matmul.ts';
import { autotune, isCurrentChoice, type TuneChoice, type TuneStore } from '../runtime/webgpu/autotune.ts';
import { createStorageF32, readF32, uploadF32 } from '../runtime/webgpu/buffers.ts';
import type { GpuDevice } from '../runtime/webgpu/device.ts';
import { groupsFor, prepareDispatch, type PreparedDispatch } from '../runtime/webgpu/dispatch.ts';
import type { PipelineCache } from '../runtime/webgpu/pipeline-cache.ts';

export interface MatmulBuffers {
  a: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
  bias?: GPUBuffer;
}

/** Binds the kernel for `spec` to `buffers` for `dims`; run() dispatches and awaits. */
export async function prepareMatmul(
  gpu: GpuDevice,
  cache: PipelineCache,
  spec: MatmulSpec,
  dims: MatmulDims,
  buffers: MatmulBuffers,
): Promise<PreparedDispatch> {
  const program = matmulProgram(spec);
  if (spec.bias !== (buffers.bias !== undefined))
    throw new Error(`matmul: spec.bias is ${spec.bias} but a bias buffer was${buffers.bias === undefined ? ' not' : ''} given`);
  const bound: Record<string, GPUBuffer> = { a: buffers.a, b: buffers.b, c: buffers.c };
  if (buffers.bias !== undefined) bound['bias'] = buffers.bias;
  return prepareDispatch(gpu, cache, {
    program,
    uniforms: matmulUniforms(dims),
    buffers: bound,
    grid: [groupsFor(dims.n, program.tile.cols), groupsFor(dims.m, program.tile.rows), dims.batch],
  });
}

/**
 * C = act(A·B + bias) on the GPU, from and to CPU arrays (tests, one-off use).
 * a: [batch, M, K], b: [batch, K, N] or [K, N] if broadcastB, bias: [N] → [batch, M, N]
 */
export async function matmulOnGpu(
  gpu: GpuDevice,
  cache: PipelineCache,
  spec: MatmulSpec,
  dims: MatmulDims,
  a: Float32Array,
  b: Float32Array,
  bias?: Float32Array,
): Promise<Float32Array> {
  const count = dims.batch * dims.m * dims.n;
  const buffers: MatmulBuffers = {
    a: await uploadF32(gpu, a, 'a'),
    b: await uploadF32(gpu, b, 'b'),
    c: await createStorageF32(gpu, count, 'c'),
  };
  if (bias !== undefined) buffers.bias = await uploadF32(gpu, bias, 'bias');
  try {
    const prepared = await prepareMatmul(gpu, cache, spec, dims, buffers);
    await prepared.run();
    prepared.destroy();
    return await readF32(gpu, buffers.c, count);
  } finally {
    for (const buffer of Object.values(buffers)) buffer.destroy();
  }
}

/** The op key the autotuner stores a matmul choice under. */
export function matmulOpKey(vec4: boolean, epilogue: MatmulEpilogue): string {
  return `matmul/f32/${vec4 ? 'v4' : 's'}/bias${epilogue.bias ? 1 : 0}/${epilogue.activation}`;
}

/**
 * The variant to use on this adapter: timed once on a representative square matmul (`size`,
 * default 512) and remembered in `store`; later calls read the store.
 */
export async function tuneMatmul(
  gpu: GpuDevice,
  cache: PipelineCache,
  store: TuneStore,
  vec4: boolean,
  epilogue: MatmulEpilogue = { bias: false, activation: 'none' },
  size = 512,
): Promise<TuneChoice & { fresh: boolean; spec: MatmulSpec }> {
  // a square size that fits vec4 exactly when the caller's shapes do
  const dims: MatmulDims = { batch: 1, m: size, n: vec4 ? size : size + 1, k: vec4 ? size : size + 1 };
  const candidates = matmulCandidates(dims, epilogue);
  const opKey = matmulOpKey(vec4, epilogue);
  const pick = (choice: TuneChoice) => {
    const spec = candidates[choice.choice];
    if (spec === undefined) throw new Error(`autotune returned unknown candidate ${choice.choice}`);
    return { ...choice, spec };
  };
  const known = store.get(gpu.adapterInfo.key, opKey);
  if (isCurrentChoice(known, Object.keys(candidates))) return { ...pick(known), fresh: false };
  // only now allocate and compile: a remembered choice costs nothing
  const count = (dims.n + 1) * (dims.k + 1);
  const fill = new Float32Array(count).map((_, i) => ((i * 7919) % 13) / 13 - 0.5);
  const buffers: MatmulBuffers = {
    a: await uploadF32(gpu, fill, 'tune a'),
    b: await uploadF32(gpu, fill, 'tune b'),
    c: await createStorageF32(gpu, count, 'tune c'),
  };
  if (epilogue.bias) buffers.bias = await uploadF32(gpu, fill.subarray(0, dims.n), 'tune bias');
  const prepared: PreparedDispatch[] = [];
  try {
    const runs: Record<string, () => Promise<void>> = {};
    for (const [name, spec] of Object.entries(candidates)) {
      const p = await prepareMatmul(gpu, cache, spec, dims, buffers);
      prepared.push(p);
      runs[name] = () => p.run();
    }
    const choice = await autotune(store, { adapterKey: gpu.adapterInfo.key, opKey, workload: `${dims.m}x${dims.n}x${dims.k}`, candidates: runs, reps: 2 });
    return { ...pick(choice), fresh: choice.fresh };
  } finally {
    for (const p of prepared) p.destroy();
    for (const buffer of Object.values(buffers)) buffer.destroy();
  }
}
