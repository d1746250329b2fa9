// Shared by the adapter tests: a tiny llama with an adapter, weights as f64 arrays, CPU runs.

import type { Node } from '../../../compiler/ir/graph.ts';
import type { LoweredModel } from '../../../compiler/lower/lower-model.ts';
import type { Graph } from '../../../compiler/ir/graph.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { numel, randoms } from '../lower/helpers.ts';
import { llamaSpec } from '../lower/helpers.ts';

export { parse, numel, randoms } from '../lower/helpers.ts';

export const LLAMA = `
${llamaSpec('L', 'vocab = 11, dim = 8, depth = 2, heads = 2, kv_heads = 1, ffn = 12, ctx = 4')}
`;

export type Weights = Map<string, Float64Array>;

/** Random f64 weights for every parameter of `m`, keyed by path (stable per path order). */
export function randomWeights(m: LoweredModel, seed: number, scale = 0.4): Weights {
  return new Map(m.params.map((p, k) => [p.path, Float64Array.from(randoms(numel(p.shape), seed * 1000 + k, scale))]));
}

export const TOKENS: Tensor = { dtype: 'i32', shape: [2, 4], data: Int32Array.from([1, 4, 10, 2, 3, 3, 0, 7]) };

/** Runs `graph` in f64 with the weights of `params` and extra inputs. */
export function runWith(
  graph: Graph,
  params: readonly { path: string; shape: readonly number[] }[],
  w: Weights,
  inputs: Record<string, Tensor> = { tokens: TOKENS },
  outputs?: string[],
): Map<string, Tensor> {
  const feed = new Map<string, Tensor>(Object.entries(inputs));
  for (const p of params) {
    const data = w.get(p.path);
    if (data === undefined) throw new Error(`no weight for ${p.path}`);
    feed.set(p.path, { dtype: 'f32', shape: p.shape, data });
  }
  return runGraph(graph, feed, { dtype: 'f64', ...(outputs === undefined ? {} : { outputs }) });
}

export function data(t: Map<string, Tensor>, name: string): Float64Array {
  const v = t.get(name);
  if (v === undefined) throw new Error(`no output ${name}`);
  return v.data as Float64Array;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs((a[k] as number) - (b[k] as number)));
  return worst;
}

/** out[M, N] = a[M, K] · b[K, N] for row-major arrays. */
export function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += (a[i * k + t] as number) * (b[t * n + j] as number);
      out[i * n + j] = s;
    }
  return out;
}

export function outputNode(g: Graph, name: string): Node {
  const o = g.outputs.find((x) => x.name === name);
  if (o === undefined) throw new Error(`no output ${name}`);
  return g.nodes[o.node] as Node;
}
