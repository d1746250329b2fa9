// Training tokens/s of the main job (specs/default.scion, its batch and context, Brown) through
// `scion train`'s own path (prepareLmJob → trainLm → runTraining) on one WebGPU backend, twice in
// one run: resident (ours: the whole step compiled by buildTrainStep, state kept on the device,
// the loss read a few steps behind) and the host loop (peer: forward and backward on the device,
// every parameter written and every gradient read back, AdamW on the host). The rate is taken
// from metrics.jsonl's time_s between step WARMUP and the last step, so pipeline compilation and
// the first dispatches are not timed; checkpoints and evaluation fall outside that window. The
// contenders alternate, ROUNDS runs each (the second ones reuse the compiled pipelines), and each
// one's best run counts: this machine's load moves from run to run by more than the difference. The
// summary's transferBytesPerStep of each run is logged beside it.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Backend } from '../backends/backend.ts';
import { createWebGpuBackend } from '../backends/webgpu/index.ts';
import { type MainJobRun, runMainJob } from './main-job-run.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

/** Updates run per contender; the first WARMUP are not timed. */
const STEPS = 10;
const WARMUP = 3;
const ROUNDS = 2;

/** Trains the default job for STEPS updates on `backend`; tokens/s over updates WARMUP..STEPS. */
async function measure(backend: Backend, dir: string, log: (m: string) => void): Promise<MainJobRun> {
  const m = await runMainJob(backend, dir, STEPS, WARMUP);
  log(
    `train-resident: ${backend.resident === undefined ? 'host loop' : 'resident'}: ${m.tokensPerSecond.toFixed(0)} tokens/s, ${m.transferBytesPerStep ?? '?'} bytes crossing per step`,
  );
  return m;
}

export const benchmarks: Benchmark[] = [
  {
    name: 'train-resident',
    description: `training tokens/s of the default job on WebGPU (${STEPS - WARMUP} timed updates): resident step (ours) vs the host loop`,
    needsGpu: true,
    async run(ctx): Promise<BenchResult[]> {
      const dir = mkdtempSync(join(tmpdir(), 'scion-bench-resident-'));
      // An empty graph opens the device; each run compiles its own.
      const gpu = await createWebGpuBackend({ nodes: [], outputs: [] }, { allowSoftware: true });
      if ('reason' in gpu) throw new Error(`train-resident needs WebGPU: ${gpu.reason}`);
      try {
        // The same backend without the capability: runTraining falls back to the host loop.
        const { resident: _, ...hostLoop } = gpu;
        const best = (a: MainJobRun | undefined, b: MainJobRun): MainJobRun => (a === undefined || b.tokensPerSecond > a.tokensPerSecond ? b : a);
        let ours: MainJobRun | undefined;
        let peer: MainJobRun | undefined;
        for (let r = 0; r < ROUNDS; r++) {
          ours = best(ours, await measure(gpu, dir, ctx.log));
          peer = best(peer, await measure(hostLoop, dir, ctx.log));
        }
        if (ours === undefined || peer === undefined) throw new Error('train-resident: nothing measured');
        ctx.log(`train-resident: loss after ${STEPS} updates: resident ${ours.lastLoss.toFixed(4)}, host loop ${peer.lastLoss.toFixed(4)}`);
        return [
          result('train-resident-tokens', 'tokens/s', ours.tokensPerSecond, peer.tokensPerSecond, 'host loop (same device)', true),
          result(
            'train-resident-bytes-per-step',
            'bytes',
            ours.transferBytesPerStep ?? Number.NaN,
            peer.transferBytesPerStep,
            'host loop (same device)',
            false,
          ),
        ];
      } finally {
        gpu.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await benchmarks[0]!.run({ gpu: null, noGpuReason: 'standalone run', cache: null, log: (m) => process.stderr.write(`${m}\n`) });
  for (const r of rows)
    process.stdout.write(
      `${r.name}: ${r.ours.toFixed(0)} ${r.unit}${r.peer === null ? ` (${r.peerName})` : `, ${r.peerName} ${r.peer.toFixed(0)} (×${r.ratio?.toFixed(2)})`}\n`,
    );
}
