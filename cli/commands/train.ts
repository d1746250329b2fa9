// `scion train [FILE] [--model NAME] [--out DIR] [--steps N] [--seed S] [--device auto|cpu|webgpu] [--resume]
// [--json]`: the main job. Compiles the spec's `train` declaration into one graph (student, frozen
// teacher/base, loss, gradients), prepares the data and tokenizer, runs the training loop with
// checkpoints, then writes model.safetensors (preset names), config.json, tokenizer.json, loss
// plots and summary.json to the out folder and prints a summary and a generated sample.
// Without FILE it trains specs/default.scion: a tiny llama on the Brown corpus.

import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Program } from '../../grammar/ast.ts';
import { gradName } from '../../compiler/autodiff/grad.ts';
import { LowerError } from '../../compiler/lower/errors.ts';
import { findTrain, trainConfig, type DataSpec, type TrainConfig } from '../../compiler/lower/lower-train-config.ts';
import { lowerTrain, type LoweredTrain } from '../../compiler/lower/lower-train.ts';
import { checkpointPlan, toCheckpoint, writeConfig, type HostTensor } from '../../compiler/presets/index.ts';
import { selectBackend, DeviceUnavailable, type Backend, type DeviceChoice } from '../../jobs/train/backend.ts';
import { JobError } from '../../jobs/train/errors.ts';
import { encodeStream, prepareTokenizer, sourceTexts, type DataSource } from '../../jobs/train/lm-data.ts';
import { planSettings, trainLm, type JobSummary, type LmTrainPlan } from '../../jobs/train/train-lm.ts';
import { lossSeries, plotLosses } from '../../runtime/plot/index.ts';
import { ProgressLine, TrainingDiverged } from '../../runtime/train/index.ts';
import { writeSafetensors, type TensorToWrite } from '../../runtime/weights/index.ts';
import { EXIT, UsageError, type Command, type Io } from '../io.ts';
import { initialWeights, initPath, loadFrozen, needsExampleJob, prepareExampleJob } from '../../jobs/train/prepare-examples.ts';
import { runExampleJob } from './train-report.ts';
import { loadSpec, positiveInt, reportLowerError, takeValue } from './explain.ts';
import { sampleFromModel } from './generate.ts';

const USAGE =
  'usage: scion train [FILE] [--model NAME] [--out DIR] [--steps N] [--seed S] [--init WEIGHTS.safetensors] [--device auto|cpu|webgpu] [--resume] [--json]';

/** The spec `scion train` runs without FILE. */
export const DEFAULT_SPEC = fileURLToPath(new URL('../../specs/default.scion', import.meta.url));

export function parseDevice(v: string, usage: string): DeviceChoice {
  if (v === 'auto' || v === 'cpu' || v === 'webgpu') return v;
  throw new UsageError(`--device must be auto, cpu or webgpu, got '${v}'\n${usage}`);
}

/** The model a spec trains: `--model`, else the first `train` declaration's target. */
export function trainedModel(program: Program, model: string | undefined): string | undefined {
  return model ?? findTrain(program)?.target.name;
}

export function defaultOutDir(cwd: string, model: string): string {
  return resolve(cwd, 'runs', model);
}

const where = (d: DataSpec): string => `${d.span.file}:${d.span.start.line}`;
const source = (d: DataSpec): DataSource => ({ source: d.source, args: d.args, where: where(d) });

/** Everything the LM job needs besides the backend, compiled and loaded. */
export interface LmJob {
  lowered: LoweredTrain;
  config: TrainConfig;
  plan: LmTrainPlan;
  /** Where the tokenizer came from (for the log). */
  tokenizerOrigin: string;
}

