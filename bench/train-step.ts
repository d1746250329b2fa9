// One training step (forward, backward, Adam) of the same small GPT-style transformer in Scion and
// in TF.js layers, both on the shared Dawn device with the same yielding polling: steps/s.
//
//   Scion: the spec below → lowerModel → cross-entropy → buildTrainStep (AdamW, weight decay 0, so
//          plain Adam; the one step builder, which `scion train --device webgpu` runs resident
//          through jobs/train/resident.ts) → compileGraph → WebGpuExecutor; one command encoder
//          per step.
//   TF.js: tf.layers (embedding, layerNormalization, dense) applied eagerly, attention in tf ops,
//          tf.train.adam, `optimizer.minimize`; its open pass ended and the queue awaited per step.
// Both await the GPU after every step (a training loop reads nothing back, but must not run ahead).

import { GraphBuilder } from '../compiler/ir/builder.ts';
import { crossEntropy } from '../compiler/ir/compose.ts';
import type { Node } from '../compiler/ir/graph.ts';
import { buildTrainStep, stateName } from '../compiler/autodiff/train-step.ts';
import { lowerModel } from '../compiler/lower/lower-model.ts';
import { compileGraph } from '../compiler/pipeline.ts';
import { parseProgram } from '../grammar/dsl/parse.ts';
import { tensor } from '../runtime/cpu/tensor.ts';
import type { GpuDevice } from '../runtime/webgpu/device.ts';
import { WebGpuExecutor, type KernelTiming } from '../runtime/webgpu/executor.ts';
import type { PipelineCache } from '../runtime/webgpu/pipeline-cache.ts';
import { tfjsOnDevice, type Tf } from './peers/tfjs-webgpu.ts';
import { interleavedMsPerRun } from './timing.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';
import { fill } from './fill.ts';

/** The workload: B8, S64, d128, 4 heads, MLP 512 (GELU-tanh), 2 pre-norm layers, vocab 512. */
export const GPT = { batch: 8, ctx: 64, dim: 128, heads: 4, ffn: 512, depth: 2, vocab: 512 };

const SPEC = `
model Gpt(vocab = ${GPT.vocab}, dim = ${GPT.dim}, depth = ${GPT.depth}, heads = ${GPT.heads}, ffn = ${GPT.ffn}, ctx = ${GPT.ctx}) {
  input tokens: i32[batch, ctx]
  h = Embedding(tokens, vocab, dim) as wte
  repeat i in 0..depth {
    h = h + Attention(LayerNorm(h) as blocks[i].ln1, heads, causal = true) as blocks[i].attn
    h = h + MLP(LayerNorm(h) as blocks[i].ln2, ffn) as blocks[i].mlp
  }
  output logits = Linear(LayerNorm(h) as ln_f, vocab, bias = false) as head
}
`;

const LR = 1e-3;
const BETAS = [0.9, 0.999] as const;

const tokensOf = (seed: number): Int32Array => Int32Array.from(fill(GPT.batch * GPT.ctx, seed, 1), (v) => Math.floor((v + 1) * 0.5 * GPT.vocab) % GPT.vocab);

export interface Stepper {
  step(): Promise<void>;
  /** The loss of the last step (reads back; not timed). */
  loss(): Promise<number>;
  release(): void;
}

