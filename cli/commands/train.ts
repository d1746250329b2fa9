// `scion train [FILE] [--model NAME] [--out DIR] [--steps N] [--seed S] [--weights M=W]… [--device D] [--resume]
// [--json]`: the main job (jobs/train/train-job.ts) — the spec's `train` declaration compiled and
// run with checkpoints; model.safetensors (preset names), config.json, tokenizer.json, loss plots
// and summary.json in the out folder; a summary and, for a language model, a generated sample with
// the share of its words that are words of the training text.
// Without FILE it trains specs/default.scion: a tiny llama on the Brown corpus.

import { isAbsolute, relative, resolve } from 'node:path';
import { DEFAULT_SPEC, defaultOutDir, trainedModel } from '../../jobs/train/defaults.ts';
import type { ExampleJobSummary } from '../../jobs/train/train-examples.ts';
import { runTrainJob, type LmJobSummary, type TrainJobResult } from '../../jobs/train/train-job.ts';
import { wordShareLine } from '../../jobs/train/word-share.ts';
import { ProgressLine } from '../../runtime/train/index.ts';
import { deviceWords } from '../../backends/registry.ts';
import { command, commandSpec } from '../flags.ts';
import { EXIT } from '../io.ts';
import { loadSpec } from '../spec.ts';
import { checkOutputDir } from '../outputs.ts';

export const SPEC = commandSpec({
  name: 'train',
  about: `Trains a model as its spec's \`train\` declares (no FILE: specs/default.scion, a tiny llama on the Brown corpus).
The out folder (default runs/<model>) receives checkpoints/, metrics.jsonl, loss.png/.svg, model.safetensors, config.json,
tokenizer.json and summary.json (last, after the model). --resume continues from the newest intact checkpoint there and
stops when there is none. One run at a time writes an out folder: a second is refused while the first runs. Before
anything is allocated the job estimates the memory and disk it needs and refuses when this machine has less free (--force: try anyway).
An adapter target (\`train G\` with \`adapter G on M\`) trains LoRA A and B plus the parameters M's inherit leaves out
with \`except\` (new, e.g. a classifier head); M's weights come from --init, else the inherit's parent checkpoint, and stay
frozen. It writes adapter_model.safetensors + adapter_config.json (PEFT, for the original base weights) instead of a model.
A frozen teacher or base M (\`teacher = M frozen\`) is read from runs/M/model.safetensors, or from --weights M=FILE.`,
  args: { name: 'FILE', min: 0, max: 1 },
  flags: ['model', 'out', 'steps', 'seed', 'init', 'frozenWeights', 'device', 'resume', 'force', 'json'],
  placeholders: { out: 'DIR' },
});

export const run = command(SPEC, async ({ flags: o, args: [file] }, io) => {
  const program = loadSpec(file ?? DEFAULT_SPEC, io, 'train');
  if (program === undefined) return EXIT.inputError;
  const model = trainedModel(program, o.model);
  if (model === undefined) {
    io.err(`scion train: ${program.file} has no \`train\` declaration\n`);
    return EXIT.inputError;
  }
  const outDir = o.out === undefined ? defaultOutDir(io.cwd, model) : isAbsolute(o.out) ? o.out : resolve(io.cwd, o.out);
  checkOutputDir(outDir, o.out ?? outDir);
  const r = await runTrainJob(program, model, {
    outDir,
    cwd: io.cwd,
    ...(o.steps === undefined ? {} : { steps: o.steps }),
    ...(o.seed === undefined ? {} : { seed: o.seed }),
    ...(o.init === undefined ? {} : { init: isAbsolute(o.init) ? o.init : resolve(io.cwd, o.init) }),
    ...(o.frozenWeights.length === 0 ? {} : { frozen: new Map(o.frozenWeights.map((w) => [w.model, resolve(io.cwd, w.path)])) }),
    device: o.device ?? 'auto',
    resume: o.resume,
    force: o.force,
    ...(io.machine === undefined ? {} : { machine: io.machine }),
    log: (line) => io.err(`${line}\n`),
    progress: new ProgressLine({ write: (text: string) => io.err(text), isTTY: io.isTty }),
  });
  io.out(o.json ? `${JSON.stringify(resultJson(r))}\n` : formatResult(r, io.cwd));
  return EXIT.ok;
});

