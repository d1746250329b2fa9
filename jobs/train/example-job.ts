// Running a prepared example job (prepare-examples.ts): the start lines, the training itself and,
// for an adapter target, the PEFT files and summary.json; and the validation pass `scion eval`
// makes over example specs. The job around it (train-job.ts) writes the model files and
// plots; the command prints the summary.

import { rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Program } from '../../grammar/ast.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { writeAtomic, type ProgressLine } from '../../runtime/train/index.ts';
import { writePeftAdapter, type PeftFiles } from './adapter-save.ts';
import { referenceBackend } from '../../backends/reference/index.ts';
import type { Backend } from '../../backends/backend.ts';
import { JobError } from './errors.ts';
import { prepareExampleJob, type ExampleJob } from './prepare-examples.ts';
import { evaluateExamples, evalIndexBatches, trainExamples, type ExampleTrainResult } from './train-examples.ts';
import { deviceWords } from '../../backends/registry.ts';

export interface ExampleRunOptions {
  outDir: string;
  resume: boolean;
  backend: Backend;
  /** The working folder, for relative paths in the log. */
  cwd: string;
  log: (line: string) => void;
  /** The stderr progress line, or false (tests). */
  progress: ProgressLine | false;
}

export interface ExampleRunResult {
  result: ExampleTrainResult;
  /** Adapter targets: the PEFT files written (no whole model is). */
  peft?: PeftFiles;
}

/** Trains the job; an adapter target also gets adapter_model.safetensors, adapter_config.json and summary.json. */
export async function trainExampleJob(job: ExampleJob, model: string, o: ExampleRunOptions): Promise<ExampleRunResult> {
  const p = job.plan;
  const what = p.kind === 'diffusion' ? 'diffusion' : p.kind === 'classification' ? 'classification' : 'language modelling';
  const rounds =
    p.rounds === undefined
      ? ''
      : p.rounds.count === 1
        ? ' in one round'
        : ` in ${p.rounds.count} rounds (sample ${p.rounds.sample} by softmax(loss${p.rounds.temperature === 1 ? '' : ` / ${p.rounds.temperature}`}))`;
  if (job.initFrom !== undefined) o.log(`initial weights: ${relative(o.cwd, job.initFrom) || job.initFrom}`);
  o.log(
    `training ${model} (${what}) for ${p.steps} steps of ${p.batch} examples${rounds} on ${deviceWords(o.backend.name)} → ${relative(o.cwd, o.outDir) || '.'}`,
  );
  const result = await trainExamples(
    { ...p, onRound: (round, chosen, of) => o.log(`round ${round + 1}: ${chosen} of ${of} batches drawn by the frozen model's losses`) },
    { outDir: o.outDir, resume: o.resume, backend: o.backend, progress: o.progress },
  );
  const ad = job.lowered.adapter;
  if (ad === undefined) return { result };
  // An adapter run writes PEFT files for the base checkpoint, not a whole model; summary.json goes
  // before them and comes back after them, whole or not at all, never describing files not there.
  await rm(join(o.outDir, 'summary.json'), { force: true });
  const peft = await writePeftAdapter(o.outDir, ad.model, ad.fresh, result.params, p.frozen);
  await writeAtomic(
    join(o.outDir, 'summary.json'),
    `${JSON.stringify({ ...result.summary, adapter: ad.model.adapter.name, base: job.initFrom ?? null, trainedFresh: ad.fresh }, null, 2)}\n`,
  );
  return { result, peft };
}

export interface ExampleValidation {
  split: string;
  examples: number;
  loss: number;
  /** Classifiers: the fraction of examples whose argmax logit is the label. */
  accuracy: number | null;
}

/**
 * `scion eval FILE --weights W` for example-based specs: validation loss (the cross-entropy or
 * diffusion term) and, for classifiers, accuracy, on up to `maxBatches` fixed batches of `split`
 * (`val`: the spec's eval data, else the held-out split of its training source), on the CPU.
 */
export async function validateExamples(
  program: Program,
  model: string,
  weightsPath: string,
  split: string,
  maxBatches: number,
  cwd: string,
): Promise<ExampleValidation> {
  const job = await prepareExampleJob(program, model, { outDir: dirname(weightsPath), cwd, init: weightsPath, log: () => undefined });
  const p = job.plan;
  const set = split === 'val' ? p.val : split === 'train' ? p.train : undefined;
  if (set === undefined) throw new JobError(`--data ${split}: example specs evaluate on val or train`);
  const feeds = new Map<string, Tensor>(p.frozen);
  for (const t of p.trainable) feeds.set(t.path, { dtype: 'f32', shape: t.shape, data: p.initial.get(t.path)! });
  const batches = evalIndexBatches(set.count, p.batch, maxBatches);
  const r = await evaluateExamples(p, referenceBackend, feeds, set, batches);
  return { split, examples: batches.length * p.batch, ...r };
}
