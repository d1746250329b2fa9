// Training with the state on the device: on a backend that keeps carried state (Backend.resident:
// WebGPU, and ONNX Runtime on the CPU), the plan's graph becomes one whole step — buildTrainStep
// adds clipping, the optimizer, the EMA and gradient accumulation to its forward and gradients —
// and runtime/train's loop queues it through ResidentUpdates. Per step the host writes the batch and a few scalars (learning rate,
// bias corrections, loss weights, EMA decay, the apply flag) and reads back the loss, the gradient
// norm and a non-finite flag, a few steps behind. Parameters, optimizer moments and EMA cross
// only on evaluation and checkpoint steps, under the host optimizer's names (CHECKPOINT_STATE), so
// checkpoints are the host loop's files: they resume on any backend.

import { buildTrainStep, STEP_SCALARS, stateName, type StateKind, type TrainStepGraph } from '../../compiler/autodiff/train-step.ts';
import type { Backend, ResidentGraph } from '../../backends/backend.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
// The modules themselves, not runtime/train/index.ts: its checkpoint and run files import node:fs, and the playground's page bundles this file (device-lm.ts).
import type { Ema } from '../../runtime/train/ema.ts';
import type { ResidentUpdates, UpdateOutcome } from '../../runtime/train/loop.ts';
import type { Optimizer } from '../../runtime/train/optimizers.ts';
import { ramp } from '../../runtime/train/schedules.ts';
import type { NamedTensors } from '../../runtime/train/tensors.ts';
import type { Task, TrainPlan } from './train-loop.ts';

/** Each kind of step state under the name the host optimizer checkpoints it (runtime/train/optimizers.ts); null: not checkpointed. */
const CHECKPOINT_STATE: Record<StateKind, string | null> = {
  m: 'exp_avg',
  v: 'exp_avg_sq',
  momentum: 'momentum_buffer',
  // The EMA is checkpointed on its own (`ema/<param>`), through the Ema object.
  ema: null,
  // Zero between updates, where checkpoints are taken.
  acc: null,
};

/** The outputs read back after every micro-batch. */
const WATCH = ['loss', 'grad_norm', 'nonfinite'] as const;

/** What a resident step reads of a plan: `scion train`'s TrainPlan, or the playground's (device-lm.ts). */
export type ResidentPlan = Pick<TrainPlan, 'graph' | 'trainable' | 'frozen' | 'weights' | 'optimizer' | 'accumulate' | 'ema'>;

/** What a resident step reads of a task: its batches. */
export type ResidentTask = Pick<Task<unknown>, 'feed' | 'itemsPerBatch'>;

/** The plan's whole training step, as the device runs it. */
export function residentStep(plan: Omit<ResidentPlan, 'frozen' | 'weights'>): TrainStepGraph {
  const o = plan.optimizer;
  return buildTrainStep(plan.graph, 'loss', {
    ...(o.kind === 'adamw'
      ? { kind: 'adamw', betas: o.betas, eps: o.eps, weightDecay: o.weightDecay }
      : { kind: 'sgd', momentum: o.momentum, weightDecay: o.weightDecay }),
    clip: o.clip,
    grads: new Map(plan.trainable.map((p) => [p.path, p.grad])),
    ema: plan.ema !== undefined,
    accumulate: plan.accumulate,
    health: true,
  });
}

/** The host's copies of the state, which checkpoints and evaluation read. */
export interface HostState {
  params: NamedTensors;
  optimizer: Optimizer;
  ema?: Ema;
}

export interface ResidentRun extends ResidentUpdates {
  /** Seconds spent queueing steps and waiting for them, as the host loop times its runs (the throughput figure's denominator). */
  readonly seconds: () => number;
  /** Items (tokens, images) queued so far. */
  readonly items: () => number;
  dispose(): void;
}

const f32 = (data: Float32Array, shape: readonly number[]): Tensor => ({ dtype: 'f32', shape, data });
const scalar = (v: number): Tensor => f32(Float32Array.of(v), []);

