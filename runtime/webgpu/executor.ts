// Executes a compiled kernel graph (compiler/kernel/kernel-graph.ts) on a WebGPU device: one
// storage buffer per arena of the memory plan, tensors written and read at their planned
// offsets, every kernel of a step recorded into one command encoder and submitted once (a host
// kernel — svd — splits the step: read back, run the CPU kernel, write, continue). Errors:
// creation runs inside error scopes (GpuError names the kernel); a lost device or an
// out-of-memory arena becomes one clear message; the user's tensors on the host are untouched.
//
// Example:
//   const ex = await WebGpuExecutor.create(gpu, artifact);
//   ex.write('x', tensor([1, 2], [2]));
//   await ex.step();
//   const y = await ex.read('y');

/// <reference types="@webgpu/types" />

import type { WgslProgram } from '../../compiler/codegen/wgsl/program.ts';
import type { BufferInfo, KernelArtifact, KernelInfo, Placement } from '../../compiler/kernel/kernel-graph.ts';
import type { Node } from '../../compiler/ir/graph.ts';
import { CPU_KERNELS } from '../cpu/kernels.ts';
import type { Tensor, TensorData } from '../cpu/tensor.ts';
import type { GpuDevice } from './device.ts';
import { GpuError, withErrorScopes } from './errors.ts';
import { fromF16, toF16 } from './f16-convert.ts';
import { BUFFER_USAGE, MAP_MODE } from './gpu-constants.ts';
import { PipelineCache } from './pipeline-cache.ts';

const ARENA_USAGE = BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST;
/** The most bytes of idle readback buffers an executor keeps for reuse. */
export const READBACK_POOL_BYTES = 64 * 1024 * 1024;

interface Step {
  kernel: KernelInfo;
  pipeline?: GPUComputePipeline;
  bindGroup?: GPUBindGroup;
  grid?: [number, number, number];
}

export interface KernelTiming {
  kernel: number;
  name: string;
  source?: string;
  ms: number;
}

/** Host data as f32 (the arena's element type; i32 and bool values are exact up to 2^24). */
function toF32(data: TensorData): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
}

function fromF32(b: BufferInfo, data: Float32Array): Tensor {
  const shape = [...b.shape];
  if (b.dtype === 'i32') return { dtype: 'i32', shape, data: Int32Array.from(data) };
  if (b.dtype === 'bool') return { dtype: 'bool', shape, data: Uint8Array.from(data, (v) => (v !== 0 ? 1 : 0)) };
  return { dtype: b.dtype, shape, data };
}

/** The artifact needs a WebGPU feature the device does not have (compiled for another target). */
export class MissingFeatureError extends Error {
  override name = 'MissingFeatureError';
  constructor(readonly missing: readonly string[]) {
    super(
      `the artifact needs the WebGPU feature(s) ${missing.join(', ')}, which this device lacks; ` +
        `compile it for this device (without --f16 for shader-f16; without subgroups in its features)`,
    );
  }
}

export class WebGpuExecutor {
  private constructor(
    private readonly gpu: GpuDevice,
    readonly artifact: KernelArtifact,
    private readonly arenas: GPUBuffer[],
    private readonly steps: Step[],
  ) {}

