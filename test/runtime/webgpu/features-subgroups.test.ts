// The `subgroups` path: row reductions on a workgroup each (subgroupAdd/subgroupMax, then the
// subgroups' values combined in workgroup memory) against the CPU reference with the same
// tolerances as the one-thread-per-row f32 path (fused-graphs.test.ts), and against that path.
// Row lengths cover rows shorter than the workgroup (17: most lanes add only the identity),
// non-multiples of the subgroup and workgroup sizes (17, 100) and a row longer than the
// workgroup many times over (1000).

import { describe, expect, it } from 'vitest';
import { grad } from '../../../compiler/autodiff/grad.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { crossEntropy, layerNorm, rmsNorm, softmax } from '../../../compiler/ir/compose.ts';
import type { Graph } from '../../../compiler/ir/graph.ts';
import { compileGraph } from '../../../compiler/pipeline.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { tensor, type Tensor } from '../../../runtime/cpu/tensor.ts';
import { runArtifact } from '../../../runtime/webgpu/executor.ts';
import { PipelineCache } from '../../../runtime/webgpu/pipeline-cache.ts';
import { gpuForTests, randomF32 } from './gpu-fixture.ts';
import { relErr } from './ops/helpers.ts';

const { gpu } = await gpuForTests();
const hasSubgroups = gpu?.features.has('subgroups') === true;

const feed = (shape: number[], seed: number, scale = 1): Tensor =>
  tensor(
    Array.from(
      randomF32(
        shape.reduce((a, d) => a * d, 1),
        seed,
      ),
      (v) => v * scale,
    ),
    shape,
  );

/** Softmax, LayerNorm and RMSNorm of one [rows, n] input, and their sum of squares. */
function norms(rows: number, n: number): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [rows, n]);
  b.output('softmax', softmax(b, b.mul(x, b.scalar(4))));
  b.output('layer', layerNorm(b, x, { weight: b.param('w', [n]), bias: b.param('c', [n]) }));
  b.output('rms', rmsNorm(b, x, { weight: b.param('w', [n]) }));
  b.output('sumsq', b.sum(b.mul(x, x)));
  return b.build();
}

/** Mean next-token cross-entropy over [rows, vocab] logits (logsumexp rows, then a scalar mean). */
function loss(rows: number, vocab: number): Graph {
  const b = new GraphBuilder();
  b.output('loss', crossEntropy(b, b.input('logits', [rows, vocab]), b.input('labels', [rows], 'i32'), { ignoreIndex: -100 }));
  return b.build();
}

/** Max over the last axis and a sum over the FIRST axis (a column reduction: strided rows). */
function maxAndColumns(rows: number, n: number): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [rows, n]);
  b.output('max', b.max(x, -1));
  b.output('colsum', b.sum(x, 0));
  return b.build();
}

