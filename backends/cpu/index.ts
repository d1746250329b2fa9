// The CPU backend (`--device cpu`): a graph is exported to ONNX (compiler/codegen/onnx/, every
// param a graph input so the values written here feed it) and run by onnxruntime-node's CPU
// execution provider on all cores. It opens only for graphs whose every op has an exact ONNX form
// (and no f16 inputs or outputs); `--device auto` then falls back to the reference, saying why.
// Host ops (OP_TRAITS class 'host': the singular values) split a graph into segments run around
// their CPU reference kernels (partition.ts, segmented.ts): their ONNX form, a Jacobi Loop that
// export writes, took 55 ms against the kernels' 12 ms on BA-LoRA's [16, 64] (bench/onnx-svd.ts).
// Random draws from graph inputs (LoRA dropout) are computed on the host too and fed as inputs
// (host-draws.ts): their ONNX form emulates xor bit by bit and made a LoRA step 30× slower.

import { availableParallelism } from 'node:os';
import { encodeModel } from '../../compiler/codegen/onnx/onnx-proto.ts';
import { toOnnx, unsupportedOps } from '../../compiler/codegen/onnx/to-onnx.ts';
import type { DType, Graph, Node } from '../../compiler/ir/graph.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import type { Backend, BackendEntry } from '../backend.ts';
import { HeldValues } from '../held.ts';
import { hoistDraws, type HostDraws } from './host-draws.ts';
import { hasHostOps, isHostOp, partitionAtHostOps } from './partition.ts';
import { cpuResident } from './resident.ts';
import { segmentedRun, type OrtBridge, type SegmentedRun } from './segmented.ts';

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;

const ORT_TYPE = { f32: 'float32', i32: 'int32', bool: 'bool' } as const;

/** Why ONNX Runtime cannot run `graph` here, or undefined when it can. */
function refusal(graph: Graph): string | undefined {
  // Host ops run on the CPU between segments, so whether they have an ONNX form does not matter here.
  const ops = unsupportedOps(graph).filter((o) => !isHostOp(o.op));
  if (ops.length > 0) return ops.map((o) => `op '${o.op}' has no exact ONNX form (${o.reason})`).join('; ');
  const boundary = [...graph.nodes.filter((n) => n.op === 'input' || n.op === 'param'), ...graph.outputs.map((o) => graph.nodes[o.node] as Node)];
  const hosts = graph.nodes.filter((n) => isHostOp(n.op));
  const f16 = [...boundary, ...hosts, ...hosts.flatMap((h) => h.inputs.map((i) => graph.nodes[i] as Node))].find((n) => n.dtype === 'f16');
  if (f16 !== undefined) return `f16 graph inputs, outputs and host-op values are not supported yet (%${f16.id})`;
  return undefined;
}

function toOrt(ort: Ort, t: Tensor, dtype: Exclude<DType, 'f16'>): import('onnxruntime-node').Tensor {
  const d = t.data;
  const data =
    dtype === 'f32'
      ? d instanceof Float32Array
        ? d
        : Float32Array.from(d)
      : dtype === 'i32'
        ? d instanceof Int32Array
          ? d
          : Int32Array.from(d)
        : d instanceof Uint8Array
          ? d
          : Uint8Array.from(d, (v) => (v ? 1 : 0));
  return new ort.Tensor(ORT_TYPE[dtype], data, [...t.shape]);
}

/**
 * An output ONNX Runtime allocated for this run alone (the run passed no preallocated fetch): its
 * array belongs to the caller, so it is wrapped, not copied (the copy was 10% of a 1024² matmul).
 */
function ownedFromOrt(v: import('onnxruntime-node').Tensor, dtype: DType): Tensor {
  return { dtype, shape: [...v.dims], data: v.data as Tensor['data'] };
}

/** A copy of an output, for buffers ONNX Runtime writes again on the next run (segmented.ts). */
function fromOrt(v: import('onnxruntime-node').Tensor, dtype: DType): Tensor {
  const shape = [...v.dims];
  if (dtype === 'i32') return { dtype, shape, data: Int32Array.from(v.data as Int32Array) };
  if (dtype === 'bool') return { dtype, shape, data: Uint8Array.from(v.data as Uint8Array) };
  return { dtype, shape, data: Float32Array.from(v.data as Float32Array) };
}

/** Tensors between Scion and ONNX Runtime, as the segments and the resident step use them. */
export function tensorBridge(ort: Ort): Omit<OrtBridge, 'session'> {
  return {
    toOrt: (t, node) => toOrt(ort, t, node.dtype as Exclude<DType, 'f16'>),
    fromOrt: (v, node) => fromOrt(v, node.dtype),
    empty: (node) => {
      const n = node.shape.reduce((a, b) => a * b, 1);
      const dtype = node.dtype as Exclude<DType, 'f16'>;
      const data = dtype === 'f32' ? new Float32Array(n) : dtype === 'i32' ? new Int32Array(n) : new Uint8Array(n);
      return new ort.Tensor(ORT_TYPE[dtype], data, [...node.shape]);
    },
  };
}

