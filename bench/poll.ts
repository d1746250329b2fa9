// Yielding polling (runtime/webgpu/poll.ts) against Dawn's default busy polling, on one
// compute-bound kernel (a 1024 matmul), same device, same run: ms per matmul.

import { fitsVec4, type MatmulSpec } from '../compiler/codegen/wgsl/matmul.ts';
import { createStorageF32, uploadF32 } from '../runtime/webgpu/buffers.ts';
import { pollStats, setPollingEnabled } from '../runtime/webgpu/poll.ts';
import { prepareMatmul } from './scion-matmul.ts';
import { medianMsPerRun } from './timing.ts';
import { result, type Benchmark, type BenchContext, type BenchResult } from './types.ts';

async function runPoll(ctx: BenchContext): Promise<BenchResult[]> {
  const { gpu, cache } = ctx;
  if (gpu === null || cache === null) throw new Error('poll benchmark needs a device');
  if (pollStats() === null) return [];
  const n = 1024;
  const dims = { batch: 1, m: n, n, k: n };
  const spec: MatmulSpec = { variant: 'register', vec4: fitsVec4(dims), bias: false, activation: 'none' };
  const fill = new Float32Array(n * n).fill(0.5);
  const buffers = { a: await uploadF32(gpu, fill, 'a'), b: await uploadF32(gpu, fill, 'b'), c: await createStorageF32(gpu, n * n, 'c') };
  const prepared = await prepareMatmul(gpu, cache, spec, dims, buffers);
  // one dispatch per await: the polling cost is per wait, so do not batch it away
  const timing = { minBatchMs: 0, budgetMs: 1500, minSamples: 3 };
  try {
    const yielding = await medianMsPerRun(() => prepared.run(), timing);
    setPollingEnabled(false);
    const busy = await medianMsPerRun(() => prepared.run(), timing);
    ctx.log(`poll: ${yielding.toFixed(1)} ms yielding, ${busy.toFixed(1)} ms busy polling per 1024 matmul`);
    return [result('poll-matmul-1024', 'ms', yielding, busy, 'dawn-busy-polling', false)];
  } finally {
    setPollingEnabled(true);
    prepared.destroy();
    for (const buffer of Object.values(buffers)) buffer.destroy();
  }
}

export const benchmarks: Benchmark[] = [
  { name: 'poll', description: "yielding polling vs Dawn's busy polling, ms per 1024 matmul", needsGpu: true, run: runPoll },
];
