// Storage buffers in and out of the device: upload through a mapped-at-creation buffer, read back
// through a staging copy. All sizes in bytes unless named otherwise.

/// <reference types="@webgpu/types" />

import type { GpuDevice } from './device.ts';
import { withErrorScopes } from './errors.ts';
import { BUFFER_USAGE, MAP_MODE } from './gpu-constants.ts';

const STORAGE = BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST;

/** WebGPU sizes must be multiples of 4; zero-sized buffers are legal but unbindable, so pad to 4. */
function roundUp4(bytes: number): number {
  return Math.max(4, Math.ceil(bytes / 4) * 4);
}

/** An uninitialized (zeroed) f32 storage buffer of `count` elements. */
export async function createStorageF32(gpu: GpuDevice, count: number, label: string): Promise<GPUBuffer> {
  gpu.assertAlive();
  return withErrorScopes(gpu.device, `buffer '${label}'`, () => gpu.device.createBuffer({ label, size: roundUp4(count * 4), usage: STORAGE }));
}

/** A storage buffer holding `data`. */
export async function uploadF32(gpu: GpuDevice, data: Float32Array, label: string): Promise<GPUBuffer> {
  gpu.assertAlive();
  return withErrorScopes(gpu.device, `buffer '${label}'`, () => {
    const buffer = gpu.device.createBuffer({ label, size: roundUp4(data.byteLength), usage: STORAGE, mappedAtCreation: true });
    new Float32Array(buffer.getMappedRange()).set(data);
    buffer.unmap();
    return buffer;
  });
}

/** A uniform buffer holding `words` as u32, padded to 16 bytes. */
export function uniformU32(gpu: GpuDevice, words: Uint32Array, label: string): GPUBuffer {
  const size = Math.max(16, Math.ceil(words.byteLength / 16) * 16);
  const buffer = gpu.device.createBuffer({ label, size, usage: BUFFER_USAGE.UNIFORM | BUFFER_USAGE.COPY_DST, mappedAtCreation: true });
  new Uint32Array(buffer.getMappedRange()).set(words);
  buffer.unmap();
  return buffer;
}

/** Copies the first `count` f32 of `buffer` back to the CPU; waits for all submitted work. */
export async function readF32(gpu: GpuDevice, buffer: GPUBuffer, count: number): Promise<Float32Array> {
  gpu.assertAlive();
  const size = roundUp4(count * 4);
  const staging = gpu.device.createBuffer({ label: 'readback', size, usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST });
  try {
    const encoder = gpu.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
    gpu.device.queue.submit([encoder.finish()]);
    try {
      await staging.mapAsync(MAP_MODE.READ);
    } catch (error) {
      gpu.assertAlive(); // a lost device explains the failed map better than the map's own error
      throw error;
    }
    return new Float32Array(staging.getMappedRange().slice(0, count * 4));
  } finally {
    staging.destroy();
  }
}
