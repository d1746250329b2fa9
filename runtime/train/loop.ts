// The generic training loop. It knows nothing of graphs: the caller supplies named f32 parameters
// and a step function returning a loss and gradients for a micro-batch index; the loop averages
// micro-batches, checks for non-finite values, clips, applies the optimizer with the scheduled lr,
// updates the EMA, logs, evaluates, checkpoints, and resumes exactly from the newest checkpoint.
// Or the caller supplies `resident` updates, which do all of one update where the state lives (a
// device): the loop queues them, learns each one's loss and health a few updates later, and
// brings the state back into its objects only to evaluate and checkpoint — the same files, the
// same resume, the same TrainingDiverged.
// Everything a step depends on (params, optimizer and EMA buffers, RNG, data position, the step
// counter that drives the schedule and batch indices) is in the checkpoint, so a resumed run
// repeats an uninterrupted one bit for bit.

import { NothingToResume, scanCheckpoints, writeCheckpoint, type Checkpoint } from './checkpoint.ts';
import type { Ema } from './ema.ts';
import { clipGlobalNorm, globalNorm, GradAccumulator } from './gradients.ts';
import type { Optimizer } from './optimizers.ts';
import { ProgressLine, type ProgressInfo } from './progress.ts';
import { MetricsLog, writeSummary, type MetricRecord, type RunSummary } from './run-files.ts';
import type { Schedule } from './schedules.ts';
import { firstNonFinite, type NamedTensors, type ReadonlyNamedTensors } from './tensors.ts';

export interface StepResult {
  loss: number;
  grads: ReadonlyNamedTensors;
  /** Tokens or images in this micro-batch, for the throughput figure. */
  items?: number;
  /** Bytes this micro-batch moved between host and device (recorded as transferBytesPerStep). */
  transferBytes?: number;
}

/**
 * Updates that run where the parameters live (jobs/train/resident.ts: the whole step compiled for
 * a device). `params`, `optimizer` and `ema` of TrainOptions are the host's copies: `load` sends
 * them to the device, `sync` brings the device's back into them.
 */
export interface ResidentUpdates {
  /** Queues update `update` (0-based, every micro-batch of it) at `lr`; the function waits for its outcome. */
  queue(update: number, lr: number): Promise<() => Promise<UpdateOutcome>>;
  /** Copies the device's parameters, optimizer state and EMA into the host objects (every queued update done). */
  sync(): Promise<void>;
  /** Sends the host objects' state to the device: before the first update, after a resume. */
  load(): Promise<void>;
  /** Updates queued ahead of the oldest unread one (0: each is read as soon as it is queued). */
  readonly depth: number;
}

/** What a resident update reports, read back a few updates later. */
export interface UpdateOutcome {
  /** The loss of each micro-batch. */
  losses: number[];
  /** The global gradient norm before clipping. */
  gradNorm: number;
  /** False when a gradient or a new parameter was ±inf or NaN (the device's flag). */
  finite: boolean;
  items: number;
  /** Bytes crossing between host and device for this update; absent where the host is the device. */
  transferBytes?: number;
}

/** Something with JSON-serializable state that a checkpoint saves and restores (a Prng, a batcher). */
export interface Stateful {
  getState(): unknown;
  setState(state: unknown): void;
}