/** The i32[batch, ctx] token input of a language model, or a user error saying why there is none. */
export function tokenInput(t: LoweredTrain): { name: string; ctx: number } {
  const ins = t.student.inputs;
  const first = ins[0];
  if (ins.length !== 1 || first === undefined || first.dtype !== 'i32' || first.shape.length !== 2) {
    throw new LowerError(
      'E0904',
      `scion train runs language models (one i32[batch, ctx] input) so far; '${t.student.instance.name}' takes ${ins.map((i) => `${i.name}: ${i.dtype}[${i.shape.join(', ')}]`).join(', ')}`,
      t.decl.span,
    );
  }
  return { name: first.name, ctx: first.shape[1] as number };
}

/** Compiles the train declaration and prepares tokenizer, token streams, initial and frozen weights. */
export async function prepareLmJob(
  program: Program,
  model: string,
  o: { outDir: string; cwd: string; steps?: number; seed?: number; init?: string; log: (line: string) => void },
): Promise<LmJob> {
  const decl = findTrain(program, model);
  if (decl === undefined) throw new JobError(`the spec has no \`train ${model}\` declaration`);
  const config = trainConfig(decl, program);
  if (o.steps !== undefined) config.steps = o.steps;
  if (o.seed !== undefined) config.seed = o.seed;
  const lowered = lowerTrain(program, model, { batch: config.batch });
  const tokens = tokenInput(lowered);
  const seq = config.data.args['seq'];
  if (typeof seq === 'number' && seq !== tokens.ctx) {
    throw new LowerError(
      'E0905',
      `the data has seq = ${seq} but '${model}' takes ${tokens.name} of length ${tokens.ctx}`,
      config.data.span,
      [],
      `write seq = ${tokens.ctx}`,
    );
  }
  const vocabParam = lowered.student.instance.params['vocab'];
  const vocab = typeof vocabParam === 'number' ? vocabParam : (lowered.student.graph.nodes[lowered.student.taps.get('logits') ?? 0]?.shape.at(-1) ?? 0);
  const trainTexts = await sourceTexts(source(config.data), o.cwd);
  const valSpec: DataSource =
    config.eval === undefined
      ? { source: config.data.source, args: { ...config.data.args, split: 'val' }, where: where(config.data) }
      : source(config.eval.data);
  const valTexts = await sourceTexts(valSpec, o.cwd);
  const tok = await prepareTokenizer({
    vocab,
    corpus: trainTexts,
    cachePath: join(o.outDir, 'tokenizer.json'),
    ...(config.tokenizer === undefined ? {} : { file: resolve(o.cwd, config.tokenizer) }),
  });
  o.log(`tokenizer: ${tok.origin}`);
  const train = encodeStream(tok.tokenizer, trainTexts);
  const val = encodeStream(tok.tokenizer, valTexts);
  o.log(`data: ${train.length.toLocaleString('en-US')} training tokens, ${val.length.toLocaleString('en-US')} validation tokens`);

  const initFrom = initPath(program, model, o.outDir, o.init);
  if (initFrom !== undefined) o.log(`initial weights: ${relative(o.cwd, initFrom) || initFrom}`);
  const initial = await initialWeights(lowered, config.seed, initFrom);
  const frozen = await loadFrozen(lowered, o.cwd);
  const ce = lowered.terms.find((t) => t.callee === 'cross_entropy');
  const plan: LmTrainPlan = {
    graph: lowered.graph,
    tokensInput: tokens.name,
    batch: config.batch,
    ctx: tokens.ctx,
    trainable: lowered.trainable.map((p) => ({ path: p.path, shape: p.shape, grad: gradName(p.path) })),
    initial,
    frozen,
    weights: lowered.weights,
    evalOutput: ce?.output ?? 'loss',
    ...planSettings(config),
    train,
    val,
  };
  return { lowered, config, plan, tokenizerOrigin: tok.origin };
}

