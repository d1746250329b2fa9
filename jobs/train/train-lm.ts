// The language-model task: batches are random windows of a token stream from a seeded LmBatcher
// (its position is checkpointed), validation is the mean loss over fixed windows of the held-out
// stream, and summary.json reports it beside the unigram-entropy baseline. The loop itself is
// train-loop.ts, shared with every other task.

import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { LmBatcher } from '../../runtime/data/index.ts';
import type { Backend } from '../../backends/backend.ts';
import { unigramEntropy } from './baseline.ts';
import { bitsPerByteOf } from './bits-per-byte.ts';
import { evalBatches } from './lm-data.ts';
import { runTraining, type JobOptions, type Task, type TrainPlan, type TrainResult } from './train-loop.ts';

export interface LmTrainPlan extends TrainPlan {
  /** The i32[batch, ctx] token input. */
  tokensInput: string;
  batch: number;
  ctx: number;
  /** The output reported as validation loss (the cross-entropy term, else `loss`). */
  evalOutput: string;
  /**
   * The loss without gradients, for validation: a device compiles its forward only (the resident
   * step is a graph of its own, so `graph` would be compiled for evaluation alone). Absent: `graph`.
   */
  evalGraph?: TrainPlan['graph'];
  train: Int32Array;
  val: Int32Array;
  /** UTF-8 bytes of text each token id spells (jobs/train/bits-per-byte.ts). */
  byteLength: (id: number) => number;
  evalBatchesDuring?: number;
  evalBatchesFinal?: number;
}

/** summary.json: the fields the issue names first, then a few more for people. */
export interface JobSummary {
  steps: number;
  /** Mean training loss over the last 10% of updates (at most 20): one step's loss is noisy. */
  trainLoss: number | null;
  valLoss: number;
  /**
   * The validation loss in bits per byte of the text its target tokens spell (comparable across
   * tokenizers, and with a compressor's bits per byte); null when the loss has no cross-entropy term.
   */
  bitsPerByte: number | null;
  /** Unigram entropy of the validation tokens, nats per token. */
  baselineLoss: number;
  /** Tokens through the training step per second of step time (this session's steps). */
  tokensPerSecond: number | null;
  /** Mean bytes crossing between host and device per update (checkpoint and evaluation reads excluded); null on the CPU. */
  transferBytesPerStep: number | null;
  device: string;
  valPerplexity: number;
  wallSeconds: number;
  resumedFrom: string | null;
  /** The run's seed (the spec's, or --seed). */
  seed: number;
}

/** Mean of `output` over fixed batches: the validation loss. */
export async function evaluateLm(
  plan: Pick<LmTrainPlan, 'graph' | 'evalGraph' | 'tokensInput' | 'batch' | 'ctx' | 'evalOutput'>,
  backend: Backend,
  feeds: Map<string, Tensor>,
  batches: readonly Int32Array[],
): Promise<number> {
  let sum = 0;
  for (const rows of batches) {
    feeds.set(plan.tokensInput, { dtype: 'i32', shape: [plan.batch, plan.ctx], data: rows });
    const v = (await backend.run(plan.evalGraph ?? plan.graph, feeds, [plan.evalOutput])).get(plan.evalOutput);
    if (v === undefined) throw new Error(`evaluateLm: no output '${plan.evalOutput}'`);
    sum += v.data[0] as number;
  }
  return sum / batches.length;
}

export type LmTrainResult = TrainResult<JobSummary>;

/** The language-model task over `plan`'s token streams. */
export function lmTask(plan: LmTrainPlan): Task<JobSummary> {
  const batcher = new LmBatcher(plan.train, plan.ctx - 1, { batch: plan.batch, seed: plan.seed });
  const batches = {
    during: evalBatches(plan.val, plan.ctx, plan.batch, plan.evalBatchesDuring ?? 8),
    final: evalBatches(plan.val, plan.ctx, plan.batch, plan.evalBatchesFinal ?? 32),
  };
  return {
    unit: 'tok',
    itemsPerBatch: plan.batch * plan.ctx,
    state: batcher,
    feed: async (_batchIndex, feeds) => {
      feeds.set(plan.tokensInput, { dtype: 'i32', shape: [plan.batch, plan.ctx], data: batcher.next() });
    },
    evaluate: async (phase, feeds, backend) => {
      const loss = await evaluateLm(plan, backend, new Map(feeds), batches[phase]);
      return phase === 'during' ? { loss, perplexity: Math.exp(loss) } : { loss };
    },
    summarize: (run) => ({
      steps: run.steps,
      trainLoss: run.trainLoss,
      valLoss: run.final.loss,
      bitsPerByte: plan.evalOutput === 'loss' ? null : bitsPerByteOf(run.final.loss, batches.final, plan.ctx, plan.byteLength),
      baselineLoss: unigramEntropy(plan.val),
      tokensPerSecond: run.itemsPerSecond,
      transferBytesPerStep: run.transferBytesPerStep,
      device: run.device,
      valPerplexity: Math.exp(run.final.loss),
      wallSeconds: run.wallSeconds,
      resumedFrom: run.resumedFrom,
      seed: run.seed,
    }),
  };
}

export function trainLm(plan: LmTrainPlan, o: JobOptions): Promise<LmTrainResult> {
  return runTraining(plan, lmTask(plan), o);
}
