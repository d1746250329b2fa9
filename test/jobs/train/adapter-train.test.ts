// `scion train` on an adapter target (BA-LoRA): a tiny llama parent from `scion init`, a classifier
// inheriting it with a new `score` head, a PiSSA adapter with dropout, and the three regularizers
// with a ramped weight. Checks: only lora_A/B and the new head train; the frozen weights are the
// parent's (PiSSA residual + s·B₀A₀ = the parent's W); the loss on a small fixed set falls; the
// PEFT file applied to the parent's W gives the trained weight; a resumed run repeats the losses.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSpec } from '../../../cli/spec.ts';
import { prepareExampleJob, type ExampleJob } from '../../../jobs/train/prepare-examples.ts';
import { main } from '../../../cli/main.ts';
import { writePeftAdapter } from '../../../jobs/train/adapter-save.ts';
import { referenceBackend } from '../../../backends/reference/index.ts';
import type { Examples } from '../../../jobs/train/examples.ts';
import { evalIndexBatches, evaluateExamples, trainExamples } from '../../../jobs/train/train-examples.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { openSafetensors } from '../../../runtime/weights/index.ts';
import { captureIo } from '../../cli/capture-io.ts';
import { trainLosses as losses } from './run-metrics.ts';
import { genreClassifierSpec } from './genre-classifier-spec.ts';

const SPEC = genreClassifierSpec(
  1,
  `
adapter A on C {
  targets = ["layers.*.self_attn.q_proj", "layers.*.self_attn.v_proj"]
  rank = 2
  alpha = 4
  init = pissa(niter = 4)
  dropout = 0.1
}
train A {
  data = brown(split = "train", seq = 16, task = "genre")
  base = C frozen
  loss = cross_entropy(logits, label)
       + 0.15 * consistency(logits, base.logits, T = 2)
       + ramp(from = 0, to = 0.03, steps = 5) * diversity(features, k = 4)
       + 0.03 * svd_energy(features, k = 3)
  optimizer = adamw(lr = 1e-2)
  steps = 7
  batch = 4
  seed = 1
  checkpoint = { every = 3, keep = 3 }
}
`,
);

const Q = 'layers.0.self_attn.q_proj';
const V = 'layers.0.self_attn.v_proj';
const SCALE = 4 / 2;

let dir = '';
const job = async (out: string): Promise<ExampleJob> =>
  prepareExampleJob(loadSpec(join(dir, 'tiny.scion'), captureIo(dir), 'test')!, 'A', { outDir: join(dir, out), cwd: dir, log: () => undefined });

/** The first n examples of a set. */
function head(e: Examples, n: number): Examples {
  const size = e.shape.reduce((a, d) => a * d, 1);
  return { ...e, features: e.features.slice(0, n * size), labels: e.labels.slice(0, n), count: n };
}

/** W + s·B·A by plain loops, in f64. */
function merged(w: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>, out: number, inF: number, s: number): Float64Array {
  const r = a.length / inF;
  return Float64Array.from({ length: out * inF }, (_, k) => {
    const i = Math.floor(k / inF);
    const j = k % inF;
    let acc = 0;
    for (let t = 0; t < r; t++) acc += (b[i * r + t] as number) * (a[t * inF + j] as number);
    return (w[k] as number) + s * acc;
  });
}

async function parentTensor(name: string): Promise<Float32Array> {
  const reader = await openSafetensors(join(dir, 'parent', 'model.safetensors'));
  try {
    return Float32Array.from((await reader.read(name)) as ArrayLike<number>);
  } finally {
    await reader.close();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scion-adapter-'));
  writeFileSync(join(dir, 'tiny.scion'), SPEC);
  mkdirSync(join(dir, 'parent'));
  expect(await main(['init', 'tiny.scion', '--model', 'P', '-o', 'parent/model.safetensors'], captureIo(dir))).toBe(0);
}, 60_000);