  /** Allocates the arenas, uploads large constants and compiles (or reuses) every pipeline. */
  static async create(gpu: GpuDevice, artifact: KernelArtifact, cache: PipelineCache = new PipelineCache(gpu)): Promise<WebGpuExecutor> {
    gpu.assertAlive();
    const missing = (artifact.features ?? []).filter((f) => !gpu.features.has(f));
    if (missing.length > 0) throw new MissingFeatureError(missing);
    const { device } = gpu;
    const arenas: GPUBuffer[] = [];
    for (const [a, bytes] of artifact.memory.arenas.entries()) {
      try {
        arenas.push(
          await withErrorScopes(device, `arena ${a}`, () =>
            device.createBuffer({ label: `scion arena ${a}`, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: ARENA_USAGE }),
          ),
        );
      } catch (error) {
        for (const b of arenas) b.destroy();
        if (error instanceof GpuError && error.filter === 'out-of-memory') {
          throw new Error(
            `not enough GPU memory: arena ${a} needs ${bytes} bytes (the plan's peak is ${artifact.memory.peakBytes} bytes); use a smaller batch or model`,
          );
        }
        throw error;
      }
    }
    const ex = new WebGpuExecutor(gpu, artifact, arenas, []);
    for (const b of artifact.graph.buffers) if (b.role === 'constant' && b.data !== undefined) ex.writeBuffer(b, Float32Array.from(b.data));
    const maxPerDim = gpu.limits['maxComputeWorkgroupsPerDimension'] ?? 65535;
    const byKernel = new Map(artifact.programs.map((p) => [p.kernel, p]));
    for (const kernel of artifact.graph.kernels) {
      if (kernel.kind === 'host') {
        ex.steps.push({ kernel });
        continue;
      }
      const prog = byKernel.get(kernel.id);
      if (prog === undefined) throw new Error(`executor: kernel ${kernel.id} has no program in the artifact`);
      const program: WgslProgram = {
        key: prog.key,
        code: prog.code,
        entryPoint: 'main',
        workgroupSize: [prog.workgroupSize, 1, 1],
        tile: { cols: 1, rows: 1 },
        uniforms: [],
        bindings: prog.arenas.map((a, k) => ({ binding: k, name: `A${a}`, access: 'read_write' as const })),
      };
      const { pipeline, layout } = await cache.get(program);
      const bindGroup = await withErrorScopes(device, `bind group of kernel ${kernel.id} (${kernel.name})`, () =>
        device.createBindGroup({
          label: `kernel ${kernel.id}`,
          layout,
          entries: prog.arenas.map((a, k) => ({ binding: k, resource: { buffer: arenas[a] as GPUBuffer } })),
        }),
      );
      const groups = Math.max(1, Math.ceil(prog.threads / prog.workgroupSize));
      const grid: [number, number, number] = groups <= maxPerDim ? [groups, 1, 1] : [maxPerDim, Math.ceil(groups / maxPerDim), 1];
      ex.steps.push({ kernel, pipeline, bindGroup, grid });
    }
    return ex;
  }

  private bufferNamed(name: string, kinds: readonly ('inputs' | 'params' | 'outputs')[]): BufferInfo {
    const g = this.artifact.graph;
    for (const k of kinds) {
      const io = g[k].find((x) => x.name === name);
      if (io !== undefined) return g.buffers[io.buffer] as BufferInfo;
    }
    throw new Error(`executor: no ${kinds.join('/')} named '${name}'`);
  }

  private placement(b: BufferInfo): Placement {
    return this.artifact.memory.placements[b.id] ?? fail(`buffer ${b.id} has no placement`);
  }

  private writeBuffer(b: BufferInfo, data: Float32Array): void {
    if (data.length !== b.count) throw new Error(`executor: '${b.name ?? b.id}' needs ${b.count} values, got ${data.length}`);
    const p = this.placement(b);
    // f16 arenas (precision 'f16'): placed at even offsets, so offset·2 stays 4-byte aligned.
    const bytes = this.isHalf(p) ? toF16(data) : data;
    this.gpu.device.queue.writeBuffer(this.arenas[p.arena] as GPUBuffer, p.offset * (this.isHalf(p) ? 2 : 4), bytes);
    this.transferred.written += bytes.byteLength;
  }

  /**
   * Bytes this executor moved between host and device: `written` by queue writes (inputs, params,
   * the constants uploaded at creation), `read` through readback buffers. A training job records
   * the difference over a step as its transferBytesPerStep.
   */
  readonly transferred = { written: 0, read: 0 };

  private isHalf(p: Placement): boolean {
    return this.artifact.memory.arenaTypes?.[p.arena] === 'f16';
  }

  /** Sets an input or parameter (shape and dtype checked against the artifact). */
  write(name: string, t: Tensor): void {
    this.gpu.assertAlive();
    const b = this.bufferNamed(name, ['inputs', 'params']);
    if (t.shape.length !== b.shape.length || t.shape.some((d, i) => d !== b.shape[i])) {
      throw new Error(`executor: '${name}' has shape [${t.shape.join(',')}], the artifact expects [${b.shape.join(',')}]`);
    }
    this.writeBuffer(b, toF32(t.data));
  }

