// A language model trained as one fused step resident on a WebGPU device: the playground's page
// runs it on navigator.gpu. The step is `scion train`'s on WebGPU (jobs/train/resident.ts): the
// `train` declaration's loss (compiler/lower/lower-train.ts) inside compiler/autodiff/train-step.ts's
// AdamW step with the spec's betas, weight decay and clipping, compiled by the WebGPU backend's
// `resident` so parameters and moments never leave the device, and fed by residentRun (the batch,
// the learning rate, AdamW's bias corrections, the loss weights). Pure (no Node module): a page
// bundles it.
//
// What is left here is a driver with no rule of its own: runtime/train's loop would drive the same
// ResidentUpdates, but it imports its checkpoint and run files (node:fs), which a page cannot
// bundle; and the page keeps no files and does no validation. Every rule is shared with `scion
// train`: the lowering, the initializers, the batcher, the schedule and the step.

import type { Program } from '../../grammar/ast.ts';
import type { Backend } from '../../backends/backend.ts';
import { sampleInit } from '../../compiler/layers/init.ts';
import { gradName } from '../../compiler/autodiff/grad.ts';
import { findTrain, trainConfig, type TrainConfig } from '../../compiler/lower/lower-train-config.ts';
import { lowerTrain, type LoweredTrain } from '../../compiler/lower/lower-train.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { LmBatcher } from '../../runtime/data/batchers.ts';
import type { UpdateOutcome } from '../../runtime/train/loop.ts';
import { AdamW } from '../../runtime/train/optimizers.ts';
import { JobError } from './errors.ts';
import { residentRun, type ResidentPlan } from './resident.ts';
import { scheduleOf } from './schedule-of.ts';
import { tokenInput } from './token-stream.ts';

export interface DeviceLmPlan {
  model: string;
  config: TrainConfig;
  lowered: LoweredTrain;
  /** What resident.ts builds the step from (no EMA, no accumulation). */
  train: ResidentPlan;
  /** The i32[batch, ctx] token input. */
  tokens: { name: string; ctx: number };
  /** The model's vocabulary (its logits' width): the tokenizer is compressed to it. */
  vocab: number;
}

/**
 * The fused training step of `model`'s `train` declaration, with `steps` and `batch` replaced
 * where given. Throws JobError (or LowerError) for a spec this path cannot train: no `train`
 * declaration, not a language model, an optimizer other than AdamW, gradient accumulation, or
 * frozen models to load. The spec's `ema` is not kept (the page samples the trained weights).
 */
export function planDeviceLm(program: Program, model: string, o: { steps?: number; batch?: number } = {}): DeviceLmPlan {
  const decl = findTrain(program, model);
  if (decl === undefined) throw new JobError(`the spec has no \`train ${model}\` declaration`);
  const config = trainConfig(decl, program);
  if (o.steps !== undefined) config.steps = o.steps;
  if (o.batch !== undefined) config.batch = o.batch;
  const opt = config.optimizer;
  if (opt.kind !== 'adamw') throw new JobError(`training on the device runs AdamW only; \`train ${model}\` uses ${opt.kind}`);
  // One fused step is one update: summing micro-batches would need a second graph.
  if (config.accumulate > 1)
    throw new JobError(`training on the device updates after every batch; \`train ${model}\` accumulates ${config.accumulate}: use \`scion train\``);
  const lowered = lowerTrain(program, model, { batch: config.batch });
  if (lowered.frozen.length > 0 || lowered.adapter !== undefined) {
    throw new JobError(`\`train ${model}\` needs weights from files (a frozen teacher or base, or an adapter's base); use \`scion train\``);
  }
  const tokens = tokenInput(lowered);
  const fed = new Set([tokens.name, ...lowered.weights.map((w) => w.input)]);
  const unfed = lowered.graph.nodes.filter((n) => n.op === 'input' && !fed.has(n.attrs['name'] as string)).map((n) => n.attrs['name'] as string);
  if (unfed.length > 0) throw new JobError(`training on the device feeds token batches only; the loss also reads ${unfed.join(', ')}`);
  const logits = lowered.student.graph.nodes[lowered.student.taps.get('logits') ?? -1];
  const vocabParam = lowered.student.instance.params['vocab'];
  const vocab = typeof vocabParam === 'number' ? vocabParam : (logits?.shape.at(-1) ?? 0);
  // Student parameters nothing trains (none today) start at their initializers too, as constants.
  const trained = new Set(lowered.trainable.map((p) => p.path));
  const constants = new Map<string, Tensor>();
  for (const p of lowered.student.params) {
    if (!trained.has(p.path)) constants.set(p.path, { dtype: 'f32', shape: p.shape, data: sampleInit(p.init, count(p.shape), config.seed, p.path) });
  }
  const train: ResidentPlan = {
    graph: lowered.graph,
    trainable: lowered.trainable.map((p) => ({ path: p.path, shape: p.shape, grad: gradName(p.path) })),
    frozen: constants,
    weights: lowered.weights,
    optimizer: opt,
    accumulate: 1,
  };
  return { model, config, lowered, train, tokens, vocab };
}

