// The CPU interpreter: runs a graph node by node in f32 (Float32Array) or f64 (Float64Array,
// for gradient checks). Buffers are dropped after their last use so peak memory tracks liveness.
//
// Example:
//   const out = runGraph(graph, new Map([['x', tensor([1, 2], [2])]]), { dtype: 'f32' });
//   out.get('y')?.data;

import type { Graph, Node } from '../../compiler/ir/graph.ts';
import { CPU_KERNELS } from './kernels.ts';
import type { FloatArray, Tensor } from './tensor.ts';

export interface RunOptions {
  /** Working precision of every float (and index) computation. */
  dtype: 'f32' | 'f64';
  /** Only these outputs (default: all). */
  outputs?: readonly string[];
}

function toHost(node: Node, buf: FloatArray): Tensor {
  const shape = [...node.shape];
  if (node.dtype === 'i32') return { dtype: 'i32', shape, data: Int32Array.from(buf) };
  if (node.dtype === 'bool') return { dtype: 'bool', shape, data: Uint8Array.from(buf) };
  return { dtype: node.dtype, shape, data: buf };
}

/** Runs the graph; inputs and params are both looked up by name in `inputs`. */
export function runGraph(graph: Graph, inputs: ReadonlyMap<string, Tensor>, opts: RunOptions): Map<string, Tensor> {
  const wanted = opts.outputs ? graph.outputs.filter((o) => opts.outputs?.includes(o.name)) : graph.outputs;
  if (opts.outputs) {
    for (const name of opts.outputs) if (!wanted.some((o) => o.name === name)) throw new Error(`runGraph: no output named '${name}'`);
  }
  const alloc = opts.dtype === 'f64' ? (n: number): FloatArray => new Float64Array(n) : (n: number): FloatArray => new Float32Array(n);

  // Only nodes the wanted outputs depend on run; each buffer is released after its last reader.
  const n = graph.nodes.length;
  const live = new Uint8Array(n);
  const pinned = new Uint8Array(n);
  for (const o of wanted) live[o.node] = pinned[o.node] = 1;
  const lastUse = new Int32Array(n).fill(-1);
  for (let i = n - 1; i >= 0; i--) {
    if (!live[i]) continue;
    for (const j of (graph.nodes[i] as Node).inputs) {
      live[j] = 1;
      if (lastUse[j] === -1) lastUse[j] = i;
    }
  }

  const values: (FloatArray | undefined)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    if (!live[i]) continue;
    const node = graph.nodes[i] as Node;
    const inNodes = node.inputs.map((j) => graph.nodes[j] as Node);
    const ins = node.inputs.map((j) => values[j] ?? fail(`%${j} was released before %${i} read it`));
    values[i] = CPU_KERNELS[node.op]({ node, ins, inNodes, feeds: inputs, alloc });
    for (const j of node.inputs) if (lastUse[j] === i && !pinned[j]) values[j] = undefined;
  }

  const out = new Map<string, Tensor>();
  for (const o of wanted) out.set(o.name, toHost(graph.nodes[o.node] as Node, values[o.node] as FloatArray));
  return out;
}

function fail(msg: string): never {
  throw new Error(`runGraph bug: ${msg}`);
}
