// What every bench/reproduce/ script shares: its flags (--device, --seeds, --out), reading and
// checking a spec, a quiet train job, and the words the results row uses for where it ran.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { deviceWords, isDeviceChoice, type DeviceChoice } from '../../backends/registry.ts';
import type { Program } from '../../grammar/ast.ts';
import { checkSource } from '../../grammar/check/check-source.ts';
import { runInheritance } from '../../jobs/inherit/inherit-model.ts';
import type { InheritDecl } from '../../grammar/ast.ts';
import { binomialInterval } from './results-table.ts';
import { runTrainJob, type TrainJobResult } from '../../jobs/train/train-job.ts';
import type { SampleConfig } from '../../compiler/objectives/diffusion-sample-config.ts';
import { findTrain } from '../../compiler/lower/lower-train-config.ts';
import { lowerTrain } from '../../compiler/lower/lower-train.ts';
import { saveModel } from '../../jobs/train/outputs.ts';
import { readCheckpoint } from '../../runtime/train/checkpoint.ts';
import { prepareSampler, writeSampleTensors, type DrawResult } from '../../jobs/sample/draw-samples.ts';
import { prepareJudge, type JudgeReport } from '../../jobs/sample/judge.ts';
import { imageExamples } from '../../jobs/train/examples.ts';
import { loadMnist } from '../../runtime/data/index.ts';
import { imageGrid } from '../../runtime/plot/image-grid.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ReproduceArgs {
  device: DeviceChoice;
  seeds: number[];
  /** Where the runs go (default runs/reproduce/<script>). */
  out: string;
  /** The script's own string flags (`extra`), when given. */
  more: Record<string, string | undefined>;
}

/** The script's flags (the common ones and its `extra` string flags); `defaultSeeds` when --seeds is not given. */
export function reproduceArgs(
  script: string,
  defaultSeeds: readonly number[],
  extra: readonly string[] = [],
  argv: readonly string[] = process.argv.slice(2),
): ReproduceArgs {
  const own = Object.fromEntries(extra.map((name) => [name, { type: 'string' as const }]));
  const { values } = parseArgs({
    args: [...argv],
    options: { ...own, device: { type: 'string', default: 'auto' }, seeds: { type: 'string' }, out: { type: 'string' } },
  });
  const device = values.device as string;
  if (!isDeviceChoice(device)) throw new Error(`--device ${device}: not a device (auto or a backend name)`);
  const seeds = values.seeds === undefined ? [...defaultSeeds] : values.seeds.split(',').map(Number);
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s))) throw new Error(`--seeds ${values.seeds}: write integers separated by commas, e.g. 1,2,3`);
  const given = values as Record<string, string | undefined>;
  const more = Object.fromEntries(extra.map((name) => [name, given[name]]));
  return { device, seeds, out: resolve(values.out ?? resolve(ROOT, 'runs', 'reproduce', script)), more };
}

/** A flag's positive integer (`text` as given), or undefined when the flag was not given. */
export function positive(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`${flag} ${text}: a positive integer`);
  return n;
}

/** The command line that ran this script, as the row records it. */
export function commandLine(script: string, argv: readonly string[] = process.argv.slice(2)): string {
  return ['node --import tsx', `bench/reproduce/${script}.ts`, ...argv].join(' ');
}

/** A spec file (relative to the repository) parsed and checked; its first error is thrown. */
export function loadProgram(path: string): Program {
  return loadProgramText(readFileSync(resolve(ROOT, path), 'utf8'), path);
}

/** Spec text (of the file `path`, for messages) parsed and checked; its first error is thrown. */
export function loadProgramText(text: string, path: string): Program {
  const file = relative(ROOT, resolve(ROOT, path));
  const r = checkSource(text, file, (p) => readFileSync(resolve(ROOT, p), 'utf8'));
  const error = r.diagnostics.find((d) => d.severity === 'error');
  if (error !== undefined) throw new Error(`${path}:${error.span.start.line}: ${error.message}`);
  return { file, imports: [], decls: r.decls };
}

/** A finished run that wrote a whole model (not an adapter). */
export type ModelRun = Exclude<TrainJobResult, { kind: 'adapter' }>;

