// Reporting an example job for `scion train` (the job itself: jobs/train/example-job.ts):
// model.safetensors (and model-ema.safetensors when the spec keeps an EMA — DiT samples from it),
// loss plots, and the summary for people or --json. Not a command itself.

import { relative } from 'node:path';
import type { Backend } from '../../jobs/train/backend.ts';
import type { ExampleJob } from '../../jobs/train/prepare-examples.ts';
import { trainExampleJob } from '../../jobs/train/example-job.ts';
import type { ExampleJobSummary } from '../../jobs/train/train-examples.ts';
import { ProgressLine } from '../../runtime/train/index.ts';
import { EXIT, type Io } from '../io.ts';
import { saveModel, writePlots } from './train.ts';

export interface RunOptions {
  outDir: string;
  resume: boolean;
  backend: Backend;
  json: boolean;
  log: (line: string) => void;
}

/** Trains the prepared job, writes the model (or adapter) files and plots, and prints the summary. */
export async function runExampleJob(job: ExampleJob, model: string, o: RunOptions, io: Io): Promise<number> {
  const progress = new ProgressLine({ write: (text: string) => io.err(text), isTTY: io.isTty });
  const { result: r, peft } = await trainExampleJob(job, model, { outDir: o.outDir, resume: o.resume, backend: o.backend, cwd: io.cwd, log: o.log, progress });
  const p = job.plan;
  const ad = job.lowered.adapter;
  if (ad !== undefined && peft !== undefined) {
    const plot = await writePlots(o.outDir, model, r.metrics, undefined, p.steps);
    const extra = { adapter: peft.model, adapterConfig: peft.config, trained: [...r.params.keys()].filter((k) => !k.startsWith('loss.')).length };
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
