// Long reductions, one graph each: what split-reductions.ts rewrites. Shared by the rewrite's tests
// (test/compiler/kernel/split-reductions.test.ts: the split graph against the original on the f64
// reference, and the critical path) and the WebGPU tests (test/runtime/webgpu/ops/long-reductions.test.ts).

import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Graph, Node } from '../../../compiler/ir/graph.ts';

export interface LongReduction {
  name: string;
  graph: Graph;
  /** Input shapes, fed random values. */
  inputs: Record<string, number[]>;
  /** Terms summed (or compared) per output element. */
  length: number;
}

const one = (name: string, length: number, inputs: Record<string, number[]>, body: (b: GraphBuilder, x: Record<string, Node>) => Node): LongReduction => {
  const b = new GraphBuilder();
  const xs = Object.fromEntries(Object.entries(inputs).map(([k, s]) => [k, b.input(k, s)]));
  b.output('y', body(b, xs));
  return { name, graph: b.build(), inputs, length };
};

export const LONG_REDUCTIONS: LongReduction[] = [
  // a bias gradient: 4096 rows into 8 columns (64 chunks of 64 rows, no padding)
  one('column sum [4096, 8] over rows', 4096, { x: [4096, 8] }, (b, { x }) => b.sum(b.mul(x as Node, x as Node), 0)),
  // 5000 = 71 chunks of 71 less 41: padded with zeros
  one('mean of 5000 (padded chunks)', 5000, { x: [5000] }, (b, { x }) => b.div(b.sum(x as Node, 0), b.full(5000, []))),
  // a middle axis: moved last, strided chunks; padded with −∞
  one('max over the middle axis [3, 1500, 4]', 1500, { x: [3, 1500, 4] }, (b, { x }) => b.max(x as Node, 1, true)),
  one('sum over axes 0 and 2 of [40, 3, 30]', 1200, { x: [40, 3, 30] }, (b, { x }) => b.sum(x as Node, [0, 2])),
  // a convolution's weight gradient: 8 samples × 16 × 16 positions per weight, 2 groups
  one('conv2d weight gradient, 8 × 16 × 16 positions', 2048, { x: [8, 4, 18, 18], dy: [8, 6, 16, 16] }, (b, { x, dy }) =>
    b.conv2dGradWeight(x as Node, dy as Node, [3, 3], { groups: 2 }),
  ),
];
