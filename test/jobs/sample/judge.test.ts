// The sample judge: agreement counted by hand, and a judge whose weights make its logits the first
// three pixels of the image, so each prediction is the brightest of those pixels.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agreementOf, judgeModelName, judgeSamples, prepareJudge } from '../../../jobs/sample/judge.ts';
import { JobError } from '../../../jobs/train/errors.ts';
import { JUDGE_SPEC, parseSpec, tinySetup, writeTensors } from './tiny-denoiser.ts';

describe('agreementOf', () => {
  it('counts overall and per-class agreement, classes in ascending order', () => {
    // requested 2,2,0,0,0,1 ; predicted 2,1,0,0,2,1 → hits: 2✓ 2✗ 0✓ 0✓ 0✗ 1✓ = 4/6
    const r = agreementOf(Int32Array.of(2, 1, 0, 0, 2, 1), Int32Array.of(2, 2, 0, 0, 0, 1));
    expect(r.count).toBe(6);
    expect(r.agreement).toBeCloseTo(4 / 6, 12);
    expect(r.perClass).toEqual([
      { class: 0, count: 3, agreement: 2 / 3 },
      { class: 1, count: 1, agreement: 1 },
      { class: 2, count: 2, agreement: 0.5 },
    ]);
  });
});

describe('judgeSamples', () => {
  const program = parseSpec(JUDGE_SPEC);

  it('classifies each image by its forward pass: logits = pixels 0..2, so the brightest of them wins', async () => {
    const { dir } = await tinySetup();
    const w = join(dir, 'pixels.safetensors');
    // fc.weight [3, 16]: row c picks pixel c; no bias.
    const weight = new Float32Array(3 * 16);
    for (let c = 0; c < 3; c++) weight[c * 16 + c] = 1;
    await writeTensors(w, { 'fc.weight': { shape: [3, 16], data: weight }, 'fc.bias': { shape: [3], data: new Float32Array(3) } });
    // Four images [4, 1, 4, 4]: the bright pixel of image i is pixel (0, 2, 1, 2)[i]; the rest −1.
    const bright = [0, 2, 1, 2];
    const images = new Float64Array(4 * 16).fill(-1);
    bright.forEach((p, i) => {
      images[i * 16 + p] = 0.8;
    });
    const requested = Int32Array.of(0, 1, 1, 2);
    const r = await judgeSamples(program, 'Judge', w, images, [4, 1, 4, 4], requested);
    expect([...r.predictions]).toEqual(bright);
    // agree: image 0 (0 = 0), image 2 (1 = 1), image 3 (2 = 2); not image 1 (2 ≠ 1)
    expect(r.agreement).toBe(0.75);
    expect(r.perClass).toEqual([
      { class: 0, count: 1, agreement: 1 },
      { class: 1, count: 2, agreement: 0.5 },
      { class: 2, count: 1, agreement: 1 },
    ]);
  });

  it('names the judge from the spec and refuses images of the wrong size or missing weights as user errors', async () => {
    expect(judgeModelName(program, undefined)).toBe('Judge');
    expect(judgeModelName(program, 'Other')).toBe('Other');
    const { dir } = await tinySetup();
    const w = join(dir, 'zeros.safetensors');
    await writeTensors(w, { 'fc.weight': { shape: [3, 16], data: new Float32Array(48) }, 'fc.bias': { shape: [3], data: new Float32Array(3) } });
    await expect(prepareJudge(program, 'Judge', w, [2, 1, 8, 8])).rejects.toThrow(/takes images \[1, 4, 4\], the samples are \[1, 8, 8\]/);
    await expect(prepareJudge(program, 'Judge', join(dir, 'none.safetensors'), [2, 1, 4, 4])).rejects.toBeInstanceOf(JobError);
  });
});