/** model.safetensors under the preset's names, and config.json when the model has a preset. */
export async function saveModel(t: LoweredTrain, params: ReadonlyMap<string, Float32Array>, outDir: string, file = 'model.safetensors'): Promise<string> {
  const host = new Map<string, HostTensor>();
  for (const p of t.student.params) {
    const data = params.get(p.path);
    if (data !== undefined) host.set(p.path, { shape: p.shape, data });
  }
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, v] of toCheckpoint(checkpointPlan(t.student), host)) tensors.set(name, { dtype: 'F32', shape: v.shape, data: v.data });
  const preset = t.student.instance.preset;
  const path = join(outDir, file);
  await writeSafetensors(path, tensors, { format: 'pt', scion_model: t.student.instance.name, ...(preset === undefined ? {} : { scion_preset: preset }) });
  if (preset !== undefined) await writeFile(join(outDir, 'config.json'), `${JSON.stringify(writeConfig(preset, t.student), null, 2)}\n`);
  return path;
}

export async function writePlots(
  outDir: string,
  model: string,
  metrics: readonly { kind: string; step: number; loss?: unknown }[],
  baseline: number | undefined,
  steps: number,
): Promise<string> {
  const series = lossSeries(metrics);
  if (baseline !== undefined) series.push({ name: 'unigram baseline', x: [1, Math.max(1, steps)], y: [baseline, baseline], color: '#7f7f7f' });
  const { svg, png } = plotLosses(series, { title: baseline === undefined ? `${model}: loss` : `${model}: loss (nats/token)`, xLabel: 'step', yLabel: 'loss' });
  await writeFile(join(outDir, 'loss.svg'), svg);
  await writeFile(join(outDir, 'loss.png'), png);
  return join(outDir, 'loss.png');
}

interface Options {
  file?: string;
  model?: string;
  out?: string;
  steps?: number;
  seed?: number;
  init?: string;
  device: DeviceChoice;
  resume: boolean;
  json: boolean;
}

