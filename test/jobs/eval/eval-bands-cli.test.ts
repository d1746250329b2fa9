// `scion eval` on a tiny diffusion spec over a folder of 4×4 PNGs: the band table on stdout and in
// --json, with a known answer — all-zero weights make the model predict ε̂ = 0, so its ε-MSE is
// E[ε²] = 1 in every band — and one-line errors for bands asked of a classifier or out of range.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { Prng } from '../../../runtime/data/index.ts';
import { writeSafetensors, type TensorToWrite } from '../../../runtime/weights/index.ts';
import { captureIo } from '../../cli/capture-io.ts';
import { parseSpec } from '../sample/tiny-denoiser.ts';
import type { EpsBandReport } from '../../../jobs/eval/eps-bands.ts';

const SPEC = `
model Tiny(size = 4, channels = 1, classes = 2) {
  input x: f32[batch, channels, size, size]
  input t: f32[batch]
  input y: i32[batch]
  c = TimestepEmbedding(t, 8, freq_dim = 8) as temb + LabelEmbedding(y, classes, 8) as yemb
  h = relu(Linear(reshape(x, [-1, channels * size * size]), 8) as fc_in + c)
  output eps = reshape(Linear(h, channels * size * size) as fc_out, [-1, channels, size, size])
}

train Tiny {
  data = images(path = "pics")
  loss = diffusion(eps)
  steps = 2
  batch = 8
}

model Student(size = 4, channels = 1, classes = 2) {
  input x: f32[batch, channels, size, size]
  input t: f32[batch]
  input y: i32[batch]
  c = TimestepEmbedding(t, 4, freq_dim = 8) as temb + LabelEmbedding(y, classes, 4) as yemb
  h = relu(Linear(reshape(x, [-1, channels * size * size]), 4) as fc_in + c)
  output eps = reshape(Linear(h, channels * size * size) as fc_out, [-1, channels, size, size])
}

train Student {
  data = images(path = "pics")
  teacher = Tiny frozen
  loss = diffusion(eps) + 1.0 * mse(eps, teacher.eps)
  steps = 2
  batch = 8
}

model Uncond(size = 4, channels = 1) {
  input x: f32[batch, channels, size, size]
  input t: f32[batch]
  h = relu(Linear(reshape(x, [-1, channels * size * size]), 4) as fc_in + TimestepEmbedding(t, 4, freq_dim = 8) as temb)
  output eps = reshape(Linear(h, channels * size * size) as fc_out, [-1, channels, size, size])
}

train Uncond {
  data = images(path = "pics")
  loss = diffusion(eps)
  steps = 2
  batch = 8
}

model Clf(size = 4, classes = 2) {
  input image: f32[batch, 1, size, size]
  output logits = Linear(reshape(image, [-1, size * size]), classes) as fc
}

train Clf {
  data = images(path = "pics")
  loss = cross_entropy(logits, label)
  steps = 2
  batch = 8
}
`;

/** 32 images per class: class a bright on the left, class b on the right, with noise. */
function writeImages(dir: string): void {
  const rng = new Prng(4);
  for (const [label, side] of [
    ['a', 0],
    ['b', 1],
  ] as const) {
    mkdirSync(join(dir, 'pics', label), { recursive: true });
    for (let n = 0; n < 32; n++) {
      const png = new PNG({ width: 4, height: 4 });
      for (let p = 0; p < 16; p++) {
        const bright = (p % 4 < 2 ? 0 : 1) === side;
        const v = Math.max(0, Math.min(255, Math.round((bright ? 200 : 40) + 30 * rng.nextNormal())));
        png.data.set([v, v, v, 255], 4 * p);
      }
      writeFileSync(join(dir, 'pics', label, `${n}.png`), PNG.sync.write(png));
    }
  }
}

/** All-zero weights for a model of the spec (Scion paths are the checkpoint names without a preset). */
async function zeroWeights(path: string, model: string): Promise<void> {
  const m = lowerModel(parseSpec(SPEC), model, { dims: { batch: 1 } });
  const tensors = new Map<string, TensorToWrite>();
  for (const p of m.params) tensors.set(p.path, { dtype: 'F32', shape: [...p.shape], data: new Float32Array(p.shape.reduce((a, d) => a * d, 1)) });
  await writeSafetensors(path, tensors);
}

