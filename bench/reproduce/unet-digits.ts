// Issue #17's "diffusion that makes digits" for A-SDM's teacher, its row of docs/results.md (not a
// paper claim): specs/a-sdm.scion's UNet trained as `scion train` would, then `--count` DDIM
// samples per digit drawn with its `sample UNet` block (the plain UNet alone: no model switching,
// feature reuse off) and judged by the DigitCNN of specs/mnist-classifier.scion. The issue asks
// that at least 80% be judged the requested digit; the row gives the share with its 95% binomial
// interval, so a verdict is only "reproduced" when the whole interval clears the bar.
//
//   node --import tsx bench/reproduce/unet-digits.ts [--device D] [--seeds 1] [--out DIR]
//        [--unet CKPT] [--judge CKPT] [--count N]
//
// --unet reuses a trained UNet (a run folder's model-ema.safetensors or model.safetensors, with its
// summary.json beside it) instead of training one per seed; --judge reuses a trained DigitCNN
// (e.g. bench/reproduce/judge.ts's). Each seed seeds the training and the sampler. The samples of
// each seed are written to <out>/samples-seed-S.{safetensors,png}, and the first seed's first 8
// per digit to docs/images/unet-digits.png, the README's figure.

import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { deviceWords } from '../../backends/registry.ts';
import { sampleConfig } from '../../compiler/objectives/diffusion-sample-config.ts';
import type { DrawResult } from '../../jobs/sample/draw-samples.ts';
import { imageGrid } from '../../runtime/plot/image-grid.ts';
import { ROOT, commandLine, deviceLine, drawAndJudge, formatShare, judgeOf, loadProgram, reproduceArgs, reusedRun, train, type TrainedRun } from './common.ts';
import { binomialInterval, formatDuration, writeRow, type Verdict } from './results-table.ts';

const SPEC = 'specs/a-sdm.scion';
const MODEL = 'UNet';
/** Issue #17's bar: samples judged the requested digit. */
const REQUIRED = 0.8;

/** The README's figure: the first seed's first FIGURE_COLUMNS samples of each digit, one row per digit. */
const FIGURE = 'docs/images/unet-digits.png';
const FIGURE_COLUMNS = 8;

/** The first `take` of each class's `perClass` images (rows grouped by class), at twice their size. */
function figure(d: DrawResult, perClass: number, take: number): Buffer {
  const [b = 0, c = 1, h = 1, w = 1] = d.shape;
  const images: Float32Array[] = [];
  for (let i = 0; i < b; i++)
    if (i % perClass < take) images.push(Float32Array.from({ length: h * w }, (_v, k) => ((d.images[i * c * h * w + k] as number) + 1) / 2));
  return imageGrid(images, Math.min(take, perClass), 2, [h, w]);
}

/** A trained UNet: the weights the sampler uses and what its run reported. */
interface TrainedUnet extends TrainedRun {
  reused: boolean;
}

