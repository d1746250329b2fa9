// Resident training on the CPU backend (ONNX Runtime, backends/cpu/resident.ts): `scion train
// --device cpu` runs the whole step (buildTrainStep: AdamW or SGD, clipping, EMA, accumulation) as
// one session whose parameters, moments and EMA stay in the backend's arrays between steps. The
// same tiny llama spec as webgpu-resident.test.ts: it follows the CPU reference's host loop, a run
// cut after its step-5 checkpoint resumes bit for bit (losses, parameters, EMA), the checkpoint has
// the host loop's names and continues on the reference, and a NaN stops the run at its step with
// the last good checkpoint intact. The main job itself on --device cpu: cpu-device.test.ts.

import { cpSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../../../backends/backend.ts';
import { CPU } from '../../../backends/cpu/index.ts';
import { referenceBackend } from '../../../backends/reference/index.ts';
import { prepareLmJob } from '../../../jobs/train/lm-job.ts';
import { trainLm, type LmTrainResult } from '../../../jobs/train/train-lm.ts';
import { readCheckpoint } from '../../../runtime/train/checkpoint.ts';
import { llamaSpec, parse } from '../../compiler/lower/helpers.ts';
import { nanBeforeRun } from './run-metrics.ts';
import { crash } from './crash-checkpoint.ts';

vi.mock('../../../runtime/train/checkpoint.ts', async (importOriginal) => (await import('./crash-checkpoint.ts')).crashingCheckpoints(await importOriginal()));

const CTX = 8;
const SPEC = `
${llamaSpec('Tiny', `vocab = 300, dim = 16, depth = 1, heads = 2, kv_heads = 1, ffn = 32, ctx = ${CTX}`)}

train Tiny {
  data = text(path = "train.txt", seq = ${CTX})
  loss = cross_entropy(logits, next(tokens))
  optimizer = adamw(lr = 1e-2, betas = (0.9, 0.95), weight_decay = 0.01, clip = 1.0)
  schedule = warmup_cosine(warmup = 3, min_lr = 1e-3)
  steps = 10
  batch = 2
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

let dir: string;
let cpu: Backend;
/** Resident graphs made so far: each run of the tiny spec makes one when it takes the resident path. */
let residents = 0;
let trainable: readonly { path: string; shape: readonly number[] }[];

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
const relClose = (got: readonly number[], want: readonly number[], tol: number, what: string) => {
  expect(got).toHaveLength(want.length);
  got.forEach((l, i) => expect(Math.abs(l - (want[i] as number)) / Math.abs(want[i] as number), `${what} ${i + 1}: ${l} vs ${want[i]}`).toBeLessThan(tol));
};

describe('resident training on the CPU backend (ONNX Runtime)', () => {
  let full: LmTrainResult;
  let reference: LmTrainResult;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scion-cpu-resident-'));
    writeFileSync(join(dir, 'train.txt'), 'the cat sat on the mat. a dog ran in the park. '.repeat(40));
    const job = await prepareLmJob(parse(SPEC), 'Tiny', { outDir: join(dir, 'probe'), cwd: dir, log: () => undefined });
    const b = await CPU.open(job.plan.graph, true);
    if ('reason' in b) throw new Error(b.reason);
    const resident = b.resident;
    if (resident === undefined) throw new Error('the cpu backend has no resident');
    cpu = {
      ...b,
      resident: async (graph, carry) => {
        residents++;
        return resident(graph, carry);
      },
    };
    trainable = job.plan.trainable;
    full = ok(await run('full', cpu));
    reference = ok(await run('reference', referenceBackend));
  }, 300_000);
  afterAll(() => cpu?.dispose());

  it("takes the resident path and follows the reference host loop's losses and EMA (AdamW, clipping)", () => {
    expect(residents).toBe(1);
    expect(full.summary.device).toBe('cpu');
    // The host is the device: nothing is counted as crossing.
    expect(full.summary.transferBytesPerStep).toBeNull();
    // f32 in ONNX Runtime against the reference's f64 accumulation: measured ≤ 1e-7 relative.
    relClose(losses(full), losses(reference), 1e-4, 'step');
    expect(losses(full)[9]).toBeLessThan(losses(full)[0] as number);
    for (const [name, w] of reference.ema ?? new Map<string, Float32Array>()) {
      const g = full.ema?.get(name) as Float32Array;
      w.forEach((x, i) => expect(Math.abs((g[i] as number) - x), `ema ${name}[${i}]`).toBeLessThan(1e-5));
    }
  });

  it('resumes a run cut after its step-5 checkpoint to the same losses, parameters and EMA, bit for bit', async () => {
    crash.afterStep = 5;
    const cut = await run('cut', cpu);
    crash.afterStep = undefined;
    expect(String(cut)).toContain('simulated crash after step 5');
    const resumed = ok(await run('cut', cpu, true));
    expect(resumed.summary.resumedFrom).toBe(join(dir, 'cut', 'checkpoints', 'step-00000005.safetensors'));
    expect(losses(resumed)).toEqual(losses(full));
    for (const [name, w] of full.params) expect(resumed.params.get(name), name).toEqual(w);
    for (const [name, s] of full.ema ?? new Map()) expect(resumed.ema?.get(name), `ema ${name}`).toEqual(s);
  }, 300_000);

  it("writes the host loop's checkpoint: its names, and the reference continues it", async () => {
    const c = await readCheckpoint(join(dir, 'cut', 'checkpoints', 'step-00000005.safetensors'));
    const paths = [...full.params.keys()].sort();
    expect([...c.params.keys()].sort()).toEqual(paths);
    expect([...(c.optimizer?.tensors.keys() ?? [])].sort()).toEqual(paths.flatMap((p) => [`exp_avg/${p}`, `exp_avg_sq/${p}`]).sort());
    expect([...(c.ema?.keys() ?? [])].sort()).toEqual(paths);
    expect(c.optimizer?.step).toBe(5);
    cpSync(join(dir, 'cut', 'checkpoints', 'step-00000005.safetensors'), join(dir, 'on-ref', 'checkpoints', 'step-00000005.safetensors'));
    const onRef = ok(await run('on-ref', referenceBackend, true));
    expect(onRef.summary.resumedFrom).toBe(join(dir, 'on-ref', 'checkpoints', 'step-00000005.safetensors'));
    relClose(losses(onRef), losses(full), 1e-4, 'step');
  }, 300_000);

  it('stops at the step whose loss is NaN, naming it and the last good checkpoint, which stays intact', async () => {
    const poisoned = nanBeforeRun(cpu, 9, trainable[0] as (typeof trainable)[number]);
    const r = await run('nan', poisoned);
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toBe(
      `training stopped at step 9: the loss is NaN; last good checkpoint: ${join(dir, 'nan', 'checkpoints', 'step-00000005.safetensors')} (try a lower learning rate or clip = 1.0)`,
    );
    const good = await readCheckpoint(join(dir, 'nan', 'checkpoints', 'step-00000005.safetensors'));
    const same = await readCheckpoint(join(dir, 'cut', 'checkpoints', 'step-00000005.safetensors'));
    for (const [name, w] of same.params) expect(good.params.get(name), name).toEqual(w);
    expect(existsSync(join(dir, 'nan', 'checkpoints', 'step-00000010.safetensors'))).toBe(false);
  }, 300_000);

  it('trains SGD with momentum, two micro-batches per update and an EMA as the reference does (relative 1e-5)', async () => {
    expect(SGD_SPEC).toContain('accumulate = 2');
    const want = ok(await run('sgd-ref', referenceBackend, false, SGD_SPEC));
    const got = ok(await run('sgd-cpu', cpu, false, SGD_SPEC));
    relClose(losses(got), losses(want), 1e-5, 'update');
    for (const [name, w] of want.ema ?? new Map<string, Float32Array>()) {
      const g = got.ema?.get(name) as Float32Array;
      w.forEach((x, i) => expect(Math.abs((g[i] as number) - x), `ema ${name}[${i}]`).toBeLessThan(1e-5));
    }
  }, 300_000);
});
