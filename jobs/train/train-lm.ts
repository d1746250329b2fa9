// The language-model training job: a compiled train graph (forward + loss + gradients), token
// streams and a backend in; the generic loop of runtime/train does the updates, checkpoints,
// resume, NaN checks, progress line and metrics.jsonl. This file feeds it: batches from a seeded
// LmBatcher (its position is checkpointed), scheduled loss weights per step, validation loss on
// fixed batches, and the run's summary.json.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Graph } from '../../compiler/ir/graph.ts';
import type { LrScheduleSpec, OptimizerSpec, TrainConfig } from '../../compiler/lower/lower-train-config.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { LmBatcher } from '../../runtime/data/index.ts';
import {
  AdamW,
  Ema,
  makeSchedule,
  ramp,
  Sgd,
  train,
  type MetricRecord,
  type NamedTensors,
  type Optimizer,
  type ProgressInfo,
  type ProgressLine,
  type Schedule,
} from '../../runtime/train/index.ts';
import type { Backend } from '../../backends/backend.ts';
import { unigramEntropy } from './baseline.ts';
import { evalBatches } from './lm-data.ts';
import { gradsOf, liveParams, tailMeanLoss } from './live-params.ts';

export interface LmTrainPlan {
  /** Outputs `loss`, `evalOutput` and one gradient per trainable parameter. */
  graph: Graph;
  /** The i32[batch, ctx] token input. */
  tokensInput: string;
  batch: number;
  ctx: number;
  /** Trainable parameters and the graph output holding each one's gradient. */
  trainable: readonly { path: string; shape: readonly number[]; grad: string }[];
  /** Initial values of the trainable parameters (copied; the caller's arrays are not touched). */
  initial: ReadonlyMap<string, Float32Array>;
  /** Frozen teacher/base parameters, fed by their prefixed names. */
  frozen: ReadonlyMap<string, Tensor>;
  /** Loss weights fed as scalar inputs, ramped by optimizer update. */
  weights: readonly { input: string; from: number; to: number; steps: number }[];
  /** The output reported as validation loss (the cross-entropy term, else `loss`). */
  evalOutput: string;
  optimizer: OptimizerSpec;
  schedule: LrScheduleSpec;
  steps: number;
  accumulate: number;
  checkpoint: { every: number; keep: number };
  ema?: number;
  seed: number;
  /** Evaluate every N updates (on `evalBatchesDuring` batches); absent: only at the end. */
  evalEvery?: number;
  train: Int32Array;
  val: Int32Array;
  evalBatchesDuring?: number;
  evalBatchesFinal?: number;
}

export interface JobOptions {
  outDir: string;
  resume: boolean;
  backend: Backend;
  /** The stderr progress line, or false (tests). */
  progress: ProgressLine | false;
  onProgress?: (info: ProgressInfo) => void;
}

/** summary.json: the fields the issue names first, then a few more for people. */
export interface JobSummary {
  steps: number;
  /** Mean training loss over the last 10% of updates (at most 20): one step's loss is noisy. */
  trainLoss: number | null;
  valLoss: number;
  /** Unigram entropy of the validation tokens, nats per token. */
  baselineLoss: number;
  /** Tokens through the training step per second of step time (this session's steps). */
  tokensPerSecond: number | null;
  device: string;
  valPerplexity: number;
  wallSeconds: number;
  resumedFrom: string | null;
  /** The run's seed (the spec's, or --seed). */
  seed: number;
}

export interface LmTrainResult {
  params: NamedTensors;
  summary: JobSummary;
  metrics: MetricRecord[];
}

export function optimizerOf(o: OptimizerSpec): Optimizer {
  return o.kind === 'sgd'
    ? new Sgd({ momentum: o.momentum, weightDecay: o.weightDecay })
    : new AdamW({ betas: o.betas, eps: o.eps, weightDecay: o.weightDecay });
}

/** A train declaration's optimization settings, as every job kind's plan carries them. */
export function planSettings(config: TrainConfig) {
  return {
    optimizer: config.optimizer,
    schedule: config.schedule,
    steps: config.steps,
    accumulate: config.accumulate,
    checkpoint: config.checkpoint,
    seed: config.seed,
    ...(config.ema === undefined ? {} : { ema: config.ema }),
    ...(config.eval === undefined ? {} : { evalEvery: config.eval.every }),
  };
}

/** The plan-derived settings of the generic loop that every job kind shares. */
export function loopSettings(
  plan: { optimizer: OptimizerSpec; schedule: LrScheduleSpec; steps: number; accumulate: number; checkpoint: { every: number; keep: number } },
  o: JobOptions,
) {
  return {
    optimizer: optimizerOf(plan.optimizer),
    schedule: scheduleOf(plan.schedule, plan.optimizer.lr, plan.steps),
    steps: plan.steps,
    accumulate: plan.accumulate,
    clip: plan.optimizer.clip,
    checkpoint: { dir: join(o.outDir, 'checkpoints'), every: plan.checkpoint.every, keep: plan.checkpoint.keep },
    resume: o.resume,
  };
}

