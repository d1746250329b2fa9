// The ONNX Runtime backend on graphs with host ops (svd_values and its VJP, OP_TRAITS class
// 'host'): the graph is split at them into ONNX segments around the CPU reference kernels. A
// graph with svd between segments matches the f64 reference forward and backward, and a BA-LoRA
// adapter (SVD-energy regularizer included) trains on it with the reference's losses.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { partitionAtHostOps } from '../../backends/cpu/partition.ts';
import { CPU, tensorBridge } from '../../backends/cpu/index.ts';
import { segmentedRun } from '../../backends/cpu/segmented.ts';
import { encodeModel } from '../../compiler/codegen/onnx/onnx-proto.ts';
import { toOnnx } from '../../compiler/codegen/onnx/to-onnx.ts';
import { main } from '../../cli/main.ts';
import { grad } from '../../compiler/autodiff/grad.ts';
import { GraphBuilder } from '../../compiler/ir/builder.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { runGraph } from '../../runtime/cpu/run-graph.ts';
import { tensor, type Tensor } from '../../runtime/cpu/tensor.ts';
import { maxRelErr } from '../compiler/ops/harness.ts';
import { captureIo } from '../cli/capture-io.ts';
import { trainLosses as losses } from '../jobs/train/run-metrics.ts';
import { genreClassifierSpec } from '../jobs/train/genre-classifier-spec.ts';

/** loss = Σ c·σ² (σ of tanh(x·w)) + Σ exp(tanh(x·w))/10, with its gradients in x and w: dσ needs σ. */
function svdGraph(): Graph {
  const b = new GraphBuilder();
  const x = b.param('x', [5, 3]);
  const w = b.param('w', [3, 4]);
  const y = b.tanh(b.matmul(x, w)); // [5, 4]
  const s = b.svdValues(y); // [4]
  const loss = b.add(b.sum(b.mul(b.mul(s, s), b.constant([1, -0.5, 0.25, 2], [4]))), b.mul(b.sum(b.exp(y)), b.scalar(0.1)));
  b.output('loss', loss);
  b.output('sigma', s);
  return grad(b.build(), 'loss', ['x', 'w']);
}

const feeds = (): Map<string, Tensor> =>
  new Map([
    ['x', tensor([0.3, -1.2, 0.8, 0.5, 0.1, -0.7, 1.1, 0.4, -0.2, -0.9, 0.6, 0.3, 0.2, -0.4, 1.3], [5, 3])],
    ['w', tensor([0.7, -0.3, 0.2, 0.9, -0.5, 0.8, 0.4, -0.1, 0.3, 0.6, -0.9, 0.5], [3, 4])],
  ]);