  private encodeRange(encoder: GPUCommandEncoder, from: number, to: number, timestamps?: GPUQuerySet): void {
    if (timestamps === undefined) {
      const pass = encoder.beginComputePass();
      for (let s = from; s < to; s++) {
        const st = this.steps[s] as Step;
        pass.setPipeline(st.pipeline as GPUComputePipeline);
        pass.setBindGroup(0, st.bindGroup as GPUBindGroup);
        const [x, y, z] = st.grid as [number, number, number];
        pass.dispatchWorkgroups(x, y, z);
      }
      pass.end();
      return;
    }
    for (let s = from; s < to; s++) {
      const st = this.steps[s] as Step;
      const pass = encoder.beginComputePass({ timestampWrites: { querySet: timestamps, beginningOfPassWriteIndex: 2 * s, endOfPassWriteIndex: 2 * s + 1 } });
      pass.setPipeline(st.pipeline as GPUComputePipeline);
      pass.setBindGroup(0, st.bindGroup as GPUBindGroup);
      const [x, y, z] = st.grid as [number, number, number];
      pass.dispatchWorkgroups(x, y, z);
      pass.end();
    }
  }

  /** Runs one step: every kernel in dispatch order, then moves carried state into place. */
  async step(timestamps?: GPUQuerySet): Promise<void> {
    this.gpu.assertAlive();
    const { device } = this.gpu;
    let encoder = device.createCommandEncoder({ label: 'scion step' });
    let from = 0;
    for (let s = 0; s <= this.steps.length; s++) {
      const st = this.steps[s];
      if (st !== undefined && st.kernel.kind === 'wgsl') continue;
      if (s > from) this.encodeRange(encoder, from, s, timestamps);
      from = s + 1;
      if (st === undefined) break;
      device.queue.submit([encoder.finish()]);
      await this.runHost(st.kernel);
      encoder = device.createCommandEncoder({ label: 'scion step (after host kernel)' });
    }
    this.encodeCarry(encoder);
    if (timestamps !== undefined) {
      const resolve = device.createBuffer({ size: this.steps.length * 16, usage: BUFFER_USAGE.QUERY_RESOLVE | BUFFER_USAGE.COPY_SRC });
      this.lastResolve = resolve;
      encoder.resolveQuerySet(timestamps, 0, this.steps.length * 2, resolve, 0);
    }
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    this.gpu.assertAlive();
  }

  private lastResolve: GPUBuffer | undefined;
  private readonly carryTemps = new Map<string, GPUBuffer>();
  /**
   * Mappable readback buffers, returned here once read and reused by size. A fresh one per read
   * cost its allocation and Dawn's zeroing each time: reading the llama's 16.7 MB of logits took
   * 48–68 ms that way and 16–27 ms from a reused buffer (lavapipe). At most READBACK_POOL_BYTES
   * are kept, so reading a large model's parameters once does not pin their size.
   */
  private readonly readbacks: GPUBuffer[] = [];

  private takeReadback(bytes: number, label: string): GPUBuffer {
    const free = this.readbacks.findIndex((r) => r.size === bytes);
    if (free >= 0) return this.readbacks.splice(free, 1)[0] as GPUBuffer;
    return this.gpu.device.createBuffer({ label, size: bytes, usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST });
  }

  /** An unmapped readback buffer back to the pool; the oldest go when the pool is over its bytes. */
  private returnReadback(b: GPUBuffer): void {
    this.readbacks.push(b);
    let held = this.readbacks.reduce((n, r) => n + r.size, 0);
    while (held > READBACK_POOL_BYTES && this.readbacks.length > 0) {
      const old = this.readbacks.shift() as GPUBuffer;
      held -= old.size;
      old.destroy();
    }
  }

