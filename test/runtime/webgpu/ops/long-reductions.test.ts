// Long reductions on WebGPU, split in two passes (compiler/kernel/split-reductions.ts) and as the
// serial kernels they replace, against the CPU reference. The per-op table (test/compiler/ops/
// tolerances.ts) is for the op cases' short reductions; an f32 sum of n terms may be off by
// n·2⁻²⁴ of Σ|terms| summed serially and about 2√n·2⁻²⁴ in two passes of √n (Higham, blocked
// summation). The inputs are non-negative, so Σ|terms| is the sum itself and relErr's scale:
// each form is held to the larger of the table's tolerance and its own bound.

import { describe, expect, it } from 'vitest';
import type { Node } from '../../../../compiler/ir/graph.ts';
import { PipelineCache } from '../../../../runtime/webgpu/pipeline-cache.ts';
import { TOLERANCE } from '../../../compiler/ops/tolerances.ts';
import { LONG_REDUCTIONS } from '../../../compiler/kernel/long-reductions.ts';
import { gpuForTests } from '../gpu-fixture.ts';
import { tensor } from '../../../../runtime/cpu/tensor.ts';
import { compareWithCpu, randomTensor, relErr } from './helpers.ts';

const U = 2 ** -24;

const { gpu } = await gpuForTests();

describe.skipIf(gpu === null)('long reductions on WebGPU match the CPU reference', () => {
  const cache = gpu === null ? null : new PipelineCache(gpu);
  it.each(LONG_REDUCTIONS.flatMap((c) => (['split', 'serial'] as const).map((how) => [c.name, how, c] as const)))(
    '%s (%s)',
    { timeout: 300_000 },
    async (_n, how, c) => {
      const feeds = new Map(Object.entries(c.inputs).map(([k, s], i) => [k, tensor(Array.from(randomTensor(s, 11 + i).data, Math.abs), s)]));
      const r = await compareWithCpu(gpu!, c.graph, feeds, cache!, { reductions: how });
      const root = c.graph.nodes.find((n) => n.op === 'reduce_sum' || n.op === 'reduce_max' || n.op === 'conv2d_grad_weight') as Node;
      const bound = how === 'split' ? 2 * Math.sqrt(c.length) * U : c.length * U;
      expect(relErr(r.gpu.get('y')!.data, r.cpu.get('y')!.data)).toBeLessThanOrEqual(Math.max(TOLERANCE[root.op] ?? 1e-6, bound));
    },
  );
});