describe('train on an adapter target', () => {
  it('trains only A, B and the new head, from the parent weights, and the loss falls', async () => {
    const j = await job('fit');
    const trained = [...j.plan.trainable.map((p) => p.path)].sort();
    expect(trained).toEqual([`${Q}.lora_A.weight`, `${Q}.lora_B.weight`, `${V}.lora_A.weight`, `${V}.lora_B.weight`, 'score.bias', 'score.weight'].sort());
    expect(j.plan.dropoutKey).toBe('dropout_key');

    // Frozen weights are the parent's; at the adapted sites the residual plus s·B₀A₀ is W.
    expect(j.plan.frozen.get('embed_tokens.weight')!.data).toEqual(await parentTensor('model.embed_tokens.weight'));
    expect(j.plan.frozen.get('layers.0.mlp.down_proj.weight')!.data).toEqual(await parentTensor('model.layers.0.mlp.down_proj.weight'));
    const wq = await parentTensor(`model.${Q}.weight`); // [16, 16]
    const back = merged(
      j.plan.frozen.get(`${Q}.weight`)!.data as Float32Array,
      j.plan.frozen.get(`${Q}.lora_A.init`)!.data as Float32Array,
      j.plan.frozen.get(`${Q}.lora_B.init`)!.data as Float32Array,
      16,
      16,
      SCALE,
    );
    back.forEach((v, k) => expect(v).toBeCloseTo(wq[k] as number, 4));

    // A small fixed set: 12 steps over 8 examples must fit them better than the start.
    const small = head(j.plan.train, 8);
    const plan = { ...j.plan, train: small, val: small, steps: 12 };
    const feedsOf = (values: ReadonlyMap<string, Float32Array>): Map<string, Tensor> => {
      const f = new Map<string, Tensor>(plan.frozen);
      for (const p of plan.trainable) f.set(p.path, { dtype: 'f32', shape: p.shape, data: values.get(p.path)! });
      for (const w of plan.weights) f.set(w.input, { dtype: 'f32', shape: [], data: Float32Array.of(0) });
      return f;
    };
    const batches = evalIndexBatches(8, 4, 2);
    const before = await evaluateExamples(plan, referenceBackend, feedsOf(plan.initial), small, batches);
    const frozenBefore = new Map([...plan.frozen].map(([k, t]) => [k, (t.data as Float32Array).slice()]));
    const r = await trainExamples(plan, { outDir: join(dir, 'fit'), resume: false, backend: referenceBackend, progress: false });
    const after = await evaluateExamples(plan, referenceBackend, feedsOf(r.params), small, batches);
    expect(after.loss).toBeLessThan(before.loss - 0.1);
    expect([...r.params.keys()].sort()).toEqual(trained);
    for (const p of trained) expect(r.params.get(p)).not.toEqual(plan.initial.get(p));
    for (const [k, t] of plan.frozen) expect(t.data).toEqual(frozenBefore.get(k));

    // PEFT file: rank 2r, applied to the PARENT's W it gives residual + s·B·A of the trained run.
    const peft = await writePeftAdapter(join(dir, 'fit'), j.lowered.adapter!.model, j.lowered.adapter!.fresh, r.params, plan.frozen);
    expect(peft.rank).toBe(4);
    expect(peft.alpha).toBe(8);
    const cfg = JSON.parse(readFileSync(peft.config, 'utf8')) as { r: number; lora_alpha: number; target_modules: string[]; modules_to_save: string[] };
    expect(cfg).toMatchObject({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], modules_to_save: ['score'] });
    const reader = await openSafetensors(peft.model);
    try {
      const read = async (n: string): Promise<Float32Array> => Float32Array.from((await reader.read(n)) as ArrayLike<number>);
      const pre = `base_model.model.model.${Q}`;
      expect(reader.tensors.get(`${pre}.lora_A.weight`)?.shape).toEqual([4, 16]);
      expect(await read('base_model.model.score.weight')).toEqual(r.params.get('score.weight'));
      const viaPeft = merged(wq, await read(`${pre}.lora_A.weight`), await read(`${pre}.lora_B.weight`), 16, 16, peft.alpha / peft.rank);
      const viaRun = merged(
        plan.frozen.get(`${Q}.weight`)!.data as Float32Array,
        r.params.get(`${Q}.lora_A.weight`)!,
        r.params.get(`${Q}.lora_B.weight`)!,
        16,
        16,
        SCALE,
      );
      viaPeft.forEach((v, k) => expect(v).toBeCloseTo(viaRun[k] as number, 4));
    } finally {
      await reader.close();
    }
  }, 120_000);

  it('resumes an interrupted run with identical losses', async () => {
    await trainExamples((await job('full')).plan, { outDir: join(dir, 'full'), resume: false, backend: referenceBackend, progress: false });
    const crash = new Error('simulated crash after step 4');
    await expect(
      trainExamples((await job('cut')).plan, {
        outDir: join(dir, 'cut'),
        resume: false,
        backend: referenceBackend,
        progress: false,
        onProgress: (p) => {
          if (p.step === 4) throw crash;
        },
      }),
    ).rejects.toBe(crash);
    const resumed = await trainExamples((await job('cut')).plan, { outDir: join(dir, 'cut'), resume: true, backend: referenceBackend, progress: false });
    expect(resumed.summary.resumedFrom).toMatch(/step-0+3\.safetensors$/);
    const a = losses(join(dir, 'full'));
    expect(a).toHaveLength(7);
    expect(losses(join(dir, 'cut'))).toEqual(a); // exact: dropout masks and ramp depend on the step only
  }, 180_000);

  it('runs end to end through `scion train`, writing PEFT files and a genre accuracy', async () => {
    const io = captureIo(dir);
    expect(await main(['train', 'tiny.scion', '--model', 'A', '--out', 'cli', '--steps', '2', '--device', 'reference', '--json'], io)).toBe(0);
    const out = JSON.parse(io.stdout) as { summary: { steps: number; valAccuracy: number }; adapter: string; adapterConfig: string };
    expect(out.summary.steps).toBe(2);
    expect(out.summary.valAccuracy).toBeGreaterThanOrEqual(0);
    expect(out.adapter).toBe(join(dir, 'cli', 'adapter_model.safetensors'));
    expect(io.stderr).toContain('score.weight, score.bias');
  }, 120_000);
});
