// The DiT's digits, its row of docs/results.md (issue #17, item 2): specs/lit.scion's DiT trained
// on MNIST as `scion train` would, then sampled with its `sample DiT` block (DDIM, classifier-free
// guidance, from the EMA weights) for every class, and each sample classified by the judge
// (specs/mnist-classifier.scion's DigitCNN, the classifier `scion sample --judge` uses). The issue
// asks that at least 80% of samples be judged the digit they were drawn for.
//
//   node --import tsx bench/reproduce/dit-digits.ts [--device D] [--seeds 1] [--out DIR]
//        [--trained RUN] [--judge CKPT] [--count N]
//
// --trained reuses a finished DiT run folder (its model-ema.safetensors and summary.json, e.g. from
// `scion train specs/lit.scion --model DiT`) instead of training here; its training time is the
// earlier run's, and the row says so. --judge reuses a trained judge checkpoint; without it the
// judge is trained here (seed 11) into <out>/judge. Either way the judge's MNIST test accuracy is
// measured and shown beside the samples' agreement. --count is samples per class (default 20).
// The raw samples and their labels go to <out>/samples-seed-S.safetensors (as `scion sample
// --tensors` writes them) and the first seed's grid, one row per class, to docs/images/dit-digits.png.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { deviceWords } from '../../backends/registry.ts';
import { findTrain } from '../../compiler/lower/lower-train-config.ts';
import { sampleConfig } from '../../compiler/objectives/diffusion-sample-config.ts';
import { prepareJudge } from '../../jobs/sample/judge.ts';
import { prepareSampler, writeSampleTensors } from '../../jobs/sample/draw-samples.ts';
import { imageExamples } from '../../jobs/train/examples.ts';
import { loadMnist } from '../../runtime/data/index.ts';
import { imageGrid } from '../../runtime/plot/index.ts';
import { commandLine, deviceLine, loadProgram, reproduceArgs, ROOT, train } from './common.ts';
import { binomialInterval, formatDuration, writeRow, type Verdict } from './results-table.ts';

const SPEC = 'specs/lit.scion';
const MODEL = 'DiT';
const JUDGE_SPEC = 'specs/mnist-classifier.scion';
const JUDGE_SEED = 11;
/** Issue #17's bar: samples judged the requested digit. */
const GOAL = 0.8;
/** Samples per class shown in the README's grid. */
const GRID_COLUMNS = 10;
const GRID_PATH = resolve(ROOT, 'docs/images/dit-digits.png');

/** A trained DiT: its EMA weights and what its run reported. */
interface Trained {
  ema: string;
  steps: number;
  wallSeconds: number;
  device: string;
  seed: number;
  reused: boolean;
}

const args = reproduceArgs('dit-digits', [1], ['trained', 'judge', 'count']);
const count = Number(args.more['count'] ?? 20);
if (!Number.isInteger(count) || count < 1) throw new Error(`--count ${args.more['count']}: samples per class must be a positive integer`);
const given = args.more['trained'];
if (given !== undefined && args.seeds.length > 1) throw new Error('--trained reuses one run: give one --seeds value (the seed it was trained with) or none');
const started = Date.now();
const load = loadavg()[0] ?? 0;
const program = loadProgram(SPEC);
const judgeProgram = loadProgram(JUDGE_SPEC);
const judgeModel = findTrain(judgeProgram)?.target.name;
if (judgeModel === undefined) throw new Error(`${JUDGE_SPEC} has no train declaration`);

/** `--trained RUN` read back, or the DiT trained here at `seed` into <out>/seed-S. */
async function trained(seed: number): Promise<Trained> {
  if (given === undefined) {
    const r = await train(program, MODEL, { outDir: join(args.out, `seed-${seed}`), device: args.device, seed });
    if (r.kind !== 'examples' || r.ema === null) throw new Error(`${SPEC}'s ${MODEL} should train with an EMA (ema = … in its train block)`);
    return { ema: r.ema, steps: r.summary.steps, wallSeconds: r.summary.wallSeconds, device: r.summary.device, seed: r.summary.seed, reused: false };
  }
  const dir = resolve(given);
  const ema = join(dir, 'model-ema.safetensors');
  const summary = join(dir, 'summary.json');
  if (!existsSync(ema) || !existsSync(summary)) throw new Error(`--trained ${given}: needs a finished run folder with model-ema.safetensors and summary.json`);
  const s = JSON.parse(readFileSync(summary, 'utf8')) as { steps: number; wallSeconds: number; device: string; seed: number };
  return { ema, steps: s.steps, wallSeconds: s.wallSeconds, device: s.device, seed: s.seed, reused: true };
}

/** The judge checkpoint (--judge, or trained here) and its accuracy on the MNIST test split. */
async function judgeWeights(): Promise<{ path: string; testAccuracy: number; testCount: number; reused: boolean }> {
  let path = args.more['judge'];
  const reused = path !== undefined;
  if (path === undefined) {
    const r = await train(judgeProgram, judgeModel as string, { outDir: join(args.out, 'judge'), device: args.device, seed: JUDGE_SEED });
    path = r.model;
  }
  path = resolve(path);
  const test = imageExamples(loadMnist('test'));
  const judge = await prepareJudge(judgeProgram, judgeModel as string, path, [test.count, ...test.shape]);
  const report = judge.classify(Float64Array.from(test.features), test.labels);
  return { path, testAccuracy: report.agreement, testCount: report.count, reused };
}

