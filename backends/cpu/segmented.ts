// Running a partitioned graph (partition.ts): each ONNX segment in its own ONNX Runtime session,
// each host op by its CPU reference kernel (in f64, as the reference backend runs it), values
// handed between steps as host tensors. Used for the graphs whose wanted outputs need a host op;
// every other graph runs as one session (index.ts).

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
}

export interface SegmentedRun {
  /** Runs every step on the held inputs and params (by name) and returns the wanted outputs. */
  run(values: ReadonlyMap<string, Tensor>): Promise<Map<string, Tensor>>;
  /** The segments' sessions, for dispose. */
  readonly sessions: readonly Promise<Session>[];
}

export function segmentedRun(graph: Graph, partition: Partition, bridge: OrtBridge): SegmentedRun {
  const sessions = partition.steps.map((s) => (s.kind === 'onnx' ? bridge.session(s.graph) : undefined));
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
        const got = await session.run(feeds);
        for (const id of step.exports) crossed.set(id, bridge.fromOrt(got[crossName(id)] as OrtTensor, graph.nodes[id] as Node));
      }
      return new Map(partition.outputs.map((o) => [o.name, tensorOf(graph.nodes[o.node] as Node)]));
    },
  };
}

function fail(why: string): never {
  throw new Error(`cpu backend (segmented run): ${why}`);
}
