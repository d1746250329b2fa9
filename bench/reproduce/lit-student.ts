// LiT's linear-attention student, its row of docs/results.md: specs/lit.scion's LiT (every DiT
// block's attention made linear) trained two ways for the same steps — the paper's recipe (every
// weight but attention inherited from the trained DiT teacher, `inherit LiT from DiT`, and hybrid
// distillation: the spec's `train LiT` with `teacher = DiT frozen`) and from scratch (random init,
// the diffusion loss alone) — judged by the DigitCNN every `--every` steps. The claim
// (research/seeds.md §4): with weight inheritance and hybrid distillation a linear student reaches
// its softmax teacher's quality in a fraction of the steps training from scratch needs. The row
// gives the steps each arm needed to reach the teacher's judged accuracy.
//
//   node --import tsx bench/reproduce/lit-student.ts --dit CKPT [--judge CKPT] [--device D]
//        [--seeds 1] [--steps N] [--every K] [--count N] [--out DIR]
//
// --dit is required: the trained teacher's weights (e.g. `scion train specs/lit.scion --model
// DiT`'s model-ema.safetensors, with its summary.json and metrics.jsonl beside it); the student
// inherits from them and distils from them. --judge reuses a trained DigitCNN. Every arm and the
// teacher are sampled with the teacher's sampler (the `sample DiT` block) and the same seed, so
// the judged shares differ only by the weights. A checkpoint counts as having reached the teacher
// when its share is not below the teacher's by more than two standard errors of the difference.

import { loadavg } from 'node:os';
import { join } from 'node:path';
import { deviceWords } from '../../backends/registry.ts';
import { sampleConfig, type SampleConfig } from '../../compiler/objectives/diffusion-sample-config.ts';
import {
  commandLine,
  deviceLine,
  drawAndJudge,
  everyCheckpoint,
  formatShare,
  inherit,
  judgeOf,
  loadProgram,
  replaceIn,
  reproduceArgs,
  reusedRun,
  train,
  weightsAtCheckpoint,
  withTrainBlock,
  positive,
} from './common.ts';
import { checkpointPath } from '../../runtime/train/checkpoint.ts';
import { formatDuration, writeRow, type Verdict } from './results-table.ts';

const SPEC = 'specs/lit.scion';
const TEACHER = 'DiT';
const STUDENT = 'LiT';

const args = reproduceArgs('lit-student', [1], ['dit', 'judge', 'count', 'steps', 'every']);
const given = args.more['dit'];
if (given === undefined) throw new Error('--dit CKPT: the trained DiT teacher (e.g. runs/DiT/model-ema.safetensors, with its summary.json and metrics.jsonl)');
const count = positive(args.more['count'], '--count') ?? 20;
const steps = positive(args.more['steps'], '--steps') ?? 2000;
const every = positive(args.more['every'], '--every') ?? 500;
if (steps % every !== 0) throw new Error(`--steps ${steps} must be a multiple of --every ${every}`);
const started = Date.now();
const load = loadavg()[0] ?? 0;
const teacher = reusedRun('dit', given);
const program = loadProgram(SPEC);
// The recipe is the spec's own train block; scratch drops the teacher and keeps the loss's first
// term (the diffusion loss). Both keep every checkpoint, to be judged along the way.
const recipe = withTrainBlock(SPEC, STUDENT, (b) => everyCheckpoint(b, every, steps));
const scratch = withTrainBlock(SPEC, STUDENT, (b) =>
  everyCheckpoint(replaceIn(replaceIn(b, /^\s*teacher = .*\n/m, ''), /^(\s*loss = )(diffusion\([^)]*\)).*$/m, '$1$2'), every, steps),
);
const judge = await judgeOf(args.more['judge'], args.out, args.device);
process.stderr.write(`judge ${judge.model}: ${(100 * judge.testAccuracy).toFixed(2)}% on the MNIST test split${judge.reused ? ' (reused)' : ''}\n`);
const init = await inherit(program, teacher.weights, join(args.out, 'inherited'));

/** Hits of `n` judged right: a share and its sampling variance. */
interface Share {
  hits: number;
  n: number;
}
const p = (s: Share): number => s.hits / s.n;
/** The student has reached the teacher unless it is below by more than 2 standard errors of the difference. */
const reached = (s: Share, t: Share): boolean => p(s) - p(t) >= -2 * Math.sqrt((p(s) * (1 - p(s))) / s.n + (p(t) * (1 - p(t))) / t.n);

