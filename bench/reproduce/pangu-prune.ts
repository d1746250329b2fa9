// PanGu-π Pro's intra-layer selection, its row of docs/results.md: the child of
// bench/reproduce/specs/pangu-inherit.scion inherited with units chosen by importance (the spec's
// `dim = l2`, `heads = taylor`, `ffn = activation`) against the same child with the same layers
// but units chosen at random, both trained the same steps. The claim (research/seeds.md §1.4):
// "data-driven learnable criteria" beat heuristics, and any criterion beats no inheritance.
//
//   node --import tsx bench/reproduce/pangu-prune.ts [--device D] [--seeds 1,2,3] [--out DIR]
//        [--parent CKPT]
//
// --parent reuses a trained parent (e.g. pangu-inherit.ts's runs/reproduce/pangu-inherit/parent/
// model.safetensors); without it the parent is trained here first, as pangu-inherit.ts trains it.
// Each seed draws its own random selection, so the random arm's spread includes the draw's.

import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { Prng } from '../../runtime/data/prng.ts';
import { commandLine, deviceLine, inherit, loadProgramText, type ModelRun, parentOf, reproduceArgs, ROOT, train } from './common.ts';
import { formatDuration, formatMeanSpread, meanSpread, writeRow, type Verdict } from './results-table.ts';

const SPEC = 'bench/reproduce/specs/pangu-inherit.scion';
/** Parent → child unit counts of the spec's Parent and Child (a test keeps them in step). */
export const UNITS = { dim: [128, 64], ffn: [344, 172] } as const;
/** Parent: 4 query heads over 2 KV heads; the child keeps one whole group of 2. */
const HEAD_GROUPS = 2;

/** `k` of `0…n−1`, ascending, drawn by `prng`. */
export function randomSubset(prng: Prng, n: number, k: number): number[] {
  return Array.from(prng.permutation(n).subarray(0, k)).sort((a, b) => a - b);
}

/** The spec's text with the inherit block's unit rules replaced by a random selection of `seed`. */
export function randomInheritText(text: string, seed: number): string {
  const prng = new Prng(seed);
  const group = prng.nextInt(HEAD_GROUPS);
  const body = [
    '  layers = keep_ends(first = 1, last = 1)',
    `  dim = [${randomSubset(prng, UNITS.dim[0], UNITS.dim[1]).join(', ')}]`,
    `  heads = [${2 * group}, ${2 * group + 1}]`,
    `  ffn = [${randomSubset(prng, UNITS.ffn[0], UNITS.ffn[1]).join(', ')}]`,
  ].join('\n');
  const re = /(inherit Child from Parent at "[^"]*" \{\n)[\s\S]*?(\n\})/;
  if (!re.test(text)) throw new Error(`${SPEC}: no 'inherit Child from Parent at "…" {' block to replace`);
  return text.replace(re, `$1${body}$2`);
}

const valLoss = (r: ModelRun): number => {
  if (r.kind !== 'lm') throw new Error(`expected a language-model run, got ${r.kind}`);
  return r.summary.valLoss;
};

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(ROOT, 'bench/reproduce/pangu-prune.ts')) {
  const args = reproduceArgs('pangu-prune', [1, 2, 3], ['parent']);
  const started = Date.now();
  const load = loadavg()[0] ?? 0;
  const text = readFileSync(resolve(ROOT, SPEC), 'utf8');
  const program = loadProgramText(text, SPEC);

  const parent = await parentOf(program, 'Parent', args.more['parent'], args.out, args.device);
  let backend = parent.device;
  const importanceInit = await inherit(program, parent.model, join(args.out, 'importance'));

  const importance: number[] = [];
  const random: number[] = [];
  let steps = 0;
  for (const seed of args.seeds) {
    const randomProgram = loadProgramText(randomInheritText(text, seed), SPEC);
    const randomInit = await inherit(randomProgram, parent.model, join(args.out, `random-units-${seed}`));
    const a = await train(program, 'Child', { outDir: join(args.out, `importance-seed-${seed}`), device: args.device, seed, init: importanceInit });
    const b = await train(program, 'Child', { outDir: join(args.out, `random-seed-${seed}`), device: args.device, seed, init: randomInit });
    importance.push(valLoss(a));
    random.push(valLoss(b));
    steps = a.summary.steps;
    backend = a.summary.device;
    process.stderr.write(`seed ${seed}: validation loss by importance ${valLoss(a).toFixed(4)}, random units ${valLoss(b).toFixed(4)}\n`);
  }

  const i = meanSpread(importance);
  const r = meanSpread(random);
  const gap = r.mean - i.mean;
  const noise = 2 * Math.sqrt(i.sd ** 2 / i.n + r.sd ** 2 / r.n);
  const verdict: Verdict = args.seeds.length < 2 ? 'inconclusive' : gap > noise ? 'reproduced' : gap < -noise ? 'not reproduced' : 'inconclusive';
  writeRow({
    id: 'pangu-prune',
    claim: 'PanGu-π Pro: inheriting units chosen by importance beats inheriting units chosen at random (same layers, equal steps)',
    paper:
      'no random-selection figure; criteria compared (ARC-E/HellaSwag/C3 avg, secondary notes): random init 42.06, L1 46.06, L2 47.00, Taylor 47.90, learnable mask 48.08',
    scion: `validation loss (nats/token) after ${steps} steps: by importance ${formatMeanSpread(importance)}, random units ${formatMeanSpread(random)}`,
    verdict,
    why:
      args.seeds.length < 2
        ? 'one seed gives no spread'
        : `importance is ${gap >= 0 ? 'lower' : 'higher'} by ${Math.abs(gap).toFixed(3)} nats/token against a noise bar of ${noise.toFixed(3)} (2 standard errors); ` +
          `l2/taylor/activation here, not the paper's learned mask; the parent reached ${parent.valLoss.toFixed(3)} in ${formatDuration(parent.wallSeconds)}` +
          `${parent.reused ? ' (an earlier run, reused with --parent; not in this run time)' : ''}`,
    command: commandLine('pangu-prune'),
    seconds: (Date.now() - started) / 1000,
    device: deviceLine(backend, load),
    seeds: args.seeds,
  });
  process.stderr.write('wrote the pangu-prune row of docs/results.md\n');
}
