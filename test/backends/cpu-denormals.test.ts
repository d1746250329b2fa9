// --device cpu flushes denormals to zero (backends/cpu/index.ts says why: a training step slowed 2×
// as its values fell below f32's normal range). 1e-20 · 1e-20 = 1e-40 is a denormal in f32 (the
// smallest normal is 2^-126 ≈ 1.18e-38): the backend gives 0, the f64 reference keeps it.

import { describe, expect, it } from 'vitest';
import { CPU } from '../../backends/cpu/index.ts';
import { parseGraph } from '../../compiler/ir/text.ts';
import { runGraph } from '../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';

const graph = parseGraph(`%0: f32[8] = input {name="x"}
%1: f32[8] = input {name="y"}
%2: f32[8] = mul %0, %1
%3: f32[8] = add %2, %1
output "product" = %2
output "sum" = %3
`);

describe('denormals on --device cpu', () => {
  it('a product below the normal range is 0, and a normal result is unchanged', async () => {
    const tiny: Tensor = { dtype: 'f32', shape: [8], data: new Float32Array(8).fill(1e-20) };
    const feeds = new Map([
      ['x', tiny],
      ['y', tiny],
    ]);
    // The reference (in f64, no session has run yet in this process) keeps the denormal product.
    const want = runGraph(graph, feeds, { dtype: 'f64' });
    expect((want.get('product') as Tensor).data[0]).toBeCloseTo(1e-40, 45);
    const b = await CPU.open(graph, true);
    if ('reason' in b) throw new Error(b.reason);
    try {
      const got = await b.run(graph, feeds);
      expect(Array.from((got.get('product') as Tensor).data)).toEqual(new Array(8).fill(0));
      expect((got.get('sum') as Tensor).data[0]).toBe(Math.fround(1e-20));
    } finally {
      b.dispose();
    }
  });
});
