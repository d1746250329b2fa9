// Resident training on WebGPU (issue 16): a tiny llama with AdamW, clipping and an EMA trains as one
// compiled step whose parameters, moments and EMA stay on the device. Per step only the batch,
// the optimizer's three scalars and the read-back loss, gradient norm and non-finite flag cross;
// a run cut after its step-5 checkpoint resumes to the uninterrupted run's losses and parameters
// bit for bit; that checkpoint has the host loop's names and continues on the CPU reference; a
// NaN on the device stops the run at its step with the last good checkpoint intact; SGD with
// momentum, gradient accumulation and an EMA follow the CPU reference's host loop. One backend
// for the whole file, so lavapipe compiles the step's pipelines once; it queues two runs ahead of
// the one it reads, as on a hardware GPU (lavapipe's own choice is 0), so the loop's lag is what
// is tested. Skipped without an adapter.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../../../backends/backend.ts';
import { referenceBackend } from '../../../backends/reference/index.ts';
import { createWebGpuBackend } from '../../../backends/webgpu/index.ts';
import { prepareLmJob } from '../../../jobs/train/lm-job.ts';
import { trainLm, type LmTrainResult } from '../../../jobs/train/train-lm.ts';
import { readCheckpoint } from '../../../runtime/train/checkpoint.ts';
import { llamaSpec, parse } from '../../compiler/lower/helpers.ts';
import { nanBeforeRun } from './run-metrics.ts';
import { gpuForTests } from '../../runtime/webgpu/gpu-fixture.ts';
import { crash } from './crash-checkpoint.ts';

vi.mock('../../../runtime/train/checkpoint.ts', async (importOriginal) => (await import('./crash-checkpoint.ts')).crashingCheckpoints(await importOriginal()));

const BATCH = 2;
const CTX = 8;
const SPEC = `
${llamaSpec('Tiny', `vocab = 300, dim = 16, depth = 1, heads = 2, kv_heads = 1, ffn = 32, ctx = ${CTX}`)}

train Tiny {
  data = text(path = "train.txt", seq = ${CTX})
  loss = cross_entropy(logits, next(tokens))
  optimizer = adamw(lr = 1e-2, betas = (0.9, 0.95), weight_decay = 0.01, clip = 1.0)
  schedule = warmup_cosine(warmup = 3, min_lr = 1e-3)
  steps = 10
  batch = ${BATCH}
  ema = 0.99
  checkpoint = { every = 5, keep = 3 }
  seed = 5
}
`;

/** The same model with SGD (momentum, coupled decay), two micro-batches per update and an EMA. */
const SGD_SPEC = SPEC.replace(
  'optimizer = adamw(lr = 1e-2, betas = (0.9, 0.95), weight_decay = 0.01, clip = 1.0)',
  'optimizer = sgd(lr = 0.5, momentum = 0.9, weight_decay = 0.01, clip = 1.0)\n  accumulate = 2',
)
  .replace('steps = 10', 'steps = 4')
  .replace('ema = 0.99', 'ema = 0.9');

const probe = await gpuForTests();
let dir: string;
let gpu: Backend;
let trainable: readonly { path: string; shape: readonly number[] }[];

/** Trains the tiny spec into `out` on `backend`; a failed run's error is returned, not thrown. */
async function run(out: string, backend: Backend, resume = false, spec = SPEC): Promise<LmTrainResult | Error> {
  const job = await prepareLmJob(parse(spec), 'Tiny', { outDir: join(dir, out), cwd: dir, log: () => undefined });
  try {
    return await trainLm({ ...job.plan, evalBatchesFinal: 2 }, { outDir: join(dir, out), resume, backend, progress: false });
  } catch (error) {
    return error as Error;
  }
}
const ok = (r: LmTrainResult | Error): LmTrainResult => {
  if (r instanceof Error) throw r;
  return r;
};
const losses = (r: LmTrainResult): number[] => r.metrics.filter((m) => m.kind === 'train').map((m) => m['loss'] as number);