/** Compiles the plan's step on `backend` and returns the loop's ResidentUpdates over it. */
export async function residentRun(
  plan: ResidentPlan,
  task: ResidentTask,
  backend: Backend & { resident: NonNullable<Backend['resident']> },
  host: HostState,
): Promise<ResidentRun> {
  const step = residentStep(plan);
  const g: ResidentGraph = await backend.resident(step.graph, step.carry);
  g.write(plan.frozen);
  const shapes = new Map(plan.trainable.map((p) => [p.path, p.shape]));
  const shapeOf = (p: string): readonly number[] => shapes.get(p) ?? fail(`no trainable parameter '${p}'`);
  const weights = plan.weights.map((w) => ({ input: w.input, at: ramp(w.from, w.to, w.steps) }));
  const o = plan.optimizer;
  // Updates queued so far: the step counter a sync gives the host optimizer (set by load, after a resume).
  let applied = 0;
  let seconds = 0;
  let items = 0;
  const timed = async <T>(f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      seconds += (performance.now() - t0) / 1000;
    }
  };

  /** The scalars of update `update` (0-based) at `lr`, micro-batch `micro`. */
  const scalars = (update: number, lr: number, micro: number): Map<string, Tensor> => {
    const t = update + 1; // the optimizer's 1-based step counter
    const feeds = new Map<string, Tensor>();
    if (o.kind === 'adamw') {
      feeds.set(STEP_SCALARS.adamLr, scalar(lr));
      feeds.set(STEP_SCALARS.adamBc1, scalar(1 - o.betas[0] ** t));
      feeds.set(STEP_SCALARS.adamBc2, scalar(1 - o.betas[1] ** t));
    } else feeds.set(STEP_SCALARS.sgdLr, scalar(lr));
    if (host.ema !== undefined) feeds.set(STEP_SCALARS.emaDecay, scalar(host.ema.decayAt(t)));
    if (plan.accumulate > 1) feeds.set(STEP_SCALARS.apply, scalar(micro === plan.accumulate - 1 ? 1 : 0));
    for (const w of weights) feeds.set(w.input, scalar(w.at(update)));
    return feeds;
  };

  return {
    depth: g.queueAhead,
    seconds: () => seconds,
    items: () => items,
    async load() {
      const values = new Map<string, Tensor>();
      for (const [p, data] of host.params) values.set(p, f32(data, shapeOf(p)));
      const state = host.optimizer.getState();
      applied = state.step;
      const saved = state.tensors;
      const shadow = host.ema?.getState();
      for (const { kind, inputs } of step.state) {
        inputs.forEach((input, k) => {
          const p = step.params[k] as string;
          const prefix = CHECKPOINT_STATE[kind];
          const data = kind === 'ema' ? (shadow?.get(p) ?? fail(`no EMA of '${p}'`)) : prefix === null ? undefined : saved.get(`${prefix}/${p}`);
          // State the optimizer has not made yet (before its first step) starts at zero, as torch's.
          values.set(input, f32(data ?? new Float32Array(count(shapeOf(p))), shapeOf(p)));
        });
      }
      g.write(values);
    },
    async sync() {
      const names = [...step.params, ...step.state.flatMap((s) => (s.kind === 'acc' ? [] : s.inputs))];
      const got = await g.read(names);
      const data = (name: string): Float32Array => got.get(name)?.data as Float32Array;
      for (const p of step.params) (host.params.get(p) ?? fail(`no host copy of '${p}'`)).set(data(p));
      const tensors: NamedTensors = new Map();
      for (const { kind, inputs } of step.state) {
        const prefix = CHECKPOINT_STATE[kind];
        if (prefix !== null) inputs.forEach((input, k) => tensors.set(`${prefix}/${step.params[k] as string}`, data(input)));
      }
      const before = host.optimizer.getState();
      // The device's updates so far are the step counter's (the schedule's update index + 1).
      host.optimizer.setState({ kind: before.kind, step: applied, tensors });
      if (host.ema !== undefined) host.ema.setState(new Map(step.params.map((p) => [p, data(stateName('ema', p))])));
    },
    async queue(update, lr) {
      applied = update + 1;
      const waits: (() => Promise<Float32Array>)[] = [];
      // Counted where host and device differ (WebGPU); the CPU backend's host is its device.
      const counted = g.transferredBytes?.bind(g);
      let transferBytes = counted === undefined ? undefined : 0;
      for (let m = 0; m < plan.accumulate; m++) {
        const feeds = scalars(update, lr, m);
        await task.feed(update * plan.accumulate + m, feeds);
        const before = counted?.() ?? 0;
        waits.push(await timed(() => g.enqueue(feeds, WATCH)));
        if (counted !== undefined) transferBytes = (transferBytes ?? 0) + counted() - before;
        items += task.itemsPerBatch;
      }
      return () =>
        timed(async (): Promise<UpdateOutcome> => {
          const read = await Promise.all(waits.map((w) => w()));
          const last = read.at(-1) as Float32Array;
          return {
            losses: read.map((r) => r[0] as number),
            gradNorm: last[1] as number,
            // The flag is 0, or NaN when something was not finite; every micro-batch's counts.
            finite: read.every((r) => r[2] === 0),
            items: task.itemsPerBatch * plan.accumulate,
            ...(transferBytes === undefined ? {} : { transferBytes }),
          };
        });
    },
    dispose: () => g.dispose(),
  };
}

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function fail(msg: string): never {
  throw new Error(`resident training: ${msg}`);
}
