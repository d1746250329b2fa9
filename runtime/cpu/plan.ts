// The per-graph execution plan of the CPU interpreter, computed once per (graph, wanted outputs)
// and cached on the graph object (graphs are immutable): which nodes run, where each buffer is last
// read, which permutes are views, and the pool its released buffers are recycled through. A permute read only by ops that take strided operands
// (VIEW_READERS) is not materialized: it passes its source buffer on, and the readers get the
// permuted strides (KernelCtx.strides). In the llama and DiT training graphs every transpose
// of a weight or of q/k/v feeds a matmul, so this removes all of those copies.

import type { Graph, Node } from '../../compiler/ir/graph.ts';
import type { Op } from '../../compiler/ir/ops.ts';
import { BufferPool } from './buffer-pool.ts';
import { stridesOf } from './kernel.ts';

/** Ops whose kernels read operands through KernelCtx.strides. */
export const VIEW_READERS: ReadonlySet<Op> = new Set<Op>(['matmul']);

export interface Plan {
  /** Node ids to run, in order. */
  readonly order: Int32Array;
  /** The node whose kernel reads each node last (-1: none); buffers are dropped after it. */
  readonly lastUse: Int32Array;
  /** 1 for wanted outputs: never dropped. */
  readonly pinned: Uint8Array;
  /** Permutes that are views: the element strides of the view over its source buffer. */
  readonly viewStrides: ReadonlyMap<number, readonly number[]>;
  /** Per node, its operands' view strides (only for nodes with at least one view operand). */
  readonly operandStrides: ReadonlyMap<number, readonly (readonly number[] | undefined)[]>;
  readonly inNodes: readonly (readonly Node[])[];
  /** Buffers recycled across runs of this plan, per working precision. */
  readonly pools: { readonly f32: BufferPool; readonly f64: BufferPool };
}

const PLANS = new WeakMap<Graph, Map<string, Plan>>();

/** The plan for running `graph` to produce the outputs at `wanted` node ids (cached). */
export function planOf(graph: Graph, wanted: readonly number[]): Plan {
  const key = wanted.join(',');
  let perGraph = PLANS.get(graph);
  if (!perGraph) PLANS.set(graph, (perGraph = new Map()));
  let plan = perGraph.get(key);
  if (!plan) perGraph.set(key, (plan = makePlan(graph, wanted)));
  return plan;
}

function makePlan(graph: Graph, wanted: readonly number[]): Plan {
  const nodes = graph.nodes;
  const n = nodes.length;
  const live = new Uint8Array(n);
  const pinned = new Uint8Array(n);
  for (const o of wanted) live[o] = pinned[o] = 1;
  const lastUse = new Int32Array(n).fill(-1);
  // Whether every live reader of a node takes strided operands.
  const viewReadersOnly = new Uint8Array(n).fill(1);
  for (let i = n - 1; i >= 0; i--) {
    if (!live[i]) continue;
    const node = nodes[i] as Node;
    for (const j of node.inputs) {
      live[j] = 1;
      if (lastUse[j] === -1) lastUse[j] = i;
      if (!VIEW_READERS.has(node.op)) viewReadersOnly[j] = 0;
    }
  }
  const order: number[] = [];
  const viewStrides = new Map<number, readonly number[]>();
  const operandStrides = new Map<number, (readonly number[] | undefined)[]>();
  const inNodes: Node[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    if (!live[i]) continue;
    order.push(i);
    const node = nodes[i] as Node;
    inNodes[i] = node.inputs.map((j) => nodes[j] as Node);
    if (node.op === 'permute' && !pinned[i] && viewReadersOnly[i] && lastUse[i] !== -1) {
      const st = stridesOf((nodes[node.inputs[0] as number] as Node).shape);
      viewStrides.set(
        i,
        (node.attrs['perm'] as readonly number[]).map((p) => st[p] as number),
      );
    }
    if (node.inputs.some((j) => viewStrides.has(j)))
      operandStrides.set(
        i,
        node.inputs.map((j) => viewStrides.get(j)),
      );
  }
  const pools = { f32: new BufferPool((k) => new Float32Array(k)), f64: new BufferPool((k) => new Float64Array(k)) };
  return { order: Int32Array.from(order), lastUse, pinned, viewStrides, operandStrides, inNodes, pools };
}