const judge = await judgeWeights();
process.stderr.write(`judge ${judgeModel}: ${(100 * judge.testAccuracy).toFixed(2)}% on ${judge.testCount} MNIST test digits\n`);

const cfg = sampleConfig(program, MODEL);
cfg.count = count;
let hits = 0;
let total = 0;
const perSeed: string[] = [];
const runs: Trained[] = [];
let sampleSeconds = 0;
let backend = args.device as string;
for (const seed of args.seeds) {
  const run = await trained(seed);
  runs.push(run);
  cfg.seed = seed;
  const sampler = await prepareSampler(program, cfg, {
    weights: new Map([[null, run.ema]]),
    reuse: false,
    device: args.device,
    log: (line) => process.stderr.write(`  [sample seed ${seed}] ${line}\n`),
  });
  let drawn: Awaited<ReturnType<typeof sampler.draw>>;
  try {
    const j = await prepareJudge(judgeProgram, judgeModel, judge.path, sampler.shape);
    drawn = await sampler.draw();
    backend = drawn.device;
    const report = j.classify(drawn.images, drawn.labels);
    const right = Math.round(report.agreement * report.count);
    hits += right;
    total += report.count;
    sampleSeconds += drawn.ms / 1000;
    perSeed.push(`seed ${seed}: ${right}/${report.count}`);
    process.stderr.write(
      `seed ${seed}: ${right}/${report.count} judged the requested digit (${report.perClass.map((c) => `${c.class}: ${(100 * c.agreement).toFixed(0)}%`).join(', ')})\n`,
    );
  } finally {
    sampler.dispose();
  }
  mkdirSync(args.out, { recursive: true });
  await writeSampleTensors(join(args.out, `samples-seed-${seed}.safetensors`), drawn);
  if (seed === args.seeds[0]) writeFileSync(GRID_PATH, imageGrid(gridImages(drawn.images, drawn.shape, count), Math.min(count, GRID_COLUMNS), 2, [28, 28]));
}

/** The first GRID_COLUMNS samples of each class (rows grouped by class, `perClass` each), mapped to [0, 1]. */
function gridImages(images: Float64Array, shape: readonly number[], perClass: number): Float32Array[] {
  const [b = 0, c = 1, h = 1, w = 1] = shape;
  const size = c * h * w;
  const out: Float32Array[] = [];
  for (let i = 0; i < b; i++)
    if (i % perClass < GRID_COLUMNS) out.push(Float32Array.from({ length: h * w }, (_v, k) => ((images[i * size + k] as number) + 1) / 2));
  return out;
}

const share = hits / total;
const { low, high } = binomialInterval(hits, total);
const verdict: Verdict = low >= GOAL ? 'reproduced' : high < GOAL ? 'not reproduced' : 'inconclusive';
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const trainedText = runs
  .map(
    (r) =>
      `seed ${r.seed}: ${r.steps} steps in ${formatDuration(r.wallSeconds)} on ${deviceWords(r.device)}${r.reused ? ` (an earlier run, reused with --trained ${given}; not in this run time)` : ''}`,
  )
  .join('; ');
const guidance = `DDIM ${cfg.sampler.steps} steps, guidance ${cfg.guidance}, EMA weights`;
writeRow({
  id: 'dit-digits',
  claim: `The DiT's samples (issue #17, not a paper claim): ${MODEL} of ${SPEC} sampled for each digit and judged by ${judgeModel}`,
  paper: `issue #17 asks ≥ ${100 * GOAL}% judged the requested digit, training ≤ 1 hour on this machine's CPU path`,
  scion:
    `${pct(share)} judged right (${hits}/${total}; 95% interval ${pct(low)}–${pct(high)}, Wilson) with ${guidance}; ` +
    `training ${trainedText}; judge ${pct(judge.testAccuracy)} on ${judge.testCount} test digits${judge.reused ? ' (reused with --judge)' : ''}`,
  verdict,
  why:
    verdict === 'reproduced'
      ? `the interval's lower end ${pct(low)} clears ${100 * GOAL}%`
      : verdict === 'not reproduced'
        ? `the interval's upper end ${pct(high)} is below ${100 * GOAL}%`
        : `the interval ${pct(low)}–${pct(high)} straddles ${100 * GOAL}%: more samples or seeds would decide`,
  command: commandLine('dit-digits'),
  seconds: (Date.now() - started) / 1000,
  device: deviceLine(backend, load),
  seeds: runs.map((r) => r.seed),
});
process.stderr.write(
  `${perSeed.join('; ')}; sampling ${sampleSeconds.toFixed(0)} s; samples in ${args.out}; grid ${GRID_PATH}; wrote the dit-digits row of docs/results.md\n`,
);
