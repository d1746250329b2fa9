// split-reductions.ts: long reductions become two passes with the same values (the split graph
// against the original on the f64 reference, which fixes the meaning of every op), the first pass
// its own kernel, and the critical path (kernel/cost.ts) worked out by hand for a column sum.

import { describe, expect, it } from 'vitest';
import { costReport } from '../../../compiler/kernel/cost.ts';
import { splitReductions } from '../../../compiler/kernel/split-reductions.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import { compileGraph } from '../../../compiler/pipeline.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { tensor, type Tensor } from '../../../runtime/cpu/tensor.ts';
import { randomF32 } from '../../runtime/webgpu/gpu-fixture.ts';
import { LONG_REDUCTIONS } from './long-reductions.ts';

const feedsOf = (inputs: Record<string, number[]>): Map<string, Tensor> =>
  new Map(
    Object.entries(inputs).map(([k, s], i) => [
      k,
      tensor(
        Array.from(
          randomF32(
            s.reduce((a, d) => a * d, 1),
            7 + i,
          ),
        ),
        s,
      ),
    ]),
  );

describe('split-reductions', () => {
  it.each(LONG_REDUCTIONS.map((c) => [c.name, c] as const))('%s: same values on the f64 reference, in two passes', (_n, c) => {
    const split = splitReductions(c.graph);
    verifyGraph(split.graph);
    expect(split.partials.size).toBe(1);
    const feeds = feedsOf(c.inputs);
    const want = runGraph(c.graph, feeds, { dtype: 'f64' }).get('y') as Tensor;
    const got = runGraph(split.graph, feeds, { dtype: 'f64' }).get('y') as Tensor;
    expect(got.shape).toEqual(want.shape);
    const err = Math.max(...Array.from(want.data, (w, i) => Math.abs((got.data[i] as number) - w) / Math.max(1, Math.abs(w))));
    expect(err).toBeLessThan(1e-12);
  });

  it('leaves reductions shorter than SPLIT_MIN alone', () => {
    const short = LONG_REDUCTIONS[0] as (typeof LONG_REDUCTIONS)[0];
    expect(splitReductions(short.graph, 5000).partials.size).toBe(0);
  });

  it('a column sum over 4096 rows: 64 chunks on 512 threads, then 8 threads of 64 steps', () => {
    const c = LONG_REDUCTIONS[0] as (typeof LONG_REDUCTIONS)[0];
    const serial = compileGraph(c.graph, { reductions: 'serial' });
    const split = compileGraph(c.graph);
    // serial: one thread per column, 4096 rows each (+ its one store)
    expect(costReport(serial.optimized, serial).kernels.map((k) => [k.threads, k.loop])).toEqual([[64, 1 + 4096]]);
    // split: [64 chunks, 8 columns] partial sums of 64 rows, then the 8 columns sum 64 partials
    expect(costReport(split.optimized, split).kernels.map((k) => [k.threads, k.loop])).toEqual([
      [512, 1 + 64],
      [64, 1 + 64],
    ]);
  });
});