/** The EMA weights of a run when it kept them (they sample better than the last step's), else its model. */
function bestWeights(model: string, ema: string | null): string {
  return ema ?? model;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(ROOT, 'bench/reproduce/unet-digits.ts')) {
  const args = reproduceArgs('unet-digits', [1], ['unet', 'judge', 'count']);
  const count = Number(args.more['count'] ?? 20);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--count ${args.more['count']}: samples per digit, a positive integer`);
  const started = Date.now();
  const load = loadavg()[0] ?? 0;
  const program = loadProgram(SPEC);
  const judge = await judgeOf(args.more['judge'], args.out, args.device);
  process.stderr.write(`judge ${judge.model}: ${(100 * judge.testAccuracy).toFixed(2)}% on the MNIST test split${judge.reused ? ' (reused)' : ''}\n`);

  let hits = 0;
  let total = 0;
  const perSeed: string[] = [];
  const unets: TrainedUnet[] = [];
  let backend: string = args.device;
  const cfg = sampleConfig(program, MODEL);
  for (const seed of args.seeds) {
    const given = args.more['unet'];
    let unet: TrainedUnet;
    if (given !== undefined) unet = { ...reusedRun('unet', given), reused: true };
    else {
      const r = await train(program, MODEL, { outDir: join(args.out, `unet-seed-${seed}`), device: args.device, seed });
      if (r.kind !== 'examples') throw new Error(`${MODEL} is not an image model`);
      unet = {
        weights: bestWeights(r.model, r.ema),
        steps: r.summary.steps,
        wallSeconds: r.summary.wallSeconds,
        sittings: 1,
        device: r.summary.device,
        reused: false,
      };
    }
    unets.push(unet);
    const run = await drawAndJudge(
      program,
      { ...cfg, count, seed },
      { weights: unet.weights, reuse: false, device: args.device, judge, stem: join(args.out, `samples-seed-${seed}`) },
    );
    backend = run.draw.device;
    if (seed === args.seeds[0]) writeFileSync(resolve(ROOT, FIGURE), figure(run.draw, count, FIGURE_COLUMNS));
    hits += run.hits;
    total += run.report.count;
    const worst = run.report.perClass.reduce((a, c) => (c.agreement < a.agreement ? c : a));
    perSeed.push(`seed ${seed}: ${run.hits}/${run.report.count}, weakest digit ${worst.class} at ${(100 * worst.agreement).toFixed(0)}%`);
    process.stderr.write(
      `seed ${seed}: ${formatShare(run.hits, run.report.count)} judged right; per digit ${run.report.perClass.map((c) => `${c.class}:${(100 * c.agreement).toFixed(0)}%`).join(' ')}; sampling ${(run.draw.ms / 1000).toFixed(0)} s\n`,
    );
  }

  const { low: lo, high: hi } = binomialInterval(hits, total);
  const verdict: Verdict = lo >= REQUIRED ? 'reproduced' : hi < REQUIRED ? 'not reproduced' : 'inconclusive';
  const u = unets[0] as TrainedUnet;
  const sittings = u.sittings > 1 ? ` over ${u.sittings} sittings resumed from checkpoints (training loops summed from metrics.jsonl)` : '';
  const trainNote = `${MODEL} trained ${u.steps} steps in ${formatDuration(u.wallSeconds)}${sittings} on ${deviceWords(u.device)}${u.reused ? ` (an earlier run, reused with --unet ${basename(u.weights)}; not in this run time)` : ' per seed'}`;
  const sampler = cfg.sampler.kind === 'ddim' ? `${cfg.sampler.steps} DDIM steps` : `${cfg.sampler.steps} DDPM steps`;
  writeRow({
    id: 'unet-digits',
    claim: `Diffusion that makes digits (issue #17, not a paper claim): ${MODEL} of ${SPEC}, samples judged the requested digit`,
    paper: `issue #17 asks ≥ ${100 * REQUIRED}%`,
    scion: `${formatShare(hits, total)} judged right: ${count} per digit, ${sampler}, guidance ${cfg.guidance}, no reuse or switching; ${trainNote}; judge ${judge.model} ${(100 * judge.testAccuracy).toFixed(2)}% on MNIST test${judge.reused ? ' (reused with --judge)' : ''}`,
    verdict,
    why:
      verdict === 'reproduced'
        ? `the whole 95% interval is at or above ${100 * REQUIRED}%; ${perSeed.join('; ')}`
        : verdict === 'not reproduced'
          ? `the whole 95% interval is below ${100 * REQUIRED}%; ${perSeed.join('; ')}`
          : `the 95% interval (${(100 * lo).toFixed(1)}–${(100 * hi).toFixed(1)}%) straddles ${100 * REQUIRED}%, with the share itself ${hits / total >= REQUIRED ? 'at or above' : 'below'} it; ${perSeed.join('; ')}`,
    command: commandLine('unet-digits'),
    seconds: (Date.now() - started) / 1000,
    device: deviceLine(backend, load),
    seeds: args.seeds,
  });
  process.stderr.write('wrote the unet-digits row of docs/results.md\n');
}
