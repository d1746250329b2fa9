// The graphs run in the page, compiled here in Node exactly as `scion compile` does, with what
// the CPU reference says each step must read back. Sizes are the smallest that keep each model's
// structure: SwiftShader, like lavapipe, compiles every pipeline on the CPU.

import { GraphBuilder } from '../../../../compiler/ir/builder.ts';
import { crossEntropy } from '../../../../compiler/ir/compose.ts';
import type { Graph, Node } from '../../../../compiler/ir/graph.ts';
import type { KernelArtifact } from '../../../../compiler/kernel/kernel-graph.ts';
import { buildTrainStep, stateName } from '../../../../compiler/autodiff/train-step.ts';
import { lowerModel } from '../../../../compiler/lower/lower-model.ts';
import { compileGraph } from '../../../../compiler/pipeline.ts';
import { runGraph } from '../../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../../runtime/cpu/tensor.ts';
import type { RunRequest } from '../../../../runtime/webgpu/browser/run-request.ts';
import { toWire } from '../../../../runtime/webgpu/browser/wire.ts';
import { numel, parseSpec, randoms } from '../../../compiler/lower/helpers.ts';

export interface BrowserCase {
  name: string;
  request: RunRequest;
  /** What the CPU reference reads after each step, by the names in request.read. */
  expected: Map<string, Tensor>[];
}

/** Only the artifact (compileGraph also returns the optimized IR, which a runtime never needs). */
function artifactOf(graph: Graph, carry: readonly { output: string; input: string }[] = []): KernelArtifact {
  const { graph: kernels, memory, programs } = compileGraph(graph, { carry });
  return { graph: kernels, memory, programs };
}

function wireFeeds(feeds: ReadonlyMap<string, Tensor>): RunRequest['feeds'] {
  return Object.fromEntries([...feeds].map(([name, t]) => [name, toWire(t)]));
}

const f32 = (shape: readonly number[], seed: number, scale: number): Tensor => ({ dtype: 'f32', shape, data: randoms(numel(shape), seed, scale) });

/** The tiny llama of specs/tiny-lm.scion at test sizes: forward only, logits read back. */
export function llamaForward(): BrowserCase {
  const m = lowerModel(parseSpec('tiny-lm.scion'), 'Llama', {
    dims: { batch: 2 },
    overrides: { vocab: 32, dim: 16, depth: 1, heads: 4, kv_heads: 2, ffn: 24, ctx: 8 },
  });
  const feeds = new Map<string, Tensor>();
  m.params.forEach((p, k) => feeds.set(p.path, f32(p.shape, 1 + k, 0.3)));
  for (const i of m.inputs) feeds.set(i.name, { dtype: 'i32', shape: i.shape, data: Int32Array.from({ length: numel(i.shape) }, (_, k) => (k * 7 + 3) % 32) });
  const read = m.outputs.map((o) => o.name);
  return {
    name: 'tiny-llama-forward',
    request: { artifact: artifactOf(m.graph), feeds: wireFeeds(feeds), steps: 1, read },
    expected: [runGraph(m.graph, feeds, { dtype: 'f32', outputs: read })],
  };
}

/**
 * `steps` AdamW steps of `fwd` (which outputs 'loss') on fixed feeds: the loss of each step and
 * the carried state (params and moments) after it. Moments start mid-training, as in
 * test/runtime/webgpu/ops/fused-graphs.test.ts: from zero moments the first update is lr·sign(g), which
 * flips on gradients that are zero up to rounding. Unlike there, v ≥ m² + 1e-6, as in a state
 * Adam can reach: drawn independently, a v near 0 makes m/√v reach hundreds, and the update then
 * amplifies the rounding of √ and ÷ (seen: 4e-4 on a tiny llama's lm_head on SwiftShader).
 */
function trainingCase(name: string, fwd: Graph, feeds: Map<string, Tensor>, steps: number): BrowserCase {
  const step = buildTrainStep(fwd, 'loss', { betas: [0.9, 0.95], weightDecay: 0.1 });
  for (const [k, p] of step.params.entries()) {
    const shape = (feeds.get(p) as Tensor).shape;
    const m = f32(shape, 100 + k, 1e-3);
    const r = randoms(numel(shape), 200 + k, 1e-5);
    feeds.set(stateName('m', p), m);
    feeds.set(stateName('v', p), { dtype: 'f32', shape, data: r.map((x, i) => (m.data[i] as number) ** 2 + 1e-6 + Math.abs(x)) });
  }
  feeds.set('adam.lr', { dtype: 'f32', shape: [], data: Float32Array.of(1e-2) });
  feeds.set('adam.bc1', { dtype: 'f32', shape: [], data: Float32Array.of(1 - 0.9 ** 3) });
  feeds.set('adam.bc2', { dtype: 'f32', shape: [], data: Float32Array.of(1 - 0.95 ** 3) });
  const request: RunRequest = {
    artifact: artifactOf(step.graph, step.carry),
    feeds: wireFeeds(feeds),
    steps,
    read: ['loss', ...step.carry.map((c) => c.input)],
  };

  // The CPU twin of the executor's carry: each step's new state is the next step's input.
  const expected: Map<string, Tensor>[] = [];
  const state = new Map(feeds);
  for (let s = 0; s < steps; s++) {
    const out = runGraph(step.graph, state, { dtype: 'f32' });
    const got = new Map<string, Tensor>([['loss', out.get('loss') as Tensor]]);
    for (const c of step.carry) {
      got.set(c.input, out.get(c.output) as Tensor);
      state.set(c.input, out.get(c.output) as Tensor);
    }
    expected.push(got);
  }
  return { name, request, expected };
}

/** Training steps of specs/mnist-classifier.scion's MLP on one batch of 6×6 "images". */
export function mlpTraining(steps: number): BrowserCase {
  const m = lowerModel(parseSpec('mnist-classifier.scion'), 'DigitMLP', { dims: { batch: 4 }, overrides: { size: 6, hidden: 8, classes: 4 } });
  const { builder: b, nodes } = GraphBuilder.from(m.graph);
  const logits = nodes[m.outputs[0]?.node ?? -1] as Node; // [B, classes]
  b.output('loss', crossEntropy(b, logits, b.input('label', [4], 'i32')));
  const feeds = new Map<string, Tensor>();
  m.params.forEach((p, k) => feeds.set(p.path, f32(p.shape, 1 + k, 0.3)));
  feeds.set('image', f32([4, 1, 6, 6], 50, 1));
  feeds.set('label', { dtype: 'i32', shape: [4], data: Int32Array.from([3, 0, 2, 1]) });
  return trainingCase('mlp-adamw-steps', b.build(), feeds, steps);
}
