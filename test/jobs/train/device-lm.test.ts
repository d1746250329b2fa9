// The playground's training path (jobs/train/device-lm.ts: `scion train`'s resident step from
// jobs/train/resident.ts on the WebGPU backend, parameters and moments resident on the device)
// against `scion train`'s host loop on the CPU reference: the same lowering with gradient outputs,
// runtime/train's global-norm clipping and AdamW, the same initializers, batcher and schedule. Each step's loss and the final parameters
// must agree. The WebGPU part is skipped without an adapter (a failure under CI=true).

import { describe, expect, it } from 'vitest';
import { openWebGpuBackend } from '../../../backends/webgpu/webgpu-backend.ts';
import { gradName } from '../../../compiler/autodiff/grad.ts';
import { sampleInit } from '../../../compiler/layers/init.ts';
import { lowerTrain } from '../../../compiler/lower/lower-train.ts';
import { parseProgram } from '../../../grammar/dsl/parse.ts';
import { planDeviceLm, trainDeviceLm } from '../../../jobs/train/device-lm.ts';
import { JobError } from '../../../jobs/train/errors.ts';
import { scheduleOf } from '../../../jobs/train/schedule-of.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { LmBatcher } from '../../../runtime/data/batchers.ts';
import { Prng } from '../../../runtime/data/prng.ts';
import { clipGlobalNorm } from '../../../runtime/train/gradients.ts';
import { AdamW } from '../../../runtime/train/optimizers.ts';
import { llamaSpec } from '../../compiler/lower/helpers.ts';
import { gpuForTests } from '../../runtime/webgpu/gpu-fixture.ts';

const spec = (optimizer: string) => `
${llamaSpec('Tiny', 'vocab = 32, dim = 16, depth = 1, heads = 2, kv_heads = 1, ffn = 24, ctx = 8')}

train Tiny {
  data = brown(split = "train", seq = 8)
  loss = cross_entropy(logits, next(tokens))
  optimizer = ${optimizer}
  schedule = warmup_cosine(warmup = 2, min_lr = 1e-3)
  steps = 5
  batch = 3
  seed = 7
}
`;
const ADAMW = 'adamw(lr = 2e-2, betas = (0.9, 0.95), weight_decay = 0.1, clip = 0.5)';
const program = (optimizer = ADAMW) => parseProgram(spec(optimizer), 'tiny.scion').program;

describe('planDeviceLm', () => {
  it("takes the spec's steps and batch unless replaced", () => {
    const plan = planDeviceLm(program(), 'Tiny', { batch: 2 });
    expect([plan.config.steps, plan.config.batch, plan.tokens, plan.vocab]).toEqual([5, 2, { name: 'tokens', ctx: 8 }, 32]);
  });

  it('refuses what it cannot train, saying why', () => {
    expect(() => planDeviceLm(program('sgd(lr = 0.1)'), 'Tiny')).toThrow(new JobError('training on the device runs AdamW only; `train Tiny` uses sgd'));
    const accumulating = parseProgram(spec(ADAMW).replace('  seed = 7', '  seed = 7\n  accumulate = 2'), 'tiny.scion').program;
    expect(() => planDeviceLm(accumulating, 'Tiny')).toThrow(
      new JobError('training on the device updates after every batch; `train Tiny` accumulates 2: use `scion train`'),
    );
    expect(() =>
      planDeviceLm(parseProgram(llamaSpec('Tiny', 'vocab = 8, dim = 4, depth = 1, heads = 1, kv_heads = 1, ffn = 4, ctx = 4'), 'x.scion').program, 'Tiny'),
    ).toThrow(new JobError('the spec has no `train Tiny` declaration'));
  });
});

const { gpu } = await gpuForTests();

describe.skipIf(gpu === null)('trainDeviceLm on WebGPU against the host loop on the CPU reference', () => {
  it('gives the same loss at every step and the same parameters', { timeout: 300_000 }, async () => {
    const prng = new Prng(11);
    const stream = Int32Array.from({ length: 300 }, () => Math.floor(prng.nextFloat() * 32));
    const plan = planDeviceLm(program(), 'Tiny');
    const device: number[] = [];
    // The backend as the page opens it (page-safe, no tuning store).
    const backend = await openWebGpuBackend(plan.lowered.student.graph, { allowSoftware: true, tune: false });
    if ('reason' in backend) throw new Error(backend.reason);
    let trained: Map<string, Float32Array>;
    try {
      trained = await trainDeviceLm(plan, stream, backend, (p) => void device.push(p.loss));
    } finally {
      backend.dispose();
    }

    // The twin: `scion train`'s way, one update at a time on the host.
    const { config } = plan;
    const t = lowerTrain(program(), 'Tiny', { batch: config.batch });
    const params = new Map(
      t.trainable.map((p) => [
        p.path,
        sampleInit(
          p.init,
          p.shape.reduce((a, d) => a * d, 1),
          config.seed,
          p.path,
        ),
      ]),
    );
    const shapes = new Map(t.trainable.map((p) => [p.path, p.shape]));
    const opt = new AdamW({ betas: [0.9, 0.95], weightDecay: 0.1 });
    const lr = scheduleOf(config.schedule, 2e-2, config.steps);
    const batcher = new LmBatcher(stream, 7, { batch: config.batch, seed: config.seed });
    const host: number[] = [];
    for (let u = 0; u < config.steps; u++) {
      const feeds = new Map<string, Tensor>([...params].map(([k, v]) => [k, { dtype: 'f32', shape: shapes.get(k)!, data: v } as Tensor]));
      feeds.set('tokens', { dtype: 'i32', shape: [config.batch, 8], data: batcher.next() });
      const out = runGraph(t.graph, feeds, { dtype: 'f32' });
      host.push(out.get('loss')!.data[0] as number);
      const grads = new Map(t.trainable.map((p) => [p.path, Float32Array.from(out.get(gradName(p.path))!.data)]));
      clipGlobalNorm(grads, 0.5);
      opt.step(params, grads, lr(u));
    }

    expect(device.length).toBe(5);
    for (let s = 0; s < 5; s++)
      expect(Math.abs((device[s] as number) - (host[s] as number)), `step ${s + 1}: ${device[s]} vs ${host[s]}`).toBeLessThan(
        2e-4 * Math.abs(host[s] as number),
      );
    // The loss moved: the steps did something the twin agrees with.
    expect(host[4]).not.toBeCloseTo(host[0] as number, 3);
    for (const [path, want] of params) {
      const got = trained.get(path)!;
      let scale = 0;
      let err = 0;
      for (let i = 0; i < want.length; i++) {
        scale = Math.max(scale, Math.abs(want[i] as number));
        err = Math.max(err, Math.abs((got[i] as number) - (want[i] as number)));
      }
      expect(err, `${path}: max error ${err} against max |value| ${scale}`).toBeLessThanOrEqual(1e-3 * scale);
    }
  });
});
