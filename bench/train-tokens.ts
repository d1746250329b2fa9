// Tokens per second of the main job's training step (forward + loss + gradients of
// specs/default.scion's train graph at its batch and context, plus the AdamW update), on the CPU
// reference and on WebGPU when the executor offers a job backend. Synthetic tokens: data loading
// and tokenization are not timed. Run alone with `npx tsx bench/train-tokens.ts`.

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { gradName } from '../compiler/autodiff/grad.ts';
import { sampleInit } from '../compiler/layers/init.ts';
import { findTrain, trainConfig } from '../compiler/lower/lower-train-config.ts';
import { lowerTrain } from '../compiler/lower/lower-train.ts';
import { checkSource } from '../grammar/check/check-source.ts';
import type { Tensor } from '../runtime/cpu/tensor.ts';
import { referenceBackend } from '../backends/reference/index.ts';
import { selectBackend } from '../backends/registry.ts';
import type { Backend } from '../backends/backend.ts';
import { AdamW } from '../runtime/train/index.ts';
import { DEFAULT_SPEC } from '../jobs/train/defaults.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

const WARMUP = 1;
const STEPS = 4;

/** Median tokens/s of `STEPS` timed training steps of the default job on `backend`. */
export async function trainTokensPerSecond(backend: Backend): Promise<{ tokensPerSecond: number; batch: number; ctx: number }> {
  const text = readFileSync(DEFAULT_SPEC, 'utf8');
  const r = checkSource(text, 'specs/default.scion', () => undefined);
  const program = { file: 'specs/default.scion', imports: [], decls: r.decls };
  const decl = findTrain(program);
  if (decl === undefined) throw new Error('specs/default.scion has no train declaration');
  const config = trainConfig(decl, program);
  const t = lowerTrain(program, decl.target.name, { batch: config.batch });
  const input = t.student.inputs[0]!;
  const [batch, ctx] = input.shape as [number, number];
  const vocab = Number(t.student.instance.params['vocab']);
  const params = new Map(
    t.trainable.map((p) => [
      p.path,
      sampleInit(
        p.init,
        p.shape.reduce((a, d) => a * d, 1),
        0,
        p.path,
      ),
    ]),
  );
  const feeds = new Map<string, Tensor>();
  for (const p of t.trainable) feeds.set(p.path, { dtype: 'f32', shape: p.shape, data: params.get(p.path)! });
  const outputs = ['loss', ...t.trainable.map((p) => gradName(p.path))];
  const opt = new AdamW({ betas: [0.9, 0.95] });
  const times: number[] = [];
  for (let s = 0; s < WARMUP + STEPS; s++) {
    feeds.set(input.name, { dtype: 'i32', shape: [batch, ctx], data: Int32Array.from({ length: batch * ctx }, (_, i) => (i * 7919 + s) % vocab) });
    const t0 = performance.now();
    const out = await backend.run(t.graph, feeds, outputs);
    const grads = new Map(t.trainable.map((p) => [p.path, out.get(gradName(p.path))!.data as Float32Array]));
    opt.step(params, grads, 1e-3);
    if (s >= WARMUP) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)]!;
  return { tokensPerSecond: (batch * ctx) / (ms / 1000), batch, ctx };
}

export const benchmarks: Benchmark[] = [
  {
    name: 'train-tokens',
    description: "tokens/s of the default job's training step (specs/default.scion): WebGPU (when available) against the CPU reference",
    needsGpu: false,
    async run(ctx): Promise<BenchResult[]> {
      const cpu = await trainTokensPerSecond(referenceBackend);
      ctx.log(`train-tokens: reference ${cpu.tokensPerSecond.toFixed(0)} tokens/s at ${cpu.batch}×${cpu.ctx}`);
      let gpu: Backend | undefined;
      let reason = '';
      try {
        gpu = await selectBackend('webgpu', { nodes: [], outputs: [] }, () => undefined);
      } catch (error) {
        reason = (error as Error).message.replace(/^--device webgpu: /, '');
      }
      if (gpu === undefined)
        return [result(`train-step-${cpu.batch}x${cpu.ctx}`, 'tokens/s', cpu.tokensPerSecond, null, `WebGPU not measured: ${reason}`, true)];
      try {
        const w = await trainTokensPerSecond(gpu);
        return [result(`train-step-${cpu.batch}x${cpu.ctx}`, 'tokens/s', w.tokensPerSecond, cpu.tokensPerSecond, 'ours on the CPU reference', true)];
      } finally {
        gpu.dispose();
      }
    },
  },
];

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await benchmarks[0]!.run({ gpu: null, noGpuReason: 'standalone run', cache: null, log: (m) => process.stderr.write(`${m}\n`) });
  for (const r of rows)
    process.stdout.write(
      `${r.name}: ${r.ours.toFixed(0)} ${r.unit}${r.peer === null ? ` (${r.peerName})` : `, ${r.peerName} ${r.peer.toFixed(0)} (×${r.ratio?.toFixed(2)})`}\n`,
    );
}
