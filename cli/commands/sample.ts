// `scion sample FILE [--model NAME] --weights W [--weights MODEL=W]… [--steps N] [--guidance S]
// [--classes 0,1,…] [--count K] [--seed S] [--no-reuse] [--device D]
// [--judge SPEC [--judge-model NAME] [--judge-weights W]] [--tensors FILE] [--json] -o grid.png`: draws images with
// the spec's `sample` block (sampler, guidance, feature reuse, model switching; jobs/sample) and
// writes them as a PNG grid, one row per class. Prints the device, the time per image and how many
// full and partial (reused-feature) passes ran; with --judge, how often a classifier assigns each
// sample to the class it was drawn for; with --tensors, the raw samples and labels for any other judge.

import { writeFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { sampleConfig, type SampleConfig } from '../../compiler/objectives/diffusion-sample-config.ts';
import type { Program } from '../../grammar/ast.ts';
import { DIFFUSION_T, prepareSampler, type DrawResult, writeSampleTensors } from '../../jobs/sample/draw-samples.ts';
import { judgeModelName, prepareJudge, type Judge, type JudgeReport } from '../../jobs/sample/judge.ts';
import { deviceWords, type DeviceChoice } from '../../backends/registry.ts';
import { imageGrid } from '../../runtime/plot/index.ts';
import { defaultOutDir } from '../../jobs/train/defaults.ts';
import { command, commandSpec, usageError, type SpecValues } from '../flags.ts';
import { EXIT, type Io, workProgress } from '../io.ts';
import { loadSpec } from '../spec.ts';
import { absolute, checkOutputFile, refuseOwnInput } from '../outputs.ts';

export const SPEC = commandSpec({
  name: 'sample',
  about: `Draws images with the spec's sample block; writes a PNG grid, one row per class. --device auto (default) runs the denoiser on a
hardware WebGPU adapter when there is one, else on the CPU through ONNX Runtime (the reference where a graph cannot be exported);
--device webgpu uses any adapter, software included.
--judge SPEC classifies every sample with a trained classifier of that spec (--judge-model, default the model it trains;
--judge-weights, default runs/<model>/model.safetensors) and reports how often it agrees with the requested class.
--tensors FILE also writes the raw samples (f32 [N, C, H, W] in [-1, 1]) and their requested classes (i32 [N]) as safetensors.`,
  args: { name: 'FILE', min: 1, max: 1 },
  flags: [
    'model',
    'sampleWeights',
    'steps',
    'guidance',
    'classes',
    'count',
    'seed',
    'noReuse',
    'device',
    'judge',
    'judgeModel',
    'judgeWeights',
    'tensors',
    'json',
    'out',
  ],
  required: ['sampleWeights', 'out'],
  placeholders: { out: 'grid.png' },
});

interface Options {
  model?: string;
  weights: Map<string | null, string>;
  steps?: number;
  guidance?: number;
  classes?: number[];
  count?: number;
  seed?: number;
  out: string;
  reuse: boolean;
  device: DeviceChoice;
  judge?: { file: string; model?: string; weights?: string };
  tensors?: string;
  json: boolean;
}

/** The options the job takes, from the command line's values. */
function optionsOf(f: SpecValues<typeof SPEC>): Options {
  if (f.judge === undefined && (f.judgeModel !== undefined || f.judgeWeights !== undefined))
    throw usageError(SPEC, '--judge-model and --judge-weights need --judge SPEC');
  const opt: Options = {
    // A later --weights for the same model replaces an earlier one, as before.
    weights: new Map(f.sampleWeights.map((w) => [w.model, w.path])),
    reuse: !f.noReuse,
    device: f.device ?? 'auto',
    json: f.json,
    out: f.out,
  };
  if (f.model !== undefined) opt.model = f.model;
  if (f.steps !== undefined) opt.steps = f.steps;
  if (f.guidance !== undefined) opt.guidance = f.guidance;
  if (f.classes !== undefined) opt.classes = f.classes;
  if (f.count !== undefined) opt.count = f.count;
  if (f.seed !== undefined) opt.seed = f.seed;
  if (f.tensors !== undefined) opt.tensors = f.tensors;
  if (f.judge !== undefined)
    opt.judge = {
      file: f.judge,
      ...(f.judgeModel === undefined ? {} : { model: f.judgeModel }),
      ...(f.judgeWeights === undefined ? {} : { weights: f.judgeWeights }),
    };
  return opt;
}

export const run = command(SPEC, async ({ flags, args: [file = ''] }, io) => {
  const opt = optionsOf(flags);
  const inputs = [file, opt.judge?.file, opt.judge?.weights, ...opt.weights.values()].map((p) => (p === undefined ? p : absolute(io.cwd, p)));
  for (const path of [opt.out, opt.tensors]) {
    if (path === undefined) continue;
    checkOutputFile(absolute(io.cwd, path), path);
    refuseOwnInput(absolute(io.cwd, path), path, inputs);
  }
  if (opt.tensors !== undefined && absolute(io.cwd, opt.tensors) === absolute(io.cwd, opt.out)) throw usageError(SPEC, '--tensors and -o name the same file');
  const program = loadSpec(file, io, 'sample');
  if (program === undefined) return EXIT.inputError;
  const judgeProgram = opt.judge === undefined ? undefined : loadSpec(opt.judge.file, io, 'sample');
  if (opt.judge !== undefined && judgeProgram === undefined) return EXIT.inputError;
  const target = opt.model ?? program.decls.find((d) => d.kind === 'sample')?.target.name;
  if (target === undefined) throw usageError(SPEC, 'the spec has no sample block: name the model with --model');
  const cfg = sampleConfig(program, target);
  if (opt.steps !== undefined) cfg.sampler.steps = opt.steps;
  if (opt.guidance !== undefined) cfg.guidance = opt.guidance;
  if (opt.classes !== undefined) cfg.classes = opt.classes;
  if (opt.count !== undefined) cfg.count = opt.count;
  if (opt.seed !== undefined) cfg.seed = opt.seed;
  if (cfg.sampler.steps > DIFFUSION_T) throw usageError(SPEC, `--steps must be at most ${DIFFUSION_T}`);
  return await sampleAndReport(program, cfg, opt, judgeProgram, io);
});

async function sampleAndReport(program: Program, cfg: SampleConfig, opt: Options, judgeProgram: Program | undefined, io: Io): Promise<number> {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(io.cwd, p));
  const progress = workProgress(io, 'sample', 'steps', opt.json);
  const sampler = await prepareSampler(program, cfg, {
    weights: new Map([...opt.weights].map(([k, v]) => [k, abs(v)])),
    reuse: opt.reuse,
    device: opt.device,
    log: (line) => (progress === undefined ? io.err(`${line}\n`) : progress.log(line)),
    onStep: (step, steps) => progress?.update(step + 1, steps),
  });
  let r: DrawResult;
  let judged: JudgeReport | undefined;
  try {
    // The judge is loaded and checked against the image shape before the first step runs.
    let judge: Judge | undefined;
    if (opt.judge !== undefined && judgeProgram !== undefined) {
      const model = judgeModelName(judgeProgram, opt.judge.model);
      const weights = opt.judge.weights === undefined ? resolve(defaultOutDir(io.cwd, model), 'model.safetensors') : abs(opt.judge.weights);
      judge = await prepareJudge(judgeProgram, model, weights, sampler.shape);
    }
    r = await sampler.draw();
    judged = judge?.classify(r.images, r.labels);
  } finally {
    sampler.dispose();
    progress?.finish();
  }
  writeFileSync(abs(opt.out), imageGrid(channelZero(r), cfg.count, 2, [r.shape[2] ?? 1, r.shape[3] ?? 1]));
  if (opt.tensors !== undefined) await writeSampleTensors(abs(opt.tensors), r);
  const batch = r.labels.length;
  const fullPasses = r.passes.reduce((s, p) => s + p.full, 0);
  const partialPasses = r.passes.reduce((s, p) => s + p.partial, 0);
  const reuse = opt.reuse ? (cfg.reuse ?? null) : null;
  if (opt.json) {
    const report = {
      images: batch,
      device: r.device,
      ms: r.ms,
      msPerImage: r.ms / batch,
      steps: r.steps,
      sampler: cfg.sampler,
      guidance: cfg.guidance,
      reuse,
      passes: r.passes,
      fullPasses,
      partialPasses,
      out: opt.out,
      ...(opt.tensors === undefined ? {} : { tensors: opt.tensors }),
      ...(judged === undefined
        ? {}
        : {
            judge: { file: opt.judge?.file, model: judged.model },
            agreement: judged.agreement,
            perClass: judged.perClass,
            count: judged.count,
            predictions: [...judged.predictions],
          }),
    };
    io.out(`${JSON.stringify(report)}\n`);
    return EXIT.ok;
  }
  const reuseText = reuse === null ? 'no reuse' : `reuse ${reuse.tap}`;
  io.out(
    `${opt.out}: ${batch} images, ${r.steps} ${cfg.sampler.kind} steps on ${deviceWords(r.device)}, ${(r.ms / batch).toFixed(1)} ms/image (${reuseText}; ${r.passes.map((p) => `${p.model} ${p.full} full + ${p.partial} partial passes`).join(', ')})\n`,
  );
  if (judged !== undefined) io.out(judgeText(judged));
  return EXIT.ok;
}

/** Channel 0 of each image, mapped from [−1, 1] to [0, 1], for the grid. */
function channelZero(r: DrawResult): Float32Array[] {
  const [b = 0, c = 1, h = 1, w = 1] = r.shape;
  return Array.from({ length: b }, (_, i) => Float32Array.from({ length: h * w }, (_v, k) => ((r.images[i * c * h * w + k] as number) + 1) / 2));
}

function judgeText(j: JudgeReport): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const hits = Math.round(j.agreement * j.count);
  const rows = j.perClass.map(
    (c) => `  class ${String(c.class).padStart(3)}  ${pct(c.agreement).padStart(6)}  (${Math.round(c.agreement * c.count)}/${c.count})`,
  );
  return [`judge ${j.model}: ${pct(j.agreement)} of ${j.count} samples classified as the requested class (${hits}/${j.count})`, ...rows, ''].join('\n');
}
