// `scion train` beyond language models, on tiny configs: an MNIST classifier learns (accuracy
// checked by an independent forward pass over the saved weights, and by `scion eval`); a tiny DiT
// trains with the diffusion loss, keeps an EMA, and resumes with identical losses; multiple rounds
// redraw half the batches; `--init` starts from given weights. (Adapter targets: adapter-train.test.ts.)

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSpec } from '../../../cli/spec.ts';
import { prepareExampleJob } from '../../../jobs/train/prepare-examples.ts';
import { exampleTask } from '../../../jobs/train/train-examples.ts';
import { referenceBackend } from '../../../backends/reference/index.ts';
import { main } from '../../../cli/main.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { loadMnist } from '../../../runtime/data/index.ts';
import { openSafetensors } from '../../../runtime/weights/index.ts';
import { captureIo } from '../../cli/capture-io.ts';
import { trainLosses } from './run-metrics.ts';
import { mnistMlpModel } from './mnist-mlp-spec.ts';

const CLASSIFIER = `
${mnistMlpModel(64)}
train Mlp {
  data = mnist(split = "train")
  loss = cross_entropy(logits, label)
  optimizer = adamw(lr = 3e-3)
  steps = 80
  batch = 32
  seed = 2
}
`;

const ROUNDS = CLASSIFIER.replace('steps = 80', 'steps = 6\n  rounds = { count = 2, sample = 0.5, weight = softmax(loss) }');

