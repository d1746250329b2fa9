// BA-LoRA, its row of docs/results.md: the adapter trained with the three bias-alleviating
// regularizers (specs/ba-lora.scion's `Genre`: the paper's NLU recipe on the classifier's logits)
// against the same adapter trained on cross-entropy alone (`GenrePlain`), both PiSSA-initialized
// rank-8 LoRA on the q/v projections of the main job's trained TinyLlama with a new genre head,
// fine-tuned for Brown genre classification (15 genres). The claim (research/seeds.md §3.4): the
// regularizers raise accuracy over the same adapter without them (GLUE, DeBERTa-v3-base).
//
//   node --import tsx bench/reproduce/ba-lora.ts [--device D] [--seeds 1,2,3] [--out DIR]
//        [--base CKPT] [--steps N] [--jobs J]
//
// The base is specs/default.scion's TinyLlama, trained here at seed 1 into <out>/parent unless
// --base names an earlier run's model.safetensors (its tokenizer.json and summary.json beside it).
// Each seed trains both adapters from that base (the seed draws the head, dropout and data order;
// PiSSA's factors come from the base). --steps shortens every run alike; --jobs runs that many
// trainings at once (each its own `scion train` process; default 1). The row gives each arm's
// mean with a 95% t-interval over seeds, the majority-genre rate of the evaluated validation
// windows (the floor an accuracy must clear to show the task is learned) and the loss of predicting
// the training split's genre frequencies.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { explainModel } from '../../compiler/explain.ts';
import { findTrain, trainConfig } from '../../compiler/lower/lower-train-config.ts';
import { lowerModel } from '../../compiler/lower/lower-model.ts';
import { genreExamples } from '../../jobs/train/examples.ts';
import { evalIndexBatches } from '../../jobs/train/train-examples.ts';
import { BROWN_GENRES } from '../../runtime/data/index.ts';
import { readTokenizerJson } from '../../runtime/tokenizer/index.ts';
import { FINAL_EVAL_BATCHES, majorityRate, priorCrossEntropy } from '../ba-lora-genre.ts';
import { commandLine, deviceLine, loadProgram, parentOf, reproduceArgs, ROOT, positive } from './common.ts';
import { formatDuration, meanSpread, tInterval95, welchInterval95, writeRow, type Verdict } from './results-table.ts';

const SPEC = 'specs/ba-lora.scion';
const BASE_SPEC = 'specs/default.scion';

/** What a run's summary.json says (an adapter run's ExampleJobSummary, the fields used). */
export interface RunSummary {
  steps: number;
  valAccuracy: number | null;
  valLoss: number;
  wallSeconds: number;
  device: string;
}

/**
 * `scion train SPEC --model target` as its own process (its log in <out>/train.log), so that runs
 * can overlap: one Node process runs the reference backend on one core.
 */
function trainRun(target: string, o: { seed: number; init: string; device: string; out: string; steps: number | undefined }): Promise<RunSummary> {
  mkdirSync(o.out, { recursive: true });
  const log = openSync(join(o.out, 'train.log'), 'w');
  const argv = [
    join(ROOT, 'bin/scion.mjs'),
    'train',
    SPEC,
    '--model',
    target,
    '--init',
    o.init,
    '--seed',
    String(o.seed),
    '--device',
    o.device,
    '--out',
    o.out,
  ];
  if (o.steps !== undefined) argv.push('--steps', String(o.steps));
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', log, log] });
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('exit', (code) => {
      closeSync(log);
      if (code !== 0) return fail(new Error(`${target} seed ${o.seed} failed (exit ${code}): see ${join(o.out, 'train.log')}`));
      done(JSON.parse(readFileSync(join(o.out, 'summary.json'), 'utf8')) as RunSummary);
    });
  });
}

