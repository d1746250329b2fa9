// `scion export --onnx`: a model's forward graph, or with `train` its whole AdamW training step,
// as one ONNX file. Weights come from a checkpoint (through the model's naming preset, every name
// and shape checked first) or are drawn as `scion init` draws them. An op ONNX cannot express
// refuses the export, naming the op and why, before anything is written.
//
// The training step (compiler/autodiff/train-step.ts, with the spec's AdamW settings and
// global-norm clipping) around one of two losses:
//   - the model has a `train` declaration: its own loss, as `scion train` lowers it
//     (compiler/lower/lower-train.ts): the loss expression over the student, frozen teacher/base
//     models inlined beside it (params `teacher.<p>` / `base.<p>`, inputs whose initializers are
//     drawn like `scion init` — feed the real ones), loss projections as trainable params, each
//     term as an output, `ramp(…)` weights as scalar inputs; the batch is the spec's unless
//     --batch is given;
//   - no `train` declaration: `scion compile --train`'s stand-in, the cross-entropy of the first
//     output against `labels` (next-token: the tokens shifted by one, -100 ignored).
//   inputs:  the model's inputs and the loss's data (e.g. labels), every trainable and frozen param
//            (its initial value as the initializer default), adam.m:<p>, adam.v:<p>, adam.lr,
//            adam.bc1, adam.bc2
//   outputs: loss (and the spec's terms), new:<p>, new:adam.m:<p>, new:adam.v:<p>

import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { encodeModel } from '../../compiler/codegen/onnx/onnx-proto.ts';
import { toOnnx, unsupportedOps } from '../../compiler/codegen/onnx/to-onnx.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { buildTrainStep, type AdamWGraphOptions, withLmLoss } from '../../compiler/autodiff/train-step.ts';
import { sampleInit } from '../../compiler/layers/init.ts';
import { lowerModel, type LoweredModel } from '../../compiler/lower/lower-model.ts';
import { findTrain, trainConfig, trainOptimizer } from '../../compiler/lower/lower-train-config.ts';
import { lowerTrain } from '../../compiler/lower/lower-train.ts';
import type { Program } from '../../grammar/ast.ts';
import { loadWeightFeeds } from '../weights/load-weights.ts';

export interface ExportOnnxOptions {
  model: string;
  /** The training step instead of the forward graph. */
  train?: boolean;
  /** A checkpoint to take the weights from; without one they are drawn like `scion init`. */
  weights?: string;
  /** Init seed when no weights are given (as `scion init --seed`). */
  seed?: number;
  batch?: number;
  /** Bytes of weights past which they go to an external data file (default: 1.9 GB). */
  externalAbove?: number;
  /** Called as each weight is drawn (`done` of `total`, its path): the CLI's progress line. */
  progress?: (done: number, total: number, path: string) => void;
}

export interface ExportedOnnx {
  graph: Graph;
  model: Uint8Array;
  /** The external data file's bytes (parts), when the weights exceed protobuf's 2 GB. */
  external?: readonly Uint8Array[];
  inputs: string[];
  outputs: string[];
  params: number;
  /** The weights written, by Scion path (loaded or drawn). */
  weights: ReadonlyMap<string, ArrayLike<number>>;
  optimizer?: Required<AdamWGraphOptions>;
  /** With `train`: which loss the step minimizes — the spec's `train` declaration, or the cross-entropy stand-in. */
  loss?: 'spec' | 'cross-entropy';
}

/** An export the graph cannot have (an op ONNX cannot express, a non-AdamW optimizer). */
export class ExportError extends Error {}

/** AdamW settings (clip included) of the model's `train` declaration, or `scion compile --train`'s defaults. */
function adamw(program: Program, model: string): Required<AdamWGraphOptions> {
  const decl = findTrain(program, model);
  const dflt = { betas: [0.9, 0.999] as const, eps: 1e-8, weightDecay: 1e-2, clip: 0 };
  if (decl === undefined) return dflt;
  const opt = trainOptimizer(decl, program);
  if (opt.kind !== 'adamw') throw new ExportError(`the training step exports with AdamW only; '${model}' trains with ${opt.kind}`);
  return { betas: opt.betas, eps: opt.eps, weightDecay: opt.weightDecay, clip: opt.clip };
}

const count = (s: readonly number[]): number => s.reduce((x, y) => x * y, 1);

async function weightsOf(m: LoweredModel, opts: ExportOnnxOptions): Promise<Map<string, ArrayLike<number>>> {
  if (opts.weights !== undefined) return new Map([...(await loadWeightFeeds(m, opts.weights))].map(([k, t]) => [k, t.data as Float32Array]));
  return new Map(
    m.params.map((p, i) => {
      const data = sampleInit(p.init, count(p.shape), opts.seed ?? 0, p.path);
      opts.progress?.(i + 1, m.params.length, p.path);
      return [p.path, data];
    }),
  );
}

