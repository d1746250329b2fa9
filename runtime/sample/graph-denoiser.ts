// A denoiser backed by a lowered model graph, on the CPU reference unless given another runner
// (a WebGPU backend's `run`): feeds x, t and the labels by the model's input names, reads ε (and
// v) by output name. Counts its passes so reuse schedules can be checked and timed.

import type { Graph, Node } from '../../compiler/ir/graph.ts';
import { runGraph } from '../cpu/run-graph.ts';
import type { Tensor } from '../cpu/tensor.ts';
import type { Denoiser, DenoiserOutput, GraphRunner } from './types.ts';

/** The CPU reference interpreter in f32. */
export const cpuRunner: GraphRunner = (graph, feeds, outputs) => Promise.resolve(runGraph(graph, feeds, { dtype: 'f32', outputs }));

export interface GraphModel {
  /** For messages: the spec's model name. */
  name: string;
  graph: Graph;
  /** Parameters by Scion path (f32). */
  weights: ReadonlyMap<string, Tensor>;
  /** The model's input names for x_t, t and the class labels (absent: unconditional). */
  inputs: { x: string; t: string; y?: string };
  /** Output names of ε and of the variance output v, if the model has one. */
  outputs: { eps: string; v?: string };
}

export interface CountedDenoiser extends Denoiser {
  (x: Float64Array, t: number, labels: Int32Array, step: number): Promise<DenoiserOutput>;
  /** Graph evaluations so far. */
  readonly passes: number;
  /** The one graph it runs (a backend compiles it once). */
  readonly graph: Graph;
}

const inputNode = (graph: Graph, name: string): Node | undefined => graph.nodes.find((m) => m.op === 'input' && m.attrs['name'] === name);

/**
 * The feeds of one call: weights plus x, t (broadcast to the batch) and labels — those of them the
 * graph still has (a graph cut at a deep tap may no longer read x or t).
 */
export function feedsFor(
  m: GraphModel,
  graph: Graph,
  x: Float64Array,
  t: number,
  labels: Int32Array,
  extra?: ReadonlyMap<string, Tensor>,
): Map<string, Tensor> {
  const feeds = new Map<string, Tensor>(m.weights);
  const xNode = inputNode(graph, m.inputs.x);
  if (xNode) {
    if (xNode.shape.reduce((p, d) => p * d, 1) !== x.length)
      throw new Error(`graph denoiser: ${m.name} takes x ${JSON.stringify(xNode.shape)}, got ${x.length} values`);
    feeds.set(m.inputs.x, { dtype: 'f32', shape: xNode.shape, data: Float32Array.from(x) });
  }
  const tNode = inputNode(graph, m.inputs.t);
  if (tNode) {
    const b = tNode.shape[0] ?? 1;
    feeds.set(m.inputs.t, { dtype: tNode.dtype, shape: tNode.shape, data: tNode.dtype === 'i32' ? new Int32Array(b).fill(t) : new Float32Array(b).fill(t) });
  }
  if (m.inputs.y !== undefined && inputNode(graph, m.inputs.y)) feeds.set(m.inputs.y, { dtype: 'i32', shape: [labels.length], data: labels });
  if (extra) for (const [k, v] of extra) feeds.set(k, v);
  return feeds;
}

export function readOutputs(m: GraphModel, out: ReadonlyMap<string, Tensor>): DenoiserOutput {
  const eps = out.get(m.outputs.eps);
  if (eps === undefined) throw new Error(`graph denoiser: ${m.name} has no output '${m.outputs.eps}'`);
  const v = m.outputs.v === undefined ? undefined : out.get(m.outputs.v);
  return v === undefined ? { eps: Float64Array.from(eps.data) } : { eps: Float64Array.from(eps.data), v: Float64Array.from(v.data) };
}

/** One full graph evaluation per call, through `run` (default: the CPU reference). */
export function graphDenoiser(m: GraphModel, run: GraphRunner = cpuRunner): CountedDenoiser {
  let passes = 0;
  const wanted = m.outputs.v === undefined ? [m.outputs.eps] : [m.outputs.eps, m.outputs.v];
  const fn = async (x: Float64Array, t: number, labels: Int32Array, _step: number): Promise<DenoiserOutput> => {
    passes++;
    return readOutputs(m, await run(m.graph, feedsFor(m, m.graph, x, t, labels), wanted));
  };
  Object.defineProperties(fn, { passes: { get: () => passes }, graph: { value: m.graph } });
  return fn as CountedDenoiser;
}