  /**
   * Queues one step and a copy of the `watch` outputs (a few f32 scalars: loss, flags) into a
   * readback buffer, without waiting for the device: the returned promise settles when that step
   * is done, while the host goes on queueing the next ones. A graph with a host kernel (svd)
   * cannot be queued ahead, so it runs as `step` does.
   */
  async submit(watch: readonly string[]): Promise<() => Promise<Float32Array>> {
    if (this.steps.some((s) => s.kernel.kind === 'host')) {
      await this.step();
      const values = (await this.readMany(watch)).values();
      const flat = Float32Array.from([...values].flatMap((t) => Array.from(t.data as ArrayLike<number>)));
      return async () => flat;
    }
    this.gpu.assertAlive();
    const { device } = this.gpu;
    const bs = watch.map((name) => this.bufferNamed(name, ['outputs']));
    if (bs.some((b) => this.isHalf(this.placement(b)))) throw new Error('executor: submit watches f32 outputs only');
    const bytes = Math.max(
      4,
      bs.reduce((n, b) => n + b.count * 4, 0),
    );
    const encoder = device.createCommandEncoder({ label: 'scion step (queued)' });
    this.encodeRange(encoder, 0, this.steps.length);
    this.encodeCarry(encoder);
    const slot = this.takeReadback(bytes, 'scion watch');
    let at = 0;
    for (const b of bs) {
      const p = this.placement(b);
      encoder.copyBufferToBuffer(this.arenas[p.arena] as GPUBuffer, p.offset * 4, slot, at, b.count * 4);
      at += b.count * 4;
    }
    device.queue.submit([encoder.finish()]);
    this.transferred.read += slot.size;
    const mapped = slot.mapAsync(MAP_MODE.READ);
    // A rejection is reported by the reader; this keeps it from counting as unhandled meanwhile.
    mapped.catch(() => undefined);
    return async () => {
      try {
        await mapped;
      } catch (error) {
        this.gpu.assertAlive();
        throw error;
      }
      const values = new Float32Array(slot.getMappedRange().slice(0, at));
      slot.unmap();
      this.returnReadback(slot);
      return values;
    };
  }

  /** Carried outputs the plan could not write in place are copied over their inputs. */
  private encodeCarry(encoder: GPUCommandEncoder): void {
    for (const c of this.artifact.graph.carry) {
      const out = this.bufferNamed(c.output, ['outputs']);
      const inp = this.bufferNamed(c.input, ['inputs', 'params']);
      const [po, pi] = [this.placement(out), this.placement(inp)];
      if (po.arena === pi.arena && po.offset === pi.offset) continue;
      const bytes = out.count * 4;
      // copyBufferToBuffer forbids src == dst: go through a temporary buffer, made once per carry.
      let tmp = this.carryTemps.get(c.output);
      if (tmp === undefined) {
        tmp = this.gpu.device.createBuffer({ label: `scion carry ${c.input}`, size: Math.max(4, bytes), usage: BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST });
        this.carryTemps.set(c.output, tmp);
      }
      encoder.copyBufferToBuffer(this.arenas[po.arena] as GPUBuffer, po.offset * 4, tmp, 0, bytes);
      encoder.copyBufferToBuffer(tmp, 0, this.arenas[pi.arena] as GPUBuffer, pi.offset * 4, bytes);
    }
  }

  /**
   * Copies each range into one staging buffer and maps it once: one round trip to the device for
   * all of them. Awaiting a map costs a poll cycle, which on a real GPU dwarfs the copies — reading
   * a training step's loss and ~60 gradients one map at a time took most of a DiT step's time.
   */
  private async readRanges(ranges: readonly { p: Placement; count: number }[]): Promise<Float32Array[]> {
    const { device } = this.gpu;
    let total = 0;
    const parts = ranges.map(({ p, count }) => {
      const half = this.isHalf(p);
      const bytes = half ? Math.max(4, Math.ceil(count / 2) * 4) : Math.max(4, count * 4);
      const at = total;
      total += bytes;
      return { p, count, half, bytes, at };
    });
    const staging = this.takeReadback(Math.max(4, total), 'scion readback');
    this.transferred.read += total;
    try {
      const encoder = device.createCommandEncoder();
      for (const x of parts) encoder.copyBufferToBuffer(this.arenas[x.p.arena] as GPUBuffer, x.p.offset * (x.half ? 2 : 4), staging, x.at, x.bytes);
      device.queue.submit([encoder.finish()]);
      try {
        await staging.mapAsync(MAP_MODE.READ);
      } catch (error) {
        this.gpu.assertAlive();
        throw error;
      }
      const mapped = staging.getMappedRange();
      return parts.map((x) =>
        x.half ? fromF16(new Uint16Array(mapped.slice(x.at, x.at + x.bytes)), x.count) : new Float32Array(mapped.slice(x.at, x.at + x.count * 4)),
      );
    } finally {
      // A buffer whose mapping failed (device lost) is not worth keeping.
      if (staging.mapState === 'mapped') {
        staging.unmap();
        this.returnReadback(staging);
      } else staging.destroy();
    }
  }

