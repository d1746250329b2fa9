// The main job (specs/default.scion's TinyLlama on Brown) trained for a few updates through
// `scion train`'s own path (prepareLmJob → trainLm), timed from metrics.jsonl's time_s between
// update `warmup` and the last, so compilation and the first runs are not counted. Shared by the
// benchmarks that compare ways of running that path (onnx-train-step, train-resident).

import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backends/backend.ts';
import { checkSource } from '../grammar/check/check-source.ts';
import { DEFAULT_SPEC } from '../jobs/train/defaults.ts';
import { prepareLmJob } from '../jobs/train/lm-job.ts';
import { trainLm } from '../jobs/train/train-lm.ts';

export interface MainJobRun {
  /** Training tokens/s over updates warmup..steps. */
  tokensPerSecond: number;
  /** summary.json's figure (null where the host is the device). */
  transferBytesPerStep: number | null;
  /** The last update's training loss. */
  lastLoss: number;
}

/** Trains the main job for `steps` updates on `backend` in a fresh folder under `dir`. */
export async function runMainJob(backend: Backend, dir: string, steps: number, warmup: number): Promise<MainJobRun> {
  const r = checkSource(readFileSync(DEFAULT_SPEC, 'utf8'), 'specs/default.scion', () => undefined);
  const program = { file: 'specs/default.scion', imports: [], decls: r.decls };
  const out = mkdtempSync(join(dir, 'run-'));
  const job = await prepareLmJob(program, 'TinyLlama', { outDir: out, cwd: process.cwd(), steps, log: () => undefined });
  const run = await trainLm({ ...job.plan, evalBatchesFinal: 1 }, { outDir: out, resume: false, backend, progress: false });
  const train = run.metrics.filter((m) => m.kind === 'train');
  const at = (step: number): number => Number(train.find((m) => m.step === step)?.['time_s']);
  const tokens = (steps - warmup) * job.plan.batch * job.plan.ctx;
  return {
    tokensPerSecond: tokens / (at(steps) - at(warmup)),
    transferBytesPerStep: run.summary.transferBytesPerStep,
    lastLoss: Number(train.at(-1)?.['loss']),
  };
}
