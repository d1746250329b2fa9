// Drawing images with a spec's `sample` block: one denoiser per model of the switch (each with its
// own weights, classifier-free guidance and feature-reuse cache), the respaced DDPM/DDIM loop, and
// the count of full and partial (reused-feature) passes. The denoisers' graphs run on the chosen
// backend (ONNX Runtime on the CPU, the reference, or WebGPU); each distinct graph (the full one,
// and the one cut at the reuse tap) compiles once for the batch and is reused on every step.

import { lowerModel, type LoweredModel } from '../../compiler/lower/lower-model.ts';
import { respace } from '../../compiler/objectives/diffusion-schedule.ts';
import { DIFFUSION_T, diffusionSchedule } from '../../compiler/objectives/diffusion-loss.ts';
import { holds, type SampleConfig } from '../../compiler/objectives/diffusion-sample-config.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import type { Program } from '../../grammar/ast.ts';
import { Prng } from '../../runtime/data/prng.ts';
import {
  cachedDenoiser,
  graphDenoiser,
  guided,
  sampleLoop,
  switching,
  type Denoiser,
  type GraphModel,
  type GraphRunner,
  type SwitchArm,
} from '../../runtime/sample/index.ts';
import { selectBackend, type DeviceChoice } from '../../backends/registry.ts';
import type { Backend } from '../../backends/backend.ts';
import { writeSafetensors } from '../../runtime/weights/index.ts';
import { JobError } from '../train/errors.ts';
import { loadWeightFeeds } from '../weights/load-weights.ts';

/** Timesteps of the training schedule the sampler respaces (the diffusion loss's). */
export { DIFFUSION_T } from '../../compiler/objectives/diffusion-loss.ts';

export interface DrawOptions {
  /** Checkpoint path by model name; the `null` key holds the sample target's. */
  weights: ReadonlyMap<string | null, string>;
  /** Whether to use the block's `reuse = cache(…)` (false: every step a full pass). */
  reuse: boolean;
  device: DeviceChoice;
  /** One-line notices (why `--device auto` passed over a backend). */
  log: (line: string) => void;
  onStep?: (step: number, steps: number) => void;
}

export interface ModelPasses {
  model: string;
  full: number;
  partial: number;
}

export interface DrawResult {
  /** x_0 [B, C, H, W], values in [−1, 1]; rows grouped by class (cfg.count per class). */
  images: Float64Array;
  shape: readonly number[];
  /** The requested class of each image [B]. */
  labels: Int32Array;
  steps: number;
  /**
   * Wall time of the sampling loop: not lowering, weight loading or compiling the first graph; on
   * WebGPU the cut graph of feature reuse (and a switch's other models) compile inside it, on first use.
   */
  ms: number;
  passes: ModelPasses[];
  device: Backend['name'];
}

/** The model's x (f32 [B, C, H, W]), t (f32/i32 [B]) and label (i32 [B]) inputs, by shape and dtype. */
export function denoiserInputs(m: LoweredModel): GraphModel['inputs'] {
  const x = m.inputs.find((i) => i.shape.length === 4 && i.dtype === 'f32');
  const t = m.inputs.find((i) => i.shape.length === 1 && i.name === 't');
  const y = m.inputs.find((i) => i.shape.length === 1 && i.dtype === 'i32' && i !== t);
  if (x === undefined || t === undefined)
    throw new JobError(`model '${m.instance.name}' needs an image input [batch, C, H, W] and a timestep input t: f32[batch] to be sampled`);
  return y === undefined ? { x: x.name, t: t.name } : { x: x.name, t: t.name, y: y.name };
}

interface Arm {
  name: string;
  denoiser: Denoiser;
  /** The graph its first call runs (the backend is checked against it). */
  firstGraph: Graph;
  counters: () => { full: number; partial: number };
  imageShape: readonly number[];
}

async function buildArm(program: Program, cfg: SampleConfig, model: string, batch: number, o: DrawOptions, run: GraphRunner): Promise<Arm> {
  const cfgOn = cfg.guidance !== 1;
  // Guidance runs the conditional and the unconditional half in one doubled batch.
  const m = lowerModel(program, model, { dims: { batch: cfgOn ? 2 * batch : batch } });
  const inputs = denoiserInputs(m);
  const path = o.weights.get(model) ?? (model === cfg.target ? o.weights.get(null) : undefined);
  if (path === undefined) throw new JobError(`no weights for '${model}' (the switch uses it): pass --weights ${model}=FILE`);
  const classes = Number(m.instance.params['classes'] ?? 0);
  if (cfgOn && inputs.y === undefined) throw new JobError(`guidance needs a class-conditional model; '${model}' takes no labels (use --guidance 1)`);
  const bad = cfg.classes.find((c) => c >= classes);
  if (inputs.y !== undefined && bad !== undefined) throw new JobError(`class ${bad} is out of range: '${model}' has ${classes} classes`);
  const weights = await loadWeightFeeds(m, path);
  const outputs = m.graph.outputs.some((x) => x.name === 'sigma') ? { eps: 'eps', v: 'sigma' } : { eps: 'eps' };
  const gm: GraphModel = { name: model, graph: m.graph, weights, inputs, outputs };
  const xInput = m.inputs.find((i) => i.name === inputs.x);
  const imageShape = [batch, ...(xInput?.shape.slice(1) ?? [])];
  // DiT's LabelEmbedder keeps its null class at index `classes`.
  const wrap = (d: Denoiser): Denoiser => (cfgOn ? guided(d, cfg.guidance, classes) : d);
  if (o.reuse && cfg.reuse !== undefined) {
    // Taps are keyed by dotted paths: `up[1].res[0]` is `up.1.res.0`.
    const tapNode = m.taps.get(cfg.reuse.tap) ?? m.taps.get(cfg.reuse.tap.replace(/\[(\d+)\]/g, '.$1'));
    if (tapNode === undefined) throw new JobError(`reuse tap '${cfg.reuse.tap}' is not a tap of '${model}'`);
    const c = cachedDenoiser(gm, tapNode, cfg.reuse.tap, 'every' in cfg.reuse ? { every: cfg.reuse.every } : { steps: cfg.reuse.steps }, run);
    return { name: model, denoiser: wrap(c), firstGraph: c.fullGraph, counters: () => ({ full: c.fullPasses, partial: c.partialPasses }), imageShape };
  }
  const g = graphDenoiser(gm, run);
  return { name: model, denoiser: wrap(g), firstGraph: g.graph, counters: () => ({ full: g.passes, partial: 0 }), imageShape };
}

