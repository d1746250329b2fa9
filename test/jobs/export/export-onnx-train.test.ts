// `scion export --onnx --train` exports the spec's own training step (issue 15): the `train`
// declaration's loss as `scion train` lowers it (compiler/lower/lower-train.ts), around the AdamW
// update. For each case — the main job's next-token cross-entropy (specs/default.scion), an
// example task's classifier (specs/mnist-classifier.scion: image and label in), the LiT's
// diffusion loss with a frozen DiT teacher (specs/lit.scion: the teacher's params as inputs) and a
// plain LoRA adapter's classifier (specs/ba-lora.scion's GenrePlain) and the BA-LoRA one (Genre:
// its SVD-energy regularizer exports as a Jacobi Loop, compiler/codegen/onnx/onnx-svd.ts) —
// one step in ONNX Runtime equals one step of the reference (f32) on the same graph within 1e-5
// (loss, every new param and moment), and the file passes the ONNX checker. A model without a
// `train` declaration keeps the cross-entropy stand-in against `labels`.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newName, stateName } from '../../../compiler/autodiff/train-step.ts';
import type { Graph } from '../../../compiler/ir/graph.ts';
import type { Program } from '../../../grammar/ast.ts';
import { buildOnnxExport, exportOnnx } from '../../../jobs/export/export-onnx.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { tensor, type Tensor } from '../../../runtime/cpu/tensor.ts';
import { checkOnnxFiles, onnxChecker, runOrt, skipChecker } from '../../compiler/onnx/ort-harness.ts';
import { maxRelErr } from '../../compiler/ops/harness.ts';
import { llamaSpec, parse, parseSpec } from '../../compiler/lower/helpers.ts';

/** Deterministic values in [−scale, scale). */
function values(n: number, seed: number, scale = 1): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

const draw = (n: number, seed: number, below: number): number[] => values(n, seed).map((v) => Math.floor((v + 1) * 0.5 * below));

interface Case {
  spec: string;
  model: string;
  batch: number;
  /** Ids of every i32 input are drawn from [0, ids). */
  ids: number;
  /** Inputs drawn from [0, n) instead: f32 ones that hold integers (diffusion timesteps), i32 ones with their own range. */
  integers?: Record<string, number>;
  /** Data inputs the exported step must take (and, for the stand-in's, must not). */
  takes: string[];
  lacks: string[];
}

const CASES: Case[] = [
  { spec: 'default.scion', model: 'TinyLlama', batch: 2, ids: 512, takes: ['tokens'], lacks: ['labels'] },
  { spec: 'mnist-classifier.scion', model: 'DigitMLP', batch: 4, ids: 10, takes: ['image', 'label'], lacks: ['labels'] },
  {
    spec: 'lit.scion',
    model: 'LiT',
    batch: 2,
    ids: 10,
    integers: { t: 1000 },
    takes: ['x', 't', 'y', 'diffusion.noise', 'teacher.final_layer.linear.weight'],
    lacks: ['labels'],
  },
  // LoRA on a frozen llama base (the base's weights are the file's constants), without BA-LoRA's regularizers.
  { spec: 'ba-lora.scion', model: 'GenrePlain', batch: 2, ids: 512, integers: { label: 15 }, takes: ['tokens', 'label'], lacks: ['labels'] },
  // BA-LoRA: the same adapter with consistency, diversity and the SVD-energy term (σ of the
  // [batch, dim] features and its VJP as ONNX Loops).
  { spec: 'ba-lora.scion', model: 'Genre', batch: 4, ids: 512, integers: { label: 15 }, takes: ['tokens', 'label'], lacks: ['labels'] },
];

