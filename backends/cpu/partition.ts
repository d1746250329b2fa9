// Splitting a graph at its host ops (OP_TRAITS class 'host': the singular values and their VJP,
// which run on the CPU between GPU dispatches on WebGPU too) so ONNX Runtime runs the rest: the
// graph becomes alternating steps — an ONNX segment, the host ops it feeds, the next segment, … —
// and values cross between them as tensors keyed by their node id.
//
// Stages: a host op runs after the segment of the latest stage among its operands; a node reading
// a host op's result belongs to the next segment. So each segment is as large as the host ops
// allow, and the BA-LoRA step (forward to Z, σ(Z), rest of forward and backward to dσ, the VJP,
// the rest) is three segments around two host ops.

import type { Graph, GraphOutput, Node } from '../../compiler/ir/graph.ts';
import { OP_TRAITS } from '../../compiler/ir/op-traits.ts';
import type { Op } from '../../compiler/ir/ops.ts';

/** The name a crossing value has in a segment's ONNX graph (`%` never starts a Scion name). */
export const crossName = (id: number): string => `%v${id}`;

export type Step =
  /** An ONNX segment: its own graph (inputs and params by their Scion names, values from earlier steps as `%v<id>` inputs) and the ids it hands on, as `%v<id>` outputs. */
  | { readonly kind: 'onnx'; readonly graph: Graph; readonly exports: readonly number[] }
  /** A host op of the original graph, run by its CPU reference kernel. */
  | { readonly kind: 'host'; readonly node: Node };

export interface Partition {
  readonly steps: readonly Step[];
  /** The wanted outputs: each name with the original node that holds its value. */
  readonly outputs: readonly GraphOutput[];
}

const isSource = (n: Node): boolean => n.op === 'input' || n.op === 'param';
/** Host ops run on the CPU: the one place this is decided is the op's OP_TRAITS class. */
export const isHostOp = (op: Op): boolean => OP_TRAITS[op].class === 'host';
const isHost = (n: Node): boolean => isHostOp(n.op);

/** Whether `graph` has a host op (when not, ONNX Runtime runs the graph whole). */
export const hasHostOps = (graph: Graph): boolean => graph.nodes.some(isHost);

function outputsOf(graph: Graph, wanted: readonly string[]): GraphOutput[] {
  return wanted.map((name) => {
    const o = graph.outputs.find((x) => x.name === name);
    if (o === undefined) throw new Error(`cpu backend: the graph has no output '${name}'`);
    return o;
  });
}

function liveSet(graph: Graph, outputs: readonly GraphOutput[]): Uint8Array {
  const live = new Uint8Array(graph.nodes.length);
  for (const o of outputs) live[o.node] = 1;
  for (let id = graph.nodes.length - 1; id >= 0; id--) if (live[id]) for (const i of (graph.nodes[id] as Node).inputs) live[i] = 1;
  return live;
}

/** The steps that compute `wanted` outputs of `graph`, in the order they run. */
export function partitionAtHostOps(graph: Graph, wanted: readonly string[]): Partition {
  const outputs = outputsOf(graph, wanted);
  const live = liveSet(graph, outputs);
  const stage = new Int32Array(graph.nodes.length);
  let last = 0;
  for (const n of graph.nodes) {
    if (!live[n.id] || isSource(n)) continue;
    let s = 0;
    for (const i of n.inputs) {
      const src = graph.nodes[i] as Node;
      if (!isSource(src)) s = Math.max(s, (stage[i] as number) + (isHost(src) && !isHost(n) ? 1 : 0));
    }
    stage[n.id] = s;
    last = Math.max(last, s);
  }
  // Who reads each value from outside its own segment: host ops, later segments, the outputs.
  const crossing = new Uint8Array(graph.nodes.length);
  for (const n of graph.nodes) {
    if (!live[n.id] || isSource(n)) continue;
    for (const i of n.inputs) {
      const src = graph.nodes[i] as Node;
      if (!isSource(src) && !isHost(src) && (isHost(n) || stage[i] !== stage[n.id])) crossing[i] = 1;
    }
  }
  for (const o of outputs) crossing[o.node] = 1;

  const steps: Step[] = [];
  for (let s = 0; s <= last; s++) {
    const members = graph.nodes.filter((n) => live[n.id] && !isSource(n) && !isHost(n) && stage[n.id] === s);
    if (members.length > 0) steps.push(segment(graph, members, crossing));
    for (const n of graph.nodes) if (live[n.id] && isHost(n) && stage[n.id] === s) steps.push({ kind: 'host', node: n });
  }
  return { steps, outputs };
}

/** One segment's own graph: its nodes renumbered, sources copied in, earlier values as inputs. */
function segment(graph: Graph, members: readonly Node[], crossing: Uint8Array): Step {
  const nodes: Node[] = [];
  const local = new Map<number, number>();
  const bring = (id: number): number => {
    const hit = local.get(id);
    if (hit !== undefined) return hit;
    const src = graph.nodes[id] as Node;
    // A source keeps its name (fed from the held values); anything else came from an earlier step,
    // an input with every attr the builder checks (export rewrites segments: fold-batch-sums.ts).
    const attrs = isSource(src) ? src.attrs : { name: crossName(id), shape: src.shape, dtype: src.dtype };
    const node: Node = { id: nodes.length, op: isSource(src) ? src.op : 'input', inputs: [], attrs, dtype: src.dtype, shape: src.shape };
    nodes.push(node);
    local.set(id, node.id);
    return node.id;
  };
  for (const n of members) {
    const inputs = n.inputs.map(bring);
    const copy: Node = { ...n, id: nodes.length, inputs };
    nodes.push(copy);
    local.set(n.id, copy.id);
  }
  const exports = members.filter((n) => crossing[n.id] === 1).map((n) => n.id);
  return { kind: 'onnx', graph: { nodes, outputs: exports.map((id) => ({ name: crossName(id), node: local.get(id) as number })) }, exports };
}