export interface TrainOptions {
  /** Parameters, updated in place. */
  params: NamedTensors;
  /** Loss and gradients of micro-batch `batchIndex` = update·accumulate + micro (0-based). */
  step?: (batchIndex: number) => StepResult | Promise<StepResult>;
  /** Instead of `step`: updates done where the state lives (see ResidentUpdates). */
  resident?: ResidentUpdates;
  optimizer: Optimizer;
  /** Learning rate per update (0-based update index). */
  schedule: Schedule;
  /** Total optimizer updates. */
  steps: number;
  /** Micro-batches per update (gradients averaged); default 1. */
  accumulate?: number;
  /** Max global gradient norm; absent or 0: no clipping. */
  clip?: number;
  ema?: Ema;
  /** Where and how often to checkpoint (also after the last step); `keep` newest are kept (default 3). */
  checkpoint?: { dir: string; every: number; keep?: number };
  /** Continue from the newest valid checkpoint in checkpoint.dir; NothingToResume when none is. */
  resume?: boolean;
  evalEvery?: number;
  evaluate?: (step: number) => Record<string, number> | Promise<Record<string, number>>;
  rng?: Stateful;
  /** Data position (e.g. a batcher). */
  data?: Stateful;
  /** Folder for metrics.jsonl and summary.json; absent: not written. */
  runDir?: string;
  /**
   * Write summary.json when the run completes (default true). A job that writes outputs after the
   * loop (the model) says false and writes its own summary after them, so summary.json never
   * claims steps the model does not have. A failed run's summary is written either way.
   */
  completedSummary?: boolean;
  /** Called after every update. */
  onProgress?: (info: ProgressInfo) => void;
  /** The stderr progress line; false for none. Default: a ProgressLine on process.stderr. */
  progress?: ProgressLine | false;
  /** Unit of StepResult.items for the progress line; default 'items'. */
  unit?: string;
}

export interface TrainResult {
  /** Updates completed (== steps). */
  step: number;
  /** The update this session started after (the resumed checkpoint's step, else 0). */
  start: number;
  /** Every metrics record of the run, including those restored from a checkpoint. */
  metrics: MetricRecord[];
  lastCheckpoint: string | undefined;
  resumedFrom: string | undefined;
}

/** The run met a NaN or infinity; says where, and which checkpoint is the last good one. */
export class TrainingDiverged extends Error {
  constructor(
    readonly step: number,
    readonly tensor: string,
    readonly lastCheckpoint: string | undefined,
    detail: string,
  ) {
    super(
      `training stopped at step ${step}: ${tensor} ${detail}; ` +
        (lastCheckpoint === undefined ? 'no checkpoint was written yet' : `last good checkpoint: ${lastCheckpoint}`) +
        ' (try a lower learning rate or clip = 1.0)',
    );
    this.name = 'TrainingDiverged';
  }
}

