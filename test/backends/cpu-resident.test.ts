// Backend.resident on the ONNX Runtime backend (backends/cpu/resident.ts), on a graph small enough
// to follow by hand: x ← 2x + a, carried from run to run, and the watched value Σ σ(x)² = Σ x²
// (the singular values' squares sum to the squared Frobenius norm) of the x the run started from.
// Once as one session (Σ x² written directly) and once with svd_values in it, which runs in
// segments around the host op. Both must carry the state, leave the caller's arrays alone, and
// hand back copies a later run cannot change. Training through it: test/jobs/train/cpu-resident.test.ts.

import { describe, expect, it } from 'vitest';
import type { Backend, ResidentGraph } from '../../backends/backend.ts';
import { CPU } from '../../backends/cpu/index.ts';
import { GraphBuilder } from '../../compiler/ir/builder.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';

function stepGraph(viaSvd: boolean): Graph {
  const b = new GraphBuilder();
  const x = b.param('x', [2, 2]);
  const a = b.input('a', [2, 2]);
  b.output('new:x', b.add(b.mul(x, b.scalar(2)), a));
  b.output('ssq', viaSvd ? b.sum(b.mul(b.svdValues(x), b.svdValues(x))) : b.sum(b.mul(x, x)));
  return b.build();
}

const t = (data: number[]): Tensor => ({ dtype: 'f32', shape: [2, 2], data: Float32Array.from(data) });
const ssq = (xs: number[]): number => xs.reduce((s, v) => s + v * v, 0);

describe.each([
  ['one session', false],
  ['segments around svd_values', true],
])('cpu backend: resident graph (%s)', (_, viaSvd) => {
  it('carries x ← 2x + a across runs and reads state back as copies', async () => {
    const graph = stepGraph(viaSvd);
    const backend = (await CPU.open(graph, true)) as Backend;
    expect('reason' in backend).toBe(false);
    const resident = backend.resident;
    if (resident === undefined) throw new Error('the cpu backend has no resident');
    const g: ResidentGraph = await resident(graph, [{ output: 'new:x', input: 'x' }]);
    try {
      expect(g.queueAhead).toBe(0);
      expect(g.transferredBytes).toBeUndefined();
      const x0 = t([1, 2, 3, 4]);
      g.write(new Map([['x', x0]]));
      // By hand: x1 = 2·x0 + a = [3, 5, 7, 9], x2 = [7, 11, 15, 19], x3 = [15, 23, 31, 39].
      const a = t([1, 1, 1, 1]);
      const seen: number[] = [];
      for (let k = 0; k < 3; k++) {
        const wait = await g.enqueue(new Map([['a', a]]), ['ssq']);
        seen.push((await wait())[0] as number);
      }
      const want = [ssq([1, 2, 3, 4]), ssq([3, 5, 7, 9]), ssq([7, 11, 15, 19])];
      seen.forEach((v, k) => expect(Math.abs(v - (want[k] as number)) / (want[k] as number), `run ${k + 1}`).toBeLessThan(1e-5));
      const read = (await g.read(['x'])).get('x') as Tensor;
      expect([...read.data]).toEqual([15, 23, 31, 39]);
      // The caller's initial array was copied in, not written over.
      expect([...x0.data]).toEqual([1, 2, 3, 4]);
      // A read is a copy the next run does not change.
      await (await g.enqueue(new Map([['a', a]]), ['ssq']))();
      expect([...read.data]).toEqual([15, 23, 31, 39]);
      expect([...((await g.read(['x'])).get('x') as Tensor).data]).toEqual([31, 47, 63, 79]);
      // A write replaces the carried state (a resume).
      g.write(new Map([['x', t([0, 0, 0, 1])]]));
      expect((await (await g.enqueue(new Map([['a', a]]), ['ssq']))())[0]).toBeCloseTo(1, 6);
      expect([...((await g.read(['x'])).get('x') as Tensor).data]).toEqual([1, 1, 1, 3]);
    } finally {
      g.dispose();
      backend.dispose();
    }
  });
});
