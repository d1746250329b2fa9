// `scion sample FILE [--model NAME] --weights W [--weights MODEL=W]… [--steps N] [--guidance S]
// [--classes 0,1,…] [--count K] [--seed S] [--no-reuse] [--json] -o grid.png`: draws images with
// the spec's `sample` block (sampler, guidance, feature reuse, model switching) on the CPU
// reference and writes them as a PNG grid, one row per class. Prints the time per image and how
// many full and partial (reused-feature) passes ran.

import { writeFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { lowerModel, type LoweredModel } from '../../compiler/lower/lower-model.ts';
import { linearSchedule, respace } from '../../compiler/objectives/diffusion-schedule.ts';
import { holds, sampleConfig, type SampleConfig } from '../../compiler/objectives/diffusion-sample-config.ts';
import { MappingError } from '../../compiler/presets/index.ts';
import type { Program } from '../../grammar/ast.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { Prng } from '../../runtime/data/prng.ts';
import { imageGrid } from '../../runtime/plot/index.ts';
import { cachedDenoiser, graphDenoiser, guided, sampleLoop, switching, type Denoiser, type GraphModel, type SwitchArm } from '../../runtime/sample/index.ts';
import { openSafetensors } from '../../runtime/weights/index.ts';
import { EXIT, UsageError, type Command, type Io } from '../io.ts';
import { loadWeights } from './eval.ts';
import { loadSpec, positiveInt, reportLowerError, takeValue } from './explain.ts';

const USAGE =
  'usage: scion sample FILE [--model NAME] --weights W [--weights MODEL=W]... [--steps N] [--guidance S] [--classes 0,1,...] [--count K] [--seed S] [--no-reuse] [--json] -o grid.png';
const T = 1000;

interface Options {
  model?: string;
  weights: Map<string | null, string>;
  steps?: number;
  guidance?: number;
  classes?: number[];
  count?: number;
  seed?: number;
  out?: string;
  reuse: boolean;
  json: boolean;
}

function parseArgs(args: string[]): { files: string[]; opt: Options } {
  const opt: Options = { weights: new Map(), reuse: true, json: false };
  const files: string[] = [];
  for (let k = 0; k < args.length; k++) {
    const a = args[k] as string;
    if (a === '--model') opt.model = takeValue(args, k++, a, USAGE);
    else if (a === '--weights') {
      const v = takeValue(args, k++, a, USAGE);
      const eq = v.indexOf('=');
      if (eq > 0 && /^[A-Za-z_]\w*$/.test(v.slice(0, eq))) opt.weights.set(v.slice(0, eq), v.slice(eq + 1));
      else opt.weights.set(null, v);
    } else if (a === '--steps') opt.steps = positiveInt(takeValue(args, k++, a, USAGE), a, USAGE);
    else if (a === '--count') opt.count = positiveInt(takeValue(args, k++, a, USAGE), a, USAGE);
    else if (a === '--seed') opt.seed = Number(takeValue(args, k++, a, USAGE));
    else if (a === '--guidance') {
      const g = Number(takeValue(args, k++, a, USAGE));
      if (!Number.isFinite(g) || g < 0) throw new UsageError(`--guidance must be a number >= 0\n${USAGE}`);
      opt.guidance = g;
    } else if (a === '--classes') {
      const list = takeValue(args, k++, a, USAGE).split(',').map(Number);
      if (list.some((c) => !Number.isInteger(c) || c < 0)) throw new UsageError(`--classes takes class ids like 0,1,2\n${USAGE}`);
      opt.classes = list;
    } else if (a === '-o' || a === '--out') opt.out = takeValue(args, k++, a, USAGE);
    else if (a === '--no-reuse') opt.reuse = false;
    else if (a === '--json') opt.json = true;
    else if (a.startsWith('-')) throw new UsageError(`unknown option '${a}'\n${USAGE}`);
    else files.push(a);
  }
  return { files, opt };
}

/** The model's x (f32 [B, C, H, W]), t (f32/i32 [B]) and label (i32 [B]) inputs, by shape and dtype. */
function modelInputs(m: LoweredModel): GraphModel['inputs'] | string {
  const x = m.inputs.find((i) => i.shape.length === 4 && i.dtype === 'f32');
  const t = m.inputs.find((i) => i.shape.length === 1 && i.name === 't');
  const y = m.inputs.find((i) => i.shape.length === 1 && i.dtype === 'i32' && i !== t);
  if (x === undefined || t === undefined)
    return `model '${m.instance.name}' needs an image input [batch, C, H, W] and a timestep input t: f32[batch] to be sampled`;
  return y === undefined ? { x: x.name, t: t.name } : { x: x.name, t: t.name, y: y.name };
}

export const run: Command = async (args: string[], io: Io): Promise<number> => {
  if (args.includes('--help') || args.includes('-h')) {
    io.out(`${USAGE}\n\nDraws images with the spec's sample block on the CPU reference; writes a PNG grid, one row per class.\n`);
    return EXIT.ok;
  }
  const { files, opt } = parseArgs(args);
  if (files.length !== 1 || opt.out === undefined || opt.weights.size === 0) throw new UsageError(`need FILE, --weights and -o\n${USAGE}`);
  const program = loadSpec(files[0] as string, io, 'sample');
  if (program === undefined) return EXIT.inputError;
  const target = opt.model ?? program.decls.find((d) => d.kind === 'sample')?.target.name;
  if (target === undefined) throw new UsageError(`the spec has no sample block: name the model with --model\n${USAGE}`);
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(io.cwd, p));
  try {
    const cfg = sampleConfig(program, target);
    if (opt.steps !== undefined) cfg.sampler.steps = opt.steps;
    if (opt.guidance !== undefined) cfg.guidance = opt.guidance;
    if (opt.classes !== undefined) cfg.classes = opt.classes;
    if (opt.count !== undefined) cfg.count = opt.count;
    if (opt.seed !== undefined) cfg.seed = opt.seed;
    if (cfg.sampler.steps > T) throw new UsageError(`--steps must be at most ${T}\n${USAGE}`);
    return await sampleAndWrite(program, cfg, opt, abs, io);
  } catch (error) {
    if (error instanceof MappingError) {
      io.err(`scion sample: ${error.message}\n`);
      return EXIT.inputError;
    }
    if (error instanceof UsageError) throw error;
    return reportLowerError(error, io);
  }
};