export function scheduleOf(s: LrScheduleSpec, base: number, total: number): Schedule {
  switch (s.kind) {
    case 'constant':
      return makeSchedule({ kind: 'constant', value: base });
    // A --steps shorter than the warmup shortens the warmup with it.
    case 'linear':
      return makeSchedule({ kind: 'linear', base, warmup: Math.min(s.warmup, total), total, end: s.end });
    case 'warmup_cosine':
      return makeSchedule({ kind: 'warmup_cosine', base, warmup: Math.min(s.warmup, total), total, minLr: s.minLr });
  }
}

/** Mean of `output` over fixed batches: the validation loss. */
export async function evaluateLm(
  plan: Pick<LmTrainPlan, 'graph' | 'tokensInput' | 'batch' | 'ctx' | 'evalOutput'>,
  backend: Backend,
  feeds: Map<string, Tensor>,
  batches: readonly Int32Array[],
): Promise<number> {
  let sum = 0;
  for (const rows of batches) {
    feeds.set(plan.tokensInput, { dtype: 'i32', shape: [plan.batch, plan.ctx], data: rows });
    const v = (await backend.run(plan.graph, feeds, [plan.evalOutput])).get(plan.evalOutput);
    if (v === undefined) throw new Error(`evaluateLm: no output '${plan.evalOutput}'`);
    sum += v.data[0] as number;
  }
  return sum / batches.length;
}

export async function trainLm(plan: LmTrainPlan, o: JobOptions): Promise<LmTrainResult> {
  const began = performance.now();
  const { params, feeds } = liveParams(plan, 'trainLm');
  const batcher = new LmBatcher(plan.train, plan.ctx - 1, { batch: plan.batch, seed: plan.seed });
  const during = evalBatches(plan.val, plan.ctx, plan.batch, plan.evalBatchesDuring ?? 8);
  const final = evalBatches(plan.val, plan.ctx, plan.batch, plan.evalBatchesFinal ?? 32);
  const weightSchedules = plan.weights.map((w) => ({ input: w.input, at: ramp(w.from, w.to, w.steps) }));
  const outputs = ['loss', ...plan.trainable.map((p) => p.grad)];
  const tokensPerBatch = plan.batch * plan.ctx;
  let stepSeconds = 0;
  let stepTokens = 0;

  const result = await train({
    params,
    ...loopSettings(plan, o),
    ...(plan.ema === undefined ? {} : { ema: new Ema(params, plan.ema) }),
    data: batcher,
    runDir: o.outDir,
    progress: o.progress,
    unit: 'tok',
    ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
    ...(plan.evalEvery === undefined
      ? {}
      : {
          evalEvery: plan.evalEvery,
          evaluate: async () => {
            const loss = await evaluateLm(plan, o.backend, feeds, during);
            return { loss, perplexity: Math.exp(loss) };
          },
        }),
    step: async (batchIndex) => {
      const update = Math.floor(batchIndex / plan.accumulate);
      feeds.set(plan.tokensInput, { dtype: 'i32', shape: [plan.batch, plan.ctx], data: batcher.next() });
      for (const w of weightSchedules) feeds.set(w.input, { dtype: 'f32', shape: [], data: Float32Array.of(w.at(update)) });
      const t0 = performance.now();
      const out = await o.backend.run(plan.graph, feeds, outputs);
      stepSeconds += (performance.now() - t0) / 1000;
      stepTokens += tokensPerBatch;
      return { loss: out.get('loss')!.data[0] as number, grads: gradsOf(out, plan.trainable), items: tokensPerBatch };
    },
  });

  const valLoss = await evaluateLm(plan, o.backend, feeds, final);
  const trainLosses = result.metrics.filter((m) => m.kind === 'train').map((m) => Number(m['loss']));
  const summary: JobSummary = {
    steps: result.step,
    trainLoss: tailMeanLoss(trainLosses),
    valLoss,
    baselineLoss: unigramEntropy(plan.val),
    tokensPerSecond: stepSeconds > 0 ? stepTokens / stepSeconds : null,
    device: o.backend.name,
    valPerplexity: Math.exp(valLoss),
    wallSeconds: (performance.now() - began) / 1000,
    resumedFrom: result.resumedFrom ?? null,
    seed: plan.seed,
  };
  // Replaces the loop's own summary.json with the job's (the loop's status lives in metrics.jsonl and the exit code).
  await writeFile(join(o.outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return { params, summary, metrics: result.metrics };
}