export interface DeviceLmProgress {
  /** Updates done (1-based), of how many. */
  step: number;
  of: number;
  loss: number;
  lr: number;
}

/**
 * Trains `plan` on `stream` (token ids) on `backend` (the WebGPU backend: openWebGpuBackend) for
 * the plan's steps; `onStep` sees each update's loss as it is read back, a few updates behind.
 * Returns the trained parameters by Scion path. Parameters start as `scion train` starts them
 * (each one's initializer, seeded by the spec's seed and its path).
 */
export async function trainDeviceLm(
  plan: DeviceLmPlan,
  stream: Int32Array,
  backend: Backend & { resident: NonNullable<Backend['resident']> },
  onStep: (p: DeviceLmProgress) => void | Promise<void>,
): Promise<Map<string, Float32Array>> {
  const { config, lowered, train, tokens } = plan;
  if (stream.length < tokens.ctx + 1) throw new JobError(`the training text has ${stream.length} tokens: fewer than one window of ${tokens.ctx}`);
  const batcher = new LmBatcher(stream, tokens.ctx - 1, { batch: config.batch, seed: config.seed });
  const task = {
    itemsPerBatch: config.batch * tokens.ctx,
    feed: async (_batch: number, feeds: Map<string, Tensor>): Promise<void> => {
      feeds.set(tokens.name, { dtype: 'i32', shape: [config.batch, tokens.ctx], data: batcher.next() });
    },
  };
  const params = new Map(lowered.trainable.map((p) => [p.path, sampleInit(p.init, count(p.shape), config.seed, p.path)]));
  // The host optimizer only holds the state residentRun loads (none yet: zero moments) and syncs
  // back; the update itself is the step's (planDeviceLm admits AdamW only).
  const o = train.optimizer;
  const optimizer = new AdamW(o.kind === 'adamw' ? { betas: o.betas, eps: o.eps, weightDecay: o.weightDecay } : {});
  const run = await residentRun(train, task, backend, { params, optimizer });
  try {
    await run.load();
    const lr = scheduleOf(config.schedule, config.optimizer.lr, config.steps);
    // Updates queued and not yet read, oldest first: the device works on them while the host queues the next.
    const pending: { update: number; rate: number; outcome: () => Promise<UpdateOutcome> }[] = [];
    const report = async ({ update, rate, outcome }: (typeof pending)[number]): Promise<void> => {
      const done = await outcome();
      const loss = done.losses[0] as number;
      if (!done.finite || !Number.isFinite(loss)) throw new JobError(`the loss is ${loss} at update ${update + 1}: lower the learning rate`);
      await onStep({ step: update + 1, of: config.steps, loss, lr: rate });
    };
    for (let update = 0; update < config.steps; update++) {
      const rate = lr(update);
      pending.push({ update, rate, outcome: await run.queue(update, rate) });
      if (pending.length > run.depth) await report(pending.shift()!);
    }
    for (const p of pending.splice(0)) await report(p);
    await run.sync();
  } finally {
    run.dispose();
  }
  const trained = new Map<string, Float32Array>();
  for (const p of lowered.student.params) {
    const data = params.get(p.path) ?? (train.frozen.get(p.path)?.data as Float32Array);
    trained.set(p.path, data);
  }
  return trained;
}

const count = (shape: readonly number[]): number => shape.reduce((a, d) => a * d, 1);
