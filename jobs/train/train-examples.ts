// The training job for example-based tasks — image diffusion, classification, and language
// models trained in multiple rounds. Like train-lm.ts it feeds the generic loop of runtime/train
// (updates, clipping, EMA, checkpoints, resume, NaN checks, progress, metrics.jsonl); here a batch
// is a list of example indices (RoundBatches, which also does the round resampling) turned into
// inputs by a Feeder. Per-step randomness (diffusion timesteps, noise, label dropout) comes from one
// seeded PRNG whose state is checkpointed, so a resumed run repeats an uninterrupted one.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Graph } from '../../compiler/ir/graph.ts';
import type { LrScheduleSpec, OptimizerSpec } from '../../compiler/lower/lower-train-config.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { Prng } from '../../runtime/data/index.ts';
import { gradsOf, liveParams, tailMeanLoss } from './live-params.ts';
import { Ema, ramp, train, type MetricRecord, type NamedTensors, type Stateful } from '../../runtime/train/index.ts';
import type { Examples } from './examples.ts';
import type { Feeder } from './feeders.ts';
import { RoundBatches, type RoundsSpec } from './round-batches.ts';
import { loopSettings, type JobOptions } from './train-lm.ts';

export type TaskKind = 'diffusion' | 'classification' | 'lm';

export interface ExampleTrainPlan {
  kind: TaskKind;
  /** Outputs `loss`, `evalOutput`, `logitsOutput` (classification) and one gradient per trainable parameter. */
  graph: Graph;
  /** Forward-only graph for evaluation and round scoring (no dropout); `graph` when absent. */
  evalGraph?: Graph;
  /** An i32[2] input `graph` draws dropout from: fed (seed, batch index) each step. */
  dropoutKey?: string;
  trainable: readonly { path: string; shape: readonly number[]; grad: string }[];
  initial: ReadonlyMap<string, Float32Array>;
  frozen: ReadonlyMap<string, Tensor>;
  weights: readonly { input: string; from: number; to: number; steps: number }[];
  /** The output reported as validation loss (the cross-entropy or diffusion term, else `loss`). */
  evalOutput: string;
  /** Classification: the [batch, classes] logits output accuracy is read from. */
  logitsOutput?: string;
  feeder: Feeder;
  train: Examples;
  val: Examples;
  batch: number;
  /** Tokens or images per example, for the throughput figure. */
  itemsPerExample: number;
  unit: 'img' | 'tok' | 'ex';
  optimizer: OptimizerSpec;
  schedule: LrScheduleSpec;
  steps: number;
  accumulate: number;
  checkpoint: { every: number; keep: number };
  ema?: number;
  seed: number;
  evalEvery?: number;
  rounds?: RoundsSpec;
  evalBatchesDuring?: number;
  evalBatchesFinal?: number;
  /** Told when a later round starts. */
  onRound?: (round: number, chosen: number, of: number) => void;
}

export interface ExampleJobSummary {
  kind: TaskKind;
  steps: number;
  trainLoss: number | null;
  valLoss: number;
  /** Classification: fraction of validation examples whose argmax logit is the label. */
  valAccuracy: number | null;
  /** Images or tokens per second of step time; null for other units. */
  imagesPerSecond: number | null;
  tokensPerSecond: number | null;
  device: string;
  wallSeconds: number;
  resumedFrom: string | null;
  /** The run's seed (the spec's, or --seed). */
  seed: number;
  rounds: number;
}

export interface ExampleTrainResult {
  params: NamedTensors;
  /** The EMA of the weights when the spec asks for one. */
  ema?: NamedTensors;
  summary: ExampleJobSummary;
  metrics: MetricRecord[];
}

/** Up to `max` fixed batches spread over the set (every part of a small set is seen). */
export function evalIndexBatches(count: number, batch: number, max: number): Int32Array[] {
  const n = Math.min(max, Math.floor(count / batch));
  if (n < 1) throw new RangeError(`${count} validation examples: fewer than one batch of ${batch}`);
  const used = n * batch;
  return Array.from({ length: n }, (_, k) => Int32Array.from({ length: batch }, (_, r) => Math.floor(((k * batch + r) * count) / used)));
}

/** Index of the largest value of each row of a [rows, width] array (first on ties). */
export function argmaxRows(data: ArrayLike<number>, width: number): Int32Array {
  const rows = data.length / width;
  return Int32Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let k = 1; k < width; k++) if ((data[r * width + k] as number) > (data[r * width + best] as number)) best = k;
    return best;
  });
}

type EvalPlan = Pick<ExampleTrainPlan, 'graph' | 'evalGraph' | 'feeder' | 'evalOutput' | 'logitsOutput' | 'seed' | 'kind'>;

/**
 * Mean `evalOutput` over the batches, and accuracy when the plan has logits. Each batch draws its
 * noise from a PRNG seeded by its position, so evaluations of a diffusion model are comparable.
 */
