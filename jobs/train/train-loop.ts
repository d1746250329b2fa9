// The one training path. A TrainPlan says what every kind of training has — a compiled graph with
// `loss` and one gradient per trainable parameter, initial and frozen weights, scheduled loss
// weights, the optimizer and its schedule; a Task says what one kind adds — where its batches come
// from, how it is evaluated and what its summary.json holds. Language modelling (train-lm.ts) is
// one task; classification, diffusion and round-resampled language models (train-examples.ts) are
// the others; distillation and adapters are plans whose graph has a frozen teacher or base in it.
// runTraining feeds runtime/train's generic loop, which does the updates, clipping, EMA,
// checkpoints, resume, NaN checks, progress line and metrics.jsonl — on the host, or, where the
// backend keeps state on its device (WebGPU), as one compiled step whose state stays there
// (resident.ts).

import { join } from 'node:path';
import type { Graph } from '../../compiler/ir/graph.ts';
import type { LrScheduleSpec, OptimizerSpec, TrainConfig } from '../../compiler/lower/lower-train-config.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import {
  AdamW,
  Ema,
  ramp,
  Sgd,
  train,
  type MetricRecord,
  type NamedTensors,
  type Optimizer,
  type ProgressInfo,
  type ProgressLine,
  type Stateful,
} from '../../runtime/train/index.ts';
import type { Backend } from '../../backends/backend.ts';
import { gradsOf, liveParams, tailMeanLoss } from './live-params.ts';
import { scheduleOf } from './schedule-of.ts';
import { residentRun } from './resident.ts';

/** What every kind of training has. */
export interface TrainPlan {
  /** Outputs `loss` and one gradient per trainable parameter (and whatever the task evaluates). */
  graph: Graph;
  /** Trainable parameters and the graph output holding each one's gradient. */
  trainable: readonly { path: string; shape: readonly number[]; grad: string }[];
  /** Initial values of the trainable parameters (copied; the caller's arrays are not touched). */
  initial: ReadonlyMap<string, Float32Array>;
  /** Frozen teacher/base parameters, fed by their prefixed names. */
  frozen: ReadonlyMap<string, Tensor>;
  /** Loss weights fed as scalar inputs, ramped by optimizer update. */
  weights: readonly { input: string; from: number; to: number; steps: number }[];
  optimizer: OptimizerSpec;
  schedule: LrScheduleSpec;
  steps: number;
  accumulate: number;
  checkpoint: { every: number; keep: number };
  ema?: number;
  seed: number;
  /** Evaluate every N updates; absent: only at the end. */
  evalEvery?: number;
}

/** What one kind of training adds to the plan. */
export interface Task<Summary> {
  readonly unit: 'tok' | 'img' | 'ex';
  /** Tokens, images or examples per batch, for the throughput figure. */
  readonly itemsPerBatch: number;
  /** The data stream's position and randomness, checkpointed with the parameters (exact resume). */
  readonly state: Stateful;
  /** Sets batch `batchIndex`'s inputs in `feeds`, where the parameters already are. */
  feed(batchIndex: number, feeds: Map<string, Tensor>): Promise<void>;
  /** Validation on fixed batches: a few during training, more at the end. `loss` is the headline. */
  evaluate(phase: 'during' | 'final', feeds: ReadonlyMap<string, Tensor>, backend: Backend): Promise<{ loss: number } & Record<string, number>>;
  /** summary.json, from the finished run. */
  summarize(run: RunRecord): Summary;
  /**
   * The task reads the live parameters between evaluations (round resampling scores batches with
   * the current model), so the parameters must be on the host after every update: the host loop.
   */
  readonly needsLiveParams?: boolean;
}

/** A finished run, as the task summarizes it. */
export interface RunRecord {
  steps: number;
  /** Mean training loss over the last updates (tailMeanLoss). */
  trainLoss: number | null;
  /** The task's final evaluation. */
  final: { loss: number } & Record<string, number>;
  /** Items (tokens, images, examples) per second of step time, this session's steps. */
  itemsPerSecond: number | null;
  /** Mean bytes moved between host and device per update of this session (evaluation and checkpoint reads excluded); null where the host is the device. */
  transferBytesPerStep: number | null;
  device: string;
  wallSeconds: number;
  resumedFrom: string | null;
  seed: number;
}

export interface JobOptions {
  outDir: string;
  resume: boolean;
  backend: Backend;
  /** The stderr progress line, or false (tests). */
  progress: ProgressLine | false;
  onProgress?: (info: ProgressInfo) => void;
}

export interface TrainResult<Summary> {
  params: NamedTensors;
  /** The EMA of the weights when the plan keeps one. */
  ema?: NamedTensors;
  summary: Summary;
  metrics: MetricRecord[];
}

