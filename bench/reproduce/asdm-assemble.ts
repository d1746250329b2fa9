// A-SDM's model assembly, its row of docs/results.md: specs/a-sdm.scion's SmallUNet (the teacher
// UNet with residual units removed, `inherit SmallUNet from UNet` copying the blocks that remain)
// trained with output and feature distillation from the frozen teacher (the spec's `train
// SmallUNet`), against the same SmallUNet from random init with the diffusion loss alone, for the
// same steps; both sampled with the same seeds and noise and judged by the DigitCNN. The teacher is
// sampled the same way, for the assembled model's speed-up. The claims (research/seeds.md §2.1):
// the assembled lightweight model is +22.4% faster, and assembly with distillation keeps quality.
//
//   node --import tsx bench/reproduce/asdm-assemble.ts --unet CKPT [--judge CKPT] [--device D]
//        [--seeds 1] [--steps N] [--count N] [--out DIR]
//
// --unet is required: the trained teacher's weights (e.g. `scion train specs/a-sdm.scion --model
// UNet`'s model.safetensors or model-ema.safetensors, with its summary.json and metrics.jsonl);
// the student inherits from them and distils from them. --steps replaces the spec's steps for both
// arms. Samples use the `sample SmallUNet` block's sampler and guidance with no model switching and
// no feature reuse (asdm-switch.ts and asdm-cache.ts measure those). The same seed gives every arm
// the same noise, so the two students' accuracy difference is tested as paired (McNemar).

import { loadavg } from 'node:os';
import { join } from 'node:path';
import { deviceWords } from '../../backends/registry.ts';
import { sampleConfig, type SampleConfig } from '../../compiler/objectives/diffusion-sample-config.ts';
import { findTrain, trainConfig } from '../../compiler/lower/lower-train-config.ts';
import {
  commandLine,
  deviceLine,
  discordant,
  drawAndJudge,
  formatShare,
  inherit,
  judgeOf,
  loadProgram,
  pairedDifference,
  replaceIn,
  reproduceArgs,
  reusedRun,
  train,
  withTrainBlock,
  positive,
} from './common.ts';
import { formatDuration, writeRow, type Verdict } from './results-table.ts';

const SPEC = 'specs/a-sdm.scion';
const TEACHER = 'UNet';
const STUDENT = 'SmallUNet';

const args = reproduceArgs('asdm-assemble', [1], ['unet', 'judge', 'count', 'steps']);
const given = args.more['unet'];
if (given === undefined)
  throw new Error('--unet CKPT: the trained UNet teacher (e.g. runs/UNet/model-ema.safetensors, with its summary.json and metrics.jsonl)');
const count = positive(args.more['count'], '--count') ?? 20;
const steps = positive(args.more['steps'], '--steps');
const started = Date.now();
const load = loadavg()[0] ?? 0;
const teacher = reusedRun('unet', given);
const program = loadProgram(SPEC);
const decl = findTrain(program, STUDENT);
if (decl === undefined) throw new Error(`${SPEC}: no train ${STUDENT}`);
const spec = trainConfig(decl, program);
// Scratch: the spec's block without the teacher, its loss cut to the first term (the diffusion loss).
const scratch = withTrainBlock(SPEC, STUDENT, (b) => replaceIn(replaceIn(b, /^\s*teacher = .*\n/m, ''), /^(\s*loss = )(diffusion\([^)]*\)).*$/m, '$1$2'));
const judge = await judgeOf(args.more['judge'], args.out, args.device);
process.stderr.write(`judge ${judge.model}: ${(100 * judge.testAccuracy).toFixed(2)}% on the MNIST test split${judge.reused ? ' (reused)' : ''}\n`);
const init = await inherit(program, teacher.weights, join(args.out, 'inherited'));