/**
 * Runs `steps` optimizer updates (or the rest of them, when resuming).
 *
 * @example
 * await train({ params, step: (i) => model.lossAndGrads(batcher.next()), optimizer: new AdamW(),
 *   schedule: warmupCosine({ base: 3e-4, warmup: 100, total: 2000 }), steps: 2000,
 *   checkpoint: { dir: 'runs/tiny/checkpoints', every: 200 }, runDir: 'runs/tiny', resume: true });
 */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const accumulate = o.accumulate ?? 1;
  if (!Number.isInteger(accumulate) || accumulate < 1) throw new RangeError(`accumulate must be a positive integer, got ${accumulate}`);
  if (!Number.isInteger(o.steps) || o.steps < 0) throw new RangeError(`steps must be a non-negative integer, got ${o.steps}`);
  const progress = o.progress === false ? undefined : (o.progress ?? new ProgressLine());
  let start = 0;
  let metrics: MetricRecord[] = [];
  let resumedFrom: string | undefined;
  let lastCheckpoint: string | undefined;
  if (o.resume === true && o.checkpoint !== undefined) {
    const { found, skipped } = await scanCheckpoints(o.checkpoint.dir);
    if (found === undefined) throw new NothingToResume(o.checkpoint.dir, skipped);
    for (const s of skipped) progress?.log(`skipping damaged checkpoint: ${s.reason}`);
    restore(o, found.checkpoint, found.path);
    start = found.checkpoint.step;
    metrics = found.checkpoint.metrics as MetricRecord[];
    resumedFrom = lastCheckpoint = found.path;
    progress?.log(`resuming from ${found.path} (step ${start})`);
  }
  const log = await MetricsLog.open(o.runDir, metrics);
  const began = performance.now();
  const elapsed = () => (performance.now() - began) / 1000;
  let items = 0;
  let lastLoss: number | null = null;
  let lastEval: Record<string, number> | null = null;
  const summary = (status: RunSummary['status'], stepsDone: number, error?: string): RunSummary => ({
    status,
    steps: o.steps,
    stepsDone,
    finalLoss: lastLoss,
    lastEval,
    elapsedSec: elapsed(),
    lastCheckpoint: lastCheckpoint ?? null,
    resumedFrom: resumedFrom ?? null,
    ...(error === undefined ? {} : { error }),
  });
  const record = async (r: MetricRecord) => {
    metrics.push(r);
    await log.append(r);
  };

  let done = start;
  /** Logs a finished update (in order, resident ones a few updates late). */
  const finished = async (stepNo: number, lr: number, loss: number, gradNorm: number, transferBytes: number | undefined) => {
    done = stepNo;
    lastLoss = loss;
    const r: MetricRecord = { kind: 'train', step: stepNo, loss, lr, grad_norm: gradNorm, time_s: elapsed() };
    if (transferBytes !== undefined) r['transferBytesPerStep'] = transferBytes;
    await record(r);
    const sec = elapsed();
    const info: ProgressInfo = { step: stepNo, steps: o.steps, loss, lr, unit: o.unit ?? 'items', etaSec: ((o.steps - stepNo) * sec) / (stepNo - start) };
    if (items > 0 && sec > 0) info.itemsPerSec = items / sec;
    progress?.update(info);
    o.onProgress?.(info);
  };
  const resident = o.resident;
  const queued: { stepNo: number; lr: number; wait: () => Promise<UpdateOutcome> }[] = [];
  /** Reads the oldest queued update's outcome: a NaN stops the run here, before any later checkpoint. */
  const settle = async () => {
    const q = queued.shift() as (typeof queued)[number];
    const r = await q.wait();
    r.losses.forEach((l, m) => {
      const where = r.losses.length > 1 ? ` (micro-batch ${m + 1}/${r.losses.length})` : '';
      if (!Number.isFinite(l)) throw new TrainingDiverged(q.stepNo, 'the loss', lastCheckpoint, `is ${l}${where}`);
    });
    if (!Number.isFinite(r.gradNorm)) throw new TrainingDiverged(q.stepNo, 'the gradients', lastCheckpoint, `have norm ${r.gradNorm}`);
    if (!r.finite) throw new TrainingDiverged(q.stepNo, 'a parameter', lastCheckpoint, 'became ±inf or NaN after the update');
    items += r.items;
    await finished(q.stepNo, q.lr, r.losses.reduce((a, x) => a + x, 0) / r.losses.length, r.gradNorm, r.transferBytes);
  };
  try {
    if (resident !== undefined) {
      if (o.step !== undefined) throw new Error('train: give either step or resident, not both');
      await resident.load();
    } else if (o.step === undefined) throw new Error('train: give step or resident');
    for (let s = start; s < o.steps; s++) {
      const stepNo = s + 1; // 1-based, as in metrics.jsonl and checkpoint names
      const lr = o.schedule(s);
      const evaluates = o.evaluate !== undefined && o.evalEvery !== undefined && o.evalEvery > 0 && stepNo % o.evalEvery === 0;
      const checkpoints = o.checkpoint !== undefined && (stepNo % o.checkpoint.every === 0 || stepNo === o.steps);
      if (resident !== undefined) {
        queued.push({ stepNo, lr, wait: await resident.queue(s, lr) });
        while (queued.length > resident.depth) await settle();
        // Evaluation, checkpoints and the end read the state back, after every update is checked.
        if (evaluates || checkpoints || stepNo === o.steps) {
          while (queued.length > 0) await settle();
          await resident.sync();
          // The device's flag rests on x·0 being NaN for non-finite x, which a driver compiling with
          // fast math may fold to 0 (lavapipe does): the state read back is checked here as well,
          // so no checkpoint holds a non-finite value (a later step's loss would show it too).
          const bad = firstNonFinite(o.params);
          if (bad !== undefined) {
            throw new TrainingDiverged(stepNo, `parameter '${bad.name}'`, lastCheckpoint, `is ${bad.value} at index ${bad.index} (read back after the update)`);
          }
        }
      } else {
        const acc = new GradAccumulator();
        let transferBytes: number | undefined;
        for (let m = 0; m < accumulate; m++) {
          const r = await (o.step as NonNullable<TrainOptions['step']>)(s * accumulate + m);
          const where = accumulate > 1 ? ` (micro-batch ${m + 1}/${accumulate})` : '';
          if (!Number.isFinite(r.loss)) throw new TrainingDiverged(stepNo, 'the loss', lastCheckpoint, `is ${r.loss}${where}`);
          const bad = firstNonFinite(r.grads);
          if (bad !== undefined) {
            throw new TrainingDiverged(stepNo, `gradient '${bad.name}'`, lastCheckpoint, `has ${bad.value} at index ${bad.index}${where}`);
          }
          acc.add(r.loss, r.grads);
          items += r.items ?? 0;
          if (r.transferBytes !== undefined) transferBytes = (transferBytes ?? 0) + r.transferBytes;
        }
        const { loss, grads } = acc.take();
        const gradNorm = o.clip !== undefined && o.clip > 0 ? clipGlobalNorm(grads, o.clip) : globalNorm(grads);
        o.optimizer.step(o.params, grads, lr);
        const badParam = firstNonFinite(o.params);
        if (badParam !== undefined) {
          throw new TrainingDiverged(
            stepNo,
            `parameter '${badParam.name}'`,
            lastCheckpoint,
            `became ${badParam.value} at index ${badParam.index} after the update`,
          );
        }
        o.ema?.update(o.params, stepNo);
        await finished(stepNo, lr, loss, gradNorm, transferBytes);
      }

      if (evaluates && o.evaluate !== undefined) {
        lastEval = await o.evaluate(stepNo);
        await record({ ...lastEval, kind: 'eval', step: stepNo });
      }
      if (checkpoints && o.checkpoint !== undefined) {
        lastCheckpoint = await writeCheckpoint(o.checkpoint.dir, snapshot(o, stepNo, metrics), { keep: o.checkpoint.keep ?? 3 });
      }
    }
  } catch (error) {
    progress?.finish();
    const status = error instanceof TrainingDiverged ? 'diverged' : 'failed';
    await writeSummary(o.runDir, summary(status, done, (error as Error).message)).catch(() => undefined);
    await log.close();
    throw error;
  }
  progress?.finish();
  await log.close();
  if (o.completedSummary !== false) await writeSummary(o.runDir, summary('completed', done));
  return { step: done, start, metrics, lastCheckpoint, resumedFrom };
}

