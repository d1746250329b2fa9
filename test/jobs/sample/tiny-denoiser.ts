// A class-conditional denoiser small enough to compile for WebGPU in seconds on a software
// adapter (a handful of kernels), with a `sample` block that uses guidance and feature reuse, and
// random weights (a freshly initialized DiT predicts ε = 0, which would hide every difference).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { parseProgram } from '../../../grammar/dsl/parse.ts';
import type { Program } from '../../../grammar/ast.ts';
import { writeSafetensors, type TensorToWrite } from '../../../runtime/weights/index.ts';
import { randomF32 } from '../../runtime/webgpu/gpu-fixture.ts';

export const TINY_SPEC = `
model Tiny(size = 4, channels = 1, classes = 3) {
  input x: f32[batch, channels, size, size]
  input t: f32[batch]
  input y: i32[batch]
  c = TimestepEmbedding(t, 8, freq_dim = 8) as temb + LabelEmbedding(y, classes, 8) as yemb
  h = relu(Linear(reshape(x, [-1, channels * size * size]), 8) as fc_in + c)
  d = relu(Linear(h, 8) as mid)
  output eps = reshape(Linear(d + h, channels * size * size) as fc_out, [-1, channels, size, size])
}

sample Tiny {
  sampler = ddim(steps = 6)
  guidance = 2.0
  reuse = cache("mid", every = 3)
  classes = [0, 1, 2]
  count = 2
  seed = 3
}
`;

/** A judge over 4×4 images whose weights the tests choose: logits = fc(flatten(image)). */
export const JUDGE_SPEC = `
model Judge(size = 4, classes = 3) {
  input image: f32[batch, 1, size, size]
  output logits = Linear(reshape(image, [-1, size * size]), classes) as fc
}

train Judge {
  data = mnist(split = "train")
  loss = cross_entropy(logits, label)
  steps = 10
}
`;

export function parseSpec(text: string): Program {
  const { program, diagnostics } = parseProgram(text, 'test.scion');
  if (diagnostics.length > 0) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  return program;
}

/** Writes tensors (Scion paths are the checkpoint names of a model without a preset). */
export async function writeTensors(path: string, tensors: Record<string, { shape: number[]; data: Float32Array }>): Promise<void> {
  const out = new Map<string, TensorToWrite>();
  for (const [name, t] of Object.entries(tensors)) out.set(name, { dtype: 'F32', shape: t.shape, data: t.data });
  await writeSafetensors(path, out);
}

/** A folder with tiny.scion, judge.scion and random Tiny weights (values in ±0.5). */
export async function tinySetup(): Promise<{ dir: string; spec: string; judge: string; weights: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'scion-sample-'));
  const spec = join(dir, 'tiny.scion');
  const judge = join(dir, 'judge.scion');
  writeFileSync(spec, TINY_SPEC);
  writeFileSync(judge, JUDGE_SPEC);
  const m = lowerModel(parseSpec(TINY_SPEC), 'Tiny', { dims: { batch: 1 } });
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  m.params.forEach((p, k) => {
    const data = randomF32(
      p.shape.reduce((a, d) => a * d, 1),
      100 + k,
    ).map((v) => 0.5 * v);
    tensors[p.path] = { shape: [...p.shape], data };
  });
  const weights = join(dir, 'tiny.safetensors');
  await writeTensors(weights, tensors);
  return { dir, spec, judge, weights };
}
