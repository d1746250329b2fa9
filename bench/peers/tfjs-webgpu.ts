// Peer: TensorFlow.js's WebGPU backend, on the very device Scion uses (so both get the same Dawn
// instance and the same yielding polling from runtime/webgpu/poll.ts).
//
// Wiring that works in Node (research/baselines.md, lessons 3 and 8):
// - TF.js reads GPUBufferUsage & co. as globals and insists on navigator.gpu: Dawn's `globals`
//   and our GPU object are put on globalThis (in this benchmark process only);
// - the union package `@tensorflow/tfjs` registers the kernels for the 'webgpu' backend name; we
//   re-register that name with a factory that wraps our GPUDevice;
// - before awaiting the queue, TF.js's open compute pass must be ended and its commands submitted
//   (`endComputePassEncoder()`, `submitQueue()`), or the timings measure nothing and validation errors cascade.

/// <reference types="@webgpu/types" />

import type { GpuDevice } from '../../runtime/webgpu/device.ts';

export interface TfjsMatmulPeer {
  /** `runs` matmuls of the prepared size, GPU work awaited. */
  batch(runs: number): Promise<void>;
  check(): Promise<Float32Array>;
  release(): void;
}

interface TfBackendLike {
  endComputePassEncoder(): void;
  submitQueue(): void;
}

export type Tf = typeof import('@tensorflow/tfjs');

/** TF.js on `gpu`'s device, plus `flush()`: end TF.js's open pass, submit, await the queue. */
export interface TfjsOnDevice {
  tf: Tf;
  flush(): Promise<void>;
}

/** Starts TF.js's webgpu backend on `gpu`'s device (once per process), or says why it cannot. */
export async function tfjsOnDevice(gpu: GpuDevice): Promise<TfjsOnDevice | string> {
  if (gpu.adapterInfo.platform !== 'node') return 'the TF.js peer runs in Node only';
  let tf: Tf;
  let webgpuBackend: typeof import('@tensorflow/tfjs-backend-webgpu');
  try {
    const { globals } = await import('webgpu');
    for (const [name, value] of Object.entries(globals))
      if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
    // TF.js checks navigator.gpu before accepting a device (Node 20 has no navigator at all)
    const g = globalThis as { navigator?: { gpu?: GPU } };
    if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu: gpu.gpu }, configurable: true, writable: true });
    else if (g.navigator.gpu === undefined) Object.defineProperty(g.navigator, 'gpu', { value: gpu.gpu, configurable: true });
    tf = await import('@tensorflow/tfjs');
    webgpuBackend = await import('@tensorflow/tfjs-backend-webgpu');
  } catch (error) {
    return `TF.js is not installed (${(error as Error).message.split('\n')[0]})`;
  }
  if (tf.getBackend() !== 'webgpu') {
    if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => new webgpuBackend.WebGPUBackend(gpu.device));
    if (!(await tf.setBackend('webgpu'))) return 'TF.js could not start its webgpu backend on our device';
  }
  const backend = tf.backend() as unknown as TfBackendLike;
  const flush = async (): Promise<void> => {
    backend.endComputePassEncoder();
    backend.submitQueue();
    await gpu.device.queue.onSubmittedWorkDone();
    gpu.assertAlive();
  };
  return { tf, flush };
}

/** A TF.js webgpu n×n×n matmul on `gpu`'s device with fixed inputs, or the reason it cannot run. */
export async function tfjsSquareMatmul(gpu: GpuDevice, n: number, a: Float32Array, b: Float32Array): Promise<TfjsMatmulPeer | string> {
  const on = await tfjsOnDevice(gpu);
  if (typeof on === 'string') return on;
  const { tf, flush } = on;
  const ta = tf.tensor2d(a, [n, n]);
  const tb = tf.tensor2d(b, [n, n]);
  return {
    async batch(runs) {
      const outs = [];
      for (let i = 0; i < runs; i++) outs.push(tf.matMul(ta, tb));
      await flush();
      for (const out of outs) out.dispose();
    },
    async check() {
      const out = tf.matMul(ta, tb);
      const data = (await out.data()) as Float32Array;
      out.dispose();
      return data;
    },
    release() {
      ta.dispose();
      tb.dispose();
    },
  };
}
