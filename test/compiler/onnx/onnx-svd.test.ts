// The singular values' ONNX form (compiler/codegen/onnx/onnx-svd.ts) beyond the op cases: the
// round-robin tables meet every column pair exactly once per sweep with disjoint pairs per round,
// and σ and its VJP match the f64 reference on random batched matrices of the shapes the Loop
// treats differently (tall, wide, odd n padded, n = 1, BA-LoRA's [16, 64]).

import { describe, expect, it } from 'vitest';
import { roundRobin } from '../../../compiler/codegen/onnx/onnx-svd.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { tensor } from '../../../runtime/cpu/tensor.ts';
import { maxRelErr } from '../ops/harness.ts';
import { runGraphInOrt, TOLERANCE } from './ort-harness.ts';

/** Deterministic values in [−0.5, 0.5). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

describe('roundRobin', () => {
  it.each([2, 4, 6, 16])('n = %i: n − 1 rounds of n/2 disjoint pairs, every pair once, inv undoes [p, q]', (n) => {
    const { p, q, inv } = roundRobin(n);
    expect(p).toHaveLength(n - 1);
    const seen = new Set<string>();
    p.forEach((pr, r) => {
      const qr = q[r] as number[];
      const order = [...pr, ...qr];
      expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_v, k) => k));
      pr.forEach((a, i) => {
        const b = qr[i] as number;
        expect(a).toBeLessThan(b);
        seen.add(`${a},${b}`);
      });
      // Gathering [p, q] by inv gives the columns back in order.
      expect((inv[r] as number[]).map((k) => order[k])).toEqual(Array.from({ length: n }, (_v, k) => k));
    });
    expect(seen.size).toBe((n * (n - 1)) / 2);
  });
});

describe('svd_values and svd_values_grad in ONNX Runtime', () => {
  it.each([
    [3, 5, 3],
    [2, 3, 7],
    [1, 16, 64],
    [2, 9, 9],
    [2, 4, 1],
  ])('batch %i of %i×%i matches the f64 reference', async (batch, m, n) => {
    const p = Math.min(m, n);
    const b = new GraphBuilder();
    const x = b.input('x', [batch, m, n]);
    b.output('s', b.svdValues(x));
    b.output('dx', b.svdValuesGrad(x, b.input('g', [batch, p])));
    const graph = b.build();
    const feeds = new Map([
      ['x', tensor(values(batch * m * n, m * 31 + n), [batch, m, n])],
      ['g', tensor(values(batch * p, 7), [batch, p])],
    ]);
    const want = runGraph(graph, feeds, { dtype: 'f64' });
    const got = await runGraphInOrt(graph, feeds);
    expect(maxRelErr(got.get('s')?.data ?? [], want.get('s')?.data ?? [])).toBeLessThanOrEqual(TOLERANCE.svd_values ?? 0);
    expect(maxRelErr(got.get('dx')?.data ?? [], want.get('dx')?.data ?? [])).toBeLessThanOrEqual(TOLERANCE.svd_values_grad ?? 0);
  });
});
