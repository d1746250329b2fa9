// --device cpu computes random draws from graph inputs (LoRA dropout) on the host and feeds them to
// ONNX Runtime (backends/cpu/host-draws.ts), since their ONNX form made a LoRA step 30× slower.
// Checks: the session's graph keeps no draw; the values fed are the reference's and the ONNX
// form's, bit for bit, and new for each key; and a dropout adapter trains with the reference's
// losses on both paths — one resident session, and the segments around BA-LoRA's SVD — with no
// session taking the dropout key (which only the draws read), i.e. no draw left in ONNX Runtime,
// and no session made per step.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../backends/cpu/index.ts';
import { drawName, hoistDraws } from '../../backends/cpu/host-draws.ts';
import { loadSpec } from '../../cli/spec.ts';
import { main } from '../../cli/main.ts';
import { encodeModel } from '../../compiler/codegen/onnx/onnx-proto.ts';
import { toOnnx } from '../../compiler/codegen/onnx/to-onnx.ts';
import { GraphBuilder } from '../../compiler/ir/builder.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { referenceBackend } from '../../backends/reference/index.ts';
import type { Backend } from '../../backends/backend.ts';
import { prepareExampleJob } from '../../jobs/train/prepare-examples.ts';
import { trainExamples } from '../../jobs/train/train-examples.ts';
import { runGraph } from '../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { captureIo } from '../cli/capture-io.ts';
import { genreClassifierSpec } from '../jobs/train/genre-classifier-spec.ts';

/** y = x where u ≥ 0.5 else 0 (a dropout mask), with the draws u [3, 5] and n [4] as outputs too. */
function drawGraph(): Graph {
  const b = new GraphBuilder();
  const key = b.input('key', [2], 'i32');
  const x = b.param('x', [3, 5]);
  const u = b.randomUniform(key, [3, 5], 0);
  b.output('y', b.where(b.ge(u, 0.5), x, 0));
  b.output('u', u);
  b.output('n', b.randomNormal(key, [4], 1));
  return b.build();
}

const feeds = (counter: number): Map<string, Tensor> =>
  new Map<string, Tensor>([
    ['key', { dtype: 'i32', shape: [2], data: Int32Array.of(7, counter) }],
    ['x', { dtype: 'f32', shape: [3, 5], data: Float32Array.from({ length: 15 }, (_v, i) => i + 1) }],
  ]);

/** ONNX Runtime's sessions as they are created, so a test can see what each one takes. */
function spiedOrt(): { ort: typeof ort; inputs: string[][] } {
  const inputs: string[][] = [];
  const create = async (...args: Parameters<typeof ort.InferenceSession.create>) => {
    const s = await (ort.InferenceSession.create as (...a: unknown[]) => Promise<ort.InferenceSession>)(...args);
    inputs.push([...s.inputNames]);
    return s;
  };
  return { ort: { ...ort, InferenceSession: { ...ort.InferenceSession, create } } as unknown as typeof ort, inputs };
}

describe('random draws on the host (--device cpu)', () => {
  it('cuts every draw from an input key out of the graph ONNX Runtime runs, ids unchanged', () => {
    const g = drawGraph();
    const h = hoistDraws(g);
    expect(h.graph.nodes.filter((n) => n.op === 'random_uniform' || n.op === 'random_normal')).toHaveLength(0);
    expect(h.draws.map((n) => n.op)).toEqual(['random_uniform', 'random_normal']);
    expect([...h.keys]).toEqual(['key']);
    for (const d of h.draws) expect(h.graph.nodes[d.id]).toMatchObject({ op: 'input', attrs: { name: drawName(d.id) }, dtype: 'f32', shape: d.shape });
    expect(h.graph.outputs).toBe(g.outputs);
    // Nothing to hoist: the graph is handed on as it is.
    const plain = new GraphBuilder();
    plain.output('z', plain.add(plain.param('a', [2]), 1));
    const p = plain.build();
    expect(hoistDraws(p).graph).toBe(p);
  });

  it("feeds the reference's draws and the ONNX form's, bit for bit, drawn anew for each key", async () => {
    const g = drawGraph();
    const spy = spiedOrt();
    const backend = createCpuBackend(spy.ort);
    const inGraph = await ort.InferenceSession.create(encodeModel(toOnnx(g, { name: 'draws' })).model);
    try {
      const seen: Float32Array[] = [];
      for (const counter of [0, 1]) {
        const got = await backend.run(g, feeds(counter));
        const want = runGraph(g, feeds(counter), { dtype: 'f64' });
        const onnx = await inGraph.run({
          key: new ort.Tensor('int32', Int32Array.of(7, counter), [2]),
          x: new ort.Tensor('float32', feeds(counter).get('x')?.data as Float32Array, [3, 5]),
        });
        for (const name of ['u', 'n', 'y']) {
          const data = got.get(name)?.data as Float32Array;
          expect(data, `${name} vs the reference`).toEqual(Float32Array.from(want.get(name)?.data ?? []));
          expect(data, `${name} vs the ONNX form`).toEqual(onnx[name]?.data);
        }
        seen.push(got.get('u')?.data as Float32Array);
      }
      expect(seen[1]).not.toEqual(seen[0]);
      // The session took the draws as inputs, not the key.
      expect(spy.inputs).toEqual([expect.arrayContaining([...hoistDraws(g).draws.map((d) => drawName(d.id)), 'x'])]);
      expect(spy.inputs[0]).not.toContain('key');
    } finally {
      backend.dispose();
      await inGraph.release();
    }
  });
});

