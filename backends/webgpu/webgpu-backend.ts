// The WebGPU backend: each distinct graph is compiled once (passes, fusion, memory plan, WGSL) and
// kept as a live executor holding its buffers; a run writes the feeds, records the whole step into
// one command encoder, and reads back the requested outputs. A training job runs its whole step
// here through `resident` (jobs/train/resident.ts): parameters, optimizer state and EMA stay in
// the executor's arenas, the host writes a batch and a few scalars per step and reads the loss a
// few steps behind through a ring of readback buffers. Graphs are compiled with this
// adapter's tuned choices (tune-graph.ts: matmul register block, subgroup reductions), timed once
// per adapter on tiny probes and remembered in the autotune store. No Node module here: a page
// opens it too (the playground); index.ts adds the file-backed tuning store and the registry entry.

import { DEFAULT_LIMITS, type DeviceLimits } from '../../compiler/codegen/wgsl/legalize.ts';
import { compileGraph, type CompileOptions } from '../../compiler/pipeline.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { acquireDevice, type AdapterDescription, isSoftwareAdapter, type GpuDevice } from '../../runtime/webgpu/device.ts';
import { type KernelTiming, WebGpuExecutor } from '../../runtime/webgpu/executor.ts';
import type { TuneStore } from '../../runtime/webgpu/autotune.ts';
import { PipelineCache } from '../../runtime/webgpu/pipeline-cache.ts';
import type { Backend } from '../backend.ts';
import { deviceCompileOptions, tuneGraphForDevice, UNTUNED, type GraphTuning } from './tune-graph.ts';

/** Why `--device auto` passes over a CPU emulation of a GPU (said here and by the adapter probe). */
export function softwareAdapterReason(info: Pick<AdapterDescription, 'description' | 'device' | 'architecture'>): string {
  const name = info.description || info.device || info.architecture;
  return `the only adapter, ${name}, emulates a GPU on the CPU, slower than the CPU backends here; --device webgpu uses it anyway`;
}

export interface WebGpuBackendOptions {
  /** Use an adapter that emulates a GPU on the CPU (llvmpipe, SwiftShader); `--device webgpu` does. */
  allowSoftware?: boolean;
  /** Request the adapter's 'timestamp-query' feature, which `profile` needs (where it exists). */
  timestamps?: boolean;
  /**
   * Where this adapter's tuned choices are kept, or false for the fixed untuned ones (8×8 blocks,
   * no subgroup reductions). index.ts's createWebGpuBackend defaults it to the file store.
   */
  tune: TuneStore | false;
}

/** The WebGPU backend, plus per-kernel timing of one step. */
export interface WebGpuBackend extends Backend {
  readonly name: 'webgpu';
  /**
   * Runs one step of `graph` with the feeds and returns each kernel's time from GPU timestamp
   * queries, in execution order. Throws where the device lacks 'timestamp-query'.
   */
  profile(graph: Graph, feeds: ReadonlyMap<string, Tensor>): Promise<KernelTiming[]>;
  /** Always present here: a training job keeps its whole step on the device (jobs/train/resident.ts). */
  readonly resident: NonNullable<Backend['resident']>;
  /** The adapter, in words (its description, else its vendor), for people. */
  readonly adapter: string;
  /** The choices graphs are compiled with, and where they came from. */
  readonly tuning: GraphTuning & { source: 'tuned' | 'stored' | 'untuned'; note?: string };
}

