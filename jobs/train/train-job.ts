// The whole `scion train` job, from a checked program to the files of a finished run: prepare
// (compile the train declaration, data, tokenizer, weights), pick the backend, train, then write
// the model (or, for an adapter target, the PEFT files), the loss plots and, for a language model,
// a generated sample and the share of its words that are words of the training text. The command
// only parses flags and prints the result.
// The run folder is locked for the whole job (jobs/run-folder.ts), and summary.json is
// written last, after the model, so it never claims steps the model does not have.

import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Program } from '../../grammar/ast.ts';
import { writeAtomic, type ProgressLine } from '../../runtime/train/index.ts';
import { findTrain } from '../../compiler/lower/lower-train-config.ts';
import { lowerTrain } from '../../compiler/lower/lower-train.ts';
import { checkResources, THIS_MACHINE, trainEstimate, type Estimate, type Machine } from '../resources.ts';
import { inRunFolder } from '../run-folder.ts';
import { JobError } from './errors.ts';
import { deviceWords, selectBackend, type DeviceChoice } from '../../backends/registry.ts';
import type { Backend } from '../../backends/backend.ts';
import { trainExampleJob } from './example-job.ts';
import { prepareLmJob } from './lm-job.ts';
import { saveModel, writePlots } from './outputs.ts';
import { needsExampleJob, prepareExampleJob, trainConfigOf } from './prepare-examples.ts';
import { lowerModel } from '../../compiler/lower/lower-model.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { readTokenizerJson } from '../../runtime/tokenizer/index.ts';
import { END_SAMPLE, generateText, type SampleOptions, textModel } from './sample-text.ts';
import type { ExampleJobSummary } from './train-examples.ts';
import { trainLm, type JobSummary } from './train-lm.ts';
import { wordShare, type WordShare } from './word-share.ts';

export interface TrainJobOptions {
  /** The run folder (created when missing). */
  outDir: string;
  /** The working folder: relative data paths and the log's paths are read from it. */
  cwd: string;
  /** Replace the spec's steps or seed (`--steps`, `--seed`). */
  steps?: number;
  seed?: number;
  /** Initial weights (absolute path) instead of the spec's or a fresh init. */
  init?: string;
  /** Weights of frozen teachers and bases by model name (`--weights M=W`); absent ones: runs/<M>/model.safetensors. */
  frozen?: ReadonlyMap<string, string>;
  device: DeviceChoice;
  resume: boolean;
  /** Run even when the estimate exceeds the free memory or disk (`--force`). */
  force?: boolean;
  /** Where free memory and disk are read (tests: a fake). Default: this machine. */
  machine?: Machine;
  /** One line at a time, for people (stderr). */
  log: (line: string) => void;
  /** The progress line, or false (tests). */
  progress: ProgressLine | false;
}

/** A language model's summary.json: the training summary and its end sample's share of English words. */
export interface LmJobSummary extends JobSummary {
  /** Of the words END_SAMPLE adds after its prompt, those that are words of the training text. */
  sampleWordShare: WordShare;
}

/** What a finished run wrote, by kind of job. Paths are absolute. */
export type TrainJobResult =
  | { kind: 'lm'; summary: LmJobSummary; out: string; model: string; plot: string; prompt: string; sample: string }
  | { kind: 'examples'; summary: ExampleJobSummary; out: string; model: string; ema: string | null; plot: string }
  | {
      kind: 'adapter';
      summary: ExampleJobSummary;
      out: string;
      adapter: string;
      adapterConfig: string;
      /** Trained tensors (LoRA factors and fresh parameters). */
      trained: number;
      plot: string;
      /** Rank and alpha as written, and the fresh modules saved whole. */
      rank: number;
      alpha: number;
      fresh: readonly string[];
    };

/**
 * Runs the job `train MODEL` of `program` declares, holding the run folder's lock (RunLocked when
 * another live run holds it); the backend is released at the end.
 */
export async function runTrainJob(program: Program, model: string, o: TrainJobOptions): Promise<TrainJobResult> {
  // Before the folder is made or anything allocated: a job this machine cannot hold is refused.
  const fit = checkResources(
    estimateTrain(program, model),
    (o.machine ?? THIS_MACHINE).available(o.outDir),
    relative(o.cwd, o.outDir) || '.',
    o.force ?? false,
  );
  return inRunFolder(o.outDir, 'scion train', o.log, () => {
    o.log(fit.line);
    return runLocked(program, model, o);
  });
}

/**
 * The memory and disk `train MODEL` needs, from its forward graph at the train batch (no
 * gradients: they are counted per parameter) — lowered again by the job, which is cheap next to
 * allocating what this refuses.
 */
