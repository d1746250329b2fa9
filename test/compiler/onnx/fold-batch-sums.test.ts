// fold-batch-sums.ts: a batched product summed over its batch becomes one GEMM before ONNX export —
// IR text in → IR text out, the same values on the f64 reference, and the cases it must leave alone.

import { describe, expect, it } from 'vitest';
import { foldBatchSums } from '../../../compiler/codegen/onnx/fold-batch-sums.ts';
import type { Graph } from '../../../compiler/ir/graph.ts';
import { parseGraph, printGraph } from '../../../compiler/ir/text.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import { eliminateDead } from '../../../compiler/passes/eliminate-dead.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { tensor } from '../../../runtime/cpu/tensor.ts';
import { maxRelErr } from '../ops/harness.ts';

const fold = (g: Graph): Graph => {
  const out = eliminateDead(foldBatchSums(g));
  verifyGraph(out);
  return out;
};

/** Deterministic values in (−1, 1), not a pattern the sums could cancel. */
const values = (n: number, seed: number): number[] => Array.from({ length: n }, (_v, i) => Math.sin(1.7 * i + seed) * 0.9);

function sameValues(g: Graph, inputs: Record<string, number[]>): void {
  const feeds = new Map(
    g.nodes
      .filter((n) => n.op === 'input')
      .map((n, k) => {
        const name = n.attrs['name'] as string;
        const size = n.shape.reduce((p, d) => p * d, 1);
        return [name, tensor(inputs[name] ?? values(size, k), n.shape)] as const;
      }),
  );
  const want = runGraph(g, feeds, { dtype: 'f64' }).get('dw')?.data ?? [];
  const got = runGraph(fold(g), feeds, { dtype: 'f64' }).get('dw')?.data ?? [0];
  expect(want.length).toBeGreaterThan(0);
  expect(maxRelErr(got, want)).toBeLessThan(1e-12);
}

// A Linear's weight gradient as autodiff writes it: Σ_b x_bᵀ·g_b with x [B, T, K], g [B, T, N].
const LINEAR_DW = `
%0: f32[2,3,4] = input {name="x"}
%1: f32[2,3,5] = input {name="g"}
%2: f32[2,4,3] = permute %0 {perm=[0,2,1]}
%3: f32[2,4,5] = matmul %2, %1
%4: f32[4,5] = reduce_sum %3 {axes=[0], keepdim=false}
output "dw" = %4
`;

describe('foldBatchSums', () => {
  it("folds a Linear's weight gradient into one GEMM over B·T rows (the transpose stays a transpose)", () => {
    expect(printGraph(fold(parseGraph(LINEAR_DW)))).toBe(`%0: f32[2,3,4] = input {name="x"}
%1: f32[2,3,5] = input {name="g"}
%2: f32[6,4] = reshape %0 {shape=[6,4]}
%3: f32[4,6] = permute %2 {perm=[1,0]}
%4: f32[6,5] = reshape %1 {shape=[6,5]}
%5: f32[4,5] = matmul %3, %4
output "dw" = %5
`);
    sameValues(parseGraph(LINEAR_DW), {});
  });

  it('folds any left operand over two batch axes (permuted to [K, B·M])', () => {
    const g = parseGraph(`
%0: f32[2,2,4,3] = input {name="a"}
%1: f32[2,2,3,5] = input {name="g"}
%2: f32[2,2,4,5] = matmul %0, %1
%3: f32[4,5] = reduce_sum %2 {axes=[0,1], keepdim=false}
output "dw" = %3
`);
    expect(
      fold(g)
        .nodes.filter((n) => n.op === 'matmul')
        .map((n) => n.shape),
    ).toEqual([[4, 5]]);
    expect(fold(g).nodes.some((n) => n.op === 'reduce_sum')).toBe(false);
    sameValues(g, {});
  });

  it('leaves a product used elsewhere, a kept dim, a partial batch sum and a broadcast batch alone', () => {
    const untouched = [
      LINEAR_DW.replace('output "dw" = %4', 'output "dw" = %4\noutput "p" = %3'),
      LINEAR_DW.replace('%4: f32[4,5] = reduce_sum %3 {axes=[0], keepdim=false}', '%4: f32[1,4,5] = reduce_sum %3 {axes=[0], keepdim=true}'),
      `
%0: f32[2,2,4,3] = input {name="a"}
%1: f32[2,2,3,5] = input {name="g"}
%2: f32[2,2,4,5] = matmul %0, %1
%3: f32[2,4,5] = reduce_sum %2 {axes=[0], keepdim=false}
output "dw" = %3
`,
      `
%0: f32[1,4,3] = input {name="a"}
%1: f32[2,3,5] = input {name="g"}
%2: f32[2,4,5] = matmul %0, %1
%3: f32[4,5] = reduce_sum %2 {axes=[0], keepdim=false}
output "dw" = %3
`,
    ];
    for (const text of untouched) expect(printGraph(fold(parseGraph(text)))).toBe(printGraph(eliminateDead(parseGraph(text))));
  });
});