/** `scion train`'s job, run in this process with its log prefixed and no progress line. */
export async function train(
  program: Program,
  model: string,
  o: {
    outDir: string;
    device: DeviceChoice;
    seed: number;
    steps?: number;
    init?: string;
    frozen?: ReadonlyMap<string, string>;
    onLog?: (line: string) => void;
  },
): Promise<ModelRun> {
  const r = await runTrainJob(program, model, {
    outDir: o.outDir,
    cwd: ROOT,
    seed: o.seed,
    ...(o.steps === undefined ? {} : { steps: o.steps }),
    ...(o.init === undefined ? {} : { init: o.init }),
    ...(o.frozen === undefined ? {} : { frozen: o.frozen }),
    device: o.device,
    resume: false,
    log: (line) => {
      o.onLog?.(line);
      process.stderr.write(`  [${model} seed ${o.seed}] ${line}\n`);
    },
    progress: false,
  });
  if (r.kind === 'adapter') throw new Error(`${model} trains an adapter; these scripts compare whole models`);
  return r;
}

/**
 * Where the runs went, for the row: the backend that ran them and the machine's cores and load
 * (this project's machine is shared, so run times are only comparable at a similar load).
 */
export function deviceLine(backend: string, load: number = loadavg()[0] ?? 0): string {
  return `${deviceWords(backend)}, ${cpus().length} CPU cores (load ${load.toFixed(1)} at start)`;
}

/** A trained language-model parent: where its checkpoint is, and what its run reported. */
export interface Parent {
  model: string;
  valLoss: number;
  /** The backend that trained it. */
  device: string;
  /** Seconds its training took; when reused, in an earlier run. */
  wallSeconds: number;
  /** True when --parent named an earlier run's checkpoint instead of training one here. */
  reused: boolean;
}

/**
 * `given` (a checkpoint whose run folder holds summary.json, e.g. from an earlier script) when set,
 * else `model` trained here at seed 1 into `<out>/parent`.
 */
export async function parentOf(program: Program, model: string, given: string | undefined, out: string, device: DeviceChoice): Promise<Parent> {
  if (given === undefined) {
    const r = await train(program, model, { outDir: join(out, 'parent'), device, seed: 1 });
    if (r.kind !== 'lm') throw new Error(`${model} is not a language model`);
    return { model: r.model, valLoss: r.summary.valLoss, device: r.summary.device, wallSeconds: r.summary.wallSeconds, reused: false };
  }
  const path = resolve(given);
  const summary = join(dirname(path), 'summary.json');
  if (!existsSync(path) || !existsSync(summary)) throw new Error(`--parent ${given}: needs the checkpoint and its run's summary.json beside it`);
  const s = JSON.parse(readFileSync(summary, 'utf8')) as { valLoss: number; device: string; wallSeconds: number };
  return { model: path, valLoss: s.valLoss, device: s.device, wallSeconds: s.wallSeconds, reused: true };
}

/** `scion inherit`'s job: the child of `program`'s only inherit declaration from `parent`, into `dir`. */
export async function inherit(program: Program, parent: string, dir: string): Promise<string> {
  const decl = program.decls.find((d): d is InheritDecl => d.kind === 'inherit');
  if (decl === undefined) throw new Error(`${program.file} has no inherit declaration`);
  mkdirSync(dir, { recursive: true });
  await runInheritance({ programs: [program], decl, cwd: ROOT, parentPath: parent, log: (l) => process.stderr.write(`  [inherit] ${l}\n`) }, dir);
  return join(dir, 'model.safetensors');
}

/** A model an earlier run trained (--unet, --dit): the weights to use and what its run reported. */
export interface TrainedRun {
  weights: string;
  steps: number;
  /** Seconds of training over every sitting (sittingsOf), else summary.json's wallSeconds. */
  wallSeconds: number;
  /** How many runs trained it: more than 1 when it was resumed from checkpoints across sittings. */
  sittings: number;
  device: string;
}

/**
 * Seconds of training over every sitting of a run, from its metrics.jsonl: each sitting's step
 * clock (`time_s`) restarts at 0 on --resume, so the run's time is the sum of each sitting's last
 * reading (the training loop only: not setup or the final validation pass). summary.json's
 * wallSeconds covers the last sitting alone.
 */
