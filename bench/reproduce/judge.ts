// The judge's row of docs/results.md (not a paper claim): specs/mnist-classifier.scion's first
// `train` (the CNN that `scion sample --judge` uses) trained once per seed as `scion train` would,
// then scored as the judge scores samples — one forward pass of the CPU reference over the whole
// MNIST test split. Issue #17 asks for a judge of at least 96% test accuracy.
//
//   node --import tsx bench/reproduce/judge.ts [--device D] [--seeds 11,12,13] [--out DIR]

import { loadavg } from 'node:os';
import { join } from 'node:path';
import { findTrain } from '../../compiler/lower/lower-train-config.ts';
import { imageExamples } from '../../jobs/train/examples.ts';
import { prepareJudge } from '../../jobs/sample/judge.ts';
import { loadMnist } from '../../runtime/data/index.ts';
import { commandLine, deviceLine, loadProgram, reproduceArgs, train } from './common.ts';
import { formatMeanSpread, meanSpread, writeRow } from './results-table.ts';

const SPEC = 'specs/mnist-classifier.scion';
/** Issue #17's bar for a judge. */
const REQUIRED = 0.96;

const args = reproduceArgs('judge', [11, 12, 13]);
const started = Date.now();
const load = loadavg()[0] ?? 0;
const program = loadProgram(SPEC);
const model = findTrain(program)?.target.name;
if (model === undefined) throw new Error(`${SPEC} has no train declaration`);
const test = imageExamples(loadMnist('test'));
const shape = [test.count, ...test.shape];

const accuracies: number[] = [];
const trainSeconds: number[] = [];
let backend = args.device as string;
for (const seed of args.seeds) {
  const r = await train(program, model, { outDir: join(args.out, `seed-${seed}`), device: args.device, seed });
  backend = r.summary.device;
  trainSeconds.push(r.summary.wallSeconds);
  const judge = await prepareJudge(program, model, r.model, shape);
  const report = judge.classify(Float64Array.from(test.features), test.labels);
  accuracies.push(report.agreement);
  process.stderr.write(
    `seed ${seed}: test accuracy ${(100 * report.agreement).toFixed(2)}% of ${report.count} in ${r.summary.wallSeconds.toFixed(0)}s of training\n`,
  );
}

const pct = accuracies.map((a) => 100 * a);
const { mean } = meanSpread(accuracies);
const worst = Math.min(...accuracies);
writeRow({
  id: 'judge',
  claim: `The judge (not a paper claim): ${model} of ${SPEC}, MNIST test accuracy`,
  paper: `issue #17 asks ≥ ${100 * REQUIRED}%`,
  scion: `${formatMeanSpread(pct, 2)} % on ${test.count} test digits; training ${formatMeanSpread(trainSeconds, 0)} s per seed`,
  verdict: worst >= REQUIRED ? 'reproduced' : mean >= REQUIRED ? 'inconclusive' : 'not reproduced',
  why:
    worst >= REQUIRED
      ? `every seed reaches ≥ ${100 * REQUIRED}% (lowest ${(100 * worst).toFixed(2)}%)`
      : `lowest seed ${(100 * worst).toFixed(2)}%, mean ${(100 * mean).toFixed(2)}%, bar ${100 * REQUIRED}%`,
  command: commandLine('judge'),
  seconds: (Date.now() - started) / 1000,
  device: deviceLine(backend, load),
  seeds: args.seeds,
});
process.stderr.write(`wrote the judge row of docs/results.md\n`);