function snapshot(o: TrainOptions, step: number, metrics: MetricRecord[]): Checkpoint {
  const c: Checkpoint = { step, params: o.params, optimizer: o.optimizer.getState(), metrics };
  if (o.ema !== undefined) c.ema = o.ema.getState();
  if (o.rng !== undefined) c.rng = o.rng.getState();
  if (o.data !== undefined) c.data = o.data.getState();
  return c;
}

/** Loads a checkpoint into the run's objects; a checkpoint of another model is a user error, said plainly. */
function restore(o: TrainOptions, c: Checkpoint, path: string): void {
  const problems: string[] = [];
  for (const [name, p] of o.params) {
    const saved = c.params.get(name);
    if (saved === undefined) problems.push(`missing parameter '${name}'`);
    else if (saved.length !== p.length) problems.push(`parameter '${name}' has ${saved.length} values, the model has ${p.length}`);
  }
  for (const name of c.params.keys()) if (!o.params.has(name)) problems.push(`extra parameter '${name}'`);
  if (problems.length > 0) throw new Error(`cannot resume from ${path}: it does not match this model:\n  ${problems.join('\n  ')}`);
  for (const [name, p] of o.params) p.set(c.params.get(name)!);
  if (c.optimizer !== undefined) o.optimizer.setState(c.optimizer);
  if (o.ema !== undefined && c.ema !== undefined) o.ema.setState(c.ema);
  if (o.rng !== undefined && c.rng !== undefined) o.rng.setState(c.rng);
  if (o.data !== undefined && c.data !== undefined) o.data.setState(c.data);
}