let backend: string = args.device;
const seedNotes: string[] = [];
const firstReached: Record<'recipe' | 'scratch', (number | null)[]> = { recipe: [], scratch: [] };
const finalShares: Record<'recipe' | 'scratch', Share[]> = { recipe: [], scratch: [] };
const trainSeconds: Record<'recipe' | 'scratch', number[]> = { recipe: [], scratch: [] };
let teacherShares: Share[] = [];
for (const seed of args.seeds) {
  const teacherCfg = { ...sampleConfig(program, TEACHER), count, seed };
  // The student drawn exactly as the teacher is: its sampler, guidance, classes and seed.
  const studentCfg: SampleConfig = { ...teacherCfg, target: STUDENT, switch: [] };
  const t = await drawAndJudge(program, teacherCfg, {
    weights: teacher.weights,
    reuse: false,
    device: args.device,
    judge,
    stem: join(args.out, `teacher-seed-${seed}`),
  });
  backend = t.draw.device;
  const ts: Share = { hits: t.hits, n: t.report.count };
  teacherShares = [...teacherShares, ts];
  process.stderr.write(`seed ${seed}: teacher ${formatShare(ts.hits, ts.n)}\n`);
  const curves: string[] = [];
  for (const arm of ['recipe', 'scratch'] as const) {
    const out = join(args.out, `${arm}-seed-${seed}`);
    const r = await train(arm === 'recipe' ? recipe : scratch, STUDENT, {
      outDir: out,
      device: args.device,
      seed,
      steps,
      ...(arm === 'recipe' ? { init, frozen: new Map([[TEACHER, teacher.weights]]) } : {}),
    });
    trainSeconds[arm].push(r.summary.wallSeconds);
    const curve: string[] = [];
    let first: number | null = null;
    let last: Share = { hits: 0, n: 1 };
    for (let step = every; step <= steps; step += every) {
      const weights = await weightsAtCheckpoint(
        arm === 'recipe' ? recipe : scratch,
        STUDENT,
        checkpointPath(join(out, 'checkpoints'), step),
        join(out, `weights-${step}.safetensors`),
      );
      const d = await drawAndJudge(program, studentCfg, { weights, reuse: false, device: args.device, judge, stem: join(out, `samples-${step}`) });
      last = { hits: d.hits, n: d.report.count };
      if (first === null && reached(last, ts)) first = step;
      curve.push(`${step}: ${(100 * p(last)).toFixed(1)}%`);
      process.stderr.write(`seed ${seed} ${arm} step ${step}: ${formatShare(last.hits, last.n)}${first === step ? ' (reached the teacher)' : ''}\n`);
    }
    firstReached[arm].push(first);
    finalShares[arm].push(last);
    curves.push(`${arm === 'recipe' ? 'inherited + distilled' : 'scratch'} ${curve.join(', ')}`);
  }
  seedNotes.push(`seed ${seed}: ${curves.join('; ')}`);
}

const words = (arm: 'recipe' | 'scratch'): string => firstReached[arm].map((s) => (s === null ? `not within ${steps} steps` : `${s} steps`)).join(', ');
const sum = (xs: readonly Share[]): Share => xs.reduce((a, x) => ({ hits: a.hits + x.hits, n: a.n + x.n }), { hits: 0, n: 0 });
const teacherAll = sum(teacherShares);
const recipeFinal = sum(finalShares.recipe);
const scratchFinal = sum(finalShares.scratch);
// Reproduced: every seed's recipe reaches the teacher, earlier than scratch does (or scratch never).
const faster = args.seeds.every((_, i) => {
  const a = firstReached.recipe[i];
  const b = firstReached.scratch[i];
  return a !== undefined && a !== null && (b === null || (b !== undefined && a < b));
});
const slower = args.seeds.every((_, i) => {
  const a = firstReached.recipe[i];
  const b = firstReached.scratch[i];
  return b !== undefined && b !== null && (a === null || (a !== undefined && b <= a));
});
const verdict: Verdict = faster ? 'reproduced' : slower ? 'not reproduced' : 'inconclusive';
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const teacherNote = `teacher ${TEACHER} (EMA weights) trained ${teacher.steps} steps in ${formatDuration(teacher.wallSeconds)} on ${deviceWords(teacher.device)} (an earlier run, reused with --dit; not in this run time)`;
writeRow({
  id: 'lit-student',
  claim: `LiT: a linear-attention student (${STUDENT} of ${SPEC}) with weight inheritance and hybrid distillation from its softmax DiT teacher reaches the teacher's judged accuracy in fewer steps than the same student from scratch`,
  paper:
    'LiT-XL/2-G matches DiT-XL/2-G (FID 2.32 vs 2.27, ImageNet 256) in 20% of its training steps (1.4M vs 7M); LiT-S/2 FID 63.24 from scratch → 54.80 inherited → 50.79 inherited + hybrid distillation (research/seeds.md §4.2–4.4)',
  scion:
    `teacher judged right ${formatShare(teacherAll.hits, teacherAll.n)}; steps to reach it (checked every ${every}): inherited + distilled ${words('recipe')}, from scratch ${words('scratch')}; ` +
    `at ${steps} steps: inherited + distilled ${formatShare(recipeFinal.hits, recipeFinal.n)}, scratch ${formatShare(scratchFinal.hits, scratchFinal.n)}; ` +
    `${count} samples per digit, ${teacherCfgWords()}; student training ${formatDuration(mean(trainSeconds.recipe))} (with the teacher's forward) and ${formatDuration(mean(trainSeconds.scratch))} per seed; ${teacherNote}`,
  verdict,
  why:
    `${faster ? 'the inherited, distilled student reached the teacher at an earlier checkpoint than the student from scratch' : slower ? 'the student from scratch reached the teacher no later than the inherited, distilled one' : 'neither arm reached the teacher ahead of the other within the steps run'}` +
    ` (reached: not below the teacher's share by more than 2 standard errors). ${seedNotes.join('. ')}. A ${(teacher.steps / 1000).toFixed(0)}k-step DiT teacher on MNIST, not the paper's ImageNet DiTs`,
  command: commandLine('lit-student'),
  seconds: (Date.now() - started) / 1000,
  device: deviceLine(backend, load),
  seeds: args.seeds,
});
process.stderr.write('wrote the lit-student row of docs/results.md\n');

function teacherCfgWords(): string {
  const c = sampleConfig(program, TEACHER);
  return `${c.sampler.steps} ${c.sampler.kind.toUpperCase()} steps, guidance ${c.guidance} (the sample ${TEACHER} block, for teacher and students)`;
}