describe('--device cpu with host ops', () => {
  it('splits a graph at svd_values and its VJP into three ONNX segments around two host steps', () => {
    const g = svdGraph();
    const steps = partitionAtHostOps(
      g,
      g.outputs.map((o) => o.name),
    ).steps.map((s) => (s.kind === 'host' ? s.node.op : 'onnx'));
    expect(steps).toEqual(['onnx', 'svd_values', 'onnx', 'svd_values_grad', 'onnx']);
  });

  it('matches the f64 reference forward and backward', async () => {
    const g = svdGraph();
    const want = runGraph(g, feeds(), { dtype: 'f64' });
    const backend = await CPU.open(g, true);
    if ('reason' in backend) throw new Error(backend.reason);
    try {
      const got = await backend.run(g, feeds());
      expect([...got.keys()].sort()).toEqual(['grad:w', 'grad:x', 'loss', 'sigma'].sort());
      for (const [name, t] of want) {
        expect(got.get(name)?.shape, name).toEqual([...t.shape]);
        expect(maxRelErr(got.get(name)?.data ?? [], t.data), name).toBeLessThan(1e-5);
      }
      // A subset of the outputs runs only the steps it needs (σ: one segment and one host step).
      const sigma = await backend.run(g, feeds(), ['sigma']);
      expect(maxRelErr(sigma.get('sigma')?.data ?? [], want.get('sigma')?.data ?? [])).toBeLessThan(1e-5);
    } finally {
      backend.dispose();
    }
  });

  it('copies out only the wanted outputs: a value that just crosses is written into a buffer kept between runs', async () => {
    const g = svdGraph();
    const partition = partitionAtHostOps(
      g,
      g.outputs.map((o) => o.name),
    );
    const exported = new Set(partition.steps.flatMap((s) => (s.kind === 'onnx' ? s.exports : [])));
    const crossing = [...exported].filter((id) => !partition.outputs.some((o) => o.node === id));
    const fromSegments = partition.outputs.filter((o) => exported.has(o.node)); // σ comes from the host step
    expect(crossing.length).toBeGreaterThan(0);
    const ort = await import('onnxruntime-node');
    const base = tensorBridge(ort);
    const count = { copied: 0, allocated: 0 };
    const sessions: Promise<import('onnxruntime-node').InferenceSession>[] = [];
    const run = segmentedRun(g, partition, {
      session: (sg) => {
        const s = ort.InferenceSession.create(encodeModel(toOnnx(sg, { name: 'segment' })).model);
        sessions.push(s);
        return s;
      },
      toOrt: base.toOrt,
      fromOrt: (v, node) => (count.copied++, base.fromOrt(v, node)),
      empty: (node) => (count.allocated++, base.empty(node)),
    });
    const want = runGraph(g, feeds(), { dtype: 'f64' });
    for (let k = 1; k <= 3; k++) {
      const got = await run.run(feeds());
      for (const [name, t] of want) expect(maxRelErr(got.get(name)?.data ?? [], t.data), `run ${k}: ${name}`).toBeLessThan(1e-5);
      expect(count).toEqual({ copied: k * fromSegments.length, allocated: crossing.length });
    }
    for (const s of sessions) await (await s).release();
  });
});

// A tiny llama parent (`scion init`) and a BA-LoRA adapter on its classifier: consistency,
// diversity and the SVD-energy term (svd_values of the [batch, dim] features) all in the loss.
const SPEC = genreClassifierSpec(
  1,
  `
adapter A on C {
  targets = ["layers.*.self_attn.q_proj", "layers.*.self_attn.v_proj"]
  rank = 2
  alpha = 4
}
train A {
  data = brown(split = "train", seq = 16, task = "genre")
  base = C frozen
  loss = cross_entropy(logits, label)
       + 0.15 * consistency(logits, base.logits, T = 2)
       + 0.03 * diversity(features, k = 4)
       + 0.3 * svd_energy(features, k = 3)
  optimizer = adamw(lr = 1e-2)
  steps = 10
  batch = 4
  seed = 1
}
`,
);

describe('BA-LoRA on --device cpu', () => {
  it('trains 10 steps with the reference losses within 1e-3 relative', { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scion-onnx-balora-'));
    writeFileSync(join(dir, 'tiny.scion'), SPEC);
    mkdirSync(join(dir, 'parent'));
    expect(await main(['init', 'tiny.scion', '--model', 'P', '-o', 'parent/model.safetensors'], captureIo(dir))).toBe(0);
    const run = async (device: string): Promise<number[]> => {
      const io = captureIo(dir);
      expect(await main(['train', 'tiny.scion', '--model', 'A', '--device', device, '--out', device, '--json'], io), io.stderr).toBe(0);
      expect(JSON.parse(io.stdout).summary.device).toBe(device);
      return losses(join(dir, device));
    };
    const ref = await run('reference');
    const onnx = await run('cpu');
    expect(onnx).toHaveLength(10);
    onnx.forEach((l, i) => expect(Math.abs(l - (ref[i] as number)) / Math.abs(ref[i] as number), `step ${i + 1}`).toBeLessThan(1e-3));
  });
});