export async function evaluateExamples(
  plan: EvalPlan,
  backend: JobOptions['backend'],
  base: ReadonlyMap<string, Tensor>,
  set: Examples,
  batches: readonly Int32Array[],
): Promise<{ loss: number; accuracy: number | null }> {
  let sum = 0;
  let correct = 0;
  let seen = 0;
  const outputs = plan.logitsOutput === undefined ? [plan.evalOutput] : [plan.evalOutput, plan.logitsOutput];
  for (const [k, idx] of batches.entries()) {
    const feeds = new Map(base);
    for (const [name, t] of plan.feeder.feeds(set, idx, new Prng((plan.seed + 1) * 1_000_003 + k), false)) feeds.set(name, t);
    const out = await backend.run(plan.evalGraph ?? plan.graph, feeds, outputs);
    sum += out.get(plan.evalOutput)!.data[0] as number;
    if (plan.logitsOutput !== undefined) {
      const logits = out.get(plan.logitsOutput)!;
      const pred = argmaxRows(logits.data, logits.shape.at(-1) as number);
      pred.forEach((p, r) => {
        if (p === set.labels[idx[r] as number]) correct++;
      });
      seen += pred.length;
    }
  }
  return { loss: sum / batches.length, accuracy: plan.logitsOutput === undefined ? null : correct / seen };
}

export async function trainExamples(plan: ExampleTrainPlan, o: JobOptions): Promise<ExampleTrainResult> {
  const began = performance.now();
  const { params, feeds } = liveParams(plan, 'trainExamples');
  const rng = new Prng(plan.seed ^ 0x0d1ff05e);
  const batches = new RoundBatches({
    count: plan.train.count,
    batch: plan.batch,
    seed: plan.seed,
    total: plan.steps * plan.accumulate,
    ...(plan.rounds === undefined
      ? {}
      : {
          rounds: plan.rounds,
          // The frozen current model: the live parameters at the round boundary, forward only.
          score: async (parts) => {
            const out: number[] = [];
            for (const [k, idx] of parts.entries()) {
              const f = new Map(feeds);
              for (const [name, t] of plan.feeder.feeds(plan.train, idx, new Prng((plan.seed + 2) * 1_000_003 + k), false)) f.set(name, t);
              out.push((await o.backend.run(plan.evalGraph ?? plan.graph, f, ['loss'])).get('loss')!.data[0] as number);
            }
            return out;
          },
        }),
    ...(plan.onRound === undefined ? {} : { onRound: plan.onRound }),
  });
  const data: Stateful = {
    getState: () => ({ batches: batches.getState(), rng: rng.getState() }),
    setState: (s) => {
      const st = s as { batches: unknown; rng: ReturnType<Prng['getState']> };
      batches.setState(st.batches);
      rng.setState(st.rng);
    },
  };
  const during = evalIndexBatches(plan.val.count, plan.batch, plan.evalBatchesDuring ?? 8);
  const final = evalIndexBatches(plan.val.count, plan.batch, plan.evalBatchesFinal ?? 32);
  const weightSchedules = plan.weights.map((w) => ({ input: w.input, at: ramp(w.from, w.to, w.steps) }));
  const outputs = ['loss', ...plan.trainable.map((p) => p.grad)];
  const itemsPerBatch = plan.batch * plan.itemsPerExample;
  const ema = plan.ema === undefined ? undefined : new Ema(params, plan.ema);
  let stepSeconds = 0;
  let stepItems = 0;

  const result = await train({
    params,
    ...loopSettings(plan, o),
    ...(ema === undefined ? {} : { ema }),
    data,
    runDir: o.outDir,
    progress: o.progress,
    unit: plan.unit,
    ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
    ...(plan.evalEvery === undefined
      ? {}
      : {
          evalEvery: plan.evalEvery,
          evaluate: async () => {
            const r = await evaluateExamples(plan, o.backend, feeds, plan.val, during);
            return r.accuracy === null ? { loss: r.loss } : { loss: r.loss, accuracy: r.accuracy };
          },
        }),
    step: async (batchIndex) => {
      const update = Math.floor(batchIndex / plan.accumulate);
      const idx = await batches.next(batchIndex);
      for (const [name, t] of plan.feeder.feeds(plan.train, idx, rng, true)) feeds.set(name, t);
      for (const w of weightSchedules) feeds.set(w.input, { dtype: 'f32', shape: [], data: Float32Array.of(w.at(update)) });
      // A function of the batch index alone, so a resumed run draws the same masks.
      if (plan.dropoutKey !== undefined) feeds.set(plan.dropoutKey, { dtype: 'i32', shape: [2], data: Int32Array.of(plan.seed, batchIndex) });
      const t0 = performance.now();
      const out = await o.backend.run(plan.graph, feeds, outputs);
      stepSeconds += (performance.now() - t0) / 1000;
      stepItems += itemsPerBatch;
      return { loss: out.get('loss')!.data[0] as number, grads: gradsOf(out, plan.trainable), items: itemsPerBatch };
    },
  });

  const val = await evaluateExamples(plan, o.backend, feeds, plan.val, final);
  const trainLosses = result.metrics.filter((m) => m.kind === 'train').map((m) => Number(m['loss']));
  const rate = stepSeconds > 0 ? stepItems / stepSeconds : null;
  const summary: ExampleJobSummary = {
    kind: plan.kind,
    steps: result.step,
    trainLoss: tailMeanLoss(trainLosses),
    valLoss: val.loss,
    valAccuracy: val.accuracy,
    imagesPerSecond: plan.unit === 'img' ? rate : null,
    tokensPerSecond: plan.unit === 'tok' ? rate : null,
    device: o.backend.name,
    wallSeconds: (performance.now() - began) / 1000,
    resumedFrom: result.resumedFrom ?? null,
    seed: plan.seed,
    rounds: plan.rounds?.count ?? 1,
  };
  await writeFile(join(o.outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return { params, ...(ema === undefined ? {} : { ema: new Map(ema.shadow) }), summary, metrics: result.metrics };
}