let backend: string = args.device;
let n = 0;
const hits = { teacher: 0, recipe: 0, scratch: 0 };
const ms = { teacher: 0, recipe: 0 };
const trainSeconds: number[] = [];
/** Twins judged right by one student only: the assembled one (b), the one from scratch (c). */
let b = 0;
let c = 0;
let trainedSteps = steps ?? spec.steps;
for (const seed of args.seeds) {
  const cfg: SampleConfig = { ...sampleConfig(program, STUDENT), switch: [], count, seed };
  const draw = (model: string, weights: string, stem: string) =>
    drawAndJudge(program, { ...cfg, target: model }, { weights, reuse: false, device: args.device, judge, stem: join(args.out, `${stem}-seed-${seed}`) });
  const recipeRun = await train(program, STUDENT, {
    outDir: join(args.out, `assembled-seed-${seed}`),
    device: args.device,
    seed,
    init,
    frozen: new Map([[TEACHER, teacher.weights]]),
    ...(steps === undefined ? {} : { steps }),
  });
  const scratchRun = await train(scratch, STUDENT, {
    outDir: join(args.out, `scratch-seed-${seed}`),
    device: args.device,
    seed,
    ...(steps === undefined ? {} : { steps }),
  });
  trainSeconds.push(recipeRun.summary.wallSeconds, scratchRun.summary.wallSeconds);
  trainedSteps = recipeRun.summary.steps;
  const t = await draw(TEACHER, teacher.weights, 'teacher');
  const r = await draw(STUDENT, recipeRun.model, 'assembled');
  const s = await draw(STUDENT, scratchRun.model, 'scratch');
  backend = r.draw.device;
  n += r.report.count;
  hits.teacher += t.hits;
  hits.recipe += r.hits;
  hits.scratch += s.hits;
  ms.teacher += t.draw.ms;
  ms.recipe += r.draw.ms;
  const d = discordant(r, s);
  b += d.aOnly;
  c += d.bOnly;
  process.stderr.write(
    `seed ${seed}: teacher ${formatShare(t.hits, t.report.count)} in ${(t.draw.ms / 1000).toFixed(1)} s; assembled + distilled ${formatShare(r.hits, r.report.count)} in ${(r.draw.ms / 1000).toFixed(1)} s; scratch ${formatShare(s.hits, s.report.count)}\n`,
  );
}

// Paired difference (assembled − scratch) and its standard error from the discordant twins.
const { diff, se } = pairedDifference(hits.scratch, hits.recipe, n, c, b);
const speedup = ms.teacher / ms.recipe;
const verdict: Verdict = diff > 2 * se ? 'reproduced' : diff < -2 * se ? 'not reproduced' : 'inconclusive';
const cfg = sampleConfig(program, STUDENT);
const teacherNote = `teacher ${TEACHER} trained ${teacher.steps} steps in ${formatDuration(teacher.wallSeconds)} on ${deviceWords(teacher.device)} (an earlier run, reused with --unet; not in this run time)`;
writeRow({
  id: 'asdm-assemble',
  claim: `A-SDM: the assembled small UNet (${STUDENT} of ${SPEC}: the teacher's blocks minus residual units, inherited) with output and feature distillation beats the same UNet from scratch at equal steps, and samples faster than its teacher`,
  paper:
    'the assembled lightweight model is +22.4% faster (arXiv 2406.00210 abstract); assembly with distillation restores quality (no figure in the abstracts)',
  scion:
    `judged right after ${trainedSteps} steps: assembled + distilled ${formatShare(hits.recipe, n)}, from scratch ${formatShare(hits.scratch, n)}; teacher ${formatShare(hits.teacher, n)}; ` +
    `sampling ${speedup.toFixed(2)}× as fast as the teacher (${(ms.teacher / 1000).toFixed(1)} s → ${(ms.recipe / 1000).toFixed(1)} s for ${n} digits, ${cfg.sampler.steps} ${cfg.sampler.kind.toUpperCase()} steps, guidance ${cfg.guidance}, no switching or reuse); ` +
    `training ${formatDuration(trainSeconds.reduce((a, x) => a + x, 0) / trainSeconds.length)} per run on average; ${teacherNote}`,
  verdict,
  why:
    `assembled − scratch ${(100 * diff).toFixed(1)} points, paired standard error ${(100 * se).toFixed(1)} (twins judged right by one student only: ${b} assembled, ${c} scratch)` +
    `${verdict === 'reproduced' ? ': a gain beyond 2 standard errors' : verdict === 'not reproduced' ? ': a loss beyond 2 standard errors' : ': within 2 standard errors'}. ` +
    `${args.seeds.length === 1 ? "One training seed per arm: the spread is the samples', not the training runs'. " : ''}The speed-up is ${speedup >= 1.224 ? 'at or above' : 'below'} the paper's 1.224×; UNets of 28×28 digits, not Stable Diffusion`,
  command: commandLine('asdm-assemble'),
  seconds: (Date.now() - started) / 1000,
  device: deviceLine(backend, load),
  seeds: args.seeds,
});
process.stderr.write('wrote the asdm-assemble row of docs/results.md\n');
