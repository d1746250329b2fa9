// `scion export --onnx`: a model's forward graph, or with `train` its whole AdamW training step,
// as one ONNX file. Weights come from a checkpoint (through the model's naming preset, every name
// and shape checked first) or are drawn as `scion init` draws them. An op ONNX cannot express
// refuses the export, naming the op and why, before anything is written.
//
// The training step (compiler/autodiff/train-step.ts, the graph `scion compile --train` compiles,
// with the spec's AdamW settings and global-norm clipping):
//   inputs:  the model's inputs, labels (for a model without a `loss` output the loss is the
//            cross-entropy of the first output against them: for next-token training, the tokens
//            shifted by one, -100 ignored), every trainable param (its initial value as the
//            initializer default), adam.m:<p>, adam.v:<p>, adam.lr, adam.bc1, adam.bc2
//   outputs: loss, new:<p>, new:adam.m:<p>, new:adam.v:<p>

import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { encodeModel } from '../../compiler/codegen/onnx/onnx-proto.ts';
import { toOnnx, unsupportedOps } from '../../compiler/codegen/onnx/to-onnx.ts';
import { GraphBuilder } from '../../compiler/ir/builder.ts';
import { crossEntropy } from '../../compiler/ir/compose.ts';
import type { Graph, Node } from '../../compiler/ir/graph.ts';
import { buildTrainStep, type AdamWGraphOptions } from '../../compiler/autodiff/train-step.ts';
import { sampleInit } from '../../compiler/layers/init.ts';
import { lowerModel, type LoweredModel } from '../../compiler/lower/lower-model.ts';
import { findTrain, trainOptimizer } from '../../compiler/lower/lower-train-config.ts';
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
}

/** An export the graph cannot have (an op ONNX cannot express, a non-AdamW optimizer). */
export class ExportError extends Error {}

/** The forward graph plus `loss` = next-token cross-entropy of the first output against `labels` (as `scion compile --train`). */
export function withLmLoss(g: Graph): Graph {
  if (g.outputs.some((o) => o.name === 'loss')) return g;
  const { builder: b, nodes } = GraphBuilder.from(g);
  const first = g.outputs[0];
  if (first === undefined) throw new ExportError('the model has no outputs to train');
  const logits = nodes[first.node] as Node;
  const labels = b.input('labels', logits.shape.slice(0, -1), 'i32');
  b.output('loss', crossEntropy(b, logits, labels, { ignoreIndex: -100 }));
  return b.build();
}

/** AdamW settings (clip included) of the model's `train` declaration, or `scion compile --train`'s defaults. */
function adamw(program: Program, model: string): Required<AdamWGraphOptions> {
  const decl = findTrain(program, model);
  const dflt = { betas: [0.9, 0.999] as const, eps: 1e-8, weightDecay: 1e-2, clip: 0 };
  if (decl === undefined) return dflt;
  const opt = trainOptimizer(decl, program);
  if (opt.kind !== 'adamw') throw new ExportError(`the training step exports with AdamW only; '${model}' trains with ${opt.kind}`);
  return { betas: opt.betas, eps: opt.eps, weightDecay: opt.weightDecay, clip: opt.clip };
}

async function weightsOf(m: LoweredModel, opts: ExportOnnxOptions): Promise<Map<string, ArrayLike<number>>> {
  if (opts.weights !== undefined) return new Map([...(await loadWeightFeeds(m, opts.weights))].map(([k, t]) => [k, t.data as Float32Array]));
  const count = (s: readonly number[]): number => s.reduce((x, y) => x * y, 1);
  return new Map(m.params.map((p) => [p.path, sampleInit(p.init, count(p.shape), opts.seed ?? 0, p.path)]));
}

/** Builds the ONNX model in memory (LowerError, MappingError and ExportError are the user's). */
export async function buildOnnxExport(program: Program, opts: ExportOnnxOptions, externalLocation?: string): Promise<ExportedOnnx> {
  const m = lowerModel(program, opts.model, opts.batch === undefined ? {} : { dims: { batch: opts.batch } });
  let graph = m.graph;
  let optimizer: Required<AdamWGraphOptions> | undefined;
  let trainable = new Set<string>();
  if (opts.train === true) {
    optimizer = adamw(program, opts.model);
    const step = buildTrainStep(withLmLoss(graph), 'loss', optimizer);
    graph = step.graph;
    trainable = new Set(step.params);
  }
  const refused = unsupportedOps(graph);
  if (refused.length > 0) {
    throw new ExportError(refused.map((r) => `op '${r.op}' has no exact ONNX form: ${r.reason}`).join('\n'));
  }
  const weights = await weightsOf(m, opts);
  const doc = optimizer === undefined ? `${opts.model}: forward` : `${opts.model}: AdamW training step ${JSON.stringify(optimizer)}`;
  const onnx = toOnnx(graph, { weights, inputParams: trainable, name: opts.model, doc });
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
    params: m.params.reduce((s, p) => s + p.shape.reduce((x, y) => x * y, 1), 0),
    weights,
    ...(optimizer === undefined ? {} : { optimizer }),
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
