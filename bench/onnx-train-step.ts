// The CPU backend (`--device cpu`: ONNX Runtime) against the reference, two ways:
//   main-job-train  the main job (specs/default.scion: its model, batch 16 × ctx 128 and Brown)
//                   through `scion train`'s own path (prepareLmJob → trainLm → runTraining): on
//                   cpu that is the resident step (backends/cpu/resident.ts: forward, backward,
//                   clipping, AdamW in one ONNX Runtime session, state kept in place), on the
//                   reference the host loop; a third contender, cpu without `resident`, is the
//                   host loop on ONNX Runtime (what --device cpu ran before). Tokens/s from
//                   metrics.jsonl's time_s between update WARMUP and the last, so session
//                   creation and the first runs are not timed; the three alternate, ROUNDS runs
//                   each, and each one's best counts.
//   graph rows      reference-train-step.ts's workloads (llama forward+backward 16×64, DiT b16
//                   forward+backward, SmallUNet forward b4) as single graph runs, ms per run,
//                   timed in alternating rounds, so the ratios are one run's under one load.
// The goal is ≥ 10× for the main job's training and the DiT step.
// A second row per graph workload answers which ONNX Runtime the backend should be: onnxruntime-node's
// CPU EP (what it runs) against onnxruntime-web's WASM build in Node on the same exported graph
// (the alternative the issue names, which would install without a native addon).
// Run alone with `npx tsx bench/onnx-train-step.ts [main]` (`main`: the main-job rows only).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Backend } from '../backends/backend.ts';
import { CPU } from '../backends/cpu/index.ts';
import { referenceBackend } from '../backends/reference/index.ts';
import { encodeModel } from '../compiler/codegen/onnx/onnx-proto.ts';
import { toOnnx } from '../compiler/codegen/onnx/to-onnx.ts';
import { runMainJob } from './main-job-run.ts';
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

/** Updates per main-job run; the first WARMUP are not timed. */
const STEPS = 8;
const WARMUP = 3;
const ROUNDS = 2;

/** The main job for STEPS updates on `backend`, as `scion train` runs it: tokens/s over updates WARMUP..STEPS. */
async function mainJobTokensPerSecond(backend: Backend, dir: string): Promise<{ tokensPerSecond: number; resident: boolean }> {
  const { tokensPerSecond } = await runMainJob(backend, dir, STEPS, WARMUP);
  return { tokensPerSecond, resident: backend.resident !== undefined };
}

async function measureMainJob(log: (line: string) => void): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'scion-bench-onnx-train-'));
  // An empty graph opens the backend; each run compiles its own step.
  const cpu = await CPU.open({ nodes: [], outputs: [] }, true);
  if ('reason' in cpu) {
    log(`main-job-train: onnx cannot run: ${cpu.reason}`);
    return [];
  }
  // The same backend without the capability: runTraining runs its host loop (graph on ORT, AdamW in JS).
  const { resident: _, ...hostLoop } = cpu;
  try {
    let [ours, loop, peer] = [0, 0, 0];
    for (let round = 0; round < ROUNDS; round++) {
      const o = await mainJobTokensPerSecond(cpu, dir);
      const h = await mainJobTokensPerSecond(hostLoop, dir);
      const p = await mainJobTokensPerSecond(referenceBackend, dir);
      if (!o.resident || h.resident) throw new Error('onnx-train-step: the cpu runs did not take the paths they name');
      log(
        `main-job-train round ${round + 1}: cpu resident ${o.tokensPerSecond.toFixed(0)}, cpu host loop ${h.tokensPerSecond.toFixed(0)}, reference ${p.tokensPerSecond.toFixed(0)} tokens/s (${(o.tokensPerSecond / p.tokensPerSecond).toFixed(2)}× the reference)`,
      );
      ours = Math.max(ours, o.tokensPerSecond);
      loop = Math.max(loop, h.tokensPerSecond);
      peer = Math.max(peer, p.tokensPerSecond);
    }
    log(
      `main-job-train: best of ${ROUNDS}: cpu resident ${ours.toFixed(0)}, cpu host loop ${loop.toFixed(0)}, reference ${peer.toFixed(0)} tokens/s (${(ours / peer).toFixed(2)}× the reference, ${(ours / loop).toFixed(2)}× the host loop)`,
    );
    return [
      result('onnx-main-job-train', 'tokens/s', ours, peer, 'the reference (scion train, host loop)', true),
      result('onnx-main-job-resident', 'tokens/s', ours, loop, '--device cpu host loop (graph on ORT, AdamW on the host)', true),
    ];
  } finally {
    cpu.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(log: (line: string) => void, only?: 'main'): Promise<BenchResult[]> {
  const rows = await measureMainJob(log);
  if (only === 'main') return rows;
  for (const make of WORKLOADS) rows.push(...(await measureWorkload(make(), log)));
  return rows;
}

export const benchmarks: Benchmark[] = [
  {
    name: 'onnx-train-step',
    description:
      '--device cpu (onnxruntime-node CPU EP) vs --device reference: the main job through scion train (tokens/s), llama/DiT train-step graphs and SmallUNet forward (ms per run, also vs onnxruntime-web WASM in Node)',
    needsGpu: false,
    run: (ctx) => measure((line) => ctx.log(line)),
  },
];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await measure((line) => console.log(line), process.argv[2] === 'main' ? 'main' : undefined);
}
