// A language model trained as one fused step resident on a WebGPU device: the `train`
// declaration's loss (compiler/lower/lower-train.ts) inside compiler/autodiff/train-step.ts's AdamW
// step with the spec's betas, weight decay and clipping, compiled with its carry so parameters and
// moments never leave the device; per update only a batch of tokens and three scalars go in (the
// learning rate from the spec's schedule, AdamW's bias corrections) and the loss comes out. This is
// what the playground's page runs on navigator.gpu. Pure (no Node module): a page bundles it.
//
// Unlike `scion train` (train-loop.ts: host-side optimizer, checkpoints, evaluation), it keeps no
// files and does no validation; what it shares with it is every rule: the lowering, the
// initializers, the batcher, the schedule and the AdamW update the CPU twin checks.

import type { Program } from '../../grammar/ast.ts';
import { buildTrainStep, stateName, type TrainStepGraph } from '../../compiler/autodiff/train-step.ts';
import { sampleInit } from '../../compiler/layers/init.ts';
import { findTrain, trainConfig, type TrainConfig } from '../../compiler/lower/lower-train-config.ts';
import { lowerTrain, type LoweredTrain } from '../../compiler/lower/lower-train.ts';
import { compileGraph } from '../../compiler/pipeline.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { LmBatcher } from '../../runtime/data/batchers.ts';
import { ramp } from '../../runtime/train/schedules.ts';
import type { GpuDevice } from '../../runtime/webgpu/device.ts';
import { WebGpuExecutor } from '../../runtime/webgpu/executor.ts';
import { JobError } from './errors.ts';
import { scheduleOf } from './schedule-of.ts';
import { tokenInput } from './token-stream.ts';

export interface DeviceLmPlan {
  model: string;
  config: TrainConfig;
  lowered: LoweredTrain;
  step: TrainStepGraph;
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
  const lowered = lowerTrain(program, model, { batch: config.batch, grads: false });
  if (lowered.frozen.length > 0 || lowered.adapter !== undefined) {
    throw new JobError(`\`train ${model}\` needs weights from files (a frozen teacher or base, or an adapter's base); use \`scion train\``);
  }
  const tokens = tokenInput(lowered);
  const logits = lowered.student.graph.nodes[lowered.student.taps.get('logits') ?? -1];
  const vocabParam = lowered.student.instance.params['vocab'];
  const vocab = typeof vocabParam === 'number' ? vocabParam : (logits?.shape.at(-1) ?? 0);
  const step = buildTrainStep(lowered.graph, 'loss', { betas: opt.betas, eps: opt.eps, weightDecay: opt.weightDecay, clip: opt.clip });
  return { model, config, lowered, step, tokens, vocab };
}

export interface DeviceLmProgress {
  /** Updates done (1-based), of how many. */
  step: number;
  of: number;
  loss: number;
  lr: number;
}

/**
 * Trains `plan` on `stream` (token ids) on `gpu` for the plan's steps; `onStep` sees each update's
 * loss as it is read back. Returns the trained parameters by Scion path. Parameters start as
 * `scion train` starts them (each one's initializer, seeded by the spec's seed and its path).
 */
export async function trainDeviceLm(
  plan: DeviceLmPlan,
  stream: Int32Array,
  gpu: GpuDevice,
  onStep: (p: DeviceLmProgress) => void | Promise<void>,
): Promise<Map<string, Float32Array>> {
  const { config, lowered, step, tokens } = plan;
  if (stream.length < tokens.ctx + 1) throw new JobError(`the training text has ${stream.length} tokens: fewer than one window of ${tokens.ctx}`);
  const artifact = compileGraph(step.graph, { carry: step.carry, features: gpu.features, verify: false });
  const ex = await WebGpuExecutor.create(gpu, artifact);
  try {
    const scalar = (v: number): Tensor => ({ dtype: 'f32', shape: [], data: Float32Array.of(v) });
    // Every parameter of the graph (the student's, and the loss's own projections), by its initializer.
    const trainable = new Set(step.params);
    for (const p of new Map([...lowered.student.params, ...lowered.trainable].map((q) => [q.path, q])).values()) {
      const n = p.shape.reduce((a, d) => a * d, 1);
      ex.write(p.path, { dtype: 'f32', shape: p.shape, data: sampleInit(p.init, n, config.seed, p.path) });
      if (!trainable.has(p.path)) continue;
      ex.write(stateName('m', p.path), { dtype: 'f32', shape: p.shape, data: new Float32Array(n) });
      ex.write(stateName('v', p.path), { dtype: 'f32', shape: p.shape, data: new Float32Array(n) });
    }
    const fed = new Set([tokens.name, 'adam.lr', 'adam.bc1', 'adam.bc2', ...lowered.weights.map((w) => w.input), ...step.carry.map((c) => c.input)]);
    const unfed = artifact.graph.inputs.filter((i) => !fed.has(i.name)).map((i) => i.name);
    if (unfed.length > 0) throw new JobError(`training on the device feeds token batches only; the loss also reads ${unfed.join(', ')}`);

    const batcher = new LmBatcher(stream, tokens.ctx - 1, { batch: config.batch, seed: config.seed });
    const lr = scheduleOf(config.schedule, config.optimizer.lr, config.steps);
    const weights = lowered.weights.map((w) => ({ input: w.input, at: ramp(w.from, w.to, w.steps) }));
    const [b1, b2] = config.optimizer.kind === 'adamw' ? config.optimizer.betas : [0.9, 0.999];
    for (let update = 0; update < config.steps; update++) {
      ex.write(tokens.name, { dtype: 'i32', shape: [config.batch, tokens.ctx], data: batcher.next() });
      const rate = lr(update);
      ex.write('adam.lr', scalar(rate));
      ex.write('adam.bc1', scalar(1 - b1 ** (update + 1)));
      ex.write('adam.bc2', scalar(1 - b2 ** (update + 1)));
      for (const w of weights) ex.write(w.input, scalar(w.at(update)));
      await ex.step();
      const loss = (await ex.read('loss')).data[0] as number;
      if (!Number.isFinite(loss)) throw new JobError(`the loss is ${loss} at update ${update + 1}: lower the learning rate`);
      await onStep({ step: update + 1, of: config.steps, loss, lr: rate });
    }
    // After a step, the carried state sits in the inputs (the new parameters).
    const trained = new Map<string, Float32Array>();
    for (const p of lowered.student.params) trained.set(p.path, (await ex.read(p.path)).data as Float32Array);
    return trained;
  } finally {
    ex.destroy();
  }
}