// A tiny llama parent (`scion init`) and a PiSSA adapter with dropout on its classifier, trained
// on cross-entropy alone (one resident session) and with BA-LoRA's three regularizers (the SVD
// energy splits the step into segments).
const SPEC = genreClassifierSpec(
  2,
  `
adapter Plain on C {
  targets = ["layers.*.self_attn.q_proj", "layers.*.self_attn.v_proj"]
  rank = 2
  alpha = 4
  init = pissa(niter = 4)
  dropout = 0.1
}
adapter Ba on C {
  targets = ["layers.*.self_attn.q_proj", "layers.*.self_attn.v_proj"]
  rank = 2
  alpha = 4
  init = pissa(niter = 4)
  dropout = 0.1
}
train Plain {
  data = brown(split = "train", seq = 16, task = "genre")
  loss = cross_entropy(logits, label)
  optimizer = adamw(lr = 1e-2)
  steps = 6
  batch = 4
  seed = 2
}
train Ba {
  data = brown(split = "train", seq = 16, task = "genre")
  base = C frozen
  loss = cross_entropy(logits, label)
       + 0.15 * consistency(logits, base.logits, T = 2)
       + ramp(from = 0, to = 0.03, steps = 4) * diversity(logits, variant = "arxiv")
       + 0.3 * svd_energy(logits, k = 3)
  optimizer = adamw(lr = 1e-2)
  steps = 6
  batch = 4
  seed = 2
}
`,
);

describe('a dropout adapter on --device cpu', () => {
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scion-cpu-draws-'));
    writeFileSync(join(dir, 'tiny.scion'), SPEC);
    mkdirSync(join(dir, 'parent'));
    expect(await main(['init', 'tiny.scion', '--model', 'P', '-o', 'parent/model.safetensors'], captureIo(dir))).toBe(0);
  }, 60_000);

  const train = async (model: string, backend: Backend, out: string): Promise<number[]> => {
    const job = await prepareExampleJob(loadSpec(join(dir, 'tiny.scion'), captureIo(dir), 'test')!, model, {
      outDir: join(dir, out),
      cwd: dir,
      log: () => undefined,
    });
    expect(job.plan.dropoutKey).toBe('dropout_key');
    const r = await trainExamples(job.plan, { outDir: join(dir, out), resume: false, backend, progress: false });
    return r.metrics.filter((m) => m.kind === 'train').map((m) => m['loss'] as number);
  };

  // f32 against the f64 reference: the resident tolerance of cpu-resident.test.ts, and the
  // segmented BA-LoRA one of cpu-host-ops.test.ts (the SVD's gradient amplifies rounding).
  // Sessions: the step's (one, or three segments around the SVD and its VJP) and the final
  // evaluation's, each made once however many steps run.
  for (const [model, tol, sessions] of [
    ['Plain', 1e-4, 2],
    ['Ba', 1e-3, 4],
  ] as const) {
    it(`${model}: the reference's losses, and no session takes the dropout key`, { timeout: 300_000 }, async () => {
      const spy = spiedOrt();
      const cpu = createCpuBackend(spy.ort);
      try {
        const got = await train(model, cpu, `${model}-cpu`);
        const want = await train(model, referenceBackend, `${model}-reference`);
        expect(got).toHaveLength(6);
        got.forEach((l, i) => expect(Math.abs(l - (want[i] as number)) / Math.abs(want[i] as number), `step ${i + 1}: ${l} vs ${want[i]}`).toBeLessThan(tol));
        // Four dropout sites (q and v of two layers): every one fed to the step's session(s) as a draw.
        const draws = new Set(spy.inputs.flat().filter((n) => n.startsWith('%draw')));
        expect(draws.size).toBe(4);
        for (const names of spy.inputs) expect(names).not.toContain('dropout_key');
        expect(spy.inputs).toHaveLength(sessions);
      } finally {
        cpu.dispose();
      }
    });
  }
});