async function sampleAndWrite(program: Program, cfg: SampleConfig, opt: Options, abs: (p: string) => string, io: Io): Promise<number> {
  const labels = Int32Array.from(cfg.classes.flatMap((c) => Array.from({ length: cfg.count }, () => c)));
  const batch = labels.length;
  const cfgOn = cfg.guidance !== 1;
  const arms = cfg.switch.length > 0 ? cfg.switch : [{ model: cfg.target }];
  const models: { name: string; denoiser: Denoiser; counters: () => { full: number; partial: number } }[] = [];
  let imageShape: readonly number[] = [];
  for (const arm of arms) {
    const m = lowerModel(program, arm.model, { dims: { batch: cfgOn ? 2 * batch : batch } });
    const inputs = modelInputs(m);
    if (typeof inputs === 'string') return (io.err(`scion sample: ${inputs}\n`), EXIT.inputError);
    const path = opt.weights.get(arm.model) ?? (arm.model === cfg.target ? opt.weights.get(null) : undefined);
    if (path === undefined)
      return (io.err(`scion sample: no weights for '${arm.model}' (the switch uses it): pass --weights ${arm.model}=FILE\n`), EXIT.inputError);
    const reader = await openSafetensors(abs(path));
    const weights = new Map<string, Tensor>();
    try {
      for (const [p, t] of await loadWeights(m, reader)) weights.set(p, { dtype: 'f32', shape: t.shape, data: t.data });
    } finally {
      await reader.close();
    }
    const classes = Number(m.instance.params['classes'] ?? 0);
    if (cfgOn && inputs.y === undefined)
      return (io.err(`scion sample: guidance needs a class-conditional model; '${arm.model}' takes no labels (use --guidance 1)\n`), EXIT.inputError);
    const bad = cfg.classes.find((c) => c >= classes);
    if (inputs.y !== undefined && bad !== undefined)
      return (io.err(`scion sample: class ${bad} is out of range: '${arm.model}' has ${classes} classes\n`), EXIT.inputError);
    const outputs = m.graph.outputs.some((o) => o.name === 'sigma') ? { eps: 'eps', v: 'sigma' } : { eps: 'eps' };
    const gm: GraphModel = { name: arm.model, graph: m.graph, weights, inputs, outputs };
    const xInput = m.inputs.find((i) => i.name === inputs.x);
    imageShape = [batch, ...(xInput?.shape.slice(1) ?? [])];
    let inner: Denoiser;
    let counters: () => { full: number; partial: number };
    // Taps are keyed by dotted paths: `up[1].res[0]` is `up.1.res.0`.
    const tapNode = cfg.reuse === undefined ? undefined : (m.taps.get(cfg.reuse.tap) ?? m.taps.get(cfg.reuse.tap.replace(/\[(\d+)\]/g, '.$1')));
    if (opt.reuse && cfg.reuse !== undefined) {
      if (tapNode === undefined) return (io.err(`scion sample: reuse tap '${cfg.reuse.tap}' is not a tap of '${arm.model}'\n`), EXIT.inputError);
      const c = cachedDenoiser(gm, tapNode, cfg.reuse.tap, 'every' in cfg.reuse ? { every: cfg.reuse.every } : { steps: cfg.reuse.steps });
      inner = c;
      counters = () => ({ full: c.fullPasses, partial: c.partialPasses });
    } else {
      const g = graphDenoiser(gm);
      inner = g;
      counters = () => ({ full: g.passes, partial: 0 });
    }
    // DiT's LabelEmbedder keeps its null class at index `classes`.
    models.push({ name: arm.model, denoiser: cfgOn ? guided(inner, cfg.guidance, classes) : inner, counters });
  }
  const switchArms: SwitchArm[] = arms.map((a, k) => {
    const when = 'when' in a ? a.when : undefined;
    const d = (models[k] as (typeof models)[number]).denoiser;
    return when === undefined ? { name: a.model, denoiser: d } : { name: a.model, denoiser: d, when: (t: number) => holds(when, t) };
  });
  const denoiser = switchArms.length === 1 ? (switchArms[0] as SwitchArm).denoiser : switching(switchArms);
  const plan = respace(linearSchedule(T), cfg.sampler.steps);
  const start = performance.now();
  const x = sampleLoop({
    plan,
    denoiser,
    shape: imageShape,
    labels,
    rng: new Prng(cfg.seed),
    sampler: cfg.sampler.kind === 'ddim' ? { kind: 'ddim', eta: cfg.sampler.eta } : { kind: 'ddpm' },
    onStep: (step) => {
      if (!opt.json && io.isTty) io.err(`\rstep ${step + 1}/${plan.timesteps.length}`);
    },
  });
  const ms = performance.now() - start;
  // Channel 0 of each image, mapped from [−1, 1] to [0, 1].
  const [, c = 1, h = 1, w = 1] = imageShape;
  const images = Array.from({ length: batch }, (_, i) => Float32Array.from({ length: h * w }, (_v, k) => ((x[i * c * h * w + k] as number) + 1) / 2));
  writeFileSync(abs(opt.out as string), imageGrid(images, cfg.count, 2, [h, w]));
  const passes = models.map((m) => ({ model: m.name, ...m.counters() }));
  const report = {
    images: batch,
    ms,
    msPerImage: ms / batch,
    steps: plan.timesteps.length,
    sampler: cfg.sampler,
    guidance: cfg.guidance,
    reuse: opt.reuse ? (cfg.reuse ?? null) : null,
    passes,
    out: opt.out,
  };
  if (opt.json) io.out(`${JSON.stringify(report)}\n`);
  else {
    if (io.isTty) io.err('\n');
    const reuse = opt.reuse && cfg.reuse ? `reuse ${cfg.reuse.tap}` : 'no reuse';
    io.out(
      `${opt.out}: ${batch} images, ${plan.timesteps.length} ${cfg.sampler.kind} steps, ${(ms / batch).toFixed(1)} ms/image (${reuse}; ${passes.map((p) => `${p.model} ${p.full} full + ${p.partial} partial passes`).join(', ')})\n`,
    );
  }
  return EXIT.ok;
}