export function optimizerOf(o: OptimizerSpec): Optimizer {
  return o.kind === 'sgd'
    ? new Sgd({ momentum: o.momentum, weightDecay: o.weightDecay })
    : new AdamW({ betas: o.betas, eps: o.eps, weightDecay: o.weightDecay });
}

/** A train declaration's optimization settings, as every plan carries them. */
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

/** Trains `plan` on `task`'s data (metrics.jsonl, checkpoints); returns the task's summary, which the caller writes as summary.json after the model. */
export async function runTraining<Summary>(plan: TrainPlan, task: Task<Summary>, o: JobOptions): Promise<TrainResult<Summary>> {
  const began = performance.now();
  const { params, feeds } = liveParams(plan, 'runTraining');
  const weightSchedules = plan.weights.map((w) => ({ input: w.input, at: ramp(w.from, w.to, w.steps) }));
  const outputs = ['loss', ...plan.trainable.map((p) => p.grad)];
  const ema = plan.ema === undefined ? undefined : new Ema(params, plan.ema);
  const optimizer = optimizerOf(plan.optimizer);
  const backend = o.backend;
  const resident =
    backend.resident !== undefined && task.needsLiveParams !== true
      ? await residentRun(plan, task, { ...backend, resident: backend.resident }, { params, optimizer, ...(ema === undefined ? {} : { ema }) })
      : undefined;
  const counted = backend.transferredBytes?.bind(backend);
  let stepSeconds = 0;
  let stepItems = 0;

  const result = await train({
    params,
    optimizer,
    schedule: scheduleOf(plan.schedule, plan.optimizer.lr, plan.steps),
    steps: plan.steps,
    accumulate: plan.accumulate,
    clip: plan.optimizer.clip,
    checkpoint: { dir: join(o.outDir, 'checkpoints'), every: plan.checkpoint.every, keep: plan.checkpoint.keep },
    resume: o.resume,
    ...(ema === undefined ? {} : { ema }),
    data: task.state,
    runDir: o.outDir,
    completedSummary: false,
    progress: o.progress,
    unit: task.unit,
    ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
    ...(plan.evalEvery === undefined ? {} : { evalEvery: plan.evalEvery, evaluate: () => task.evaluate('during', feeds, o.backend) }),
    ...(resident !== undefined
      ? { resident }
      : {
          step: async (batchIndex: number) => {
            const update = Math.floor(batchIndex / plan.accumulate);
            await task.feed(batchIndex, feeds);
            for (const w of weightSchedules) feeds.set(w.input, { dtype: 'f32', shape: [], data: Float32Array.of(w.at(update)) });
            const t0 = performance.now();
            const before = counted?.();
            const out = await backend.run(plan.graph, feeds, outputs);
            stepSeconds += (performance.now() - t0) / 1000;
            stepItems += task.itemsPerBatch;
            return {
              loss: out.get('loss')!.data[0] as number,
              grads: gradsOf(out, plan.trainable),
              items: task.itemsPerBatch,
              ...(before === undefined || counted === undefined ? {} : { transferBytes: counted() - before }),
            };
          },
        }),
  }).finally(() => resident?.dispose());
  if (resident !== undefined) {
    stepSeconds = resident.seconds();
    stepItems = resident.items();
  }

  const final = await task.evaluate('final', feeds, o.backend);
  const trainLosses = result.metrics.filter((m) => m.kind === 'train').map((m) => Number(m['loss']));
  const summary = task.summarize({
    steps: result.step,
    trainLoss: tailMeanLoss(trainLosses),
    final,
    itemsPerSecond: stepSeconds > 0 ? stepItems / stepSeconds : null,
    transferBytesPerStep: meanTransfer(result.metrics.filter((m) => m.step > result.start)),
    device: o.backend.name,
    wallSeconds: (performance.now() - began) / 1000,
    resumedFrom: result.resumedFrom ?? null,
    seed: plan.seed,
  });
  // summary.json is the caller's to write, after the model (jobs/train/train-job.ts): written now,
  // a kill during the model's write would leave it claiming steps the model does not have.
  return { params, ...(ema === undefined ? {} : { ema: new Map(ema.shadow) }), summary, metrics: result.metrics };
}

/** The mean of the train records' transferBytesPerStep, or null where none was counted. */
function meanTransfer(metrics: readonly MetricRecord[]): number | null {
  const xs = metrics.flatMap((m) => (m.kind === 'train' && typeof m['transferBytesPerStep'] === 'number' ? [m['transferBytesPerStep']] : []));
  return xs.length === 0 ? null : xs.reduce((a, x) => a + x, 0) / xs.length;
}
