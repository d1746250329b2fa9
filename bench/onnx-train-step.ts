// The CPU backend (`--device cpu`: ONNX Runtime) against the reference on reference-train-step.ts's
// workloads (llama train step 16×64, DiT train step b16, SmallUNet forward b4): ms per step, all
// in this process and timed in alternating rounds, so the ratios are one run's under one load. The goal is ≥ 10× for the two train steps.
// A second row per workload answers which ONNX Runtime the backend should be: onnxruntime-node's
// CPU EP (what it runs) against onnxruntime-web's WASM build in Node on the same exported graph
// (the alternative the issue names, which would install without a native addon).
// Run alone with `npx tsx bench/onnx-train-step.ts`.

import { pathToFileURL } from 'node:url';
import { CPU } from '../backends/cpu/index.ts';
import { encodeModel } from '../compiler/codegen/onnx/onnx-proto.ts';
import { toOnnx } from '../compiler/codegen/onnx/to-onnx.ts';
import { ORT_PEER_NAMES, openOrtSession } from './peers/onnxruntime-session.ts';
import { runGraph } from '../runtime/cpu/run-graph.ts';
import { WORKLOADS, type Workload } from './reference-train-step.ts';
import { DEFAULT_TIMING, interleavedMsPerRun } from './timing.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

/** ms per run of the three ways to run the workload, timed in alternating rounds (one load for all). */
async function measureWorkload(w: Workload, log: (line: string) => void): Promise<BenchResult[]> {
  const b = await CPU.open(w.graph, true);
  if ('reason' in b) {
    log(`${w.name}: onnx cannot run it: ${b.reason}`);
    return [];
  }
  // The graph exported as the backend exports it (every param an input), for the WASM build.
  const wasm = await openOrtSession('web-wasm', encodeModel(toOnnx(w.graph, { name: 'scion' })).model);
  try {
    await b.compile(w.graph);
    const times = (run: () => Promise<unknown>) => async (runs: number) => {
      for (let r = 0; r < runs; r++) await run();
    };
    const contenders: Record<string, (runs: number) => Promise<void>> = {
      onnx: times(() => b.run(w.graph, w.feeds)),
      reference: times(async () => runGraph(w.graph, w.feeds, { dtype: 'f32' })),
    };
    if (typeof wasm !== 'string') contenders['wasm'] = times(() => wasm.run(w.feeds));
    const ms = await interleavedMsPerRun(contenders, 3, { ...DEFAULT_TIMING, minBatchMs: 0, budgetMs: 6000 });
    const [onnx, reference, wasmMs] = [ms['onnx'] as number, ms['reference'] as number, ms['wasm'] ?? null];
    const wasmWords = wasmMs === null ? (wasm as string) : `${wasmMs.toFixed(1)} ms (node ${(wasmMs / onnx).toFixed(1)}× faster)`;
    log(
      `${w.name}: onnx ${onnx.toFixed(1)} ms, reference ${reference.toFixed(1)} ms (${(reference / onnx).toFixed(1)}×); ${ORT_PEER_NAMES['web-wasm']} ${wasmWords}`,
    );
    return [
      result(`onnx-${w.name}`, 'ms', onnx, reference, 'the reference', false),
      result(`onnx-${w.name}-vs-wasm`, 'ms', onnx, wasmMs, wasmMs === null ? (wasm as string) : ORT_PEER_NAMES['web-wasm'], false),
    ];
  } finally {
    b.dispose();
    if (typeof wasm !== 'string') await wasm.release();
  }
}

async function measure(log: (line: string) => void): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  for (const make of WORKLOADS) rows.push(...(await measureWorkload(make(), log)));
  return rows;
}

export const benchmarks: Benchmark[] = [
  {
    name: 'onnx-train-step',
    description:
      '--device cpu (onnxruntime-node CPU EP) vs --device reference, and vs onnxruntime-web WASM in Node: llama/DiT train steps, SmallUNet forward, ms per step',
    needsGpu: false,
    run: (ctx) => measure((line) => ctx.log(line)),
  },
];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await measure((line) => console.log(line));
}
