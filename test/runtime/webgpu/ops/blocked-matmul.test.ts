// Register-blocked matmuls inside compiled graphs (codegen/wgsl/render-matmul.ts): which kernels
// take the blocked form, the stride algebra of views, and the results against the CPU reference
// on shapes that are not multiples of the 4×4 block.

import { describe, expect, it } from 'vitest';
import { reshapeStrides } from '../../../../compiler/codegen/wgsl/render-matmul.ts';
import { GraphBuilder } from '../../../../compiler/ir/builder.ts';
import type { Graph } from '../../../../compiler/ir/graph.ts';
import { compileGraph } from '../../../../compiler/pipeline.ts';
import { PipelineCache } from '../../../../runtime/webgpu/pipeline-cache.ts';
import { gpuForTests } from '../gpu-fixture.ts';
import { compareWithCpu, randomTensor, relErr } from './helpers.ts';

const { gpu } = await gpuForTests();
const feed = randomTensor;
const blockedCount = (g: Graph): number => compileGraph(g).programs.reduce((n, p) => n + (p.code.match(/register-blocked/g) ?? []).length, 0);

/** y = relu(x·Wᵀ + b) + x, then 0.5·y — W read transposed through strides. x: [2,5,6], W: [6,6]. */
function epilogueGraph(): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [2, 5, 6]);
  const w = b.param('w', [6, 6]);
  const y = b.add(b.relu(b.add(b.matmul(x, b.permute(w, [1, 0])), b.param('bias', [6]))), x);
  b.output('y', b.mul(y, 0.5));
  return b.build();
}

/** The weight gradient's shape: (Σ_batch xᵀ·g)ᵀ, summed over a batch of 3. x: [3,7,5], g: [3,7,9]. */
function weightGradGraph(): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [3, 7, 5]);
  const g = b.input('g', [3, 7, 9]);
  b.output('dw', b.permute(b.sum(b.matmul(b.permute(x, [0, 2, 1]), g), [0]), [1, 0]));
  return b.build();
}

/** A matmul whose operand is computed in its kernel (a concat: no strides): stays per-element. */
function fusedProducerGraph(): Graph {
  const b = new GraphBuilder();
  const x = b.concat([b.input('x', [2, 4]), b.input('z', [3, 4])], 0);
  b.output('y', b.matmul(b.input('a', [3, 5]), x));
  return b.build();
}

describe('register-blocked matmul planning (no device needed)', () => {
  it('derives strides for reshapes that need no copy and refuses those that do', () => {
    // [2,3,4] contiguous → [6,4]: merged axes keep row-major strides
    expect(reshapeStrides([2, 3, 4], [12, 4, 1], [6, 4])).toEqual([4, 1]);
    // a transposed [4,6] (strides [1,4]) split into [4,2,3]: the split axis keeps stride 4 per column
    expect(reshapeStrides([4, 6], [1, 4], [4, 2, 3])).toEqual([1, 12, 4]);
    // merging a transposed pair is not a view
    expect(reshapeStrides([4, 6], [1, 4], [24])).toBeUndefined();
    // inserted unit axes are never stepped along (any stride will do); the others are kept
    const s = reshapeStrides([3, 4], [4, 1], [1, 3, 1, 4]);
    expect([s?.[1], s?.[3]]).toEqual([4, 1]);
  });

  it('blocks matmuls over buffers (epilogue, weight gradient) and over a loop-free fused producer, read through its value function', () => {
    expect(blockedCount(epilogueGraph())).toBe(1);
    expect(blockedCount(weightGradGraph())).toBe(1);
    expect(blockedCount(fusedProducerGraph())).toBe(1);
    expect(
      compileGraph(fusedProducerGraph())
        .programs.map((p) => p.code)
        .join('\n'),
    ).toMatch(/fn v\d+\(i: u32\) -> f32 \{ \/\/ %\d+ concat/);
  });
});

const SLOW = { timeout: 300_000 };

describe.skipIf(gpu === null)('register-blocked matmuls on WebGPU match the CPU reference (f32)', () => {
  const cache = gpu === null ? null : new PipelineCache(gpu);

  it('fused epilogue (transposed weight, bias, relu, residual, scale) at 5×6×6 per batch', SLOW, async () => {
    const feeds = new Map([
      ['x', feed([2, 5, 6], 1)],
      ['w', feed([6, 6], 2)],
      ['bias', feed([6], 3)],
    ]);
    const r = await compareWithCpu(gpu!, epilogueGraph(), feeds, cache!);
    expect(relErr(r.gpu.get('y')!.data, r.cpu.get('y')!.data)).toBeLessThan(1e-6);
  });

  it('right operand computed in the kernel (a concat), 3×4 from K = 5', SLOW, async () => {
    const feeds = new Map([
      ['x', feed([2, 4], 6)],
      ['z', feed([3, 4], 7)],
      ['a', feed([3, 5], 8)],
    ]);
    const r = await compareWithCpu(gpu!, fusedProducerGraph(), feeds, cache!);
    expect(relErr(r.gpu.get('y')!.data, r.cpu.get('y')!.data)).toBeLessThan(1e-6);
  });

  it('weight gradient summed over the batch and transposed, 5×9 from K = 7', SLOW, async () => {
    const feeds = new Map([
      ['x', feed([3, 7, 5], 4)],
      ['g', feed([3, 7, 9], 5)],
    ]);
    const r = await compareWithCpu(gpu!, weightGradGraph(), feeds, cache!);
    expect(relErr(r.gpu.get('dw')!.data, r.cpu.get('dw')!.data)).toBeLessThan(1e-6);
  });
});
