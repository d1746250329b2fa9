// Running a prepared example job (train-examples.ts) for `scion train`: the start line, the
// training itself, model.safetensors (and model-ema.safetensors when the spec keeps an EMA —
// DiT samples from it), loss plots, and the summary for people or --json. Not a command itself.

import { writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Program } from '../../grammar/ast.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { cpuBackend, type Backend } from '../../jobs/train/backend.ts';
import { writePeftAdapter } from '../../jobs/train/adapter-save.ts';
import { JobError } from '../../jobs/train/errors.ts';
import { evaluateExamples, evalIndexBatches, trainExamples, type ExampleJobSummary } from '../../jobs/train/train-examples.ts';
import { ProgressLine } from '../../runtime/train/index.ts';
import { EXIT, type Io } from '../io.ts';
import { prepareExampleJob, type ExampleJob } from './train-examples.ts';
import { saveModel, writePlots } from './train.ts';

export interface RunOptions {
  outDir: string;
  resume: boolean;
  backend: Backend;
  json: boolean;
  log: (line: string) => void;
}

export async function runExampleJob(job: ExampleJob, model: string, o: RunOptions, io: Io): Promise<number> {
  const p = job.plan;
  const what = p.kind === 'diffusion' ? 'diffusion' : p.kind === 'classification' ? 'classification' : 'language modelling';
  const rounds =
    p.rounds === undefined
      ? ''
      : ` in ${p.rounds.count} rounds (sample ${p.rounds.sample} by softmax(loss${p.rounds.temperature === 1 ? '' : ` / ${p.rounds.temperature}`}))`;
  if (job.initFrom !== undefined) o.log(`initial weights: ${relative(io.cwd, job.initFrom) || job.initFrom}`);
  o.log(
    `training ${model} (${what}) for ${p.steps} steps of ${p.batch} examples${rounds} on ${o.backend.name === 'cpu' ? 'the CPU' : 'WebGPU'} → ${relative(io.cwd, o.outDir) || '.'}`,
  );
  const progress = new ProgressLine({ write: (text: string) => io.err(text), isTTY: io.isTty });
  const r = await trainExamples(
    { ...p, onRound: (round, chosen, of) => o.log(`round ${round + 1}: ${chosen} of ${of} batches drawn by the frozen model's losses`) },
    { outDir: o.outDir, resume: o.resume, backend: o.backend, progress },
  );
  const ad = job.lowered.adapter;
  if (ad !== undefined) {
    // An adapter run writes PEFT files for the base checkpoint, not a whole model.
    const peft = await writePeftAdapter(o.outDir, ad.model, ad.fresh, r.params, p.frozen);
    const plot = await writePlots(o.outDir, model, r.metrics, undefined, p.steps);
    const extra = { adapter: peft.model, adapterConfig: peft.config, trained: [...r.params.keys()].filter((k) => !k.startsWith('loss.')).length };
    await writeFile(
      join(o.outDir, 'summary.json'),
      `${JSON.stringify({ ...r.summary, adapter: ad.model.adapter.name, base: job.initFrom ?? null, trainedFresh: ad.fresh }, null, 2)}\n`,
    );
    if (o.json) io.out(`${JSON.stringify({ summary: r.summary, out: o.outDir, ...extra, plot })}\n`);
    else
      io.out(
        formatSummary(
          r.summary,
          o.outDir,
          plot,
          undefined,
          io.cwd,
          `adapter_model.safetensors + adapter_config.json (PEFT, r = ${peft.rank}, lora_alpha = ${peft.alpha}${ad.fresh.length === 0 ? '' : `, modules_to_save: ${ad.fresh.join(', ')}`})`,
        ),
      );
    return EXIT.ok;
  }
  const modelPath = await saveModel(job.lowered, r.params, o.outDir);
  const emaPath = r.ema === undefined ? undefined : await saveModel(job.lowered, r.ema, o.outDir, 'model-ema.safetensors');
  const plot = await writePlots(o.outDir, model, r.metrics, undefined, p.steps);
  if (o.json) io.out(`${JSON.stringify({ summary: r.summary, out: o.outDir, model: modelPath, ema: emaPath ?? null, plot })}\n`);
  else io.out(formatSummary(r.summary, o.outDir, plot, emaPath, io.cwd));
  return EXIT.ok;
}

function formatSummary(s: ExampleJobSummary, outDir: string, plot: string, ema: string | undefined, cwd: string, files?: string): string {
  const rel = (p: string): string => relative(cwd, p) || '.';
  const rate =
    s.imagesPerSecond !== null
      ? `${s.imagesPerSecond.toFixed(1)} images/s`
      : s.tokensPerSecond !== null
        ? `${Math.round(s.tokensPerSecond).toLocaleString('en-US')} tokens/s`
        : '–';
  return [
    `trained ${s.steps} steps on ${s.device} in ${s.wallSeconds.toFixed(0)} s (${rate})`,
    `  train loss       ${s.trainLoss === null ? '–' : s.trainLoss.toFixed(4)}`,
    `  validation loss  ${s.valLoss.toFixed(4)}`,
    ...(s.valAccuracy === null ? [] : [`  validation acc.  ${(100 * s.valAccuracy).toFixed(2)}%`]),
    `  out:  ${rel(outDir)}  (${files ?? `model.safetensors${ema === undefined ? '' : ', model-ema.safetensors'}`}, summary.json, metrics.jsonl)`,
    `  plot: ${rel(plot)}`,
    '',
  ].join('\n');
}

/**
 * `scion eval FILE --weights W` for example-based specs: validation loss (the cross-entropy or
 * diffusion term) and, for classifiers, accuracy, on up to `maxBatches` fixed batches of `split`
 * (`val`: the spec's eval data, else the held-out split of its training source).
 */
export async function validateExamples(
  program: Program,
  model: string,
  weightsPath: string,
  split: string,
  maxBatches: number,
  cwd: string,
): Promise<{ split: string; examples: number; loss: number; accuracy: number | null }> {
  const job = await prepareExampleJob(program, model, { outDir: dirname(weightsPath), cwd, init: weightsPath, log: () => undefined });
  const p = job.plan;
  const set = split === 'val' ? p.val : split === 'train' ? p.train : undefined;
  if (set === undefined) throw new JobError(`--data ${split}: example specs evaluate on val or train`);
  const feeds = new Map<string, Tensor>(p.frozen);
  for (const t of p.trainable) feeds.set(t.path, { dtype: 'f32', shape: t.shape, data: p.initial.get(t.path)! });
  const batches = evalIndexBatches(set.count, p.batch, maxBatches);
  const r = await evaluateExamples(p, cpuBackend, feeds, set, batches);
  return { split, examples: batches.length * p.batch, ...r };
}
