// The data side of an example job (prepare-examples.ts): which examples feed which model inputs
// for each task — diffusion images with noised x, t and labels; language-model windows; Brown
// genre windows; labelled images — each checked against the model's input shape.

import { join, resolve } from 'node:path';
import { LowerError } from '../../grammar/eval/errors.ts';
import type { DataSpec, TrainConfig } from '../../compiler/lower/lower-train-config.ts';
import type { LoweredTrain } from '../../compiler/lower/lower-train.ts';
import { diffusionSchedule } from '../../compiler/objectives/diffusion-loss.ts';
import { BROWN_GENRES, loadBrown } from '../../runtime/data/index.ts';
import { JobError } from './errors.ts';
import { genreExamples, imageSource, lmExamples, type Examples } from './examples.ts';
import { diffusionFeeder, supervisedFeeder, type Feeder } from './feeders.ts';
import { encodeStream, prepareTokenizer, sourceTexts, type DataSource } from './lm-data.ts';
import type { ExampleTrainPlan, TaskKind } from './train-examples.ts';

/** The dropout key input compiler/adapters adds to a training graph. */
export const DROPOUT_KEY = 'dropout_key';

const where = (d: DataSpec): string => `${d.span.file}:${d.span.start.line}`;
export const dataSource = (d: DataSpec): DataSource => ({ source: d.source, args: d.args, where: where(d) });

/** The model inputs a feeder fills: all but the adapter's dropout key (fed by the loop). */
function modelInputs(t: LoweredTrain): LoweredTrain['student']['inputs'] {
  return t.student.inputs.filter((i) => i.name !== DROPOUT_KEY);
}

export interface TaskDataOptions {
  /** The job's out folder (the tokenizer is cached there). */
  outDir: string;
  cwd: string;
  log: (line: string) => void;
}

export interface TaskData {
  feeder: Feeder;
  train: Examples;
  val: Examples;
  unit: ExampleTrainPlan['unit'];
  itemsPerExample: number;
  logitsOutput?: string;
}

/**
 * The feeder, training and validation examples of a task: diffusion (x, t, labels), LM windows,
 * genre windows or labelled images, each checked against the model's input shape.
 */
export async function taskData(kind: TaskKind, t: LoweredTrain, config: TrainConfig, valData: DataSpec, o: TaskDataOptions): Promise<TaskData> {
  const ins = modelInputs(t);
  if (kind === 'diffusion') {
    const x = ins.find((i) => i.name === 'x');
    const tIn = ins.find((i) => i.name === 't');
    if (x === undefined || tIn === undefined) throw new Error('bug: the diffusion rule accepted a model without inputs x and t');
    const y = ins.find((i) => i !== x && i !== tIn && i.dtype === 'i32' && i.shape.length === 1);
    const train = await imageSource(dataSource(config.data), o.cwd);
    const val = await imageSource(dataSource(valData), o.cwd);
    checkExampleShape(train, x.shape.slice(1), config.data);
    const nullClass = y === undefined ? undefined : labelTableRows(t, y.name);
    const classes = Number(t.student.instance.params['classes'] ?? 0);
    const feeder = diffusionFeeder({
      x: x.name,
      t: tIn.name,
      tDtype: tIn.dtype === 'i32' ? 'i32' : 'f32',
      schedule: diffusionSchedule(),
      ...(y === undefined ? {} : { y: y.name }),
      // The label table has a null row (index `classes`) when the LabelEmbedding drops labels.
      ...(nullClass !== undefined && nullClass > classes ? { labelDropout: { nullClass: classes, p: 0.1 } } : {}),
    });
    return { feeder, train, val, unit: 'img', itemsPerExample: 1 };
  }
  const input = ins[0];
  if (input === undefined || ins.length !== 1)
    throw new LowerError(
      'E0904',
      `scion train feeds one model input for ${kind === 'lm' ? 'language models' : 'classification'}; '${t.student.instance.name}' takes ${ins.map((i) => i.name).join(', ')}`,
      t.decl.span,
    );
  if (input.dtype === 'i32') {
    const ctx = input.shape[1] as number;
    const vocabParam = t.student.instance.params['vocab'];
    if (typeof vocabParam !== 'number')
      throw new LowerError('E0904', `'${t.student.instance.name}' takes tokens but has no \`vocab\` parameter to size its tokenizer`, t.decl.span);
    const trainTexts = kind === 'lm' ? await sourceTexts(dataSource(config.data), o.cwd) : loadBrown('train').map((d) => d.text);
    const tok = await prepareTokenizer({
      vocab: vocabParam,
      corpus: trainTexts,
      cachePath: join(o.outDir, 'tokenizer.json'),
      ...(config.tokenizer === undefined ? {} : { file: resolve(o.cwd, config.tokenizer) }),
    });
    o.log(`tokenizer: ${tok.origin}`);
    if (kind === 'lm') {
      const train = lmExamples(encodeStream(tok.tokenizer, trainTexts), ctx);
      const val = lmExamples(encodeStream(tok.tokenizer, await sourceTexts(dataSource(valData), o.cwd)), ctx);
      return { feeder: supervisedFeeder({ input: input.name }), train, val, unit: 'tok', itemsPerExample: ctx };
    }
    if (config.data.source !== 'brown')
      throw new JobError(`${where(config.data)}: text classification reads brown(task = "genre") so far, not ${config.data.source}(…)`);
    const train = genreExamples(dataSource(config.data), tok.tokenizer, ctx, BROWN_GENRES);
    const val = genreExamples(dataSource({ ...valData, args: { ...valData.args } }), tok.tokenizer, ctx, BROWN_GENRES);
    return { feeder: supervisedFeeder({ input: input.name, label: 'label' }), train, val, unit: 'tok', itemsPerExample: ctx, logitsOutput: logitsOf(t) };
  }
  const train = await imageSource(dataSource(config.data), o.cwd);
  const val = await imageSource(dataSource(valData), o.cwd);
  checkExampleShape(train, input.shape.slice(1), config.data);
  return { feeder: supervisedFeeder({ input: input.name, label: 'label' }), train, val, unit: 'img', itemsPerExample: 1, logitsOutput: logitsOf(t) };
}

function checkExampleShape(e: Examples, want: readonly number[], d: DataSpec): void {
  if (e.shape.join(',') !== want.join(',')) {
    throw new LowerError('E0905', `the data holds examples of shape [${e.shape.join(', ')}] but the model takes [${want.join(', ')}]`, d.span);
  }
}

/** The classifier's [batch, classes] output: `logits` when the model has it, else its first 2-D output. */
function logitsOf(t: LoweredTrain): string {
  const outs = t.student.outputs;
  const named = outs.find((x) => x.name === 'logits');
  const two = outs.find((x) => t.student.graph.nodes[x.node]?.shape.length === 2);
  const o = named ?? two;
  if (o === undefined) throw new LowerError('E0904', `'${t.student.instance.name}' has no [batch, classes] output to measure accuracy on`, t.decl.span);
  return o.name;
}

/** Rows of the table gathered by the label input (classes + 1 when it has a null class). */
function labelTableRows(t: LoweredTrain, yName: string): number | undefined {
  const nodes = t.student.graph.nodes;
  const y = nodes.find((n) => n.op === 'input' && n.attrs['name'] === yName);
  if (y === undefined) return undefined;
  const gather = nodes.find((n) => n.op === 'gather' && n.inputs[1] === y.id);
  const table = gather === undefined ? undefined : nodes[gather.inputs[0] as number];
  return table?.shape[0];
}
