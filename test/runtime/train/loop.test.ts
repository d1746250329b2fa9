import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExampleBatcher } from '../../../runtime/data/batchers.ts';
import { Prng } from '../../../runtime/data/prng.ts';
import { checkpointPath } from '../../../runtime/train/checkpoint.ts';
import { Ema } from '../../../runtime/train/ema.ts';
import { train, TrainingDiverged, type StepResult, type TrainOptions } from '../../../runtime/train/loop.ts';
import { AdamW, Sgd } from '../../../runtime/train/optimizers.ts';
import { warmupCosine, constant } from '../../../runtime/train/schedules.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'scion-loop-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const D = 3; // features
const N = 40; // examples
const TRUE_W = [1.5, -2, 0.5];

/** A toy regression run: y = w·x + b + noise, mean squared error, analytic gradients. */
function toyRun(options: { crashAt?: number; nanAt?: { batch: number; what: 'loss' | 'b' } } = {}) {
  const gen = new Prng(11);
  const rows = new Float32Array(N * (D + 1)); // [N, D + 1]: x then y
  for (let e = 0; e < N; e++) {
    let y = 0.3;
    for (let j = 0; j < D; j++) {
      const x = gen.nextNormal();
      rows[e * (D + 1) + j] = x;
      y += TRUE_W[j]! * x;
    }
    rows[e * (D + 1) + D] = y;
  }
  const batcher = new ExampleBatcher(rows, new Int32Array(N), { batch: 8, seed: 5 });
  const noise = new Prng(99); // target noise: makes the RNG state matter for exact resume
  const params = new Map([
    ['w', new Float32Array(D)],
    ['b', new Float32Array(1)],
  ]);
  const step = (batch: number): StepResult => {
    if (batch === options.crashAt) throw new Error('simulated crash');
    const { x } = batcher.next(); // [8, D + 1]
    const B = x.length / (D + 1);
    const w = params.get('w')!;
    const b = params.get('b')![0]!;
    const gw = new Float32Array(D);
    let gb = 0;
    let loss = 0;
    for (let r = 0; r < B; r++) {
      let pred = b;
      for (let j = 0; j < D; j++) pred += w[j]! * x[r * (D + 1) + j]!;
      const res = pred - (x[r * (D + 1) + D]! + 0.01 * noise.nextNormal());
      loss += (res * res) / B;
      for (let j = 0; j < D; j++) gw[j] = gw[j]! + (2 * res * x[r * (D + 1) + j]!) / B;
      gb += (2 * res) / B;
    }
    if (options.nanAt?.batch === batch) {
      if (options.nanAt.what === 'loss') loss = Infinity;
      else gb = NaN;
    }
    return {
      loss,
      grads: new Map([
        ['w', gw],
        ['b', new Float32Array([gb])],
      ]),
      items: B,
    };
  };
  return { params, step, batcher, noise };
}

function options(run: ReturnType<typeof toyRun>, dir: string, resume = false): TrainOptions {
  return {
    params: run.params,
    step: run.step,
    optimizer: new AdamW({ weightDecay: 0.01 }),
    schedule: warmupCosine({ base: 0.1, warmup: 3, total: 20, minLr: 0.01 }),
    steps: 20,
    accumulate: 2,
    clip: 1,
    ema: new Ema(run.params, 0.9),
    checkpoint: { dir: join(dir, 'ckpt'), every: 4, keep: 2 },
    resume,
    evalEvery: 5,
    evaluate: (s) => ({ w0: run.params.get('w')![0]!, s }),
    rng: run.noise,
    data: run.batcher,
    runDir: dir,
    progress: false,
    unit: 'ex',
  };
}

const trainLosses = (metrics: readonly { kind: string; loss?: unknown }[]) => metrics.filter((m) => m.kind === 'train').map((m) => m.loss);

