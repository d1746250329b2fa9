// The example-based tasks — image diffusion, classification, and language models trained in
// multiple rounds — for the one loop of train-loop.ts (shared with train-lm.ts). Here a batch
// is a list of example indices (RoundBatches, which also does the round resampling) turned into
// inputs by a Feeder. Per-step randomness (diffusion timesteps, noise, label dropout) comes from one
// seeded PRNG whose state is checkpointed, so a resumed run repeats an uninterrupted one.

import type { Graph } from '../../compiler/ir/graph.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { Prng } from '../../runtime/data/index.ts';
import type { Stateful } from '../../runtime/train/index.ts';
import type { Backend } from '../../backends/backend.ts';
import type { Examples } from './examples.ts';
import type { Feeder } from './feeders.ts';
import { RoundBatches, type RoundsSpec } from './round-batches.ts';
import { runTraining, type JobOptions, type Task, type TrainPlan, type TrainResult } from './train-loop.ts';

export type TaskKind = 'diffusion' | 'classification' | 'lm';

export interface ExampleTrainPlan extends TrainPlan {
  kind: TaskKind;
  /** Outputs `loss`, `evalOutput`, `logitsOutput` (classification) and one gradient per trainable parameter. */
  graph: Graph;
  /** Forward-only graph for evaluation and round scoring (no dropout); `graph` when absent. */
  evalGraph?: Graph;
  /** An i32[2] input `graph` draws dropout from: fed (seed, batch index) each step. */
  dropoutKey?: string;
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
  /** Mean bytes crossing between host and device per update (checkpoint and evaluation reads excluded); null on the CPU. */
  transferBytesPerStep: number | null;
  device: string;
  wallSeconds: number;
  resumedFrom: string | null;
  /** The run's seed (the spec's, or --seed). */
  seed: number;
  rounds: number;
}

export type ExampleTrainResult = TrainResult<ExampleJobSummary>;

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
  backend: Backend,
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

/** The example task over `plan`'s sets: seeded round batches, a feeder, per-step randomness. */
export function exampleTask(plan: ExampleTrainPlan, backend: Backend): Task<ExampleJobSummary> {
  const rng = new Prng(plan.seed ^ 0x0d1ff05e);
  // Scoring for round resampling runs the frozen current model: the live parameters at the round
  // boundary, forward only. `live` is the loop's feed map, seen at the first step.
  let live: ReadonlyMap<string, Tensor> = new Map();
  const batches = new RoundBatches({
    count: plan.train.count,
    batch: plan.batch,
    seed: plan.seed,
    total: plan.steps * plan.accumulate,
    ...(plan.rounds === undefined
      ? {}
      : {
          rounds: plan.rounds,
          score: async (parts) => {
            const out: number[] = [];
            for (const [k, idx] of parts.entries()) {
              const f = new Map(live);
              for (const [name, t] of plan.feeder.feeds(plan.train, idx, new Prng((plan.seed + 2) * 1_000_003 + k), false)) f.set(name, t);
              out.push((await backend.run(plan.evalGraph ?? plan.graph, f, ['loss'])).get('loss')!.data[0] as number);
            }
            return out;
          },
        }),
    ...(plan.onRound === undefined ? {} : { onRound: plan.onRound }),
  });
  const state: Stateful = {
    getState: () => ({ batches: batches.getState(), rng: rng.getState() }),
    setState: (s) => {
      const st = s as { batches: unknown; rng: ReturnType<Prng['getState']> };
      batches.setState(st.batches);
      rng.setState(st.rng);
    },
  };
  const evalSets = {
    during: evalIndexBatches(plan.val.count, plan.batch, plan.evalBatchesDuring ?? 8),
    final: evalIndexBatches(plan.val.count, plan.batch, plan.evalBatchesFinal ?? 32),
  };
  return {
    unit: plan.unit,
    itemsPerBatch: plan.batch * plan.itemsPerExample,
    state,
    // Round resampling scores batches with the live parameters at each later round's start; a
    // single round never scores, so it keeps a device's resident step.
    needsLiveParams: plan.rounds !== undefined && plan.rounds.count > 1,
    feed: async (batchIndex, feeds) => {
      live = feeds;
      const idx = await batches.next(batchIndex);
      for (const [name, t] of plan.feeder.feeds(plan.train, idx, rng, true)) feeds.set(name, t);
      // A function of the batch index alone, so a resumed run draws the same masks.
      if (plan.dropoutKey !== undefined) feeds.set(plan.dropoutKey, { dtype: 'i32', shape: [2], data: Int32Array.of(plan.seed, batchIndex) });
    },
    evaluate: async (phase, feeds, b) => {
      const r = await evaluateExamples(plan, b, feeds, plan.val, evalSets[phase]);
      return r.accuracy === null ? { loss: r.loss } : { loss: r.loss, accuracy: r.accuracy };
    },
    summarize: (run) => ({
      kind: plan.kind,
      steps: run.steps,
      trainLoss: run.trainLoss,
      valLoss: run.final.loss,
      valAccuracy: run.final['accuracy'] ?? null,
      imagesPerSecond: plan.unit === 'img' ? run.itemsPerSecond : null,
      tokensPerSecond: plan.unit === 'tok' ? run.itemsPerSecond : null,
      transferBytesPerStep: run.transferBytesPerStep,
      device: run.device,
      wallSeconds: run.wallSeconds,
      resumedFrom: run.resumedFrom,
      seed: run.seed,
      rounds: plan.rounds?.count ?? 1,
    }),
  };
}

export function trainExamples(plan: ExampleTrainPlan, o: JobOptions): Promise<ExampleTrainResult> {
  return runTraining(plan, exampleTask(plan, o.backend), o);
}
