// `scion eval` on a diffusion model: ε-MSE per timestep band beside the per-class Gaussian
// denoiser's (runtime/sample/gaussian-denoiser.ts). The average validation loss cannot tell a model
// that has learned local denoising (it wins only at small t, where x_t is nearly clean) from one
// that has learned the shapes of its classes (it wins at large t too); the per-band ratio can.
// Every band sees the same validation images, with t drawn inside the band and fixed seeds, so
// two checkpoints' tables are comparable row by row.

import { dirname } from 'node:path';
import { lowerModel } from '../../compiler/lower/lower-model.ts';
import { diffusionSchedule } from '../../compiler/objectives/diffusion-loss.ts';
import type { DiffusionSchedule } from '../../compiler/objectives/diffusion-schedule.ts';
import type { Program } from '../../grammar/ast.ts';
import { selectBackend, type DeviceChoice } from '../../backends/registry.ts';
import { Prng } from '../../runtime/data/index.ts';
import { fitClassGaussians, gaussianEps, type GaussianDenoiser } from '../../runtime/sample/gaussian-denoiser.ts';
import { qSampleHost } from '../../runtime/sample/q-sample.ts';
import { denoiserInputs } from '../sample/draw-samples.ts';
import { JobError } from '../train/errors.ts';
import { exampleSize, gatherFeatures, gatherLabels, type Examples } from '../train/examples.ts';
import { taskKind, trainConfigOf, valDataOf } from '../train/prepare-examples.ts';
import { taskData } from '../train/example-task-data.ts';
import { findTrain } from '../../compiler/lower/lower-train-config.ts';
import { lowerTrain } from '../../compiler/lower/lower-train.ts';
import { evalIndexBatches } from '../train/train-examples.ts';
import { loadWeightFeeds } from '../weights/load-weights.ts';

/**
 * The ridge added to each class covariance, in squared units of data in [−1, 1] (a standard
 * deviation of 0.03): large enough that a pixel constant in training (MNIST's border) does not
 * make ε̂ blow up on an image that differs there, small beside the ~0.1–1 variance of the pixels
 * that carry a digit.
 */
export const GAUSSIAN_RIDGE = 1e-3;

export interface BandRow {
  /** 1-based. */
  band: number;
  /** Timesteps from…to, inclusive. */
  tFrom: number;
  tTo: number;
  /** Mean over images and pixels of (ε̂ − ε)². */
  model: number;
  gaussian: number;
  /** model / gaussian: below 1 where the model beats the Gaussian denoiser. */
  ratio: number;
}

export interface EpsBandReport {
  model: string;
  split: string;
  /** Images per band (the same ones in every band). */
  images: number;
  T: number;
  ridge: number;
  bands: BandRow[];
  /** Where the model beats the baseline, in words. */
  summary: string;
}

/** `count` equal bands of 0…T−1 (the last takes the remainder). */
export function timestepBands(T: number, count: number): { from: number; to: number }[] {
  if (!Number.isInteger(count) || count < 1 || count > T) throw new JobError(`--bands ${count}: give a whole number from 1 to ${T} (the schedule's T)`);
  return Array.from({ length: count }, (_, k) => ({ from: Math.floor((k * T) / count), to: Math.floor(((k + 1) * T) / count) - 1 }));
}

/** ε̂ for a batch: xt [B, …] flat, t [B], labels [B] → [B, …] flat. */
export type EpsPredictor = (xt: Float32Array, t: Int32Array, labels: Int32Array) => Promise<ArrayLike<number>>;

export interface MeasureOptions {
  schedule: DiffusionSchedule;
  bands: number;
  set: Examples;
  /** Example indices per batch (the same in every band). */
  batches: readonly Int32Array[];
  predict: EpsPredictor;
  gaussian: GaussianDenoiser;
  /** Told after each band. */
  onBand?: (band: number, of: number) => void;
}

/**
 * The band table: for band k and batch j, t ~ U{band} and ε ~ N(0, I) from a PRNG seeded by (k, j),
 * x_t = q_sample(x_0, t, ε); the model's and the Gaussian denoiser's ε-MSE on the same x_t.
 */
