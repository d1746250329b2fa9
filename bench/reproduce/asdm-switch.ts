// A-SDM's multi-UNet switching, its row of docs/results.md: the `sample SmallUNet` block of
// specs/a-sdm.scion (`switch = [SmallUNet when t > …, UNet]`: the small assembled UNet for the
// noisy early steps, the teacher for the rest) against the teacher alone and the small UNet alone,
// with the same sampler, guidance, seeds and starting noise; every sample judged by the DigitCNN and
// the sampling loop timed. The claim (research/seeds.md §2.1–2.2): switching to the compressed UNet
// for the early steps speeds sampling up. Feature reuse is off in every arm (asdm-cache.ts measures
// it), so the row isolates the switch.
//
//   node --import tsx bench/reproduce/asdm-switch.ts --unet CKPT --small CKPT [--judge CKPT]
//        [--device D] [--seeds 1] [--count N] [--out DIR]
//
// --unet: the trained teacher's weights; --small: the trained SmallUNet's (e.g. asdm-assemble.ts's
// <out>/assembled-seed-1/model.safetensors). --judge reuses a trained DigitCNN. The accuracy of
// switching against the teacher alone is tested as paired (the same seed gives both the same noise).

import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { sampleConfig, type SampleConfig } from '../../compiler/objectives/diffusion-sample-config.ts';
import {
  commandLine,
  deviceLine,
  discordant,
  drawAndJudge,
  formatShare,
  judgeOf,
  type JudgedDraw,
  loadProgram,
  pairedDifference,
  reproduceArgs,
  positive,
} from './common.ts';
import { writeRow, type Verdict } from './results-table.ts';

const SPEC = 'specs/a-sdm.scion';
const TEACHER = 'UNet';
const STUDENT = 'SmallUNet';
/** Faster than this (teacher ÷ switched wall time) counts as a speed-up beyond a shared machine's timing noise. */
const SPEEDUP_BAR = 1.1;

const args = reproduceArgs('asdm-switch', [1], ['unet', 'small', 'judge', 'count']);
const unet = args.more['unet'];
const small = args.more['small'];
if (unet === undefined || small === undefined)
  throw new Error('--unet CKPT --small CKPT: the trained teacher UNet and the trained SmallUNet (e.g. from bench/reproduce/asdm-assemble.ts)');
const count = positive(args.more['count'], '--count') ?? 20;
const started = Date.now();
const load = loadavg()[0] ?? 0;
const program = loadProgram(SPEC);
const block = sampleConfig(program, STUDENT);
const [first, rest] = block.switch;
if (block.switch.length !== 2 || first?.when === undefined || rest === undefined)
  throw new Error(`${SPEC}: the sample ${STUDENT} block should switch between two models (switch = [A when t > T, B]) to be measured`);
// The same rule with the models the other way round: which of the two belongs on the noisy steps.
const reversed: SampleConfig['switch'] = [{ model: rest.model, when: first.when }, { model: first.model }];
const judge = await judgeOf(args.more['judge'], args.out, args.device);
const weights = new Map<string | null, string>([
  [TEACHER, resolve(unet)],
  [STUDENT, resolve(small)],
]);

const arms = ['teacher', 'switched', 'small', 'reversed'] as const;
type Arm = (typeof arms)[number];
const hits: Record<Arm, number> = { teacher: 0, switched: 0, small: 0, reversed: 0 };
const ms: Record<Arm, number> = { teacher: 0, switched: 0, small: 0, reversed: 0 };
const passesOf: Record<Arm, string> = { teacher: '', switched: '', small: '', reversed: '' };
let n = 0;
/** Twins judged right in one arm only: the teacher alone (b), switched (c). */
let b = 0;
let c = 0;
let backend: string = args.device;
for (const seed of args.seeds) {
  const base: SampleConfig = { ...block, count, seed };
  const cfgOf: Record<Arm, SampleConfig> = {
    teacher: { ...base, target: TEACHER, switch: [] },
    switched: base,
    small: { ...base, switch: [] },
    reversed: { ...base, switch: reversed },
  };
  const runs: JudgedDraw[] = [];
  for (const arm of arms)
    runs.push(await drawAndJudge(program, cfgOf[arm], { weights, reuse: false, device: args.device, judge, stem: join(args.out, `${arm}-seed-${seed}`) }));
  const [t, s] = runs as [JudgedDraw, JudgedDraw];
  arms.forEach((arm, i) => {
    const r = runs[i] as JudgedDraw;
    hits[arm] += r.hits;
    ms[arm] += r.draw.ms;
    passesOf[arm] = r.draw.passes.map((x) => `${x.model} ${x.full}`).join(' + ');
  });
  backend = s.draw.device;
  n += t.report.count;
  const d = discordant(t, s);
  b += d.aOnly;
  c += d.bOnly;
  const line = arms.map((a, i) => {
    const r = runs[i] as JudgedDraw;
    return `${a} ${formatShare(r.hits, r.report.count)} in ${(r.draw.ms / 1000).toFixed(1)} s`;
  });
  process.stderr.write(`seed ${seed}: ${line.join('; ')}\n`);
}

const speedup = ms.teacher / ms.switched;
const { diff, se } = pairedDifference(hits.teacher, hits.switched, n, b, c);
const lossShows = diff < -2 * se;
const verdict: Verdict = speedup >= SPEEDUP_BAR && !lossShows ? 'reproduced' : speedup < 1 || lossShows ? 'not reproduced' : 'inconclusive';
const words = (sw: SampleConfig['switch']): string =>
  sw.map((x) => (x.when === undefined ? x.model : `${x.model} when t ${x.when.op} ${x.when.value}`)).join(', ');
const rule = words(block.switch);
const sampler = `${block.sampler.steps} ${block.sampler.kind.toUpperCase()} steps, guidance ${block.guidance}`;
writeRow({
  id: 'asdm-switch',
  claim: `A-SDM: multi-UNet switching (switch = [${rule}]: the assembled ${STUDENT} for the noisy steps) samples faster than the teacher alone without hurting the samples (${SPEC})`,
  paper:
    'multi-UNet switching improves speed, the compressed UNet taking the early (noisy) steps (arXiv 2406.00210; no figure for switching alone in the abstracts)',
  scion:
    `sampling ${speedup.toFixed(2)}× as fast as the teacher alone (${(ms.teacher / 1000).toFixed(1)} s → ${(ms.switched / 1000).toFixed(1)} s for ${n} digits, ${sampler}, no feature reuse; passes: ${passesOf.switched}); ` +
    `judged right: teacher ${formatShare(hits.teacher, n)}, switched ${formatShare(hits.switched, n)}, ${STUDENT} alone ${formatShare(hits.small, n)} in ${(ms.small / 1000).toFixed(1)} s; ` +
    `the other way round (switch = [${words(reversed)}], passes ${passesOf.reversed}) ${formatShare(hits.reversed, n)} in ${(ms.reversed / 1000).toFixed(1)} s`,
  verdict,
  why: `${speedup >= SPEEDUP_BAR ? 'faster' : 'not faster'} than the ${SPEEDUP_BAR}× bar for timing noise; accuracy switched − teacher ${(100 * diff).toFixed(1)} points, paired standard error ${(100 * se).toFixed(1)} (twins judged right in one arm only: ${b} teacher, ${c} switched)${lossShows ? ': a loss beyond 2 standard errors' : ': no loss beyond 2 standard errors'}`,
  command: commandLine('asdm-switch'),
  seconds: (Date.now() - started) / 1000,
  device: deviceLine(backend, load),
  seeds: args.seeds,
});
process.stderr.write('wrote the asdm-switch row of docs/results.md\n');
