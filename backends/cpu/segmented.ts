// Running a partitioned graph (partition.ts): each ONNX segment in its own ONNX Runtime session,
// each host op by its CPU reference kernel (in f64, as the reference backend runs it), values
// handed between steps as host tensors. Used for the graphs whose wanted outputs need a host op;
// every other graph runs as one session (index.ts).
//
// A value that only crosses (read by a later step, not a wanted output) is written by ONNX Runtime
// straight into a buffer of this run's, kept for the next runs, and read from there: on the
// BA-LoRA step the first segment hands the last 207 values (123 MB, the forward's activations the
// backward reads), which were copied twice a step (out of ORT, then Float32Array.from).

import type { Graph, Node } from '../../compiler/ir/graph.ts';
import { CPU_KERNELS } from '../../runtime/cpu/kernels.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { crossName, type Partition } from './partition.ts';

type OrtTensor = import('onnxruntime-node').Tensor;
type Session = import('onnxruntime-node').InferenceSession;

/** What the segments need from index.ts: a session for a graph, and tensor conversion both ways. */
export interface OrtBridge {
  session(graph: Graph): Promise<Session>;
  toOrt(t: Tensor, node: Node): OrtTensor;
  fromOrt(v: OrtTensor, node: Node): Tensor;
  /** A zeroed tensor of the node's dtype and shape, for a preallocated output. */
  empty(node: Node): OrtTensor;
}

export interface SegmentedRun {
  /** Runs every step on the held inputs and params (by name) and returns the wanted outputs. */
  run(values: ReadonlyMap<string, Tensor>): Promise<Map<string, Tensor>>;
  /** The segments' sessions, for dispose. */
  readonly sessions: readonly Promise<Session>[];
}

export function segmentedRun(graph: Graph, partition: Partition, bridge: OrtBridge): SegmentedRun {
  const sessions = partition.steps.map((s) => (s.kind === 'onnx' ? bridge.session(s.graph) : undefined));
  // Per crossing value that is no wanted output: the buffer ONNX Runtime writes it into, every run.
  // Runs of one graph do not overlap (each awaits the last), so one buffer each is enough.
  const wanted = new Set(partition.outputs.map((o) => o.node));
  const buffers = new Map<number, OrtTensor>();
  const bufferOf = (id: number): OrtTensor => {
    let b = buffers.get(id);
    if (b === undefined) {
      b = bridge.empty(graph.nodes[id] as Node);
      buffers.set(id, b);
    }
    return b;
  };
  const source = (values: ReadonlyMap<string, Tensor>, node: Node): Tensor => {
    const name = node.attrs['name'] as string;
    const t = values.get(name);
    if (t === undefined)
      throw new Error(`cpu backend: missing ${node.op === 'param' ? 'parameter' : 'input'} '${name}' (${node.dtype}[${node.shape.join(',')}])`);
    return t;
  };
  return {
    sessions: sessions.filter((s) => s !== undefined),
    async run(values) {
      const crossed = new Map<number, Tensor>();
      const tensorOf = (node: Node): Tensor =>
        node.op === 'input' || node.op === 'param' ? source(values, node) : (crossed.get(node.id) ?? fail(`%${node.id} was not computed before its use`));
      for (const [k, step] of partition.steps.entries()) {
        if (step.kind === 'host') {
          const inNodes = step.node.inputs.map((i) => graph.nodes[i] as Node);
          const ins = inNodes.map((n) => Float64Array.from(tensorOf(n).data));
          const out = CPU_KERNELS[step.node.op]({ node: step.node, ins, inNodes, feeds: new Map(), alloc: (n) => new Float64Array(n) });
          crossed.set(step.node.id, { dtype: step.node.dtype, shape: [...step.node.shape], data: Float32Array.from(out) });
          continue;
        }
        const session = await (sessions[k] as Promise<Session>);
        const feeds: Record<string, OrtTensor> = {};
        for (const n of step.graph.nodes) {
          if (n.op !== 'input' && n.op !== 'param') continue;
          const name = n.attrs['name'] as string;
          const id = name.startsWith('%v') ? Number(name.slice(2)) : undefined;
          feeds[name] = bridge.toOrt(id === undefined ? source(values, n) : tensorOf(graph.nodes[id] as Node), n);
        }
        const fetches: Record<string, OrtTensor | null> = {};
        for (const id of step.exports) fetches[crossName(id)] = wanted.has(id) ? null : bufferOf(id);
        const got = await session.run(feeds, fetches);
        for (const id of step.exports) {
          const node = graph.nodes[id] as Node;
          // A wanted output is the caller's to keep, so it is copied; a crossing is read in place.
          const v = got[crossName(id)] as OrtTensor;
          crossed.set(id, wanted.has(id) ? bridge.fromOrt(v, node) : { dtype: node.dtype, shape: [...node.shape], data: v.data as Tensor['data'] });
        }
      }
      return new Map(partition.outputs.map((o) => [o.name, tensorOf(graph.nodes[o.node] as Node)]));
    },
  };
}

function fail(why: string): never {
  throw new Error(`cpu backend (segmented run): ${why}`);
}