/** --json: the summary and the files written, as before the job moved to jobs/. */
function resultJson(r: TrainJobResult): object {
  switch (r.kind) {
    case 'lm':
      return { summary: r.summary, out: r.out, model: r.model, plot: r.plot, prompt: r.prompt, sample: r.sample };
    case 'examples':
      return { summary: r.summary, out: r.out, model: r.model, ema: r.ema, plot: r.plot };
    case 'adapter':
      return { summary: r.summary, out: r.out, adapter: r.adapter, adapterConfig: r.adapterConfig, trained: r.trained, plot: r.plot };
  }
}

function formatResult(r: TrainJobResult, cwd: string): string {
  if (r.kind === 'lm') return formatLmSummary(r.summary, r.out, r.plot, r.prompt, r.sample, cwd);
  if (r.kind === 'examples') return formatExampleSummary(r.summary, r.out, r.plot, r.ema ?? undefined, cwd);
  const fresh = r.fresh.length === 0 ? '' : `, modules_to_save: ${r.fresh.join(', ')}`;
  return formatExampleSummary(
    r.summary,
    r.out,
    r.plot,
    undefined,
    cwd,
    `adapter_model.safetensors + adapter_config.json (PEFT, r = ${r.rank}, lora_alpha = ${r.alpha}${fresh})`,
  );
}

function formatLmSummary(s: LmJobSummary, outDir: string, plot: string, prompt: string, sample: string, cwd: string): string {
  const rel = (p: string): string => relative(cwd, p) || '.';
  const verdict = s.valLoss < s.baselineLoss ? 'below' : 'NOT below';
  return [
    `trained ${s.steps} steps on ${deviceWords(s.device)} in ${s.wallSeconds.toFixed(0)} s (${s.tokensPerSecond === null ? '–' : Math.round(s.tokensPerSecond).toLocaleString('en-US')} tokens/s)`,
    `  train loss       ${s.trainLoss === null ? '–' : s.trainLoss.toFixed(4)}`,
    `  validation loss  ${s.valLoss.toFixed(4)}  (perplexity ${s.valPerplexity.toFixed(1)}${s.bitsPerByte === null ? '' : `, ${s.bitsPerByte.toFixed(3)} bits per byte`})`,
    `  unigram baseline ${s.baselineLoss.toFixed(4)}  → validation loss is ${verdict} the baseline`,
    `  out:  ${rel(outDir)}  (model.safetensors, config.json, tokenizer.json, summary.json, metrics.jsonl)`,
    `  plot: ${rel(plot)}`,
    'sample:',
    `  ${prompt}${sample}`,
    `  (${wordShareLine(s.sampleWordShare)})`,
    '',
  ].join('\n');
}

function formatExampleSummary(s: ExampleJobSummary, outDir: string, plot: string, ema: string | undefined, cwd: string, files?: string): string {
  const rel = (p: string): string => relative(cwd, p) || '.';
  const rate =
    s.imagesPerSecond !== null
      ? `${s.imagesPerSecond.toFixed(1)} images/s`
      : s.tokensPerSecond !== null
        ? `${Math.round(s.tokensPerSecond).toLocaleString('en-US')} tokens/s`
        : '–';
  return [
    `trained ${s.steps} steps on ${deviceWords(s.device)} in ${s.wallSeconds.toFixed(0)} s (${rate})`,
    `  train loss       ${s.trainLoss === null ? '–' : s.trainLoss.toFixed(4)}`,
    `  validation loss  ${s.valLoss.toFixed(4)}`,
    ...(s.valAccuracy === null ? [] : [`  validation acc.  ${(100 * s.valAccuracy).toFixed(2)}%`]),
    `  out:  ${rel(outDir)}  (${files ?? `model.safetensors${ema === undefined ? '' : ', model-ema.safetensors'}`}, summary.json, metrics.jsonl)`,
    `  plot: ${rel(plot)}`,
    '',
  ].join('\n');
}