/** Scion's step on `gpu`: compiled once, params and Adam state resident in the arenas. */
export async function scionStepper(
  gpu: GpuDevice,
  cache: PipelineCache,
): Promise<Stepper & { dispatches: number; primitiveOps: number; profile(): Promise<KernelTiming[]> }> {
  const { program, diagnostics } = parseProgram(SPEC, 'bench/train-step.scion');
  if (diagnostics.length > 0) throw new Error(`bench spec does not parse: ${diagnostics[0]?.message ?? ''}`);
  const m = lowerModel(program, 'Gpt', { dims: { batch: GPT.batch } });
  const { builder: b, nodes } = GraphBuilder.from(m.graph);
  const logits = nodes[(m.graph.outputs.find((o) => o.name === 'logits') as { node: number }).node] as Node;
  b.output('loss', crossEntropy(b, logits, b.input('labels', [GPT.batch, GPT.ctx], 'i32')));
  const ts = buildTrainStep(b.build(), 'loss', { betas: BETAS, weightDecay: 0 });
  const art = compileGraph(ts.graph, { carry: ts.carry });
  const ex = await WebGpuExecutor.create(gpu, art, cache);
  let seed = 1;
  for (const n of ts.graph.nodes) {
    if (n.op !== 'param') continue;
    const name = n.attrs['name'] as string;
    const count = n.shape.reduce((x, y) => x * y, 1);
    const isNorm = /ln[12_f]*\.weight$|ln_f\.weight$/.test(name) && n.shape.length === 1;
    ex.write(name, tensor(isNorm ? new Float32Array(count).fill(1) : fill(count, seed++, 0.05), n.shape));
    ex.write(stateName('m', name), tensor(new Float32Array(count), n.shape));
    ex.write(stateName('v', name), tensor(new Float32Array(count), n.shape));
  }
  ex.write('tokens', tensor(tokensOf(101), [GPT.batch, GPT.ctx], 'i32'));
  ex.write('labels', tensor(tokensOf(202), [GPT.batch, GPT.ctx], 'i32'));
  ex.write('adam.lr', tensor([LR], []));
  let t = 0;
  return {
    dispatches: art.graph.kernels.length,
    primitiveOps: art.graph.primitiveOps,
    async step() {
      t++;
      // the bias corrections change every step: two scalar uploads, as a real loop does
      ex.write('adam.bc1', tensor([1 - BETAS[0] ** t], []));
      ex.write('adam.bc2', tensor([1 - BETAS[1] ** t], []));
      await ex.step();
    },
    /** One step with per-kernel GPU times (needs 'timestamp-query'), to find what dominates. */
    profile() {
      return ex.profile();
    },
    async loss() {
      const l = await ex.read('loss');
      return Number(l.data[0]);
    },
    release() {
      ex.destroy();
    },
  };
}

/** The same model in TF.js layers on its webgpu backend (on our device), or why it cannot run. */
export async function tfjsStepper(gpu: GpuDevice): Promise<Stepper | string> {
  const on = await tfjsOnDevice(gpu);
  if (typeof on === 'string') return on;
  const { tf, flush } = on;
  const { batch: B, ctx: S, dim: D, heads: H, ffn: F, vocab: V } = GPT;
  const hd = D / H;
  const L = tf.layers;
  const emb = L.embedding({ inputDim: V, outputDim: D });
  const blocks = Array.from({ length: GPT.depth }, () => ({
    ln1: L.layerNormalization({ epsilon: 1e-5 }),
    q: L.dense({ units: D, useBias: false }),
    k: L.dense({ units: D, useBias: false }),
    v: L.dense({ units: D, useBias: false }),
    o: L.dense({ units: D, useBias: false }),
    ln2: L.layerNormalization({ epsilon: 1e-5 }),
    fc1: L.dense({ units: F, activation: 'gelu_new' }),
    fc2: L.dense({ units: D }),
  }));
  const lnF = L.layerNormalization({ epsilon: 1e-5 });
  const head = L.dense({ units: V, useBias: false });
  const apply = (layer: { apply(x: unknown): unknown }, x: import('@tensorflow/tfjs').Tensor): import('@tensorflow/tfjs').Tensor =>
    layer.apply(x) as import('@tensorflow/tfjs').Tensor;
  // [S, S] additive causal mask, built once
  const mask = tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([S, S]), -1, 0)), -1e9));
  const tokens = tf.tensor2d(tokensOf(101), [B, S], 'int32');
  const labels = tf.oneHot(tf.tensor1d(tokensOf(202), 'int32'), V);
  const heads = (x: import('@tensorflow/tfjs').Tensor): import('@tensorflow/tfjs').Tensor => tf.transpose(tf.reshape(x, [B, S, H, hd]), [0, 2, 1, 3]); // [B, H, S, hd]
  const lossOf = (t: Tf): import('@tensorflow/tfjs').Scalar => {
    let h = apply(emb, tokens); // [B, S, D]
    for (const blk of blocks) {
      const a = apply(blk.ln1, h);
      const q = heads(apply(blk.q, a));
      const k = heads(apply(blk.k, a));
      const v = heads(apply(blk.v, a));
      const p = t.softmax(t.add(t.mul(t.matMul(q, k, false, true), 1 / Math.sqrt(hd)), mask));
      const y = t.reshape(t.transpose(t.matMul(p, v), [0, 2, 1, 3]), [B, S, D]);
      h = t.add(h, apply(blk.o, y));
      h = t.add(h, apply(blk.fc2, apply(blk.fc1, apply(blk.ln2, h))));
    }
    const logits = t.reshape(apply(head, apply(lnF, h)), [B * S, V]);
    return t.losses.softmaxCrossEntropy(labels, logits) as import('@tensorflow/tfjs').Scalar;
  };
  tf.tidy(() => lossOf(tf)); // builds the layers' weights outside the gradient tape
  const optimizer = tf.train.adam(LR, BETAS[0], BETAS[1], 1e-8);
  let last: import('@tensorflow/tfjs').Scalar | null = null;
  return {
    async step() {
      last?.dispose();
      last = optimizer.minimize(() => lossOf(tf), true);
      await flush();
    },
    async loss() {
      return last === null ? Number.NaN : ((await last.data())[0] as number);
    },
    release() {
      last?.dispose();
      optimizer.dispose();
      for (const t of [mask, tokens, labels]) t.dispose();
      for (const l of [emb, lnF, head, ...blocks.flatMap((x) => Object.values(x))]) l.dispose();
    },
  };
}