describe('subgroup reductions: which kernels take them (no device needed)', () => {
  it('a softmax row kernel uses subgroupAdd/subgroupMax only when the target has subgroups, and says so', () => {
    const g = norms(4, 100);
    const plain = compileGraph(g);
    const sub = compileGraph(g, { features: ['subgroups'] });
    expect(plain.features).toBeUndefined();
    expect(plain.programs.some((p) => p.code.includes('subgroup'))).toBe(false);
    expect(sub.features).toEqual(['subgroups']);
    const partials = sub.programs.flatMap((p) => p.code.match(/\nfn p\d+\(/g) ?? []);
    // softmax (max, sum), LayerNorm (mean, variance), RMSNorm (mean of squares), Σx²
    expect(partials.length).toBe(6);
    expect(sub.programs.some((p) => p.code.includes('wgMax(') && p.code.includes('wgSum('))).toBe(true);
    // whole workgroups: one per row of a cooperative segment
    for (const p of sub.programs) if (p.code.includes('enable subgroups;')) expect(p.threads % 64).toBe(0);
    // same kernels, same order, same dispatch count
    expect(sub.graph.kernels.map((k) => k.name)).toEqual(plain.graph.kernels.map((k) => k.name));
  });

  it('short rows (below SUBGROUP_MIN_REDUCE) and graphs without reductions keep the plain kernels', () => {
    const short = compileGraph(norms(8, 6), { features: ['subgroups'] });
    // only the scalar Σx² over all 48 elements is long enough; the rows of 6 stay one thread each
    const partials = short.programs.flatMap((p) => p.code.match(/\nfn p\d+\(i: u32\) -> f32 \{ \/\/ %\d+ \w+/g) ?? []);
    expect(partials.map((x) => x.replace(/^[\s\S]*%\d+ /, ''))).toEqual(['reduce_sum']);
    expect(short.programs.find((p) => /\nfn p\d+\(/.test(p.code))?.code).toContain('j < 48u; j += 64u');
    const b = new GraphBuilder();
    b.output('y', b.exp(b.input('x', [4, 100])));
    const ew = compileGraph(b.build(), { features: ['subgroups'] });
    expect(ew.features).toBeUndefined();
    expect(ew.programs[0]?.code).toBe(compileGraph(b.build()).programs[0]?.code);
  });
});

describe.skipIf(!hasSubgroups)('subgroup reductions on the device vs the CPU reference and the plain path', () => {
  const cache = gpu === null ? undefined : new PipelineCache(gpu);
  const run = async (g: Graph, feeds: Map<string, Tensor>, subgroups: boolean): Promise<Map<string, Tensor>> => {
    if (gpu === null) throw new Error('no device');
    const art = compileGraph(g, subgroups ? { features: gpu.features } : {});
    expect(art.features?.includes('subgroups') ?? false).toBe(subgroups);
    return runArtifact(gpu, art, feeds, cache);
  };

  it.each([17, 100, 1000])('softmax, LayerNorm, RMSNorm and a full sum over rows of %i', async (n) => {
    const g = norms(5, n);
    const feeds = new Map([
      ['x', feed([5, n], n)],
      ['w', feed([n], n + 1)],
      ['c', feed([n], n + 2)],
    ]);
    const cpu = runGraph(g, feeds, { dtype: 'f32' });
    const [on, off] = [await run(g, feeds, true), await run(g, feeds, false)];
    for (const name of ['softmax', 'layer', 'rms']) {
      expect(relErr(on.get(name)!.data, cpu.get(name)!.data), name).toBeLessThan(2e-6);
      expect(relErr(on.get(name)!.data, off.get(name)!.data), name).toBeLessThan(2e-6);
    }
    // Σx² over 5n values of order 1/3: f32 sums in any order err by ~n·2^-24 relative at worst
    expect(relErr(on.get('sumsq')!.data, cpu.get('sumsq')!.data)).toBeLessThan(1e-5);
  });

  it('the cross-entropy loss (logsumexp rows of 300, mean of 24 rows with ignored labels)', async () => {
    const g = loss(24, 300);
    const labels = tensor(
      Array.from({ length: 24 }, (_v, i) => (i % 5 === 4 ? -100 : (i * 37) % 300)),
      [24],
      'i32',
    );
    const feeds = new Map([
      ['logits', feed([24, 300], 3, 6)],
      ['labels', labels],
    ]);
    const cpu = runGraph(g, feeds, { dtype: 'f32' });
    const on = await run(g, feeds, true);
    expect(relErr(on.get('loss')!.data, cpu.get('loss')!.data)).toBeLessThan(1e-5);
  });

  // NaN is not tested: lavapipe compiles `x != x` to false on BOTH paths (measured), so neither
  // propagates a NaN through max there.
  it('max is exact (order cannot matter); a column sum (stride n) is within f32 rounding', async () => {
    const g = maxAndColumns(70, 40);
    const x = feed([70, 40], 9);
    (x.data as Float32Array)[5 * 40 + 7] = 50;
    const feeds = new Map([['x', x]]);
    const cpu = runGraph(g, feeds, { dtype: 'f32' });
    const on = await run(g, feeds, true);
    const max = on.get('max')!.data;
    expect(max[5]).toBe(50);
    expect(relErr(max, cpu.get('max')!.data)).toBe(0);
    expect(relErr(on.get('colsum')!.data, cpu.get('colsum')!.data)).toBeLessThan(1e-5);
  });

  it('forward and backward of RMSNorm → linear → cross-entropy (every gradient) match the CPU at 1e-4 of max |value|', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', [24, 40]);
    const h = rmsNorm(b, x, { weight: b.param('w', [40]) });
    const logits = b.matmul(h, b.param('W', [40, 48]));
    b.output('loss', crossEntropy(b, logits, b.input('labels', [24], 'i32')));
    const g = grad(b.build(), 'loss');
    const feeds = new Map([
      ['x', feed([24, 40], 11)],
      ['w', feed([40], 12)],
      ['W', feed([40, 48], 13, 0.5)],
      [
        'labels',
        tensor(
          Array.from({ length: 24 }, (_v, i) => (i * 5) % 48),
          [24],
          'i32',
        ),
      ],
    ]);
    // forward norms and logsumexp rows, the loss, and the backward's row and batch sums
    expect(compileGraph(g, { features: ['subgroups'] }).programs.filter((p) => p.code.includes('enable subgroups;')).length).toBeGreaterThan(2);
    const cpu = runGraph(g, feeds, { dtype: 'f32' });
    const on = await run(g, feeds, true);
    expect([...on.keys()].sort()).toEqual([...cpu.keys()].sort());
    for (const [name, want] of cpu) {
      const got = on.get(name)!.data;
      let scale = 0;
      let err = 0;
      for (let i = 0; i < want.data.length; i++) {
        scale = Math.max(scale, Math.abs(want.data[i] as number));
        err = Math.max(err, Math.abs((got[i] as number) - (want.data[i] as number)));
      }
      expect(err, `${name}: max error ${err} against max |value| ${scale}`).toBeLessThanOrEqual(1e-4 * Math.max(scale, 1e-3));
    }
  });
});