/** `work` over `items`, at most `jobs` at once; results in the items' order. */
export async function pool<T, R>(items: readonly T[], jobs: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const k = next++;
      out[k] = await work(items[k] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  return out;
}

/** "24.1 ± 1.3" with the interval's half-width, in percent or plain. */
function ci(values: readonly number[], scale: number, digits: number): string {
  const { mean, half } = tInterval95(values);
  return `${(scale * mean).toFixed(digits)} ± ${(scale * half).toFixed(digits)}`;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(ROOT, 'bench/reproduce/ba-lora.ts')) {
  const args = reproduceArgs('ba-lora', [1, 2, 3], ['base', 'steps', 'jobs']);
  const steps = positive(args.more['steps'], '--steps');
  const jobs = positive(args.more['jobs'], '--jobs') ?? 1;
  const started = Date.now();
  const load = loadavg()[0] ?? 0;
  const program = loadProgram(SPEC);
  const base = await parentOf(loadProgram(BASE_SPEC), 'TinyLlama', args.more['base'], args.out, args.device);
  const baseSummary = JSON.parse(readFileSync(join(dirname(base.model), 'summary.json'), 'utf8')) as { bitsPerByte?: number | null; steps?: number };
  const tokenizerPath = join(dirname(base.model), 'tokenizer.json');
  if (!existsSync(tokenizerPath)) throw new Error(`${tokenizerPath}: the base's tokenizer is missing (scion train writes it beside model.safetensors)`);

  const plan = args.seeds.flatMap((seed) => (['Genre', 'GenrePlain'] as const).map((target) => ({ seed, target })));
  // The runs start first (own processes); the floors are computed here meanwhile.
  const running = pool(plan, jobs, async ({ seed, target }) => {
    const r = await trainRun(target, { seed, init: base.model, device: args.device, out: join(args.out, `${target}-seed-${seed}`), steps });
    process.stderr.write(
      `seed ${seed} ${target}: validation accuracy ${(100 * (r.valAccuracy ?? Number.NaN)).toFixed(1)}%, loss ${r.valLoss.toFixed(4)}, ${formatDuration(r.wallSeconds)}\n`,
    );
    return r;
  });
  // The floors, over the windows the final evaluation reads (as bench/ba-lora-genre.ts reports them).
  const ctx = Number(lowerModel(program, 'GenreClassifier', { dims: { batch: 1 } }).instance.params['ctx']);
  const decl = findTrain(program, 'Genre');
  if (decl === undefined) throw new Error(`${SPEC} has no train Genre`);
  const batch = trainConfig(decl, program).batch;
  const tokenizer = await readTokenizerJson(tokenizerPath);
  const val = genreExamples({ source: 'brown', args: { split: 'val' }, where: SPEC }, tokenizer, ctx, BROWN_GENRES);
  const evaluated = Int32Array.from(evalIndexBatches(val.count, batch, FINAL_EVAL_BATCHES).flatMap((b) => [...b]));
  const majority = majorityRate(val.labels, evaluated);
  const trainSet = genreExamples({ source: 'brown', args: { split: 'train' }, where: SPEC }, tokenizer, ctx, BROWN_GENRES);
  const prior = priorCrossEntropy(
    trainSet.labels,
    Int32Array.from(evaluated, (i) => val.labels[i] as number),
    BROWN_GENRES.length,
  );

  const done = await running;
  const runs = { Genre: done.filter((_, k) => plan[k]?.target === 'Genre'), GenrePlain: done.filter((_, k) => plan[k]?.target === 'GenrePlain') };

  const acc = (rs: RunSummary[]): number[] =>
    rs.map((r) => {
      if (r.valAccuracy === null) throw new Error('an adapter run reported no validation accuracy: not a classifier?');
      return r.valAccuracy;
    });
  const loss = (rs: RunSummary[]): number[] => rs.map((r) => r.valLoss);
  const ba = acc(runs.Genre);
  const plain = acc(runs.GenrePlain);
  const diff = welchInterval95(ba, plain);
  const lossDiff = welchInterval95(loss(runs.GenrePlain), loss(runs.Genre));
  // The task counts as learned when both arms' intervals clear the majority floor.
  const learned = [ba, plain].every((a) => {
    const { mean, half } = tInterval95(a);
    return mean - half > majority.rate;
  });
  const verdict: Verdict = args.seeds.length < 2 || !learned ? 'inconclusive' : diff.low > 0 ? 'reproduced' : diff.high < 0 ? 'not reproduced' : 'inconclusive';
  const pp = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
  const why =
    args.seeds.length < 2
      ? 'one seed gives no interval'
      : `${learned ? 'both arms clear' : 'not both arms clear'} the majority floor of ${(100 * majority.rate).toFixed(1)}% with their 95% intervals; ` +
        `BA-LoRA − LoRA accuracy ${pp(diff.mean)} points, 95% interval [${pp(diff.low)}, ${pp(diff.high)}] (Welch); ` +
        `loss lower by ${lossDiff.mean.toFixed(3)} [${lossDiff.low.toFixed(3)}, ${lossDiff.high.toFixed(3)}] nats. ` +
        `Both arms are PiSSA-initialized, so this isolates the regularizers (the paper's BA-LoRA vs PiSSA). ` +
        `A ${(explainModel(loadProgram(BASE_SPEC), 'TinyLlama').params / 1e6).toFixed(1)}M-parameter base and ${runs.Genre[0]?.steps} steps, not DeBERTa-v3 on GLUE`;
  const meanTime = meanSpread([...runs.Genre, ...runs.GenrePlain].map((r) => r.wallSeconds)).mean;
  writeRow({
    id: 'ba-lora',
    claim:
      'BA-LoRA: the three regularizers (consistency, diversity, SVD energy; NLU recipe on the logits) raise a LoRA classifier’s accuracy over the same adapter without them',
    paper:
      'GLUE average, DeBERTa-v3-base: BA-LoRA 90.67, +1.20 over PiSSA (the same adapter without the regularizers) and +2.11 over LoRA (ICLR, secondary notes); arXiv-era BA-LoRA 89.91, PiSSA 89.47, LoRA 88.56',
    scion:
      `Brown genre (15 classes), validation accuracy on ${majority.count} windows of ${ctx} tokens after ${runs.Genre[0]?.steps} steps, mean ± 95% t-interval (n = ${args.seeds.length}): ` +
      `BA-LoRA ${ci(ba, 100, 1)}%, plain LoRA ${ci(plain, 100, 1)}% (majority genre ${(100 * majority.rate).toFixed(1)}%); ` +
      `validation loss (cross-entropy, nats): BA-LoRA ${ci(loss(runs.Genre), 1, 3)}, plain LoRA ${ci(loss(runs.GenrePlain), 1, 3)} (training-split prior ${prior.toFixed(3)}). ` +
      `Base: default.scion's TinyLlama, ${baseSummary.steps ?? '?'} steps, validation ${baseSummary.bitsPerByte == null ? `loss ${base.valLoss.toFixed(3)} nats/token` : `${baseSummary.bitsPerByte.toFixed(2)} bits per byte`}` +
      `${base.reused ? ` (an earlier run's, reused with --base; its ${formatDuration(base.wallSeconds)} not in this run time)` : ` (trained here in ${formatDuration(base.wallSeconds)})`}; ` +
      `each adapter run ${formatDuration(meanTime)} on average`,
    verdict,
    why,
    command: commandLine('ba-lora'),
    seconds: (Date.now() - started) / 1000,
    device: deviceLine(runs.Genre[0]?.device ?? base.device, load),
    seeds: args.seeds,
  });
  process.stderr.write('wrote the ba-lora row of docs/results.md\n');
}