/** The training step's graph: the spec's own loss where the model has a `train` declaration, else the cross-entropy stand-in. */
async function trainStep(program: Program, opts: ExportOnnxOptions, optimizer: Required<AdamWGraphOptions>) {
  const decl = findTrain(program, opts.model);
  if (decl === undefined) {
    const m = lowerModel(program, opts.model, opts.batch === undefined ? {} : { dims: { batch: opts.batch } });
    const step = buildTrainStep(withLmLoss(m.graph), 'loss', optimizer);
    return { m, step, weights: await weightsOf(m, opts), frozen: [] as string[], loss: 'cross-entropy' as const };
  }
  const t = lowerTrain(program, opts.model, { batch: opts.batch ?? trainConfig(decl, program).batch, grads: false });
  const step = buildTrainStep(t.graph, 'loss', optimizer);
  const weights = await weightsOf(t.student, opts);
  // Loss projections start as `scion train` starts them; frozen models as `scion init` draws them.
  for (const p of t.trainable) if (!weights.has(p.path)) weights.set(p.path, sampleInit(p.init, count(p.shape), opts.seed ?? 0, p.path));
  for (const f of t.frozen) for (const p of f.model.params) weights.set(`${f.prefix}${p.path}`, sampleInit(p.init, count(p.shape), opts.seed ?? 0, p.path));
  const frozen = t.frozen.flatMap((f) => f.model.params.map((p) => `${f.prefix}${p.path}`));
  return { m: t.student, step, weights, frozen, loss: 'spec' as const };
}

/** Builds the ONNX model in memory (LowerError, MappingError and ExportError are the user's). */
export async function buildOnnxExport(program: Program, opts: ExportOnnxOptions, externalLocation?: string): Promise<ExportedOnnx> {
  let m: LoweredModel;
  let graph: Graph;
  let weights: Map<string, ArrayLike<number>>;
  let optimizer: Required<AdamWGraphOptions> | undefined;
  let loss: 'spec' | 'cross-entropy' | undefined;
  // Params fed as inputs (their initial values the defaults): the trained ones and the frozen models'.
  let fed = new Set<string>();
  if (opts.train === true) {
    optimizer = adamw(program, opts.model);
    const t = await trainStep(program, opts, optimizer);
    ({ m, weights, loss } = t);
    graph = t.step.graph;
    fed = new Set([...t.step.params, ...t.frozen]);
  } else {
    m = lowerModel(program, opts.model, opts.batch === undefined ? {} : { dims: { batch: opts.batch } });
    graph = m.graph;
    weights = await weightsOf(m, opts);
  }
  const refused = unsupportedOps(graph);
  if (refused.length > 0) {
    throw new ExportError(refused.map((r) => `op '${r.op}' has no exact ONNX form: ${r.reason}`).join('\n'));
  }
  const doc =
    optimizer === undefined
      ? `${opts.model}: forward`
      : `${opts.model}: AdamW training step (${loss === 'spec' ? "the spec's train loss" : 'cross-entropy stand-in'}) ${JSON.stringify(optimizer)}`;
  const onnx = toOnnx(graph, { weights, inputParams: fed, name: opts.model, doc });
  const enc = encodeModel(onnx, {
    ...(externalLocation === undefined ? {} : { externalLocation }),
    ...(opts.externalAbove === undefined ? {} : { externalAbove: opts.externalAbove }),
  });
  return {
    graph,
    model: enc.model,
    ...(enc.external === undefined ? {} : { external: enc.external }),
    inputs: onnx.inputs.map((v) => v.name),
    outputs: onnx.outputs.map((v) => v.name),
    params: m.params.reduce((s, p) => s + count(p.shape), 0),
    weights,
    ...(optimizer === undefined ? {} : { optimizer }),
    ...(loss === undefined ? {} : { loss }),
  };
}

/** Writes OUT.onnx (and OUT.onnx.data beside it when the weights need external data). */
export async function exportOnnx(program: Program, opts: ExportOnnxOptions, out: string): Promise<ExportedOnnx & { bytes: number }> {
  const dataFile = `${basename(out)}.data`;
  const r = await buildOnnxExport(program, opts, dataFile);
  writeFileSync(out, r.model);
  let bytes = r.model.byteLength;
  if (r.external !== undefined) {
    // Part by part: the data can exceed what one buffer holds.
    const fd = openSync(`${out}.data`, 'w');
    try {
      for (const p of r.external) {
        for (let at = 0; at < p.byteLength; ) at += writeSync(fd, p, at);
        bytes += p.byteLength;
      }
    } finally {
      closeSync(fd);
    }
  }
  return { ...r, bytes };
}
