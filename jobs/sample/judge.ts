// Judging drawn samples with a trained classifier (e.g. specs/mnist-classifier.scion's DigitCNN):
// one forward pass of the judge over every image on the CPU reference, the argmax class of each,
// and how often it agrees with the class the sample was drawn for — overall and per class. The
// images go in as drawn, in [−1, 1]: the range the image jobs train both diffusion models and
// classifiers in (jobs/train/examples.ts).

import { findTrain } from '../../compiler/lower/lower-train-config.ts';
import { lowerModel, type LoweredModel } from '../../compiler/lower/lower-model.ts';
import type { Program } from '../../grammar/ast.ts';
import { runGraph } from '../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { SafetensorsError } from '../../runtime/weights/index.ts';
import { argmaxRows } from '../train/train-examples.ts';
import { JobError } from '../train/errors.ts';
import { loadWeightFeeds } from '../weights/load-weights.ts';

export interface ClassAgreement {
  class: number;
  /** Samples drawn for this class. */
  count: number;
  /** The fraction of them the judge assigns to this class. */
  agreement: number;
}

export interface Agreement {
  /** The fraction of all samples the judge assigns to their requested class. */
  agreement: number;
  /** One row per requested class, in ascending class order. */
  perClass: ClassAgreement[];
  count: number;
}

export interface JudgeReport extends Agreement {
  model: string;
  /** The judge's class for each sample [B]. */
  predictions: Int32Array;
}

/** Agreement of predicted with requested classes. */
export function agreementOf(predictions: ArrayLike<number>, requested: ArrayLike<number>): Agreement {
  if (predictions.length !== requested.length) throw new Error(`agreementOf: ${predictions.length} predictions for ${requested.length} samples`);
  const seen = new Map<number, { count: number; hits: number }>();
  let hits = 0;
  for (let i = 0; i < requested.length; i++) {
    const c = requested[i] as number;
    const row = seen.get(c) ?? { count: 0, hits: 0 };
    row.count++;
    if (predictions[i] === c) {
      row.hits++;
      hits++;
    }
    seen.set(c, row);
  }
  const perClass = [...seen.entries()].sort(([a], [b]) => a - b).map(([c, r]) => ({ class: c, count: r.count, agreement: r.hits / r.count }));
  return { agreement: requested.length === 0 ? 0 : hits / requested.length, perClass, count: requested.length };
}

/** The judge model: the one named, else the target of the spec's first `train`, else its only model. */
export function judgeModelName(program: Program, name: string | undefined): string {
  if (name !== undefined) return name;
  const trained = findTrain(program)?.target.name;
  if (trained !== undefined) return trained;
  const models = program.decls.flatMap((d) => (d.kind === 'model' ? [d.name.name] : []));
  if (models.length === 1) return models[0] as string;
  throw new JobError(`${program.file} trains no model and declares ${models.length} models: name the judge with --judge-model`);
}

/** The judge's image input and its [B, classes] output, checked against the samples' [C, H, W]. */
function judgeIo(m: LoweredModel, image: readonly number[]): { input: string; logits: string } {
  const name = m.instance.name;
  const input = m.inputs[0];
  if (m.inputs.length !== 1 || input === undefined || input.dtype !== 'f32')
    throw new JobError(
      `the judge '${name}' must take one f32 image input; it takes ${m.inputs.map((i) => `${i.name}: ${i.dtype}[${i.shape.join(', ')}]`).join(', ')}`,
    );
  if (input.shape.slice(1).join(',') !== image.join(','))
    throw new JobError(`the judge '${name}' takes images [${input.shape.slice(1).join(', ')}], the samples are [${image.join(', ')}]`);
  const out = m.outputs.find((o) => o.name === 'logits') ?? m.outputs.find((o) => m.graph.nodes[o.node]?.shape.length === 2);
  if (out === undefined) throw new JobError(`the judge '${name}' has no [batch, classes] output (name it logits)`);
  return { input: input.name, logits: out.name };
}

/** A judge ready to classify a batch of samples. */
export interface Judge {
  readonly model: string;
  /** images [B, C, H, W] (the shape given to prepareJudge) against the requested classes [B]. */
  classify(images: Float64Array, requested: Int32Array): JudgeReport;
}

/**
 * Lowers the judge `model` of `program` for images of `shape` [B, C, H, W] and loads the
 * checkpoint at `weightsPath`; a judge that cannot read these images is a JobError (a checkpoint
 * that does not fit, a MappingError) before anything is sampled.
 */
export async function prepareJudge(program: Program, model: string, weightsPath: string, shape: readonly number[]): Promise<Judge> {
  const batch = shape[0] ?? 0;
  const m = lowerModel(program, model, { dims: { batch } });
  const io = judgeIo(m, shape.slice(1));
  let feeds: Map<string, Tensor>;
  try {
    feeds = await loadWeightFeeds(m, weightsPath);
  } catch (error) {
    if (error instanceof SafetensorsError && error.code === 'io')
      throw new JobError(`the judge '${model}' has no weights at ${weightsPath}: train it first (scion train SPEC --model ${model}) or pass --judge-weights`);
    throw error;
  }
  return {
    model,
    classify(images, requested) {
      if (requested.length !== batch || images.length !== shape.reduce((a, d) => a * d, 1))
        throw new Error(`judge: ${requested.length} labels and ${images.length} values for images [${shape.join(', ')}]`);
      feeds.set(io.input, { dtype: 'f32', shape: [...shape], data: Float32Array.from(images) });
      const logits = runGraph(m.graph, feeds, { dtype: 'f32', outputs: [io.logits] }).get(io.logits);
      if (logits === undefined) throw new Error(`bug: the judge's graph did not return '${io.logits}'`);
      // logits [B, classes] → one class per sample.
      const predictions = argmaxRows(logits.data, logits.shape.at(-1) as number);
      return { model, predictions, ...agreementOf(predictions, requested) };
    },
  };
}

/**
 * Classifies `images` [B, C, H, W] with the judge `model` of `program` and the checkpoint at
 * `weightsPath`, and compares with `requested` [B].
 *
 * Example: `const r = await judgeSamples(judgeSpec, 'DigitCNN', 'runs/DigitCNN/model.safetensors', x, [40, 1, 28, 28], labels)`
 */
export async function judgeSamples(
  program: Program,
  model: string,
  weightsPath: string,
  images: Float64Array,
  shape: readonly number[],
  requested: Int32Array,
): Promise<JudgeReport> {
  return (await prepareJudge(program, model, weightsPath, shape)).classify(images, requested);
}