export const benchmarks: Benchmark[] = [
  {
    name: 'train-step',
    description: `one Adam training step of a GPT (B${GPT.batch}, S${GPT.ctx}, d${GPT.dim}, ${GPT.heads} heads, MLP ${GPT.ffn}, ${GPT.depth} layers, vocab ${GPT.vocab}): Scion vs TF.js webgpu, steps/s`,
    needsGpu: true,
    async run(ctx): Promise<BenchResult[]> {
      const { gpu, cache } = ctx;
      if (gpu === null || cache === null) throw new Error(`train-step needs a device: ${ctx.noGpuReason}`);
      const ours = await scionStepper(gpu, cache);
      ctx.log(`train-step: scion ${ours.primitiveOps} primitive ops → ${ours.dispatches} dispatches`);
      const peer = await tfjsStepper(gpu);
      const contenders: Record<string, (runs: number) => Promise<void>> = {
        scion: async (runs) => {
          for (let r = 0; r < runs; r++) await ours.step();
        },
      };
      if (typeof peer !== 'string')
        contenders['tfjs'] = async (runs) => {
          for (let r = 0; r < runs; r++) await peer.step();
        };
      const ms = await interleavedMsPerRun(contenders, 3, { minBatchMs: 200, budgetMs: 6000, minSamples: 3 });
      // sanity: both minimize the same loss from about ln(vocab) downwards
      ctx.log(
        `train-step: loss after warm-up and timing: scion ${(await ours.loss()).toFixed(3)}, tfjs ${typeof peer === 'string' ? peer : (await peer.loss()).toFixed(3)}; ln(vocab) = ${Math.log(GPT.vocab).toFixed(3)}`,
      );
      ours.release();
      if (typeof peer !== 'string') peer.release();
      const oursSps = 1000 / (ms['scion'] as number);
      const peerSps = typeof peer === 'string' ? null : 1000 / (ms['tfjs'] as number);
      return [result('gpt-train-step', 'steps/s', oursSps, peerSps, typeof peer === 'string' ? `TF.js webgpu: ${peer}` : 'TF.js webgpu (layers)', true)];
    },
  },
];