export function sittingsOf(metricsText: string): { sittings: number; seconds: number } {
  let sittings = 0;
  let seconds = 0;
  let last = Number.POSITIVE_INFINITY;
  for (const line of metricsText.split('\n')) {
    if (line.trim() === '') continue;
    const m = JSON.parse(line) as { kind?: string; time_s?: number };
    if (m.kind !== 'train' || m.time_s === undefined) continue;
    if (m.time_s < last) sittings++;
    else seconds -= last;
    seconds += m.time_s;
    last = m.time_s;
  }
  return { sittings, seconds };
}

/** `--flag CKPT`: an earlier run's weights (model.safetensors or model-ema.safetensors), with its summary.json and metrics.jsonl beside them. */
export function reusedRun(flag: string, given: string): TrainedRun {
  const weights = resolve(given);
  const summary = join(dirname(weights), 'summary.json');
  const metrics = join(dirname(weights), 'metrics.jsonl');
  if (!existsSync(weights) || !existsSync(summary) || !existsSync(metrics))
    throw new Error(`--${flag} ${given}: needs the weights and their run's summary.json and metrics.jsonl beside them`);
  const s = JSON.parse(readFileSync(summary, 'utf8')) as { steps: number; wallSeconds: number; device: string };
  const { sittings, seconds } = sittingsOf(readFileSync(metrics, 'utf8'));
  return { weights, steps: s.steps, wallSeconds: sittings > 1 ? seconds : s.wallSeconds, sittings, device: s.device };
}

/**
 * The `train MODEL` block of `program`'s source changed by `edit` (its text from `train MODEL {`
 * to the closing brace) and checked again: for a script's other arm of the same model (from
 * scratch, no teacher, checkpoints kept). `edit` throws when its pattern is not there, so a spec
 * that changed shape stops the script instead of running the wrong arm.
 */
export function withTrainBlock(path: string, model: string, edit: (block: string) => string): Program {
  const text = readFileSync(resolve(ROOT, path), 'utf8');
  const start = text.indexOf(`train ${model} {`);
  if (start < 0) throw new Error(`${path}: no \`train ${model} {\` block`);
  let depth = 0;
  let end = start;
  for (let i = text.indexOf('{', start); i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) {
      end = i + 1;
      break;
    }
  }
  return loadProgramText(text.slice(0, start) + edit(text.slice(start, end)) + text.slice(end), path);
}

/** `block` with `pattern` replaced; throws when the pattern is not in it. */
export function replaceIn(block: string, pattern: RegExp, by: string): string {
  if (!pattern.test(block)) throw new Error(`expected ${pattern} in:\n${block}`);
  return block.replace(pattern, by);
}

/** A train block that checkpoints every `every` steps and keeps them all (replacing its own `checkpoint`), for judging a run along the way. */
export function everyCheckpoint(block: string, every: number, steps: number): string {
  const keep = Math.ceil(steps / every) + 1;
  const without = block.replace(/^\s*checkpoint = .*$\n?/m, '');
  return `${without.slice(0, without.lastIndexOf('}'))}  checkpoint = { every = ${every}, keep = ${keep} }\n}`;
}

/** The student's weights at a checkpoint of its run, under the model's preset names, written to `out` (for sampling). */
export async function weightsAtCheckpoint(program: Program, model: string, checkpoint: string, out: string): Promise<string> {
  const decl = findTrain(program, model);
  if (decl === undefined) throw new Error(`${program.file}: no train ${model}`);
  const c = await readCheckpoint(checkpoint);
  const lowered = lowerTrain(program, model, { batch: 1, grads: false });
  mkdirSync(dirname(out), { recursive: true });
  return saveModel(lowered, c.params, dirname(out), basename(out));
}

/** "83.5% (167/200; 95% interval 77.7–88.0%)". */
export function formatShare(hits: number, n: number): string {
  const { low, high } = binomialInterval(hits, n);
  return `${((100 * hits) / n).toFixed(1)}% (${hits}/${n}; 95% interval ${(100 * low).toFixed(1)}–${(100 * high).toFixed(1)}%)`;
}

/** specs/mnist-classifier.scion's first train (DigitCNN): the judge of the diffusion rows. */
export const JUDGE_SPEC = 'specs/mnist-classifier.scion';

