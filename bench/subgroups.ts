// Row reductions with subgroups against the one-thread-per-row kernels, on the shared device:
// softmax and RMSNorm over [rows, n], each compiled twice from the same graph — with the
// device's features (subgroupAdd/subgroupMax, one workgroup per row: compiler/codegen/wgsl/
// subgroup-reduce.ts) and without (the f32 default). The peer column is the plain kernel; the
// ratio is how many times faster the subgroup kernel is. Timed interleaved in one process.

import { GraphBuilder } from '../compiler/ir/builder.ts';
import { rmsNorm, softmax } from '../compiler/ir/compose.ts';
import type { Graph } from '../compiler/ir/graph.ts';
import { compileGraph } from '../compiler/pipeline.ts';
import { tensor } from '../runtime/cpu/tensor.ts';
import type { GpuDevice } from '../runtime/webgpu/device.ts';
import { WebGpuExecutor } from '../runtime/webgpu/executor.ts';
import type { PipelineCache } from '../runtime/webgpu/pipeline-cache.ts';
import { fill } from './fill.ts';
import { interleavedMsPerRun } from './timing.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

type Op = 'softmax' | 'rmsnorm' | 'mean';

/**
 * [rows, n]: a batch of token rows at a model width (RMSNorm) and over a vocabulary (softmax),
 * and a loss-style mean of everything (one row: the plain kernel runs it on ONE thread).
 */
const CASES: { op: Op; rows: number; n: number }[] = [
  { op: 'rmsnorm', rows: 512, n: 256 },
  { op: 'softmax', rows: 256, n: 2048 },
  { op: 'mean', rows: 1, n: 262144 },
];

function graphOf(op: Op, rows: number, n: number): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [rows, n]);
  if (op === 'mean') b.output('y', b.div(b.sum(b.mul(x, x)), b.scalar(rows * n)));
  else b.output('y', op === 'softmax' ? softmax(b, x) : rmsNorm(b, x, { weight: b.param('w', [n]) }));
  return b.build();
}

async function executor(gpu: GpuDevice, cache: PipelineCache, g: Graph, features: ReadonlySet<string>, rows: number, n: number): Promise<WebGpuExecutor> {
  const ex = await WebGpuExecutor.create(gpu, compileGraph(g, { features }), cache);
  ex.write('x', tensor(Array.from(fill(rows * n, 1, 3)), [rows, n]));
  if (ex.artifact.graph.params.length > 0) ex.write('w', tensor(Array.from(fill(n, 2, 1)), [n]));
  return ex;
}

export const benchmarks: Benchmark[] = [
  {
    name: 'subgroups',
    description: 'softmax, RMSNorm and a mean: subgroup reductions vs one thread per row (ms per run)',
    needsGpu: true,
    async run(ctx): Promise<BenchResult[]> {
      const { gpu, cache } = ctx;
      if (gpu === null || cache === null) throw new Error('subgroups bench needs a device');
      if (!gpu.features.has('subgroups')) throw new Error(`the adapter has no 'subgroups' feature`);
      const out: BenchResult[] = [];
      for (const c of CASES) {
        const g = graphOf(c.op, c.rows, c.n);
        const sub = await executor(gpu, cache, g, gpu.features, c.rows, c.n);
        const plain = await executor(gpu, cache, g, new Set(), c.rows, c.n);
        if (!sub.artifact.features?.includes('subgroups')) throw new Error(`${c.op} did not take the subgroup path`);
        try {
          const steps = (ex: WebGpuExecutor) => async (runs: number) => {
            for (let r = 0; r < runs; r++) await ex.step();
          };
          const ms = await interleavedMsPerRun({ subgroups: steps(sub), plain: steps(plain) });
          ctx.log(`${c.op} [${c.rows}, ${c.n}]: subgroups ${ms.subgroups.toFixed(3)} ms, one thread per row ${ms.plain.toFixed(3)} ms`);
          out.push(result(`${c.op}-${c.rows}x${c.n}-subgroups`, 'ms', ms.subgroups, ms.plain, 'one thread per row (f32 default)', false));
        } finally {
          sub.destroy();
          plain.destroy();
        }
      }
      return out;
    },
  },
];