/** --seed: the spec's `seed` replaced, for runs that differ only in it. */
function nonNegativeInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${flag} takes an integer >= 0, got '${v}'\n${USAGE}`);
  return n;
}

function parse(args: string[]): Options | 'help' {
  const o: Options = { device: 'auto', resume: false, json: false };
  for (let k = 0; k < args.length; k++) {
    const a = args[k] as string;
    if (a === '--model') o.model = takeValue(args, k++, a, USAGE);
    else if (a === '--out' || a === '-o') o.out = takeValue(args, k++, a, USAGE);
    else if (a === '--steps') o.steps = positiveInt(takeValue(args, k++, a, USAGE), a, USAGE);
    else if (a === '--seed') o.seed = nonNegativeInt(takeValue(args, k++, a, USAGE), a);
    else if (a === '--init') o.init = takeValue(args, k++, a, USAGE);
    else if (a === '--device') o.device = parseDevice(takeValue(args, k++, a, USAGE), USAGE);
    else if (a === '--resume') o.resume = true;
    else if (a === '--json') o.json = true;
    else if (a === '--help' || a === '-h') return 'help';
    else if (a.startsWith('-')) throw new UsageError(`unknown option '${a}'\n${USAGE}`);
    else if (o.file === undefined) o.file = a;
    else throw new UsageError(`give at most one spec file\n${USAGE}`);
  }
  return o;
}

export const run: Command = async (args: string[], io: Io): Promise<number> => {
  const o = parse(args);
  if (o === 'help') {
    io.out(
      `${USAGE}\n\nTrains a model as its spec's \`train\` declares (no FILE: ${relative(io.cwd, DEFAULT_SPEC)}, a tiny llama on the Brown corpus).\nThe out folder (default runs/<model>) receives checkpoints/, metrics.jsonl, loss.png/.svg, model.safetensors, config.json,\ntokenizer.json and summary.json. --resume continues from the newest checkpoint there.\nAn adapter target (\`train G\` with \`adapter G on M\`) trains LoRA A and B plus the parameters M's inherit leaves out\nwith \`except\` (new, e.g. a classifier head); M's weights come from --init, else the inherit's parent checkpoint, and stay\nfrozen. It writes adapter_model.safetensors + adapter_config.json (PEFT, for the original base weights) instead of a model.\n`,
    );
    return EXIT.ok;
  }
  const program = loadSpec(o.file ?? DEFAULT_SPEC, io, 'train');
  if (program === undefined) return EXIT.inputError;
  const model = trainedModel(program, o.model);
  if (model === undefined) {
    io.err(`scion train: ${program.file} has no \`train\` declaration\n`);
    return EXIT.inputError;
  }
  const outDir = o.out === undefined ? defaultOutDir(io.cwd, model) : isAbsolute(o.out) ? o.out : resolve(io.cwd, o.out);
  const log = (line: string): void => io.err(`${line}\n`);
  let backend: Backend | undefined;
  try {
    await mkdir(outDir, { recursive: true });
    const prep = {
      outDir,
      cwd: io.cwd,
      ...(o.steps === undefined ? {} : { steps: o.steps }),
      ...(o.seed === undefined ? {} : { seed: o.seed }),
      ...(o.init === undefined ? {} : { init: isAbsolute(o.init) ? o.init : resolve(io.cwd, o.init) }),
      log,
    };
    if (needsExampleJob(program, model)) {
      const job = await prepareExampleJob(program, model, prep);
      backend = await selectBackend(o.device, job.plan.graph, log);
      return await runExampleJob(job, model, { outDir, resume: o.resume, backend, json: o.json, log }, io);
    }
    const job = await prepareLmJob(program, model, prep);
    backend = await selectBackend(o.device, job.plan.graph, log);
    log(
      `training ${model} for ${job.plan.steps} steps of ${job.plan.batch}×${job.plan.ctx} tokens on ${backend.name === 'cpu' ? 'the CPU' : 'WebGPU'} → ${relative(io.cwd, outDir) || '.'}`,
    );
    const progress = new ProgressLine({ write: (text: string) => io.err(text), isTTY: io.isTty });
    const r = await trainLm(job.plan, { outDir, resume: o.resume, backend, progress });
    const modelPath = await saveModel(job.lowered, r.params, outDir);
    const plot = await writePlots(outDir, model, r.metrics, r.summary.baselineLoss, job.plan.steps);
    const sample = await sampleFromModel(program, model, r.params, join(outDir, 'tokenizer.json'), backend, {
      prompt: 'The',
      tokens: 48,
      temperature: 0.8,
      topK: 40,
      seed: 0,
    });
    if (o.json) io.out(`${JSON.stringify({ summary: r.summary, out: outDir, model: modelPath, plot, sample })}\n`);
    else io.out(formatSummary(r.summary, outDir, plot, sample, io.cwd));
    return EXIT.ok;
  } catch (error) {
    if (error instanceof JobError || error instanceof DeviceUnavailable || error instanceof TrainingDiverged) {
      io.err(`scion train: ${error.message}\n`);
      return EXIT.inputError;
    }
    return reportLowerError(error, io);
  } finally {
    backend?.dispose();
  }
};

function formatSummary(s: JobSummary, outDir: string, plot: string, sample: string, cwd: string): string {
  const rel = (p: string): string => relative(cwd, p) || '.';
  const verdict = s.valLoss < s.baselineLoss ? 'below' : 'NOT below';
  return [
    `trained ${s.steps} steps on ${s.device} in ${s.wallSeconds.toFixed(0)} s (${s.tokensPerSecond === null ? '–' : Math.round(s.tokensPerSecond).toLocaleString('en-US')} tokens/s)`,
    `  train loss       ${s.trainLoss === null ? '–' : s.trainLoss.toFixed(4)}`,
    `  validation loss  ${s.valLoss.toFixed(4)}  (perplexity ${s.valPerplexity.toFixed(1)})`,
    `  unigram baseline ${s.baselineLoss.toFixed(4)}  → validation loss is ${verdict} the baseline`,
    `  out:  ${rel(outDir)}  (model.safetensors, config.json, tokenizer.json, summary.json, metrics.jsonl)`,
    `  plot: ${rel(plot)}`,
    'sample:',
    `  The${sample}`,
    '',
  ].join('\n');
}
