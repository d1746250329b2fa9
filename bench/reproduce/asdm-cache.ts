// A-SDM's feature inheritance, its row of docs/results.md: the same trained UNet (specs/a-sdm.scion)
// sampled twice with the same seeds and starting noise — every step a full pass, then with the
// `sample UNet` block's `reuse = cache(tap, every = N)` (full passes on every N-th step, the rest
// recompute only what the tap does not cover) — timing the sampling loop and judging both sets with
// the DigitCNN. The claim (research/seeds.md §2.1): feature inheritance makes SDM +40.0% faster;
// the abstracts give no figure for its quality cost.
//
//   node --import tsx bench/reproduce/asdm-cache.ts --unet CKPT [--judge CKPT] [--device D]
//        [--seeds 1] [--count N] [--out DIR]
//
// --unet is required: the trained UNet's weights (e.g. bench/reproduce/unet-digits.ts's run, its
// model-ema.safetensors); --judge reuses a trained DigitCNN, else one is trained here. The same
// seed gives both arms the same noise, so each sample has a twin and the accuracy difference is
// tested as paired (McNemar's discordant pairs). The load is recorded, as the machine is shared.

import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { sampleConfig } from '../../compiler/objectives/diffusion-sample-config.ts';
import { commandLine, deviceLine, discordant, drawAndJudge, formatShare, judgeOf, loadProgram, pairedDifference, reproduceArgs } from './common.ts';
import { writeRow, type Verdict } from './results-table.ts';

const SPEC = 'specs/a-sdm.scion';
const MODEL = 'UNet';
/** Faster than this (plain ÷ cached wall time) counts as a speed-up beyond a shared machine's timing noise. */
const SPEEDUP_BAR = 1.2;

const args = reproduceArgs('asdm-cache', [1], ['unet', 'judge', 'count']);
const given = args.more['unet'];
if (given === undefined) throw new Error('--unet CKPT: the trained UNet to sample (e.g. runs/reproduce/unet-digits/unet-seed-1/model-ema.safetensors)');
const weights = resolve(given);
const count = Number(args.more['count'] ?? 20);
if (!Number.isInteger(count) || count < 1) throw new Error(`--count ${args.more['count']}: samples per digit, a positive integer`);
const started = Date.now();
const load = loadavg()[0] ?? 0;
const program = loadProgram(SPEC);
const cfg = sampleConfig(program, MODEL);
const reuse = cfg.reuse;
if (reuse === undefined) throw new Error(`${SPEC}: the sample ${MODEL} block has no reuse = cache(…) to measure`);
const judge = await judgeOf(args.more['judge'], args.out, args.device);

let plainMs = 0;
let cachedMs = 0;
let plainHits = 0;
let cachedHits = 0;
let n = 0;
/** Twins judged right in one arm only: plain only (b), cached only (c). */
let b = 0;
let c = 0;
let passes = '';
let backend: string = args.device;
const loads: string[] = [];
for (const seed of args.seeds) {
  const arm = async (on: boolean) => {
    loads.push((loadavg()[0] ?? 0).toFixed(1));
    const stem = join(args.out, `${on ? 'cached' : 'plain'}-seed-${seed}`);
    return drawAndJudge(program, { ...cfg, count, seed }, { weights, reuse: on, device: args.device, judge, stem });
  };
  const plain = await arm(false);
  const cached = await arm(true);
  backend = cached.draw.device;
  plainMs += plain.draw.ms;
  cachedMs += cached.draw.ms;
  plainHits += plain.hits;
  cachedHits += cached.hits;
  n += plain.report.count;
  const d = discordant(plain, cached);
  b += d.aOnly;
  c += d.bOnly;
  passes = cached.draw.passes.map((x) => `${x.full} full + ${x.partial} partial passes`).join(', ');
  process.stderr.write(
    `seed ${seed}: plain ${(plain.draw.ms / 1000).toFixed(1)} s, ${formatShare(plain.hits, plain.report.count)}; cached ${(cached.draw.ms / 1000).toFixed(1)} s, ${formatShare(cached.hits, cached.report.count)}\n`,
  );
}

const speedup = plainMs / cachedMs;
// Paired difference of the two shares (cached − plain) and its standard error from the discordant twins.
const { diff, se } = pairedDifference(plainHits, cachedHits, n, b, c);
const lossShows = diff < -2 * se;
const verdict: Verdict = speedup >= SPEEDUP_BAR && !lossShows ? 'reproduced' : speedup < 1 || lossShows ? 'not reproduced' : 'inconclusive';
const tap = `cache("${reuse.tap}", ${'every' in reuse ? `every = ${reuse.every}` : `steps = [${reuse.steps.join(', ')}]`})`;
writeRow({
  id: 'asdm-cache',
  claim: `A-SDM: feature inheritance (reuse = ${tap}) speeds sampling up without hurting the samples (${MODEL} of ${SPEC}, same model, seeds and noise)`,
  paper: 'feature inheritance makes SDM +40.0% faster (arXiv 2406.00210 abstract); no quality figure in the abstracts',
  scion: `sampling ${speedup.toFixed(2)}× as fast (${(plainMs / 1000).toFixed(1)} s → ${(cachedMs / 1000).toFixed(1)} s for ${n} digits, ${cfg.sampler.steps} ${cfg.sampler.kind.toUpperCase()} steps; cached: ${passes}); judged right: plain ${formatShare(plainHits, n)}, cached ${formatShare(cachedHits, n)}`,
  verdict,
  why: `${speedup >= SPEEDUP_BAR ? 'faster' : 'not faster'} than the ${SPEEDUP_BAR}× bar for timing noise; accuracy cached − plain ${(100 * diff).toFixed(1)} points, paired standard error ${(100 * se).toFixed(1)} (of the sample twins judged differently: ${b} right only plain, ${c} only cached)${lossShows ? ': a loss beyond 2 standard errors' : ': no loss beyond 2 standard errors'}. Load average at each arm's start: ${loads.join(', ')}`,
  command: commandLine('asdm-cache'),
  seconds: (Date.now() - started) / 1000,
  device: deviceLine(backend, load),
  seeds: args.seeds,
});
process.stderr.write('wrote the asdm-cache row of docs/results.md\n');