/** A trained judge: its weights and its accuracy on the MNIST test split. */
export interface TrainedJudge {
  program: Program;
  model: string;
  weights: string;
  testAccuracy: number;
  /** True when --judge named an earlier run's weights instead of training one here. */
  reused: boolean;
}

/** `given` (the weights of an earlier run) when set, else the judge trained here (its spec's seed) into `<out>/judge`. */
export async function judgeOf(given: string | undefined, out: string, device: DeviceChoice): Promise<TrainedJudge> {
  const program = loadProgram(JUDGE_SPEC);
  const model = findTrain(program)?.target.name;
  if (model === undefined) throw new Error(`${JUDGE_SPEC} has no train declaration`);
  let weights: string;
  if (given === undefined) weights = (await train(program, model, { outDir: join(out, 'judge'), device, seed: 11 })).model;
  else if (existsSync(resolve(given))) weights = resolve(given);
  else throw new Error(`--judge ${given}: no such file (the judge's model.safetensors, e.g. from bench/reproduce/judge.ts)`);
  const test = imageExamples(loadMnist('test'));
  const judge = await prepareJudge(program, model, weights, [test.count, ...test.shape]);
  const testAccuracy = judge.classify(Float64Array.from(test.features), test.labels).agreement;
  return { program, model, weights, testAccuracy, reused: given !== undefined };
}

/** Of twin samples (same class and starting noise) in two draws, how many only `a` and only `b` got judged right. */
export function discordant(a: JudgedDraw, b: JudgedDraw): { aOnly: number; bOnly: number } {
  let aOnly = 0;
  let bOnly = 0;
  for (let i = 0; i < a.draw.labels.length; i++) {
    const want = a.draw.labels[i];
    const p = a.report.predictions[i] === want;
    const q = b.report.predictions[i] === want;
    if (p && !q) aOnly++;
    if (q && !p) bOnly++;
  }
  return { aOnly, bOnly };
}

/**
 * The difference of two judged shares over the same `n` twins (b − a) and its standard error from
 * the discordant twins (McNemar's): paired, so the noise both arms share cancels.
 */
export function pairedDifference(aHits: number, bHits: number, n: number, aOnly: number, bOnly: number): { diff: number; se: number } {
  return { diff: (bHits - aHits) / n, se: Math.sqrt(aOnly + bOnly - (aOnly - bOnly) ** 2 / n) / n };
}

/** One sampling run, judged: what was drawn, how the judge saw it, and its hit count. */
export interface JudgedDraw {
  draw: DrawResult;
  report: JudgeReport;
  hits: number;
}

/**
 * Draws `cfg` (the model's weights in `weights`, feature reuse on or off) on `device`, judges every
 * sample, and writes the raw samples as `<stem>.safetensors` (as `scion sample --tensors` does)
 * and the grid, one row per class, as `<stem>.png`.
 */
export async function drawAndJudge(
  program: Program,
  cfg: SampleConfig,
  o: { weights: string | ReadonlyMap<string | null, string>; reuse: boolean; device: DeviceChoice; judge: TrainedJudge; stem: string },
): Promise<JudgedDraw> {
  const sampler = await prepareSampler(program, cfg, {
    weights: typeof o.weights === 'string' ? new Map([[null, o.weights]]) : o.weights,
    reuse: o.reuse,
    device: o.device,
    log: (line) => process.stderr.write(`  [sample] ${line}\n`),
  });
  let draw: DrawResult;
  try {
    draw = await sampler.draw();
  } finally {
    sampler.dispose();
  }
  const judge = await prepareJudge(o.judge.program, o.judge.model, o.judge.weights, draw.shape);
  const report = judge.classify(draw.images, draw.labels);
  mkdirSync(dirname(o.stem), { recursive: true });
  await writeSampleTensors(`${o.stem}.safetensors`, draw);
  const [b = 0, c = 1, h = 1, w = 1] = draw.shape;
  // Channel 0 of each image, [−1, 1] → [0, 1].
  const images = Array.from({ length: b }, (_, i) => Float32Array.from({ length: h * w }, (_v, k) => ((draw.images[i * c * h * w + k] as number) + 1) / 2));
  writeFileSync(`${o.stem}.png`, imageGrid(images, cfg.count, 2, [h, w]));
  return { draw, report, hits: Math.round(report.agreement * report.count) };
}