  /** Svd and its gradient have no WGSL form: run the CPU reference kernel between dispatches. */
  private async runHost(kernel: KernelInfo): Promise<void> {
    const h = kernel.host ?? fail(`host kernel ${kernel.id} has no op`);
    const g = this.artifact.graph;
    const ins = await this.readRanges(kernel.inputs.map((b) => ({ p: this.placement(g.buffers[b] as BufferInfo), count: (g.buffers[b] as BufferInfo).count })));
    // The kernel reads its operands in operand order; the artifact lists inputs by buffer id.
    const inNodes: Node[] = h.inShapes.map((shape, k) => ({ id: k, op: 'input', inputs: [], attrs: {}, dtype: h.inDTypes[k] ?? 'f32', shape }));
    const node: Node = { id: inNodes.length, op: h.op, inputs: inNodes.map((n) => n.id), attrs: h.attrs, dtype: h.outDType, shape: h.outShape };
    const out = CPU_KERNELS[h.op]({ node, ins, inNodes, feeds: new Map(), alloc: (n) => new Float32Array(n) });
    this.writeBuffer(g.buffers[kernel.outputs[0] as number] as BufferInfo, Float32Array.from(out));
  }

  /** Reads an output (or an input/param, e.g. updated state) back to the host. */
  async read(name: string): Promise<Tensor> {
    return (await this.readMany([name])).get(name) as Tensor;
  }

  /** Reads several outputs (or inputs/params) back in one device round trip. */
  async readMany(names: readonly string[]): Promise<Map<string, Tensor>> {
    this.gpu.assertAlive();
    const bs = names.map((name) => this.bufferNamed(name, ['outputs', 'inputs', 'params']));
    const data = await this.readRanges(bs.map((b) => ({ p: this.placement(b), count: b.count })));
    return new Map(names.map((name, k) => [name, fromF32(bs[k] as BufferInfo, data[k] as Float32Array)]));
  }

  /** Runs one step with a timestamp per kernel (needs the 'timestamp-query' feature). */
  async profile(): Promise<KernelTiming[]> {
    if (!this.gpu.features.has('timestamp-query'))
      throw new Error('profiling needs the adapter feature timestamp-query (request it in acquireDevice optionalFeatures)');
    const qs = this.gpu.device.createQuerySet({ type: 'timestamp', count: Math.max(2, this.steps.length * 2) });
    await this.step(qs);
    const resolve = this.lastResolve ?? fail('no resolve buffer');
    const staging = this.gpu.device.createBuffer({ size: resolve.size, usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST });
    const enc = this.gpu.device.createCommandEncoder();
    enc.copyBufferToBuffer(resolve, 0, staging, 0, resolve.size);
    this.gpu.device.queue.submit([enc.finish()]);
    await staging.mapAsync(MAP_MODE.READ);
    const ns = new BigInt64Array(staging.getMappedRange().slice(0));
    staging.destroy();
    resolve.destroy();
    qs.destroy();
    return this.steps.map((s, k) => {
      const t: KernelTiming = {
        kernel: s.kernel.id,
        name: s.kernel.name,
        ms: s.kernel.kind === 'host' ? NaN : Number((ns[2 * k + 1] ?? 0n) - (ns[2 * k] ?? 0n)) / 1e6,
      };
      if (s.kernel.source !== undefined) t.source = s.kernel.source;
      return t;
    });
  }

  destroy(): void {
    for (const a of this.arenas) a.destroy();
    for (const b of [...this.carryTemps.values(), ...this.readbacks.splice(0)]) b.destroy();
  }
}

/** One-shot: write every feed, run one step, read every output. */
export async function runArtifact(
  gpu: GpuDevice,
  artifact: KernelArtifact,
  feeds: ReadonlyMap<string, Tensor>,
  cache?: PipelineCache,
): Promise<Map<string, Tensor>> {
  const ex = await WebGpuExecutor.create(gpu, artifact, cache);
  try {
    for (const io of [...artifact.graph.inputs, ...artifact.graph.params]) {
      const t = feeds.get(io.name);
      if (t === undefined) throw new Error(`runArtifact: missing input or parameter '${io.name}'`);
      ex.write(io.name, t);
    }
    await ex.step();
    const out = new Map<string, Tensor>();
    for (const o of artifact.graph.outputs) out.set(o.name, await ex.read(o.name));
    return out;
  } finally {
    ex.destroy();
  }
}

function fail(msg: string): never {
  throw new Error(`executor bug: ${msg}`);
}
