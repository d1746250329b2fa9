// `scion export --onnx` on the main job's TinyLlama (specs/default.scion, `scion init` weights):
// the forward graph gives the reference's logits in ONNX Runtime within 1e-4; one training step
// in ONNX Runtime (the spec's own loss: export-onnx-train.test.ts has the table of specs) equals
// one step of the reference on the same train-step graph; the files pass
// the ONNX checker (Debian's python3-onnx; under CI=true a missing checker fails the test), as does
// the LiT's training step; a
// model whose weights go to external data loads from its file and gives the same logits.

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { newName, stateName } from '../../../compiler/autodiff/train-step.ts';
import { buildOnnxExport, exportOnnx } from '../../../jobs/export/export-onnx.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { tensor, type Tensor } from '../../../runtime/cpu/tensor.ts';
import { maxRelErr } from '../../compiler/ops/harness.ts';
import { parseSpec } from '../../compiler/lower/helpers.ts';
import { checkOnnxFiles, onnxChecker, ortTensor, runOrt, skipChecker } from '../../compiler/onnx/ort-harness.ts';
import type { Graph } from '../../../compiler/ir/graph.ts';

const program = parseSpec('default.scion');
const BATCH = 2;
const dir = mkdtempSync(join(tmpdir(), 'scion-onnx-'));

/** Deterministic values in [−scale, scale). */
function values(n: number, seed: number, scale = 1): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

const maxAbs = (v: ArrayLike<number>): number => Array.from(v).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - (b[i] as number))), 0);

const ids = (n: number, seed: number, vocab: number): number[] => values(n, seed).map((v) => Math.floor((v + 1) * 0.5 * vocab));

/** Feeds for every `input` node of a graph: tokens/labels as ids, the rest from `given`. */
function inputFeeds(graph: Graph, given: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const feeds = new Map(given);
  for (const n of graph.nodes) {
    const name = n.attrs['name'] as string;
    if ((n.op !== 'input' && n.op !== 'param') || feeds.has(name)) continue;
    const count = n.shape.reduce((p, d) => p * d, 1);
    if (n.dtype === 'i32') feeds.set(name, tensor(ids(count, name.length * 7 + 1, 512), n.shape, 'i32'));
  }
  return feeds;
}

/** The exported model, its IR graph and the weights it carries (`scion init`'s draw, seed 0). */
async function exported(train: boolean): Promise<{ graph: Graph; model: Uint8Array; weights: Map<string, Tensor> }> {
  const r = await buildOnnxExport(program, { model: 'TinyLlama', batch: BATCH, train });
  const shapes = new Map(r.graph.nodes.filter((n) => n.op === 'param').map((n) => [n.attrs['name'] as string, n.shape]));
  const weights = new Map([...r.weights].map(([k, v]) => [k, { dtype: 'f32' as const, shape: shapes.get(k) ?? [], data: Float32Array.from(v) }]));
  return { graph: r.graph, model: r.model, weights };
}

describe('scion export --onnx: TinyLlama forward', () => {
  it('gives the reference logits in ONNX Runtime within 1e-4 relative', async () => {
    const { graph, model, weights } = await exported(false);
    const feeds = inputFeeds(graph, weights);
    const want = runGraph(graph, feeds, { dtype: 'f32' }).get('logits') as Tensor;
    const got = (await runOrt(model, feeds)).get('logits');
    expect(got?.shape).toEqual([BATCH, 128, 4096]);
    expect(maxRelErr(got?.data ?? [], want.data)).toBeLessThan(1e-4);
    // Init logits are small (|max| ≈ 0.7): relative to the largest, too (measured ~3e-7).
    expect(maxAbsDiff(got?.data ?? [], want.data) / maxAbs(want.data)).toBeLessThan(1e-4);
  });

  it('puts the weights in OUT.onnx.data past the external-data threshold, and ORT loads them from there', async () => {
    const out = join(dir, 'external.onnx');
    const r = await exportOnnx(program, { model: 'TinyLlama', batch: BATCH, externalAbove: 0 }, out);
    expect(r.external).toBeDefined();
    expect(existsSync(`${out}.data`)).toBe(true);
    const { graph, weights } = await exported(false);
    const feeds = inputFeeds(graph, weights);
    const session = await ort.InferenceSession.create(out, { executionProviders: ['cpu'], logSeverityLevel: 3 });
    const got = (await session.run({ tokens: ortTensor(feeds.get('tokens') as Tensor) }))['logits'];
    await session.release();
    const want = runGraph(graph, feeds, { dtype: 'f32' }).get('logits') as Tensor;
    expect(maxRelErr(got?.data as Float32Array, want.data)).toBeLessThan(1e-4);
    expect(r.model.byteLength).toBeLessThan(100_000);
  });
});

describe('scion export --onnx --train: TinyLlama training step', () => {
  it('one step in ONNX Runtime equals one step of the reference on the same graph', async () => {
    const { graph, model, weights } = await exported(true);
    const given = new Map(weights);
    // A mid-training optimizer state (v ≥ m², so the update is well conditioned), step 3.
    for (const [name, w] of weights) {
      const n = w.data.length;
      const m = values(n, name.length * 13 + 5, 1e-3);
      given.set(stateName('m', name), tensor(m, w.shape));
      given.set(
        stateName('v', name),
        tensor(
          m.map((x, k) => x * x + 1e-6 * (1 + ((k * 7) % 5))),
          w.shape,
        ),
      );
    }
    given.set('adam.lr', tensor([1e-3], []));
    given.set('adam.bc1', tensor([1 - 0.9 ** 3], []));
    given.set('adam.bc2', tensor([1 - 0.999 ** 3], []));
    const feeds = inputFeeds(graph, given);
    const want = runGraph(graph, feeds, { dtype: 'f32' });
    const got = await runOrt(model, feeds);
    expect(maxRelErr(got.get('loss')?.data ?? [], want.get('loss')?.data ?? [])).toBeLessThan(1e-5);
    const names = [...weights.keys()].flatMap((p) => [p, stateName('m', p), stateName('v', p)].map(newName));
    expect(names.length).toBe(3 * weights.size);
    for (const name of names) {
      const err = maxRelErr(got.get(name)?.data ?? [], want.get(name)?.data ?? []);
      expect(err, name).toBeLessThan(1e-5);
    }
  });
});

describe('the ONNX checker accepts the exported files', () => {
  const checker = onnxChecker();
  it.skipIf(skipChecker(checker))(
    'onnx.checker.check_model(full_check=True) passes: llama forward, training step, external data; LiT training step (grouped conv grads)',
    async () => {
      const files = ['forward.onnx', 'train.onnx', 'ext.onnx', 'lit-train.onnx'].map((f) => join(dir, f));
      await exportOnnx(program, { model: 'TinyLlama' }, files[0] as string);
      await exportOnnx(program, { model: 'TinyLlama', train: true }, files[1] as string);
      await exportOnnx(program, { model: 'TinyLlama', externalAbove: 0 }, files[2] as string);
      await exportOnnx(parseSpec('lit.scion'), { model: 'LiT', train: true, batch: 2 }, files[3] as string);
      expect(checkOnnxFiles(checker, files)).toBe('');
    },
  );
});
