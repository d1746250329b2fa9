// Experiment report (not a timed benchmark): BA-LoRA vs plain LoRA genre classification, as
// specs/ba-lora.scion trains them (`scion train specs/ba-lora.scion --model Genre|GenrePlain`) on
// the main job's trained TinyLlama. The spec does the training; this script supplies what the runs
// do not print — the majority-class rate of the validation windows (the floor an accuracy has to
// beat), over the whole split and over the windows `scion train`'s final evaluation reads, and the
// validation loss of predicting the training split's class frequencies (the loss to beat) — and
// gathers the runs' summary.json files into one markdown table.
//
//   node --import tsx bench/ba-lora-genre.ts [--tokenizer runs/TinyLlama/tokenizer.json] [--ctx 64]
//        [--batch 16] [RUN_DIR…]
//
// A run folder's seed is read from its name (`…seed<N>…`), since summary.json does not hold it.

import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { genreExamples } from '../jobs/train/examples.ts';
import { evalIndexBatches } from '../jobs/train/train-examples.ts';
import { BROWN_GENRES } from '../runtime/data/index.ts';
import { readTokenizerJson } from '../runtime/tokenizer/index.ts';

/** Final evaluation batches of `scion train` for classification (ExampleTrainPlan.evalBatchesFinal). */
export const FINAL_EVAL_BATCHES = 32;

export interface MajorityRate {
  /** The most frequent class (first on ties). */
  label: number;
  /** Its share of the examples: the accuracy of always predicting it. */
  rate: number;
  count: number;
}

/** The majority class of `labels`, restricted to `indices` when given. */
export function majorityRate(labels: ArrayLike<number>, indices?: ArrayLike<number>): MajorityRate {
  const counts = new Map<number, number>();
  const n = indices === undefined ? labels.length : indices.length;
  if (n === 0) throw new RangeError('majorityRate of no examples');
  for (let k = 0; k < n; k++) {
    const y = labels[indices === undefined ? k : (indices[k] as number)] as number;
    counts.set(y, (counts.get(y) ?? 0) + 1);
  }
  let label = -1;
  let best = -1;
  for (const [y, c] of [...counts].sort((a, b) => a[0] - b[0])) {
    if (c > best) {
      label = y;
      best = c;
    }
  }
  return { label, rate: best / n, count: n };
}

/**
 * The cross-entropy (nats) on `evalLabels` of always predicting the class frequencies of
 * `trainLabels`: the validation loss a classifier reaches by learning the prior alone.
 */
export function priorCrossEntropy(trainLabels: ArrayLike<number>, evalLabels: ArrayLike<number>, classes: number): number {
  const counts = new Float64Array(classes);
  for (let k = 0; k < trainLabels.length; k++) counts[trainLabels[k] as number]! += 1;
  let sum = 0;
  for (let k = 0; k < evalLabels.length; k++) sum -= Math.log((counts[evalLabels[k] as number] as number) / trainLabels.length);
  return sum / evalLabels.length;
}

export interface RunRow {
  variant: string;
  seed: number | null;
  steps: number;
  valAccuracy: number | null;
  valLoss: number;
  wallSeconds: number;
}

/** One table row from a run folder's summary.json (written by `scion train` for an adapter). */
export function runRow(dir: string, summary: Record<string, unknown>): RunRow {
  const seed = /seed(\d+)/.exec(basename(dir))?.[1];
  return {
    variant: String(summary['adapter'] ?? basename(dir)),
    seed: seed === undefined ? null : Number(seed),
    steps: Number(summary['steps']),
    valAccuracy: typeof summary['valAccuracy'] === 'number' ? summary['valAccuracy'] : null,
    valLoss: Number(summary['valLoss']),
    wallSeconds: Number(summary['wallSeconds']),
  };
}

export function markdownTable(rows: readonly RunRow[]): string {
  const pct = (x: number | null): string => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);
  return [
    '| variant | seed | steps | val accuracy | val loss (CE) | time |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.variant} | ${r.seed ?? '–'} | ${r.steps} | ${pct(r.valAccuracy)} | ${r.valLoss.toFixed(3)} | ${r.wallSeconds.toFixed(0)} s |`),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      tokenizer: { type: 'string', default: 'runs/TinyLlama/tokenizer.json' },
      ctx: { type: 'string', default: '64' },
      batch: { type: 'string', default: '16' },
    },
  });
  const tokenizer = await readTokenizerJson(values.tokenizer);
  const ctx = Number(values.ctx);
  const val = genreExamples({ source: 'brown', args: { split: 'val' }, where: 'bench' }, tokenizer, ctx, BROWN_GENRES);
  const all = majorityRate(val.labels);
  const evaluated = evalIndexBatches(val.count, Number(values.batch), FINAL_EVAL_BATCHES);
  const flat = Int32Array.from(evaluated.flatMap((b) => [...b]));
  const sub = majorityRate(val.labels, flat);
  const present = new Set(val.labels).size;
  const train = genreExamples({ source: 'brown', args: { split: 'train' }, where: 'bench' }, tokenizer, ctx, BROWN_GENRES);
  const prior = priorCrossEntropy(
    train.labels,
    Int32Array.from(flat, (i) => val.labels[i] as number),
    BROWN_GENRES.length,
  );
  console.log(`validation: ${val.count} windows of ${ctx} tokens in ${present} of ${BROWN_GENRES.length} genres`);
  console.log(`majority class over all of them:      ${BROWN_GENRES[all.label]} ${(100 * all.rate).toFixed(1)}%`);
  console.log(`majority class over the ${sub.count} evaluated: ${BROWN_GENRES[sub.label]} ${(100 * sub.rate).toFixed(1)}%`);
  console.log(`their cross-entropy under the training split's class prior: ${prior.toFixed(3)} nats (ln 15 = ${Math.log(15).toFixed(3)})`);
  if (positionals.length === 0) return;
  const rows: RunRow[] = [];
  for (const dir of positionals) rows.push(runRow(dir, JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as Record<string, unknown>));
  console.log(`\n${markdownTable(rows)}`);
}

if (process.argv[1]?.endsWith('ba-lora-genre.ts')) await main();