export function createCpuBackend(ort: Ort): Backend {
  const held = new HeldValues<{ session: Promise<Session>; segmented: Map<string, SegmentedRun> }>('cpu');
  const live = new Set<Promise<Session>>();
  // The graph ONNX Runtime runs for each graph given, its draws on the host; kept for the hoisted
  // graph too, so a caller handed that one (the resident step) gets the same draws.
  const hoisted = new WeakMap<Graph, HostDraws>();
  const drawsOf = (g: Graph): HostDraws => {
    let h = hoisted.get(g);
    if (h === undefined) {
      h = hoistDraws(g);
      hoisted.set(g, h);
      hoisted.set(h.graph, h);
    }
    return h;
  };
  /** The values a run feeds: those held, and the draws computed from them. */
  const withDraws = (g: Graph, values: ReadonlyMap<string, Tensor>): ReadonlyMap<string, Tensor> => {
    const h = drawsOf(g);
    return h.draws.length === 0 ? values : new Map([...values, ...h.values((name) => values.get(name))]);
  };
  const createSession = (g: Graph): Promise<Session> => {
    const model = encodeModel(toOnnx(g, { name: 'scion' })).model;
    const session = ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: availableParallelism(),
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      // Spinning worker threads starve each other on a busy machine: the DiT step on 2 shared
      // cores took 1,420 ms spinning, 363 ms without (bench/onnx-train-step.ts's workload).
      // Denormals flushed to zero: as training goes on, values (squares of tiny gradients, decaying
      // moments) fall below f32's normal range, and x86 takes a slow path for each; the main job's
      // step went from 0.13 s at the start to 0.27 s by step 800 with them, and stays near 0.16 s
      // without (1200 steps: 274 → 184 s). ONNX Runtime sets FTZ/DAZ on the threads that run the
      // session, the calling one included, so JavaScript arithmetic in this process flushes too
      // afterwards (below 1.2e-38 in f32, 2.2e-308 in f64): far under every tolerance the
      // reference is held to, and docs/architecture.md says so.
      extra: { session: { intra_op: { allow_spinning: '0' }, set_denormal_as_zero: '1' } },
    });
    live.add(session);
    return session;
  };
  const sessionOf = (g: Graph): Promise<Session> => {
    const s = held.of(g);
    if (s.session === undefined) {
      const why = refusal(g);
      if (why !== undefined) return Promise.reject(new Error(`cpu backend: ${why}`));
      s.session = createSession(drawsOf(g).graph);
    }
    return s.session;
  };
  /** The graph's steps around its host ops for these outputs (undefined when it has none). */
  const segmentsOf = (g: Graph, want: readonly string[]): SegmentedRun | undefined => {
    if (!hasHostOps(g)) return undefined;
    const why = refusal(g);
    if (why !== undefined) throw new Error(`cpu backend: ${why}`);
    const s = held.of(g);
    s.segmented ??= new Map();
    const key = want.join('\0');
    let r = s.segmented.get(key);
    if (r === undefined) {
      const h = drawsOf(g).graph;
      const steps = segmentedRun(h, partitionAtHostOps(h, want), { session: createSession, ...bridge });
      r = { sessions: steps.sessions, run: (values) => steps.run(withDraws(g, values)) };
      s.segmented.set(key, r);
    }
    return r;
  };
  const bridge = tensorBridge(ort);
  return {
    name: 'cpu',
    async compile(graph) {
      const segments = segmentsOf(
        graph,
        graph.outputs.map((o) => o.name),
      );
      await (segments === undefined ? sessionOf(graph) : Promise.all(segments.sessions));
    },
    async write(graph, values) {
      held.write(graph, values);
    },
    async run(graph, feeds, outputs) {
      const s = held.write(graph, feeds);
      const want = outputs ?? graph.outputs.map((o) => o.name);
      const segments = segmentsOf(graph, want);
      if (segments !== undefined) {
        s.outputs = await segments.run(s.values);
        return new Map(s.outputs);
      }
      const session = await sessionOf(graph);
      const sources = new Map(
        drawsOf(graph)
          .graph.nodes.filter((n) => n.op === 'input' || n.op === 'param')
          .map((n) => [n.attrs['name'] as string, n]),
      );
      const values = withDraws(graph, s.values);
      const input: Record<string, import('onnxruntime-node').Tensor> = {};
      for (const name of session.inputNames) {
        const node = sources.get(name) as Node;
        const t = values.get(name);
        if (t === undefined)
          throw new Error(`cpu backend: missing ${node.op === 'param' ? 'parameter' : 'input'} '${name}' (${node.dtype}[${node.shape.join(',')}])`);
        if (t.shape.length !== node.shape.length || t.shape.some((d, i) => d !== node.shape[i]))
          throw new Error(`cpu backend: '${name}' has shape [${t.shape.join(',')}], the graph expects [${node.shape.join(',')}]`);
        input[name] = toOrt(ort, t, node.dtype as Exclude<DType, 'f16'>);
      }
      const got = await session.run(input, [...want]);
      s.outputs = new Map(
        want.map((name) => {
          const o = graph.outputs.find((x) => x.name === name);
          if (o === undefined) throw new Error(`cpu backend: the graph has no output '${name}'`);
          return [name, ownedFromOrt(got[name] as import('onnxruntime-node').Tensor, (graph.nodes[o.node] as Node).dtype)];
        }),
      );
      return new Map(s.outputs);
    },
    async read(graph, names) {
      return held.read(graph, names);
    },
    // A training job's whole step, its state kept here between runs (resident.ts).
    resident: (graph, carry) =>
      cpuResident(drawsOf(graph).graph, carry, {
        ...bridge,
        draws: drawsOf,
        session: sessionOf,
        segments: segmentsOf,
      }),
    dispose: () => {
      for (const p of live) p.then((s) => s.release()).catch(() => undefined);
      live.clear();
    },
  };
}

/** The registry's entry: opens when onnxruntime-node loads and every op of the graph exports. */
export const CPU: BackendEntry = {
  title: 'ONNX Runtime on the CPU',
  open: async (graph) => {
    const why = refusal(graph);
    if (why !== undefined) return { reason: why };
    let ort: Ort;
    try {
      ort = await import('onnxruntime-node');
    } catch (error) {
      return { reason: `onnxruntime-node does not load (${(error as Error).message.split('\n')[0]})` };
    }
    return createCpuBackend(ort);
  },
};
