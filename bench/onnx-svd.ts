// svd_values + svd_values_grad on a BA-LoRA-sized matrix (specs/ba-lora.scion: features [16, 64],
// batch × dim) two ways, same process: the ONNX lowering (compiler/codegen/onnx/onnx-svd.ts, the
// Jacobi Loop `scion export --onnx` writes) in onnxruntime-node, against the CPU reference kernels
// the ONNX Runtime backend runs between its segments (backends/cpu/segmented.ts). ms per pair;
// the ratio says which the backend should use. Run alone with `npx tsx bench/onnx-svd.ts`.

import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { encodeModel } from '../compiler/codegen/onnx/onnx-proto.ts';
import { toOnnx } from '../compiler/codegen/onnx/to-onnx.ts';
import { GraphBuilder } from '../compiler/ir/builder.ts';
import { runGraph } from '../runtime/cpu/run-graph.ts';
import { interleavedMsPerRun } from './timing.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

const SIZES: readonly (readonly [number, number])[] = [
  [16, 64], // specs/ba-lora.scion's Genre: batch 16, dim 64
  [64, 64],
];

/** Deterministic values in [−0.5, 0.5). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

async function measure(log: (line: string) => void): Promise<BenchResult[]> {
  const ort = await import('onnxruntime-node');
  const rows: BenchResult[] = [];
  for (const [m, n] of SIZES) {
    const p = Math.min(m, n);
    const b = new GraphBuilder();
    const x = b.input('x', [m, n]);
    b.output('s', b.svdValues(x));
    b.output('dx', b.svdValuesGrad(x, b.input('g', [p])));
    const graph = b.build();
    const [xs, gs] = [values(m * n, 3), values(p, 5)];
    const session = await ort.InferenceSession.create(encodeModel(toOnnx(graph)).model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: availableParallelism(),
      logSeverityLevel: 3,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    const feeds = { x: new ort.Tensor('float32', xs, [m, n]), g: new ort.Tensor('float32', gs, [p]) };
    const host = new Map([
      ['x', { dtype: 'f32' as const, shape: [m, n], data: xs }],
      ['g', { dtype: 'f32' as const, shape: [p], data: gs }],
    ]);
    try {
      const t = await interleavedMsPerRun({
        loop: async (runs) => {
          for (let r = 0; r < runs; r++) await session.run(feeds);
        },
        host: async (runs) => {
          for (let r = 0; r < runs; r++) runGraph(graph, host, { dtype: 'f64' });
        },
      });
      log(`svd ${m}×${n} (values + VJP): ONNX Loop ${t.loop.toFixed(2)} ms, CPU reference kernels ${t.host.toFixed(2)} ms`);
      rows.push(result(`onnx-svd-${m}x${n}`, 'ms', t.loop, t.host, 'CPU reference kernels (host step)', false));
    } finally {
      await session.release();
    }
  }
  return rows;
}

export const benchmarks: Benchmark[] = [
  {
    name: 'onnx-svd',
    description: "svd_values + VJP on BA-LoRA's [16, 64]: the ONNX Jacobi Loop in onnxruntime-node vs the CPU reference kernels, ms",
    needsGpu: false,
    run: (ctx) => measure((line) => ctx.log(line)),
  },
];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await measure((line) => console.log(line));
}