export async function measureBands(o: MeasureOptions): Promise<BandRow[]> {
  const ranges = timestepBands(o.schedule.T, o.bands);
  const d = exampleSize(o.set);
  const rows: BandRow[] = [];
  for (const [k, r] of ranges.entries()) {
    let model = 0;
    let gauss = 0;
    let values = 0;
    for (const [j, idx] of o.batches.entries()) {
      const rng = new Prng(1_000_003 * (k + 1) + j);
      const x0 = gatherFeatures(o.set, idx) as Float32Array;
      const labels = gatherLabels(o.set, idx);
      const t = Int32Array.from(idx, () => r.from + rng.nextInt(r.to - r.from + 1));
      const noise = Float32Array.from({ length: x0.length }, () => rng.nextNormal());
      const xt = qSampleHost(o.schedule, x0, t, noise);
      const eps = await o.predict(xt, t, labels);
      if (eps.length !== noise.length) throw new Error(`bug: the model predicted ${eps.length} values for ${noise.length}`);
      const g = gaussianEps(
        o.gaussian,
        xt,
        labels,
        Float64Array.from(t, (s) => o.schedule.alphasCumprod[s] as number),
      );
      for (let i = 0; i < noise.length; i++) {
        model += ((eps[i] as number) - (noise[i] as number)) ** 2;
        gauss += ((g[i] as number) - (noise[i] as number)) ** 2;
      }
      values += idx.length * d;
    }
    const m = model / values;
    const g = gauss / values;
    rows.push({ band: k + 1, tFrom: r.from, tTo: r.to, model: m, gaussian: g, ratio: m / g });
    o.onBand?.(k + 1, ranges.length);
  }
  return rows;
}

/** "t 0–299 and 600–699" for runs of consecutive rows. */
function spans(rows: readonly BandRow[]): string {
  const runs: string[] = [];
  let start: BandRow | undefined;
  rows.forEach((r, i) => {
    start ??= r;
    const next = rows[i + 1];
    if (next === undefined || next.band !== r.band + 1) {
      runs.push(`${start.tFrom}–${r.tTo}`);
      start = undefined;
    }
  });
  return `t ${runs.length > 1 ? `${runs.slice(0, -1).join(', ')} and ${runs.at(-1)}` : runs[0]}`;
}

/** Where the model beats the Gaussian denoiser (ratio < 1), in words. */
export function bandSummary(rows: readonly BandRow[]): string {
  const wins = rows.filter((r) => r.ratio < 1);
  const losses = rows.filter((r) => !(r.ratio < 1));
  if (losses.length === 0)
    return 'The model beats the per-class Gaussian denoiser in every band: it predicts ε better than a Gaussian per class at every noise level.';
  if (wins.length === 0)
    return 'The model beats the per-class Gaussian denoiser in no band: it has not yet learned what the class means and pixel covariances give.';
  return `The model beats the per-class Gaussian denoiser at ${spans(wins)} and not at ${spans(losses)}${
    wins.every((w) => losses.every((l) => w.tTo < l.tFrom))
      ? ": the further the bands it wins reach into large t, the more of the digits' shapes it has learned (at the largest t both errors are tiny and the ratio is a poor guide)"
      : ''
  }.`;
}

/** Four decimals, or three significant digits below 0.001 (the Gaussian's error at large t). */
const mseText = (v: number): string => (v === 0 || v >= 1e-3 ? v.toFixed(4) : v.toExponential(2));
const ratioText = (v: number): string => (v < 1000 ? v.toFixed(3) : v.toExponential(2));

/** The table `scion eval` prints. */
export function bandTable(r: EpsBandReport): string {
  const lines = [
    `ε-MSE per timestep band: ${r.model} on ${r.images.toLocaleString('en-US')} ${r.split} images per band (T = ${r.T}), beside the per-class Gaussian denoiser (full covariance, ridge ${r.ridge})`,
    'band  t range    model ε-MSE  Gaussian ε-MSE     ratio',
  ];
  for (const b of r.bands) {
    lines.push(
      `${String(b.band).padStart(4)}  ${`${b.tFrom}–${b.tTo}`.padEnd(9)}  ${mseText(b.model).padStart(11)}  ${mseText(b.gaussian).padStart(14)}  ${ratioText(b.ratio).padStart(8)}`,
    );
  }
  lines.push(r.summary);
  return `${lines.join('\n')}\n`;
}