export function estimateTrain(program: Program, model: string): Estimate {
  const decl = findTrain(program, model);
  if (decl === undefined) throw new JobError(`the spec has no \`train ${model}\` declaration`);
  const config = trainConfigOf(decl, program);
  return trainEstimate(lowerTrain(program, model, { batch: config.batch, grads: false, dropout: false }), config);
}

/**
 * Writes a finished run's files and then its summary.json: the old summary goes first, so a kill
 * or a full disk in between leaves none rather than one describing files that are not there.
 */
async function withSummary<T>(outDir: string, summary: object, write: () => Promise<T>): Promise<T> {
  const path = join(outDir, 'summary.json');
  await rm(path, { force: true });
  const written = await write();
  await writeAtomic(path, `${JSON.stringify(summary, null, 2)}\n`);
  return written;
}

async function runLocked(program: Program, model: string, o: TrainJobOptions): Promise<TrainJobResult> {
  const prep = {
    outDir: o.outDir,
    cwd: o.cwd,
    ...(o.steps === undefined ? {} : { steps: o.steps }),
    ...(o.seed === undefined ? {} : { seed: o.seed }),
    ...(o.init === undefined ? {} : { init: o.init }),
    ...(o.frozen === undefined ? {} : { frozen: o.frozen }),
    log: o.log,
  };
  let backend: Backend | undefined;
  try {
    if (needsExampleJob(program, model)) {
      const job = await prepareExampleJob(program, model, prep);
      backend = await selectBackend(o.device, job.plan.graph, o.log);
      const { result: r, peft } = await trainExampleJob(job, model, {
        outDir: o.outDir,
        resume: o.resume,
        backend,
        cwd: o.cwd,
        log: o.log,
        progress: o.progress,
      });
      const plot = await writePlots(o.outDir, model, r.metrics, undefined, job.plan.steps);
      const ad = job.lowered.adapter;
      if (ad !== undefined && peft !== undefined) {
        const trained = [...r.params.keys()].filter((k) => !k.startsWith('loss.')).length;
        return {
          kind: 'adapter',
          summary: r.summary,
          out: o.outDir,
          adapter: peft.model,
          adapterConfig: peft.config,
          trained,
          plot,
          rank: peft.rank,
          alpha: peft.alpha,
          fresh: ad.fresh,
        };
      }
      const { modelPath, ema } = await withSummary(o.outDir, r.summary, async () => ({
        modelPath: await saveModel(job.lowered, r.params, o.outDir),
        ema: r.ema === undefined ? null : await saveModel(job.lowered, r.ema, o.outDir, 'model-ema.safetensors'),
      }));
      return { kind: 'examples', summary: r.summary, out: o.outDir, model: modelPath, ema, plot };
    }
    const job = await prepareLmJob(program, model, prep);
    backend = await selectBackend(o.device, job.plan.graph, o.log);
    o.log(
      `training ${model} for ${job.plan.steps} steps of ${job.plan.batch}×${job.plan.ctx} tokens on ${deviceWords(backend.name)} → ${relative(o.cwd, o.outDir) || '.'}`,
    );
    const r = await trainLm(job.plan, { outDir: o.outDir, resume: o.resume, backend, progress: o.progress });
    // The sample comes before summary.json, which records how many of its words are English.
    const sample = await sampleFromModel(program, model, r.params, join(o.outDir, 'tokenizer.json'), backend, END_SAMPLE);
    const summary: LmJobSummary = { ...r.summary, sampleWordShare: wordShare(END_SAMPLE.prompt, sample, job.trainWords) };
    const modelPath = await withSummary(o.outDir, summary, () => saveModel(job.lowered, r.params, o.outDir));
    const plot = await writePlots(o.outDir, model, r.metrics, r.summary.baselineLoss, job.plan.steps);
    return { kind: 'lm', summary, out: o.outDir, model: modelPath, plot, prompt: END_SAMPLE.prompt, sample };
  } finally {
    backend?.dispose();
  }
}

/** A sample from freshly trained parameters (by Scion path): what `scion train` prints at the end. */
async function sampleFromModel(
  program: Program,
  model: string,
  params: ReadonlyMap<string, Float32Array>,
  tokenizerPath: string,
  backend: Backend,
  o: SampleOptions,
): Promise<string> {
  const m = lowerModel(program, model, { dims: { batch: 1 } });
  const feeds = new Map<string, Tensor>();
  for (const p of m.params) {
    const data = params.get(p.path);
    if (data === undefined) throw new Error(`sampleFromModel: no trained value for '${p.path}'`);
    feeds.set(p.path, { dtype: 'f32', shape: p.shape, data });
  }
  const tokenizer = await readTokenizerJson(tokenizerPath);
  return (await generateText(textModel(program, model, feeds), backend, tokenizer, o)).text;
}