describe('scion eval on a diffusion model: ε-MSE per timestep band', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scion-bands-'));
  beforeAll(async () => {
    writeFileSync(join(dir, 'tiny.scion'), SPEC);
    writeImages(dir);
    await zeroWeights(join(dir, 'tiny.safetensors'), 'Tiny');
    await zeroWeights(join(dir, 'clf.safetensors'), 'Clf');
    await zeroWeights(join(dir, 'student.safetensors'), 'Student');
    await zeroWeights(join(dir, 'uncond.safetensors'), 'Uncond');
  });

  it('prints the band table (on the CPU reference unless --device says otherwise): 10 bands, both ε-MSEs, the ratio and a sentence; ε̂ = 0 scores ≈ 1 everywhere', async () => {
    const io = captureIo(dir);
    expect(await main(['eval', 'tiny.scion', '--model', 'Tiny', '--weights', 'tiny.safetensors', '--batches', '8'], io), io.stderr).toBe(0);
    const lines = io.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      'ε-MSE per timestep band: Tiny on 64 val images per band (T = 1000), beside the per-class Gaussian denoiser (full covariance, ridge 0.001)',
    );
    expect(lines[1]).toBe('band  t range    model ε-MSE  Gaussian ε-MSE     ratio');
    expect(lines.slice(2, 12).map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '))).toEqual(
      Array.from({ length: 10 }, (_, k) => `${k + 1} ${k * 100}–${k * 100 + 99}`),
    );
    expect(lines[12]).toMatch(/^The model beats the per-class Gaussian denoiser /);
    expect(lines).toHaveLength(13);
  }, 60_000);

  it('--json: the same rows as data; ratio = model / Gaussian; ε̂ = 0 has ε-MSE ≈ 1 and loses to the baseline at large t', async () => {
    const io = captureIo(dir);
    expect(
      await main(
        ['eval', 'tiny.scion', '--model', 'Tiny', '--weights', 'tiny.safetensors', '--batches', '8', '--bands', '4', '--json', '--device', 'reference'],
        io,
      ),
      io.stderr,
    ).toBe(0);
    const r = JSON.parse(io.stdout) as EpsBandReport;
    expect([r.model, r.split, r.images, r.T, r.bands.length]).toEqual(['Tiny', 'val', 64, 1000, 4]);
    expect(r.bands.map((b) => [b.tFrom, b.tTo])).toEqual([
      [0, 249],
      [250, 499],
      [500, 749],
      [750, 999],
    ]);
    for (const b of r.bands) {
      // 64 images × 16 pixels: the mean of 1,024 χ²(1) values has standard error √(2/1024) ≈ 0.044.
      expect(Math.abs(b.model - 1)).toBeLessThan(0.25);
      expect(b.ratio).toBeCloseTo(b.model / b.gaussian, 12);
    }
    // At large t, x_t is nearly ε: the Gaussian denoiser predicts it almost exactly, zeros do not.
    expect(r.bands[3]!.ratio).toBeGreaterThan(10);
    expect(r.bands.every((b) => b.ratio > 1)).toBe(true);
    expect(r.summary).toBe(
      'The model beats the per-class Gaussian denoiser in no band: it has not yet learned what the class means and pixel covariances give.',
    );
  }, 60_000);

  it("a distilled student is measured without its teacher's weights (only training reads them)", async () => {
    const io = captureIo(dir);
    expect(await main(['eval', 'tiny.scion', '--model', 'Student', '--weights', 'student.safetensors', '--bands', '2', '--json'], io), io.stderr).toBe(0);
    const r = JSON.parse(io.stdout) as EpsBandReport;
    expect(r.bands.map((b) => [b.tFrom, b.tTo])).toEqual([
      [0, 499],
      [500, 999],
    ]);
    // 4 default batches of 8 images × 16 pixels: standard error √(2/512) ≈ 0.06.
    for (const b of r.bands) expect(Math.abs(b.model - 1)).toBeLessThan(0.3);
  }, 60_000);

  it('an unconditional model is measured against one Gaussian over all images', async () => {
    const io = captureIo(dir);
    expect(
      await main(['eval', 'tiny.scion', '--model', 'Uncond', '--weights', 'uncond.safetensors', '--bands', '2', '--batches', '8', '--json'], io),
      io.stderr,
    ).toBe(0);
    const r = JSON.parse(io.stdout) as EpsBandReport;
    const cond = captureIo(dir);
    expect(await main(['eval', 'tiny.scion', '--model', 'Tiny', '--weights', 'tiny.safetensors', '--bands', '2', '--batches', '8', '--json'], cond)).toBe(0);
    const c = JSON.parse(cond.stdout) as EpsBandReport;
    // Same images, noise and ε̂ = 0: the model column agrees exactly; one Gaussian for two classes
    // (left-bright and right-bright images) predicts worse than one per class.
    r.bands.forEach((b, k) => {
      expect(b.model).toBe(c.bands[k]?.model);
      expect(b.gaussian).toBeGreaterThan(c.bands[k]!.gaussian);
    });
  }, 60_000);

  it('bands asked of a classifier, or more bands than timesteps, are one-line errors', async () => {
    const io = captureIo(dir);
    expect(await main(['eval', 'tiny.scion', '--model', 'Clf', '--weights', 'clf.safetensors', '--bands', '3'], io)).toBe(1);
    expect(io.stderr).toBe("scion eval: --bands: 'Clf' is not trained with a diffusion(…) loss; ε-MSE per timestep band measures diffusion models\n");
    const many = captureIo(dir);
    expect(await main(['eval', 'tiny.scion', '--model', 'Tiny', '--weights', 'tiny.safetensors', '--bands', '5000'], many)).toBe(1);
    expect(many.stderr).toBe("scion eval: --bands 5000: give a whole number from 1 to 1000 (the schedule's T)\n");
  });

  it('a classifier without --bands still reports loss and accuracy', async () => {
    const io = captureIo(dir);
    expect(await main(['eval', 'tiny.scion', '--model', 'Clf', '--weights', 'clf.safetensors', '--json'], io), io.stderr).toBe(0);
    const r = JSON.parse(io.stdout) as { loss: number; accuracy: number };
    // Zero weights: equal logits, loss ln 2, and argmax picks class 0 for all — half the images.
    expect(r.loss).toBeCloseTo(Math.LN2, 6);
    expect(r.accuracy).toBeCloseTo(0.5, 10);
  });
});
