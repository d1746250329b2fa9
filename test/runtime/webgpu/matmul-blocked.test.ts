// Register-blocked matmuls inside compiled graphs at the 8×8 block (render-matmul.ts `blockFor`):
// shapes whose sides are not multiples of 8 (edge blocks store only their in-range part), a side
// small enough for the 4-wide block, a batch summed in the kernel, a broadcast operand, SwiGLU's
// two matmuls in one block, an operand no strided view describes (read through its value
// function), and RoPE reading the projection at the pair column (a lookup block as wide as a head
// of 16, 24, 32 or 64, and at odd head sizes the 4×16 block with pairs across its edges) — each
// against the CPU reference interpreter.

import { describe, expect, it } from 'vitest';
import { blockFor, lookupBlock } from '../../../compiler/codegen/wgsl/render-matmul.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Graph } from '../../../compiler/ir/graph.ts';
import { compileGraph } from '../../../compiler/pipeline.ts';
import { PipelineCache } from '../../../runtime/webgpu/pipeline-cache.ts';
import { gpuForTests } from './gpu-fixture.ts';
import { compareWithCpu, relErr } from './ops/helpers.ts';
import { MATMUL_CASES as CASES } from './matmul-cases.ts';

const { gpu } = await gpuForTests();

/** The block comments of the blocked segments in the compiled kernels, e.g. ['8x8']. */
const blocks = (g: Graph): string[] => compileGraph(g).programs.flatMap((p) => [...p.code.matchAll(/register-blocked (\d+x\d+)/g)].map((m) => m[1] as string));

describe('blocked matmul block shapes (no device needed)', () => {
  it('leaves a sum of a matmul and a non-matmul to the chain walk (one matmul in the block)', () => {
    const b = new GraphBuilder();
    b.output('y', b.add(b.matmul(b.input('a', [9, 6]), b.input('b', [6, 10])), b.input('x', [9, 10])));
    const code = compileGraph(b.build())
      .programs.map((p) => p.code)
      .join('\n');
    expect(code).toMatch(/register-blocked 8x8/);
    expect(code).not.toMatch(/matmuls added/);
  });

  it('accumulates an add tree of three matmuls in one block', () => {
    const c = CASES.find((x) => x.name.startsWith('three matmuls added'))!;
    expect(
      compileGraph(c.graph())
        .programs.map((p) => p.code)
        .join('\n'),
    ).toMatch(/blocked matmul 19x21x25 \(3 matmuls added\)/);
  });

  it("gives SwiGLU's two matmuls one block with one loop over K, and RoPE's projection a lookup block", () => {
    const code = (prefix: string): string =>
      compileGraph(CASES.find((x) => x.name.startsWith(prefix))!.graph())
        .programs.map((p) => p.code)
        .join('\n');
    const swiglu = code('SwiGLU');
    expect(swiglu).toMatch(/register-blocked 8x8 \(2 matmuls\)/);
    // the loads of x shared: one loop over K feeds both accumulator sets
    expect(swiglu.match(/for \(var p = 0u;/g)).toHaveLength(1);
    expect(swiglu).toMatch(/acc1_0_0 = fma\(a0,/);
    expect(code('RoPE on a projection')).toMatch(/blocked matmul 11x32x9, read in the block, else recomputed/);
  });

  it('gives a lookup block the columns of a whole head where they divide the matrix', () => {
    expect(lookupBlock(1024, 128, 32)).toEqual({ rows: 4, cols: 32 });
    expect(lookupBlock(1024, 128, 64)).toEqual({ rows: 2, cols: 64 });
    expect(lookupBlock(3, 64, 16)).toEqual({ rows: 4, cols: 16 });
    expect(lookupBlock(1024, 96, 24)).toEqual({ rows: 4, cols: 24 });
    expect(lookupBlock(1024, 96, 48)).toEqual({ rows: 2, cols: 48 });
    // no window that fits: the fixed 4×16 block (its pairs across edges recomputed)
    expect(lookupBlock(100, 18, 6)).toEqual({ rows: 4, cols: 16 });
    expect(lookupBlock(100, 96, 64)).toEqual({ rows: 4, cols: 16 });
    expect(lookupBlock(100, 256, 128)).toEqual({ rows: 4, cols: 16 });
  });

  it('uses 8×8 blocks, and 4 along a side of at most 4', () => {
    expect(blockFor(512, 128)).toEqual({ rows: 8, cols: 8 });
    expect(blockFor(5, 5)).toEqual({ rows: 8, cols: 8 });
    expect(blockFor(3, 17)).toEqual({ rows: 4, cols: 8 });
    expect(blockFor(64, 4)).toEqual({ rows: 8, cols: 4 });
  });

  for (const c of CASES) {
    it(`renders ${c.name} as one ${c.block} blocked segment`, () => {
      expect(blocks(c.graph())).toEqual([c.block]);
    });
  }
});

describe.skipIf(gpu === null)('8×8 blocked matmuls on WebGPU match the CPU reference (f32)', () => {
  const cache = gpu === null ? null : new PipelineCache(gpu);
  for (const c of CASES) {
    it(c.name, { timeout: 300_000 }, async () => {
      const r = await compareWithCpu(gpu!, c.graph(), c.feeds(), cache!);
      const got = r.gpu.get(c.output)!.data;
      const want = r.cpu.get(c.output)!.data;
      expect(got.length).toBe(want.length);
      expect(relErr(got, want)).toBeLessThan(1e-5);
    });
  }
});