/** Feeds for every input of the step: weights as exported, a mid-training AdamW state (v ≥ m², step 3), data drawn. */
function stepFeeds(graph: Graph, weights: ReadonlyMap<string, ArrayLike<number>>, c: Case): Map<string, Tensor> {
  const feeds = new Map<string, Tensor>();
  const shapes = new Map(graph.nodes.filter((n) => n.op === 'param').map((n) => [n.attrs['name'] as string, n.shape]));
  for (const [name, w] of weights) feeds.set(name, tensor(Array.from(w), shapes.get(name) ?? []));
  for (const n of graph.nodes) {
    const name = n.attrs['name'] as string;
    if (n.op !== 'input' || feeds.has(name)) continue;
    const count = n.shape.reduce((p, d) => p * d, 1);
    const seed = name.length * 13 + 5;
    if (name === 'adam.lr') feeds.set(name, tensor([1e-3], []));
    else if (name === 'adam.bc1') feeds.set(name, tensor([1 - 0.9 ** 3], []));
    else if (name === 'adam.bc2') feeds.set(name, tensor([1 - 0.999 ** 3], []));
    else if (name.startsWith('adam.m:')) feeds.set(name, tensor(values(count, seed, 1e-3), n.shape));
    else if (name.startsWith('adam.v:')) {
      const m = values(count, seed, 1e-3); // adam.m: and adam.v: names have equal lengths: the same draw
      feeds.set(
        name,
        tensor(
          m.map((x, k) => x * x + 1e-6 * (1 + ((k * 7) % 5))),
          n.shape,
        ),
      );
    } else if (n.dtype === 'i32') feeds.set(name, tensor(draw(count, seed, c.integers?.[name] ?? c.ids), n.shape, 'i32'));
    else if (c.integers?.[name] !== undefined) feeds.set(name, tensor(draw(count, seed, c.integers[name]), n.shape));
    else feeds.set(name, tensor(values(count, seed), n.shape));
  }
  return feeds;
}

async function oneStep(program: Program, c: Case): Promise<{ loss: number; worst: number; outputs: number; kind: string | undefined; inputs: string[] }> {
  const r = await buildOnnxExport(program, { model: c.model, batch: c.batch, train: true });
  const feeds = stepFeeds(r.graph, r.weights, c);
  const want = runGraph(r.graph, feeds, { dtype: 'f32' });
  const got = await runOrt(r.model, feeds);
  let worst = 0;
  for (const name of r.outputs) {
    if (name !== 'loss' && !name.startsWith('new:')) continue;
    const e = maxRelErr(got.get(name)?.data ?? [], want.get(name)?.data ?? []);
    worst = Math.max(worst, e);
  }
  return { loss: got.get('loss')?.data[0] as number, worst, outputs: r.outputs.filter((n) => n.startsWith('new:')).length, kind: r.loss, inputs: r.inputs };
}

describe("scion export --onnx --train: the spec's own training step", () => {
  for (const c of CASES) {
    it(`${c.spec} ${c.model}: one step in ONNX Runtime equals the reference's on the same graph within 1e-5`, async () => {
      const program = parseSpec(c.spec);
      const r = await oneStep(program, c);
      expect(r.kind).toBe('spec');
      expect(r.inputs).toEqual(expect.arrayContaining(c.takes));
      for (const name of c.lacks) expect(r.inputs).not.toContain(name);
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.outputs % 3).toBe(0);
      expect(r.outputs).toBeGreaterThan(0);
      expect(r.worst).toBeLessThan(1e-5);
    }, 60_000);
  }

  it('a model without a `train` declaration keeps the cross-entropy stand-in against `labels`', async () => {
    const program = parse(llamaSpec('Bare', 'vocab = 64, dim = 16, depth = 1, heads = 2, kv_heads = 1, ffn = 32, ctx = 8'));
    const r = await oneStep(program, { spec: '', model: 'Bare', batch: 2, ids: 64, takes: [], lacks: [] });
    expect(r.kind).toBe('cross-entropy');
    expect(r.inputs).toEqual(expect.arrayContaining(['tokens', 'labels']));
    expect(r.worst).toBeLessThan(1e-5);
  });

  const checker = onnxChecker();
  it.skipIf(skipChecker(checker))(
    'the ONNX checker (full_check) accepts the exported spec-loss training steps',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'scion-onnx-train-'));
      const files: string[] = [];
      for (const c of CASES) {
        const file = join(dir, `${c.model}.train.onnx`);
        await exportOnnx(parseSpec(c.spec), { model: c.model, batch: c.batch, train: true }, file);
        files.push(file);
      }
      expect(checkOnnxFiles(checker, files)).toBe('');
    },
    60_000,
  );
});

// Names the exported step's state follows (compiler/autodiff/train-step.ts).
describe('the exported step carries its state by name', () => {
  it('every trained param p has new:p, new:adam.m:p and new:adam.v:p', async () => {
    const r = await buildOnnxExport(parseSpec('mnist-classifier.scion'), { model: 'DigitMLP', batch: 4, train: true });
    for (const p of ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']) {
      for (const name of [p, stateName('m', p), stateName('v', p)]) {
        expect(r.inputs).toContain(name);
        expect(r.outputs).toContain(newName(name));
      }
    }
  });
});