describe.skipIf(probe.gpu === null)('resident training on WebGPU', () => {
  let full: LmTrainResult;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scion-resident-'));
    writeFileSync(join(dir, 'train.txt'), 'the cat sat on the mat. a dog ran in the park. '.repeat(40));
    const job = await prepareLmJob(parse(SPEC), 'Tiny', { outDir: join(dir, 'probe'), cwd: dir, log: () => undefined });
    const b = await createWebGpuBackend(job.plan.graph, { allowSoftware: true, tune: false });
    if ('reason' in b) throw new Error(b.reason);
    const resident = b.resident as NonNullable<Backend['resident']>;
    gpu = { ...b, resident: async (graph, carry) => ({ ...(await resident(graph, carry)), queueAhead: 2 }) };
    trainable = job.plan.trainable;
    expect(gpu.resident).toBeDefined();
    full = ok(await run('full', gpu));
  }, 900_000);
  afterAll(() => gpu?.dispose());

  it('moves only the batch, three scalars and the loss, norm and flag per step (≤ batch bytes + 1 KiB)', () => {
    const batchBytes = BATCH * CTX * 4; // i32 token ids, stored as 4-byte values
    const scalars = 3 * 4; // adam.lr, adam.bc1, adam.bc2
    const emaDecay = 4; // warmed up by the host every step
    const readback = 3 * 4; // loss, grad_norm, nonfinite
    const records = full.metrics.filter((m) => m.kind === 'train');
    expect(records).toHaveLength(10);
    for (const r of records) {
      expect(r['transferBytesPerStep']).toBe(batchBytes + scalars + emaDecay + readback);
      expect(r['transferBytesPerStep'] as number).toBeLessThanOrEqual(batchBytes + 1024);
    }
    expect(full.summary.transferBytesPerStep).toBe(batchBytes + scalars + emaDecay + readback);
    expect(full.summary.device).toBe('webgpu');
    // It trained: the loss fell, and the EMA differs from the weights it follows.
    expect(losses(full)[9]).toBeLessThan(losses(full)[0] as number);
    const [name, w] = [...full.params][0] as [string, Float32Array];
    expect(full.ema?.get(name)).not.toEqual(w);
  });

  it('resumes a run cut after its step-5 checkpoint to the same losses, parameters and EMA, bit for bit', async () => {
    crash.afterStep = 5;
    const cut = await run('cut', gpu);
    crash.afterStep = undefined;
    expect(String(cut)).toContain('simulated crash after step 5');
    const resumed = ok(await run('cut', gpu, true));
    expect(resumed.summary.resumedFrom).toBe(join(dir, 'cut', 'checkpoints', 'step-00000005.safetensors'));
    expect(losses(resumed)).toEqual(losses(full));
    for (const [name, w] of full.params) expect(resumed.params.get(name), name).toEqual(w);
    for (const [name, s] of full.ema ?? new Map()) expect(resumed.ema?.get(name), `ema ${name}`).toEqual(s);
  }, 900_000);

  it("writes the host loop's checkpoint: its names, and the CPU reference continues it", async () => {
    const c = await readCheckpoint(join(dir, 'cut', 'checkpoints', 'step-00000005.safetensors'));
    const paths = [...full.params.keys()].sort();
    expect([...c.params.keys()].sort()).toEqual(paths);
    expect([...(c.optimizer?.tensors.keys() ?? [])].sort()).toEqual(paths.flatMap((p) => [`exp_avg/${p}`, `exp_avg_sq/${p}`]).sort());
    expect([...(c.ema?.keys() ?? [])].sort()).toEqual(paths);
    expect(c.optimizer?.step).toBe(5);
    // The same checkpoint, resumed by the host loop on the CPU reference: the WebGPU run's losses within 1e-3.
    const { cpSync } = await import('node:fs');
    cpSync(join(dir, 'cut', 'checkpoints', 'step-00000005.safetensors'), join(dir, 'on-cpu', 'checkpoints', 'step-00000005.safetensors'));
    const cpu = ok(await run('on-cpu', referenceBackend, true));
    expect(cpu.summary.transferBytesPerStep).toBeNull();
    const want = losses(full);
    losses(cpu).forEach((l, i) => expect(Math.abs(l - (want[i] as number)) / (want[i] as number), `step ${i + 1}`).toBeLessThan(1e-3));
  }, 900_000);

  it('stops at the step whose loss is NaN, naming it and the last good checkpoint, which stays intact', async () => {
    // A NaN written into one weight on the device before step 9's run: the loss is NaN from there.
    // Steps 9 and 10 are queued before step 9 is read; step 10's checkpoint waits for that read.
    const poisoned = nanBeforeRun(gpu, 9, trainable[0] as (typeof trainable)[number]);
    const r = await run('nan', poisoned);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toBe(
      `training stopped at step 9: the loss is NaN; last good checkpoint: ${join(dir, 'nan', 'checkpoints', 'step-00000005.safetensors')} (try a lower learning rate or clip = 1.0)`,
    );
    const good = await readCheckpoint(join(dir, 'nan', 'checkpoints', 'step-00000005.safetensors'));
    const same = await readCheckpoint(join(dir, 'cut', 'checkpoints', 'step-00000005.safetensors'));
    for (const [name, w] of same.params) expect(good.params.get(name), name).toEqual(w);
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(dir, 'nan', 'checkpoints', 'step-00000010.safetensors'))).toBe(false);
  }, 900_000);

  it('trains SGD with momentum, two micro-batches per update and an EMA as the CPU reference does (relative 1e-5)', async () => {
    expect(SGD_SPEC).toContain('accumulate = 2');
    const want = ok(await run('sgd-cpu', referenceBackend, false, SGD_SPEC));
    const got = ok(await run('sgd-gpu', gpu, false, SGD_SPEC));
    expect(losses(got)).toHaveLength(4);
    losses(got).forEach((l, i) => expect(Math.abs(l - (losses(want)[i] as number)) / l, `update ${i + 1}`).toBeLessThan(1e-5));
    for (const [name, w] of want.ema ?? new Map<string, Float32Array>()) {
      const g = got.ema?.get(name) as Float32Array;
      w.forEach((x, i) => expect(Math.abs((g[i] as number) - x), `ema ${name}[${i}]`).toBeLessThan(1e-5));
    }
    // Per update: two micro-batches, each the batch, sgd.lr, ema.decay and step.apply, and three read-back scalars.
    expect(got.summary.transferBytesPerStep).toBe(2 * (BATCH * CTX * 4 + 3 * 4 + 3 * 4));
  }, 900_000);

  it('stops at a checkpoint step whose update made a parameter infinite, with the loss still finite, before writing it', async () => {
    // An infinite learning rate on step 5 (a checkpoint step): its loss and gradients are finite,
    // its new parameters are not. Some drivers fold the device flag's x·0 to 0 (lavapipe does), so
    // what must hold is the loop's check of the state it reads back before checkpointing.
    let runs = 0;
    const resident = gpu.resident as NonNullable<Backend['resident']>;
    const infinite: Backend = {
      ...gpu,
      resident: async (graph, carry) => {
        const g = await resident(graph, carry);
        return {
          ...g,
          enqueue: async (feeds, watch) => {
            const f = new Map(feeds);
            if (++runs === 5) f.set('adam.lr', { dtype: 'f32', shape: [], data: Float32Array.of(Number.POSITIVE_INFINITY) });
            return g.enqueue(f, watch);
          },
        };
      },
    };
    const r = await run('inf', infinite);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toMatch(
      /^training stopped at step 5: (parameter '[^']+' is (-?Infinity|NaN) at index \d+ \(read back after the update\)|a parameter became ±inf or NaN after the update); no checkpoint was written yet/,
    );
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(dir, 'inf', 'checkpoints', 'step-00000005.safetensors'))).toBe(false);
  }, 900_000);
});
