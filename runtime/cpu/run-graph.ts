// The CPU interpreter: runs a graph node by node in f32 (Float32Array) or f64 (Float64Array,
// for gradient checks). Buffers are dropped after their last use so peak memory tracks liveness;
// the schedule (plan.ts) is computed once per graph and cached.
//
// Example:
//   const out = runGraph(graph, new Map([['x', tensor([1, 2], [2])]]), { dtype: 'f32' });
//   out.get('y')?.data;

import type { Graph, Node } from '../../compiler/ir/graph.ts';
import type { KernelCtx } from './kernel.ts';
import { CPU_KERNELS } from './kernels.ts';
import { planOf, type Plan } from './plan.ts';
import type { BufferPool } from './buffer-pool.ts';
import type { FloatArray, Tensor } from './tensor.ts';

export interface RunOptions {
  /** Working precision of every float (and index) computation. */
  dtype: 'f32' | 'f64';
  /** Only these outputs (default: all). */
  outputs?: readonly string[];
  /** When given, milliseconds spent per op are added into it (for bench/reference-train-step.ts --profile). */
  profile?: Map<string, number>;
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
  // Only nodes the wanted outputs depend on run; each buffer is released after its last reader
  // into the plan's pool, where the next kernel (or the next run) asking for that size gets it.
  const plan = planOf(
    graph,
    wanted.map((o) => o.node),
  );
  const pool = plan.pools[opts.dtype];
  let values: (FloatArray | undefined)[];
  try {
    values = execute(graph, plan, inputs, pool, opts.profile);
  } finally {
    pool.endRun();
  }
  const out = new Map<string, Tensor>();
  for (const o of wanted) out.set(o.name, toHost(graph.nodes[o.node] as Node, values[o.node] as FloatArray));
  return out;
}

function execute(
  graph: Graph,
  plan: Plan,
  feeds: ReadonlyMap<string, Tensor>,
  pool: BufferPool,
  profile: Map<string, number> | undefined,
): (FloatArray | undefined)[] {
  const alloc = (n: number): FloatArray => pool.alloc(n);
  const values: (FloatArray | undefined)[] = new Array(graph.nodes.length);
  for (const i of plan.order) {
    const node = graph.nodes[i] as Node;
    const ins = node.inputs.map((j) => values[j] ?? fail(`%${j} was released before %${i} read it`));
    const t0 = profile ? performance.now() : 0;
    if (plan.viewStrides.has(i)) values[i] = ins[0];
    else {
      const inNodes = plan.inNodes[i] as Node[];
      const strides = plan.operandStrides.get(i);
      const ctx: KernelCtx = strides ? { node, ins, inNodes, feeds, alloc, strides } : { node, ins, inNodes, feeds, alloc };
      values[i] = CPU_KERNELS[node.op](ctx);
    }
    pool.hold(values[i] as FloatArray);
    if (profile) profile.set(node.op, (profile.get(node.op) ?? 0) + performance.now() - t0);
    for (const j of node.inputs) {
      const v = values[j];
      // (v is undefined on the second visit of an operand read twice, as in mul(x, x).)
      if (plan.lastUse[j] !== i || plan.pinned[j] || v === undefined) continue;
      pool.release(v);
      values[j] = undefined;
    }
  }
  return values;
}

function fail(msg: string): never {
  throw new Error(`runGraph bug: ${msg}`);
}