/** A sampler ready to draw: models lowered, weights loaded, the backend chosen. */
export interface PreparedSampler {
  /** [B, C, H, W] of the images it draws. */
  readonly shape: readonly number[];
  /** The requested class of each image [B]. */
  readonly labels: Int32Array;
  readonly device: Backend['name'];
  draw(): Promise<DrawResult>;
  /** Releases the device (idempotent). */
  dispose(): void;
}

/**
 * Lowers every model of the sample block, loads their weights and picks the backend, so that
 * user errors surface before any step runs. User errors (missing weights, a model that cannot be
 * sampled, no device for `--device webgpu`) are JobError, MappingError or DeviceUnavailable.
 */
export async function prepareSampler(program: Program, cfg: SampleConfig, o: DrawOptions): Promise<PreparedSampler> {
  if (cfg.sampler.steps > DIFFUSION_T) throw new JobError(`${cfg.sampler.steps} sampler steps: at most ${DIFFUSION_T}`);
  const labels = Int32Array.from(cfg.classes.flatMap((c) => Array.from({ length: cfg.count }, () => c)));
  const batch = labels.length;
  let backend: Backend | undefined;
  const run: GraphRunner = (graph, feeds, outputs) => {
    if (backend === undefined) throw new Error('bug: a denoiser ran before the backend was chosen');
    return backend.run(graph, feeds, outputs);
  };
  const plans = cfg.switch.length > 0 ? cfg.switch : [{ model: cfg.target }];
  const arms: Arm[] = [];
  for (const p of plans) arms.push(await buildArm(program, cfg, p.model, batch, o, run));
  const first = arms[0];
  if (first === undefined) throw new Error('bug: a sample block with no model');
  const chosen = await selectBackend(o.device, first.firstGraph, o.log);
  backend = chosen;
  const switchArms: SwitchArm[] = plans.map((p, k) => {
    const when = 'when' in p ? p.when : undefined;
    const d = (arms[k] as Arm).denoiser;
    return when === undefined ? { name: p.model, denoiser: d } : { name: p.model, denoiser: d, when: (t: number) => holds(when, t) };
  });
  const denoiser = switchArms.length === 1 ? (switchArms[0] as SwitchArm).denoiser : switching(switchArms);
  const plan = respace(diffusionSchedule(), cfg.sampler.steps);
  return {
    shape: first.imageShape,
    labels,
    device: chosen.name,
    async draw() {
      const start = performance.now();
      const images = await sampleLoop({
        plan,
        denoiser,
        shape: first.imageShape,
        labels,
        rng: new Prng(cfg.seed),
        sampler: cfg.sampler.kind === 'ddim' ? { kind: 'ddim', eta: cfg.sampler.eta } : { kind: 'ddpm' },
        onStep: (step) => o.onStep?.(step, plan.timesteps.length),
      });
      const ms = performance.now() - start;
      const passes = arms.map((a) => ({ model: a.name, ...a.counters() }));
      return { images, shape: first.imageShape, labels, steps: plan.timesteps.length, ms, passes, device: chosen.name };
    },
    dispose: () => chosen.dispose(),
  };
}

/**
 * Draws `cfg.count` images of each of `cfg.classes` with the sample block's sampler, guidance,
 * reuse and switch (prepareSampler, then draw once).
 *
 * Example: `const r = await drawSamples(program, sampleConfig(program, 'LiT'), { weights: new Map([[null, w]]), reuse: true, device: 'reference', log })`
 */
export async function drawSamples(program: Program, cfg: SampleConfig, o: DrawOptions): Promise<DrawResult> {
  const s = await prepareSampler(program, cfg, o);
  try {
    return await s.draw();
  } finally {
    s.dispose();
  }
}

/**
 * `scion sample --tensors FILE`: the raw samples as `samples` (f32 [B, C, H, W], in [−1, 1]) and
 * the class each was drawn for as `labels` (i32 [B]), so any classifier can judge them.
 */
export async function writeSampleTensors(path: string, r: DrawResult): Promise<void> {
  await writeSafetensors(
    path,
    {
      samples: { dtype: 'F32', shape: r.shape, data: Float32Array.from(r.images) },
      labels: { dtype: 'I32', shape: [r.labels.length], data: r.labels },
    },
    { format: 'pt' },
  );
}