/** Opens a device and checks that `graph` compiles for it; the reason says why not, in words. */
export async function openWebGpuBackend(graph: Graph, opts: WebGpuBackendOptions): Promise<WebGpuBackend | { reason: string }> {
  const found = await acquireDevice(opts.timestamps === true ? { optionalFeatures: ['timestamp-query'] } : {});
  if (found.device === null) return { reason: found.reason };
  const gpu: GpuDevice = found;
  if (!(opts.allowSoftware ?? false) && isSoftwareAdapter(gpu.adapterInfo)) {
    gpu.destroy();
    return { reason: softwareAdapterReason(gpu.adapterInfo) };
  }
  const software = isSoftwareAdapter(gpu.adapterInfo);
  const cache = new PipelineCache(gpu);
  const base: CompileOptions = { limits: limitsOf(gpu), verify: false };
  const tuning = await tuningFor(gpu, cache, opts.tune, base);
  const compileOpts: CompileOptions = { ...base, ...deviceCompileOptions(gpu, tuning) };
  const executors = new Map<Graph, Promise<WebGpuExecutor>>();
  // Every executor made so far (for the transfer count), and those of resident graphs.
  const live: WebGpuExecutor[] = [];
  const residents = new Set<WebGpuExecutor>();
  const executorFor = (g: Graph): Promise<WebGpuExecutor> => {
    let ex = executors.get(g);
    if (ex === undefined) {
      ex = WebGpuExecutor.create(gpu, compileGraph(g, compileOpts), cache).then((e) => {
        live.push(e);
        return e;
      });
      executors.set(g, ex);
    }
    return ex;
  };
  try {
    await executorFor(graph);
  } catch (error) {
    gpu.destroy();
    return { reason: `the graph does not compile for this device: ${(error as Error).message}` };
  }
  let disposed = false;
  // What has been written to each executor: a run must not read a buffer nobody wrote.
  const written = new WeakMap<WebGpuExecutor, Set<string>>();
  const write = async (g: Graph, values: ReadonlyMap<string, Tensor>): Promise<WebGpuExecutor> => {
    const ex = await executorFor(g);
    let seen = written.get(ex);
    if (seen === undefined) {
      seen = new Set();
      written.set(ex, seen);
    }
    // Values the graph does not take are ignored, as the CPU interpreter ignores them.
    const art = ex.artifact.graph;
    for (const io of [...art.inputs, ...art.params]) {
      const t = values.get(io.name);
      if (t === undefined) continue;
      ex.write(io.name, t);
      seen.add(io.name);
    }
    return ex;
  };
  const prepared = async (g: Graph, feeds: ReadonlyMap<string, Tensor>): Promise<WebGpuExecutor> => {
    const ex = await write(g, feeds);
    const seen = written.get(ex);
    const art = ex.artifact.graph;
    for (const io of [...art.inputs, ...art.params]) {
      if (!seen?.has(io.name)) throw new Error(`webgpu backend: no value fed for '${io.name}'`);
    }
    return ex;
  };
  return {
    name: 'webgpu',
    adapter: gpu.adapterInfo.description || gpu.adapterInfo.vendor || 'WebGPU',
    tuning,
    async compile(g) {
      await executorFor(g);
    },
    async write(g, values) {
      await write(g, values);
    },
    async run(g, feeds, outputs) {
      const ex = await prepared(g, feeds);
      const art = ex.artifact.graph;
      await ex.step();
      return ex.readMany(outputs ?? art.outputs.map((o) => o.name));
    },
    async read(g, names) {
      return (await executorFor(g)).readMany(names);
    },
    async profile(g, feeds) {
      return (await prepared(g, feeds)).profile();
    },
    async resident(g, carry) {
      const ex = await WebGpuExecutor.create(gpu, compileGraph(g, { ...compileOpts, carry }), cache);
      residents.add(ex);
      // Values the compiled graph does not take (an input the passes found dead) are ignored, as `write` ignores them.
      const takes = new Set([...ex.artifact.graph.inputs, ...ex.artifact.graph.params].map((io) => io.name));
      const put = (values: ReadonlyMap<string, Tensor>): void => {
        for (const [name, t] of values) if (takes.has(name)) ex.write(name, t);
      };
      return {
        write: put,
        async enqueue(feeds, watch) {
          put(feeds);
          return ex.submit(watch);
        },
        read: (names) => ex.readMany(names),
        queueAhead: software ? 0 : 2,
        transferredBytes: () => ex.transferred.written + ex.transferred.read,
        dispose() {
          if (residents.delete(ex)) ex.destroy();
        },
      };
    },
    transferredBytes() {
      let n = 0;
      for (const ex of [...live, ...residents]) n += ex.transferred.written + ex.transferred.read;
      return n;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      // Executors hold device buffers; destroying the device releases them all at once.
      gpu.destroy();
    },
  };
}

/**
 * The tuned choices for this adapter (timed on first use, then read from the store). Tuning is an
 * optimization: if a probe fails on this device, the untuned choices are used and `note` says why.
 */
async function tuningFor(gpu: GpuDevice, cache: PipelineCache, tune: TuneStore | false, base: CompileOptions): Promise<WebGpuBackend['tuning']> {
  if (tune === false) return { ...UNTUNED, source: 'untuned' };
  try {
    const t = await tuneGraphForDevice(gpu, cache, tune, base);
    return { matmulBlock: t.matmulBlock, matmulTiles: t.matmulTiles, subgroups: t.subgroups, source: t.fresh ? 'tuned' : 'stored' };
  } catch (error) {
    gpu.assertAlive();
    return { ...UNTUNED, source: 'untuned', note: `tuning failed: ${(error as Error).message}` };
  }
}

function limitsOf(gpu: GpuDevice): DeviceLimits {
  const pick = (k: keyof DeviceLimits): number => gpu.limits[k] ?? DEFAULT_LIMITS[k];
  return {
    maxStorageBufferBindingSize: pick('maxStorageBufferBindingSize'),
    maxComputeWorkgroupsPerDimension: pick('maxComputeWorkgroupsPerDimension'),
    maxStorageBuffersPerShaderStage: pick('maxStorageBuffersPerShaderStage'),
  };
}
