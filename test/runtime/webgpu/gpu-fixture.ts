// One device per test file, or a clear skip. Under CI=true a missing adapter is a failure (CI
// installs lavapipe, so its absence means the set-up broke); elsewhere the WebGPU tests are
// skipped and the reason printed once.

import { afterAll, it } from 'vitest';
import { acquireDevice, type GpuDevice } from '../../../runtime/webgpu/device.ts';

export interface TestGpu {
  gpu: GpuDevice | null;
  reason: string;
}

export async function gpuForTests(): Promise<TestGpu> {
  const acquired = await acquireDevice();
  if (acquired.device !== null) {
    afterAll(() => acquired.destroy());
    return { gpu: acquired, reason: '' };
  }
  if (process.env['CI'] === 'true') {
    it('has a WebGPU adapter (required under CI=true)', () => {
      throw new Error(`no WebGPU adapter under CI: ${acquired.reason}`);
    });
  } else {
    console.warn(`skipping WebGPU tests: ${acquired.reason}`);
  }
  return { gpu: null, reason: acquired.reason };
}

/** Deterministic values in [-1, 1) (mulberry32), so failures reproduce. */
export function randomF32(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1;
  });
}