export interface EpsBandOptions {
  split: string;
  bands: number;
  maxBatches: number;
  device: DeviceChoice;
  cwd: string;
  /** Notices (which backend ran, progress). */
  log: (line: string) => void;
}

/** Whether `model`'s train block has a `diffusion(…)` loss term (what the band table measures). */
export function trainsDiffusion(program: Program, model: string): boolean {
  return findTrain(program, model) !== undefined && taskKind(lowerTrain(program, model, { batch: 1, grads: false })) === 'diffusion';
}

/**
 * The band report of `model` (a train block whose loss is `diffusion(…)`) at `weightsPath`: the
 * Gaussian baseline fitted on the training split, both measured on `split`.
 */
export async function epsBands(program: Program, model: string, weightsPath: string, o: EpsBandOptions): Promise<EpsBandReport> {
  const schedule = diffusionSchedule();
  timestepBands(schedule.T, o.bands);
  // The data and the kind of task, without the training job's frozen teachers or initial weights.
  const decl = findTrain(program, model);
  if (decl === undefined) throw new JobError(`the spec has no \`train ${model}\` declaration to take the data from`);
  const config = trainConfigOf(decl, program);
  const lowered = lowerTrain(program, model, { batch: config.batch, grads: false });
  if (taskKind(lowered) !== 'diffusion') {
    throw new JobError(`--bands: '${model}' is not trained with a diffusion(…) loss; ε-MSE per timestep band measures diffusion models`);
  }
  const p = {
    batch: config.batch,
    ...(await taskData('diffusion', lowered, config, valDataOf(config), { outDir: dirname(weightsPath), cwd: o.cwd, log: () => undefined })),
  };
  const set = o.split === 'val' ? p.val : o.split === 'train' ? p.train : undefined;
  if (set === undefined) throw new JobError(`--data ${o.split}: a diffusion model evaluates on val or train`);
  const m = lowerModel(program, model, { dims: { batch: p.batch } });
  const inputs = denoiserInputs(m);
  if (!m.graph.outputs.some((x) => x.name === 'eps')) throw new JobError(`'${model}' has no output named eps: the ε-prediction the band table measures`);
  const weights = await loadWeightFeeds(m, weightsPath);
  const batches = evalIndexBatches(set.count, p.batch, o.maxBatches);
  o.log(`fitting the per-class Gaussian denoiser on ${p.train.count.toLocaleString('en-US')} training images (${exampleSize(p.train)} pixels each)`);
  // An unconditional model is measured against one Gaussian over all its images.
  const conditional = inputs.y !== undefined;
  const gaussian = fitClassGaussians(p.train.features, conditional ? p.train.labels : new Int32Array(p.train.count), exampleSize(p.train), GAUSSIAN_RIDGE);
  const backend = await selectBackend(o.device, m.graph, o.log);
  try {
    const tInput = m.inputs.find((i) => i.name === inputs.t);
    const xShape = [p.batch, ...set.shape];
    const predict: EpsPredictor = async (xt, t, labels) => {
      const feeds = new Map(weights);
      feeds.set(inputs.x, { dtype: 'f32', shape: xShape, data: xt });
      feeds.set(
        inputs.t,
        tInput?.dtype === 'i32' ? { dtype: 'i32', shape: [t.length], data: t } : { dtype: 'f32', shape: [t.length], data: Float32Array.from(t) },
      );
      if (inputs.y !== undefined) feeds.set(inputs.y, { dtype: 'i32', shape: [labels.length], data: labels });
      return (await backend.run(m.graph, feeds, ['eps'])).get('eps')!.data;
    };
    const rows = await measureBands({
      schedule,
      bands: o.bands,
      set: conditional ? set : { ...set, labels: new Int32Array(set.count) },
      batches,
      predict,
      gaussian,
      onBand: (k, of) => o.log(`band ${k}/${of} measured`),
    });
    return { model, split: o.split, images: batches.length * p.batch, T: schedule.T, ridge: GAUSSIAN_RIDGE, bands: rows, summary: bandSummary(rows) };
  } finally {
    backend.dispose();
  }
}