const DIT = `
model Dit(size = 28, channels = 1, patch = 7, dim = 16, depth = 1, heads = 1, classes = 10) preset dit {
  input x: f32[batch, channels, size, size]
  input t: f32[batch]
  input y: i32[batch]
  h = pos_embed_2d(PatchEmbed(x, patch, dim) as x_embedder)
  c = TimestepEmbedding(t, dim, freq_dim = 16) as t_embedder + LabelEmbedding(y, classes, dim) as y_embedder
  repeat i in 0..depth {
    h = DiTBlock(h, c, heads) as blocks[i]
  }
  out = DiTFinal(h, c, patch, channels * 2) as final_layer
  img = unpatchify(out, patch, channels * 2)
  output eps = chunk(img, 2, 0, axis = 1)
  output sigma = chunk(img, 2, 1, axis = 1)
}
train Dit {
  data = mnist(split = "train")
  loss = diffusion(eps, sigma)
  optimizer = adamw(lr = 1e-3)
  steps = 4
  batch = 4
  checkpoint = { every = 2, keep = 3 }
  ema = 0.9
}
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scion-examples-'));
  writeFileSync(join(dir, 'mlp.scion'), CLASSIFIER);
  writeFileSync(join(dir, 'rounds.scion'), ROUNDS);
  writeFileSync(join(dir, 'dit.scion'), DIT);
});

async function train(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const io = captureIo(dir);
  const code = await main(['train', ...args, '--device', 'reference', '--json'], io);
  if (code !== 0) throw new Error(io.stderr);
  return { stdout: io.stdout, stderr: io.stderr };
}

describe('an MNIST classifier', () => {
  let summary: { valAccuracy: number; imagesPerSecond: number; kind: string };
  beforeAll(async () => {
    summary = (JSON.parse((await train(['mlp.scion', '--out', 'mlp'])).stdout) as { summary: typeof summary }).summary;
  }, 120_000);

  it('learns: held-out accuracy from an independent forward pass over the saved weights', async () => {
    expect(summary.kind).toBe('classification');
    expect(summary.imagesPerSecond).toBeGreaterThan(0);
    const test = loadMnist('test');
    const n = 200;
    const m = lowerModel(loadSpec(join(dir, 'mlp.scion'), captureIo(dir), 'test')!, 'Mlp', { dims: { batch: n } });
    const reader = await openSafetensors(join(dir, 'mlp', 'model.safetensors'));
    const feeds = new Map<string, Tensor>();
    for (const p of m.params) {
      const data = Float32Array.from((await reader.read(p.path)) as ArrayLike<number>);
      feeds.set(p.path, { dtype: 'f32', shape: p.shape, data });
    }
    await reader.close();
    // Images spread over the set (it is ordered by digit); pixels [0, 1] → [−1, 1], as the job feeds them.
    const pick = Array.from({ length: n }, (_, i) => Math.floor((i * test.count) / n));
    const images = new Float32Array(n * 784);
    pick.forEach((j, r) =>
      images.set(
        test.images.subarray(j * 784, (j + 1) * 784).map((v) => 2 * v - 1),
        r * 784,
      ),
    );
    feeds.set('image', { dtype: 'f32', shape: [n, 1, 28, 28], data: images });
    const logits = runGraph(m.graph, feeds, { dtype: 'f32' }).get('logits')!.data;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(logits.slice(i * 10, i * 10 + 10));
      if (row.indexOf(Math.max(...row)) === test.labels[pick[i] as number]) correct++;
    }
    expect(correct / n).toBeGreaterThan(0.6); // chance is 0.1
    expect(Math.abs(correct / n - summary.valAccuracy)).toBeLessThan(0.12);
  });

  it('scion eval reports the same validation accuracy as the run', async () => {
    const io = captureIo(dir);
    expect(await main(['eval', 'mlp.scion', '--weights', 'mlp/model.safetensors', '--json'], io)).toBe(0);
    expect((JSON.parse(io.stdout) as { accuracy: number }).accuracy).toBeCloseTo(summary.valAccuracy, 10);
  }, 60_000);

  it('--init starts from the given weights', async () => {
    const job = await prepareExampleJob(loadSpec(join(dir, 'mlp.scion'), captureIo(dir), 'test')!, 'Mlp', {
      outDir: join(dir, 'other'),
      cwd: dir,
      init: join(dir, 'mlp', 'model.safetensors'),
      log: () => undefined,
    });
    const reader = await openSafetensors(join(dir, 'mlp', 'model.safetensors'));
    const saved = Float32Array.from((await reader.read('fc1.weight')) as ArrayLike<number>);
    await reader.close();
    expect([...job.plan.initial.get('fc1.weight')!]).toEqual([...saved]);
  }, 60_000);
});

describe('multiple rounds', () => {
  it('scores the batches after round 1 and draws half of them', async () => {
    const r = await train(['rounds.scion', '--out', 'rounds']);
    const batches = Math.floor(loadMnist('train').count / 32);
    expect(r.stderr).toContain(`round 2: ${Math.round(batches / 2)} of ${batches} batches drawn`);
    expect(trainLosses(join(dir, 'rounds'))).toHaveLength(6);
  }, 120_000);

  it('needs the live parameters on the host only when a later round will score batches', async () => {
    const needs = async (spec: string): Promise<boolean | undefined> => {
      writeFileSync(join(dir, 'needs.scion'), spec);
      const job = await prepareExampleJob(loadSpec(join(dir, 'needs.scion'), captureIo(dir), 'test')!, 'Mlp', {
        outDir: join(dir, 'needs'),
        cwd: dir,
        log: () => undefined,
      });
      return exampleTask(job.plan, referenceBackend).needsLiveParams;
    };
    expect(await needs(ROUNDS)).toBe(true);
    expect(await needs(ROUNDS.replace('count = 2', 'count = 1'))).toBe(false);
    expect(await needs(CLASSIFIER)).toBe(false);
  });
});

describe('a tiny DiT on MNIST', () => {
  it('trains with the diffusion loss, writes EMA weights, and resumes with identical losses', async () => {
    const straight = JSON.parse((await train(['dit.scion', '--out', 'dit-a'])).stdout) as {
      summary: { kind: string; valLoss: number; imagesPerSecond: number };
      ema: string;
    };
    expect(straight.summary.kind).toBe('diffusion');
    expect(Number.isFinite(straight.summary.valLoss)).toBe(true);
    expect(straight.summary.imagesPerSecond).toBeGreaterThan(0);
    expect(straight.ema).toMatch(/model-ema\.safetensors$/);
    await train(['dit.scion', '--out', 'dit-b', '--steps', '2']);
    await train(['dit.scion', '--out', 'dit-b', '--resume']);
    const a = trainLosses(join(dir, 'dit-a'));
    expect(a).toHaveLength(4);
    expect(trainLosses(join(dir, 'dit-b'))).toEqual(a);
  }, 240_000);
});