describe('train loop', () => {
  it('learns the toy regression', async () => {
    const run = toyRun();
    const { checkpoint, ...noCheckpoints } = options(run, join(root, 'learn'));
    expect(checkpoint).toBeDefined();
    const { metrics } = await train(noCheckpoints);
    const losses = trainLosses(metrics) as number[];
    expect(losses).toHaveLength(20);
    expect(losses[19]!).toBeLessThan(losses[0]! / 5);
  });

  it('resumes after a crash bit-identically to an uninterrupted run', async () => {
    const a = toyRun();
    const ema = new Ema(a.params, 0.9);
    const full = await train({ ...options(a, join(root, 'full')), ema });

    // Crash in the middle of update 11 (micro-batch index 2·10 + 1): checkpoints exist for 4 and 8.
    const b = toyRun({ crashAt: 21 });
    await expect(train(options(b, join(root, 'resumed')))).rejects.toThrow('simulated crash');
    const crashed = JSON.parse(await readFile(join(root, 'resumed', 'summary.json'), 'utf8')) as { status: string; stepsDone: number };
    expect(crashed).toMatchObject({ status: 'failed', stepsDone: 10 });

    // A fresh process: new objects from the same seeds, restored from the newest checkpoint.
    const c = toyRun();
    const emaC = new Ema(c.params, 0.9);
    const resumed = await train({ ...options(c, join(root, 'resumed'), true), ema: emaC });
    expect(resumed.resumedFrom).toBe(checkpointPath(join(root, 'resumed', 'ckpt'), 8));
    expect(trainLosses(resumed.metrics)).toEqual(trainLosses(full.metrics));
    expect(trainLosses(full.metrics)).toHaveLength(20);
    expect([...c.params.get('w')!]).toEqual([...a.params.get('w')!]);
    expect([...c.params.get('b')!]).toEqual([...a.params.get('b')!]);
    expect([...emaC.shadow.get('w')!]).toEqual([...ema.shadow.get('w')!]);

    // metrics.jsonl holds every step once (the crashed run's steps 9–10 were replaced) plus evals.
    const lines = (await readFile(join(root, 'resumed', 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; step: number; loss?: number });
    expect(lines.filter((l) => l.kind === 'train').map((l) => l.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(lines.filter((l) => l.kind === 'eval').map((l) => l.step)).toEqual([5, 10, 15, 20]);
    expect(trainLosses(lines)).toEqual(trainLosses(full.metrics));
    const summary = JSON.parse(await readFile(join(root, 'resumed', 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary).toMatchObject({ status: 'completed', stepsDone: 20, finalLoss: trainLosses(full.metrics)[19] });
  });

  it('stops on a non-finite gradient, naming the step, the tensor and the last good checkpoint', async () => {
    const dir = join(root, 'nan');
    const run = toyRun({ nanAt: { batch: 2 * 6 + 1, what: 'b' } }); // update 7, second micro-batch
    const error = await train(options(run, dir)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingDiverged);
    expect((error as Error).message).toBe(
      `training stopped at step 7: gradient 'b' has NaN at index 0 (micro-batch 2/2); last good checkpoint: ${checkpointPath(join(dir, 'ckpt'), 4)} (try a lower learning rate or clip = 1.0)`,
    );
    const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary).toMatchObject({ status: 'diverged', stepsDone: 6 });

    const lossRun = toyRun({ nanAt: { batch: 0, what: 'loss' } });
    await expect(train({ ...options(lossRun, join(root, 'inf')), accumulate: 1 })).rejects.toThrow(
      'training stopped at step 1: the loss is Infinity; no checkpoint was written yet',
    );
  });

  it('averages micro-batches: accumulate 2 × 4 examples equals one batch of 8 for SGD', async () => {
    // Two runs over the same example order: one with batches of 8, one with 2 micro-batches of 4.
    const rows = Float32Array.from({ length: 16 * 2 }, (_, i) => Math.sin(i)); // [16, 2]: x, y
    const run = (batch: number, accumulate: number) => {
      const batcher = new ExampleBatcher(rows, new Int32Array(16), { batch, seed: 1, shuffle: false });
      const params = new Map([['w', new Float32Array([0.2])]]);
      const step = (): StepResult => {
        const { x } = batcher.next();
        const w = params.get('w')![0]!;
        let g = 0;
        let loss = 0;
        for (let r = 0; r < batch; r++) {
          const res = w * x[2 * r]! - x[2 * r + 1]!;
          loss += (res * res) / batch;
          g += (2 * res * x[2 * r]!) / batch;
        }
        return { loss, grads: new Map([['w', new Float32Array([g])]]) };
      };
      return train({ params, step, optimizer: new Sgd({ momentum: 0.9 }), schedule: constant(0.1), steps: 2, accumulate, progress: false }).then((r) => ({
        w: params.get('w')![0]!,
        losses: trainLosses(r.metrics) as number[],
      }));
    };
    const whole = await run(8, 1);
    const split = await run(4, 2);
    expect(split.w).toBeCloseTo(whole.w, 6);
    split.losses.forEach((l, i) => expect(l).toBeCloseTo(whole.losses[i]!, 6));
  });
});
