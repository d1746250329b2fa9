// The critical path (compiler/kernel/cost.ts: Σ over dispatches of the longest per-thread loop) of
// two training steps, with long reductions split over the device (compileGraph's default,
// kernel/split-reductions.ts) against the kernels written for lavapipe (`reductions: 'serial'`:
// one thread per output walking the whole reduction) — and, where a WebGPU device is present,
// the wall time of a step compiled both ways.
//
//   dit-b64    the DiT of specs/lit.scion trained as its `train DiT` block says (diffusion loss,
//              AdamW, batch 64): the step issue #16 measured on an H200 (goal: ≥ 10× shorter)
//   lit-b64    the LiT student's step (hybrid distillation from the frozen DiT inside the graph)
//   llama      the default model's step as `scion compile specs/default.scion --train` builds it
//
// The time is measured at batch 8 (lavapipe runs a b64 DiT step for tens of seconds). The critical
// path needs no device; lavapipe is a CPU, so its times say little about a GPU's.
// Run alone with `npx tsx bench/critical-path.ts`.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildTrainStep, withLmLoss } from '../compiler/autodiff/train-step.ts';
import type { Graph } from '../compiler/ir/graph.ts';
import { costReport } from '../compiler/kernel/cost.ts';
import { lowerModel } from '../compiler/lower/lower-model.ts';
import { lowerTrain } from '../compiler/lower/lower-train.ts';
import { compileGraph } from '../compiler/pipeline.ts';
import { parseProgram } from '../grammar/dsl/parse.ts';
import type { Program } from '../grammar/ast.ts';
import { tensor } from '../runtime/cpu/tensor.ts';
import type { GpuDevice } from '../runtime/webgpu/device.ts';
import { WebGpuExecutor } from '../runtime/webgpu/executor.ts';
import { PipelineCache } from '../runtime/webgpu/pipeline-cache.ts';
import { fill } from './fill.ts';
import { interleavedMsPerRun } from './timing.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

interface Step {
  graph: Graph;
  carry: { output: string; input: string }[];
}

function program(spec: string): Program {
  const { program: p, diagnostics } = parseProgram(readFileSync(join(import.meta.dirname, '../specs', spec), 'utf8'), `specs/${spec}`);
  if (diagnostics.length > 0) throw new Error(`specs/${spec} does not parse: ${diagnostics[0]?.message ?? ''}`);
  return p;
}

/** A model's training step as its `train` block in specs/lit.scion declares it (loss, frozen teacher, AdamW) at `batch`. */
export function litStep(model: 'DiT' | 'LiT', batch = 64): Step {
  const t = lowerTrain(program('lit.scion'), model, { batch, grads: false });
  return buildTrainStep(t.graph, 'loss');
}

/** The default model's training step, as `scion compile specs/default.scion --train` builds it. */
export function llamaStep(): Step {
  return buildTrainStep(withLmLoss(lowerModel(program('default.scion'), 'TinyLlama').graph), 'loss');
}

/** Critical path of `step` compiled with long reductions split (default) or serial. */
export function criticalPath(step: Step, reductions: 'split' | 'serial'): { path: number; dispatches: number } {
  const art = compileGraph(step.graph, { carry: step.carry, reductions });
  return { path: costReport(art.optimized, art).criticalPath, dispatches: art.graph.kernels.length };
}

/** Median ms per step on `gpu`, both forms timed in alternating rounds. */
async function stepTimes(gpu: GpuDevice, step: Step): Promise<Record<'split' | 'serial', number>> {
  const cache = new PipelineCache(gpu);
  const make = async (reductions: 'split' | 'serial'): Promise<WebGpuExecutor> => {
    const ex = await WebGpuExecutor.create(gpu, compileGraph(step.graph, { carry: step.carry, reductions, verify: false }), cache);
    let seed = 1;
    for (const n of step.graph.nodes) {
      if (n.op !== 'input' && n.op !== 'param') continue;
      const name = n.attrs['name'] as string;
      const count = n.shape.reduce((x, y) => x * y, 1);
      // timesteps and labels as integers in range; second moments non-negative; the rest small
      const values = fill(count, seed++, n.op === 'param' ? 0.05 : 1);
      const data =
        n.dtype === 'i32'
          ? Int32Array.from(values, (v) => Math.floor((v + 1) * 5) % 10)
          : name === 't'
            ? values.map((v) => Math.floor((v + 1) * 500))
            : values.map((v) => (name.startsWith('adam.v') ? Math.abs(v) : v));
      ex.write(name, tensor(data, n.shape, n.dtype));
    }
    return ex;
  };
  const split = await make('split');
  const serial = await make('serial');
  try {
    const run = (ex: WebGpuExecutor) => async (runs: number) => {
      for (let r = 0; r < runs; r++) await ex.step();
    };
    return await interleavedMsPerRun({ split: run(split), serial: run(serial) }, 3, { minBatchMs: 0, budgetMs: 6000, minSamples: 3 });
  } finally {
    split.destroy();
    serial.destroy();
  }
}

async function measure(gpu: GpuDevice | null, log: (line: string) => void): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  for (const [name, make] of [
    ['dit-b64', () => litStep('DiT', 64)],
    ['lit-b64', () => litStep('LiT', 64)],
    ['llama', llamaStep],
  ] as const) {
    const step = make();
    const after = criticalPath(step, 'split');
    const before = criticalPath(step, 'serial');
    log(
      `${name}: critical path ${after.path} loop iterations (${after.dispatches} dispatches), serial reductions ${before.path} (${before.dispatches}): ${(before.path / after.path).toFixed(1)}× shorter`,
    );
    rows.push(result(`critical-path-${name}`, 'loop iterations', after.path, before.path, 'serial reductions (main)', false));
  }
  if (gpu === null) return rows;
  const ms = await stepTimes(gpu, litStep('DiT', 8));
  const card = gpu.adapterInfo.description || gpu.adapterInfo.device || gpu.adapterInfo.vendor;
  log(`dit-b8 step on ${card}: split ${ms.split.toFixed(1)} ms, serial ${ms.serial.toFixed(1)} ms`);
  rows.push(result('dit-b8-step', 'ms', ms.split, ms.serial, 'serial reductions (main)', false));
  return rows;
}

export const benchmarks: Benchmark[] = [
  {
    name: 'critical-path',
    description:
      'critical path (Σ longest per-thread loop) of the LiT DiT b64 and default llama train steps, split vs serial reductions; DiT b8 step ms on the device',
    needsGpu: false,
    run: (ctx) => measure(ctx.gpu, (line) => ctx.log(line)),
  },
];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { acquireDevice } = await import('../runtime/webgpu/device.ts');
  const acquired = await acquireDevice();
  try {
    await measure(acquired.device === null ? null : acquired, (line) => console.log(line));
  } finally {
    if (acquired.device !== null) acquired.destroy();
  }
}
