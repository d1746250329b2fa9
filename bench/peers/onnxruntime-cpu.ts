// Peer: onnxruntime-node's CPU execution provider (all cores), on in-memory ONNX models.
// Installed with ONNXRUNTIME_NODE_INSTALL=skip (its postinstall would download CUDA binaries);
// the CPU provider is bundled in the package.

import { availableParallelism } from 'node:os';
import { matmulModel } from './onnx-model.ts';

export interface OrtMatmulPeer {
  /** Resolves after one C = A·B of the prepared size. */
  run(): Promise<void>;
  check(): Promise<Float32Array>;
  release(): Promise<void>;
}

/** A session for an n×n×n matmul with fixed random inputs, or the reason it cannot be had. */
export async function ortSquareMatmul(n: number, a: Float32Array, b: Float32Array): Promise<OrtMatmulPeer | string> {
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch (error) {
    return `onnxruntime-node is not installed (${(error as Error).message.split('\n')[0]})`;
  }
  const session = await ort.InferenceSession.create(matmulModel(n, n, n), {
    executionProviders: ['cpu'],
    intraOpNumThreads: availableParallelism(),
    graphOptimizationLevel: 'all',
  });
  const feeds = { A: new ort.Tensor('float32', a, [n, n]), B: new ort.Tensor('float32', b, [n, n]) };
  return {
    async run() {
      await session.run(feeds);
    },
    async check() {
      const out = await session.run(feeds);
      return out['C']!.data as Float32Array;
    },
    release: () => session.release(),
  };
}
