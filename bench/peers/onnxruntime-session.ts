// Peers that run an exported ONNX model (compiler/codegen/onnx/) on Scion's host tensors (the CPU
// EP is not here: benchmarks time it through backends/cpu, as `--device cpu` runs it):
//   node-webgpu  onnxruntime-node's WebGPU execution provider; the Linux build links its own Dawn
//                (libonnxruntime.so exports wgpu* symbols), which opens whatever Vulkan device the
//                system loader offers — here Mesa's lavapipe, the driver Scion's `webgpu` package uses
//   web-wasm     onnxruntime-web's WASM build (SIMD, threads through worker_threads) in Node
// A peer that cannot load or open returns the reason instead, so a benchmark row says why.

import { availableParallelism } from 'node:os';
import type { DType } from '../../compiler/ir/graph.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';

export type OrtPeer = 'node-webgpu' | 'web-wasm';

export const ORT_PEER_NAMES: Record<OrtPeer, string> = {
  'node-webgpu': 'onnxruntime-node WebGPU EP',
  'web-wasm': 'onnxruntime-web WASM in Node',
};

export interface OrtSession {
  /** Runs the model on the feeds it declares; returns every output, read back to the host. */
  run(feeds: ReadonlyMap<string, Tensor>): Promise<Map<string, Float32Array | Int32Array>>;
  release(): Promise<void>;
}

/** The two packages share onnxruntime-common's API; only the Tensor and session classes differ. */
type OrtModule = Pick<typeof import('onnxruntime-node'), 'InferenceSession' | 'Tensor'>;
type OrtTensor = import('onnxruntime-node').Tensor;

const ORT_TYPE: Record<Exclude<DType, 'f16'>, 'float32' | 'int32' | 'bool'> = { f32: 'float32', i32: 'int32', bool: 'bool' };

function toOrt(ort: OrtModule, t: Tensor): OrtTensor {
  if (t.dtype === 'f16') throw new Error('onnxruntime peer: f16 feeds are not supported');
  const data = t.dtype === 'f32' ? Float32Array.from(t.data) : t.dtype === 'i32' ? Int32Array.from(t.data) : Uint8Array.from(t.data);
  return new ort.Tensor(ORT_TYPE[t.dtype], data, [...t.shape]);
}

async function load(peer: OrtPeer): Promise<OrtModule> {
  if (peer !== 'web-wasm') return import('onnxruntime-node');
  const web = await import('onnxruntime-web');
  // One thread per core, as the CPU EP gets; in Node the WASM build runs them as worker_threads.
  web.env.wasm.numThreads = availableParallelism();
  return web as unknown as OrtModule;
}

function sessionOptions(peer: OrtPeer): import('onnxruntime-node').InferenceSession.SessionOptions {
  const base = { graphOptimizationLevel: 'all', logSeverityLevel: 3 } as const;
  return { ...base, executionProviders: [peer === 'node-webgpu' ? 'webgpu' : 'wasm'] };
}

/** A session of `model` on the peer, or the reason it cannot be had here. */
export async function openOrtSession(peer: OrtPeer, model: Uint8Array): Promise<OrtSession | string> {
  let ort: OrtModule;
  try {
    ort = await load(peer);
  } catch (error) {
    return `${ORT_PEER_NAMES[peer]} does not load (${(error as Error).message.split('\n')[0]})`;
  }
  let session: import('onnxruntime-node').InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, sessionOptions(peer));
  } catch (error) {
    return `${ORT_PEER_NAMES[peer]} cannot open the model (${(error as Error).message.split('\n')[0]})`;
  }
  return {
    async run(feeds) {
      const input: Record<string, OrtTensor> = {};
      for (const name of session.inputNames) {
        const t = feeds.get(name);
        if (t === undefined) throw new Error(`onnxruntime peer: no feed for the model's input '${name}'`);
        input[name] = toOrt(ort, t);
      }
      const out = await session.run(input);
      return new Map(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array | Int32Array]));
    },
    release: () => session.release(),
  };
}
