// The CPU backend (`--device cpu`: ONNX Runtime) against the reference on reference-train-step.ts's
// workloads (llama train step 16×64, DiT train step b16, SmallUNet forward b4): ms per step, both
// in this process, so the ratio is one run's. The goal is ≥ 10× for the two train steps.
// Run alone with `npx tsx bench/onnx-train-step.ts`.

import { pathToFileURL } from 'node:url';
import { CPU } from '../backends/cpu/index.ts';
import { timeWorkload, WORKLOADS, type Workload } from './reference-train-step.ts';
import { DEFAULT_TIMING, medianMsPerRun } from './timing.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

/** Median ms per run of the workload on the ONNX Runtime backend, or the reason it cannot run. */
async function timeOnnx(w: Workload, budgetMs = 3000): Promise<number | string> {
  const b = await CPU.open(w.graph, true);
  if ('reason' in b) return b.reason;
  try {
    await b.compile(w.graph);
    return await medianMsPerRun(
      async (runs) => {
        for (let r = 0; r < runs; r++) await b.run(w.graph, w.feeds);
      },
      { ...DEFAULT_TIMING, minBatchMs: 0, budgetMs },
    );
  } finally {
    b.dispose();
  }
}

async function measure(log: (line: string) => void): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  for (const make of WORKLOADS) {
    const w = make();
    const onnx = await timeOnnx(w);
    const ref = await timeWorkload(w);
    if (typeof onnx === 'string') {
      log(`${w.name}: onnx cannot run it: ${onnx}`);
      continue;
    }
    log(`${w.name}: onnx ${onnx.toFixed(1)} ms, reference ${ref.toFixed(1)} ms (${(ref / onnx).toFixed(1)}×)`);
    rows.push(result(`onnx-${w.name}`, 'ms', onnx, ref, 'the reference', false));
  }
  return rows;
}

export const benchmarks: Benchmark[] = [
  {
    name: 'onnx-train-step',
    description: '--device cpu (ONNX Runtime) vs --device reference: llama/DiT train steps, SmallUNet forward, ms per step',
    needsGpu: false,
    run: (ctx) => measure((line) => ctx.log(line)),
  },
];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await measure((line) => console.log(line));
}
