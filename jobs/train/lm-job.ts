// Preparing the language-model job: the train declaration compiled into one graph (student,
// frozen teacher/base, loss, gradients), the tokenizer (trained on the corpus or read from the
// spec's file), the token streams, the initial and frozen weights — an LmTrainPlan for
// train-lm.ts — and the training text's words (jobs/train/word-share.ts).

import { join, relative, resolve } from 'node:path';
import type { Program } from '../../grammar/ast.ts';
import { gradName } from '../../compiler/autodiff/grad.ts';
import { LowerError } from '../../grammar/eval/errors.ts';
import { findTrain, trainConfig, type DataSpec, type TrainConfig } from '../../compiler/lower/lower-train-config.ts';
import { lowerTrain, type LoweredTrain } from '../../compiler/lower/lower-train.ts';
import { JobError } from './errors.ts';
import { byteLengths } from './bits-per-byte.ts';
import { encodeStream, prepareTokenizer, sourceTexts, type DataSource } from './lm-data.ts';
import { tokenInput } from './token-stream.ts';
import { initialWeights, initPath, loadFrozen } from './prepare-examples.ts';
import { planSettings } from './train-loop.ts';
import { wordSetOf } from './word-share.ts';
import type { LmTrainPlan } from './train-lm.ts';

const where = (d: DataSpec): string => `${d.span.file}:${d.span.start.line}`;
const source = (d: DataSpec): DataSource => ({ source: d.source, args: d.args, where: where(d) });

/** Everything the LM job needs besides the backend, compiled and loaded. */
export interface LmJob {
  lowered: LoweredTrain;
  config: TrainConfig;
  plan: LmTrainPlan;
  /** Where the tokenizer came from (for the log). */
  tokenizerOrigin: string;
  /** The words of the training text, which the end sample's word share is measured against. */
  trainWords: ReadonlySet<string>;
}

/** Compiles the train declaration and prepares tokenizer, token streams, initial and frozen weights. */
export async function prepareLmJob(
  program: Program,
  model: string,
  o: { outDir: string; cwd: string; steps?: number; seed?: number; init?: string; frozen?: ReadonlyMap<string, string>; log: (line: string) => void },
): Promise<LmJob> {
  const decl = findTrain(program, model);
  if (decl === undefined) throw new JobError(`the spec has no \`train ${model}\` declaration`);
  const config = trainConfig(decl, program);
  if (o.steps !== undefined) config.steps = o.steps;
  if (o.seed !== undefined) config.seed = o.seed;
  const lowered = lowerTrain(program, model, { batch: config.batch });
  const tokens = tokenInput(lowered);
  const seq = config.data.args['seq'];
  if (typeof seq === 'number' && seq !== tokens.ctx) {
    throw new LowerError(
      'E0905',
      `the data has seq = ${seq} but '${model}' takes ${tokens.name} of length ${tokens.ctx}`,
      config.data.span,
      [],
      `write seq = ${tokens.ctx}`,
    );
  }
  const vocabParam = lowered.student.instance.params['vocab'];
  const vocab = typeof vocabParam === 'number' ? vocabParam : (lowered.student.graph.nodes[lowered.student.taps.get('logits') ?? 0]?.shape.at(-1) ?? 0);
  const trainTexts = await sourceTexts(source(config.data), o.cwd);
  const valSpec: DataSource =
    config.eval === undefined
      ? { source: config.data.source, args: { ...config.data.args, split: 'val' }, where: where(config.data) }
      : source(config.eval.data);
  const valTexts = await sourceTexts(valSpec, o.cwd);
  const tok = await prepareTokenizer({
    vocab,
    corpus: trainTexts,
    cachePath: join(o.outDir, 'tokenizer.json'),
    ...(config.tokenizer === undefined ? {} : { file: resolve(o.cwd, config.tokenizer) }),
  });
  o.log(`tokenizer: ${tok.origin}`);
  const train = encodeStream(tok.tokenizer, trainTexts);
  const val = encodeStream(tok.tokenizer, valTexts);
  o.log(`data: ${train.length.toLocaleString('en-US')} training tokens, ${val.length.toLocaleString('en-US')} validation tokens`);

  const initFrom = initPath(program, model, o.outDir, o.init);
  if (initFrom !== undefined) o.log(`initial weights: ${relative(o.cwd, initFrom) || initFrom}`);
  const initial = await initialWeights(lowered, config.seed, initFrom);
  const frozen = await loadFrozen(lowered, o.cwd, o.frozen);
  const ce = lowered.terms.find((t) => t.callee === 'cross_entropy');
  const plan: LmTrainPlan = {
    graph: lowered.graph,
    tokensInput: tokens.name,
    batch: config.batch,
    ctx: tokens.ctx,
    trainable: lowered.trainable.map((p) => ({ path: p.path, shape: p.shape, grad: gradName(p.path) })),
    initial,
    frozen,
    weights: lowered.weights,
    evalOutput: ce?.output ?? 'loss',
    evalGraph: lowerTrain(program, model, { batch: config.batch, grads: false }).graph,
    ...planSettings(config),
    train,
    val,
    byteLength: byteLengths(tok.tokenizer),
  };
  return { lowered, config, plan, tokenizerOrigin: tok.origin, trainWords: wordSetOf(trainTexts) };
}
