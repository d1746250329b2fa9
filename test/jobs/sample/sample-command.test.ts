// `scion sample` end to end on a tiny denoiser: --judge with a judge whose bias makes it answer
// class 1 for every image (so agreement is the share of class-1 requests, by hand), the --json
// fields, the pass counts of `reuse = cache("mid", every = 3)` over 6 steps, and usage errors.

import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Io } from '../../../cli/io.ts';
import { main } from '../../../cli/main.ts';
import { sampleConfig } from '../../../compiler/objectives/diffusion-sample-config.ts';
import { drawSamples } from '../../../jobs/sample/draw-samples.ts';
import { openSafetensors } from '../../../runtime/weights/index.ts';
import { parseSpec, tinySetup, writeTensors } from './tiny-denoiser.ts';

function capture(cwd = process.cwd()): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    isTty: false,
    cwd,
    out: (s: string) => {
      io.stdout += s;
    },
    err: (s: string) => {
      io.stderr += s;
    },
  };
  return io;
}

async function setUp(): Promise<{ dir: string; base: string[]; judgeArgs: string[] }> {
  const s = await tinySetup();
  const always1 = join(s.dir, 'always1.safetensors');
  await writeTensors(always1, { 'fc.weight': { shape: [3, 16], data: new Float32Array(48) }, 'fc.bias': { shape: [3], data: Float32Array.of(0, 5, 0) } });
  return {
    dir: s.dir,
    base: ['sample', s.spec, '--weights', s.weights, '--device', 'reference', '-o', join(s.dir, 'grid.png')],
    judgeArgs: ['--judge', s.judge, '--judge-weights', always1],
  };
}

describe('scion sample --tensors', () => {
  it('writes the raw samples and their requested labels: the images drawSamples draws, the classes in order', async () => {
    const s = await tinySetup();
    const io = capture();
    const file = join(s.dir, 'samples.safetensors');
    expect(await main(['sample', s.spec, '--weights', s.weights, '--device', 'cpu', '-o', join(s.dir, 'g.png'), '--tensors', file], io), io.stderr).toBe(0);
    const st = await openSafetensors(file);
    expect(st.tensors.get('samples')).toMatchObject({ dtype: 'F32', shape: [6, 1, 4, 4] });
    expect(st.tensors.get('labels')).toMatchObject({ dtype: 'I32', shape: [6] });
    expect([...((await st.read('labels')) as Int32Array)]).toEqual([0, 0, 1, 1, 2, 2]); // classes [0, 1, 2], count 2
    const samples = (await st.read('samples')) as Float32Array;
    await st.close();
    // The same spec, seed and weights through the library: the same images, to f32 rounding.
    const program = parseSpec(readFileSync(s.spec, 'utf8'));
    const r = await drawSamples(program, sampleConfig(program, 'Tiny'), {
      weights: new Map([[null, s.weights]]),
      reuse: true,
      device: 'cpu',
      log: () => undefined,
    });
    expect(samples).toHaveLength(r.images.length);
    for (let i = 0; i < samples.length; i++) expect(samples[i]).toBeCloseTo(Math.fround(r.images[i] as number), 6);
  }, 60_000);

  it('refuses --tensors naming the grid itself', async () => {
    const s = await tinySetup();
    const io = capture();
    const grid = join(s.dir, 'g.png');
    expect(await main(['sample', s.spec, '--weights', s.weights, '--device', 'cpu', '-o', grid, '--tensors', grid], io)).toBe(2);
    expect(io.stderr).toContain('--tensors and -o name the same file');
  });
});

describe('scion sample --judge', () => {
  it('reports agreement with the requested class per class and overall (--json), and the passes reuse ran', async () => {
    const { dir, base, judgeArgs } = await setUp();
    const io = capture();
    expect({ code: await main([...base, ...judgeArgs, '--json'], io), err: io.stderr }).toEqual({ code: 0, err: '' });
    const r = JSON.parse(io.stdout) as Record<string, unknown>;
    // 3 classes × count 2; the judge says 1 every time: only the two class-1 samples agree.
    expect(r['count']).toBe(6);
    expect(r['agreement']).toBeCloseTo(2 / 6, 12);
    expect(r['perClass']).toEqual([
      { class: 0, count: 2, agreement: 0 },
      { class: 1, count: 2, agreement: 1 },
      { class: 2, count: 2, agreement: 0 },
    ]);
    expect(r['predictions']).toEqual([1, 1, 1, 1, 1, 1]);
    // every = 3 over 6 steps: full passes at steps 0 and 3, partial ones at 1, 2, 4, 5.
    expect([r['fullPasses'], r['partialPasses']]).toEqual([2, 4]);
    expect(r['device']).toBe('reference');
    expect(r['msPerImage']).toBeCloseTo((r['ms'] as number) / 6, 9);
    expect(existsSync(join(dir, 'grid.png'))).toBe(true);

    const text = capture();
    expect(await main([...base, ...judgeArgs, '--no-reuse'], text)).toBe(0);
    expect(text.stdout).toContain('6 images, 6 ddim steps on the CPU reference');
    expect(text.stdout).toContain('Tiny 6 full + 0 partial passes');
    expect(text.stdout).toContain('judge Judge: 33.3% of 6 samples classified as the requested class (2/6)');
    expect(text.stdout).toMatch(/class +1 +100\.0% +\(2\/2\)/);
  }, 60_000);

  it('refuses judge options without --judge (usage), and a judge for other images before sampling (input error)', async () => {
    const { dir, base, judgeArgs } = await setUp();
    const usage = capture();
    expect(await main([...base, '--judge-model', 'Judge'], usage)).toBe(2);
    expect(usage.stderr).toContain('--judge-model and --judge-weights need --judge SPEC');
    const wrong = join(dir, 'wrong.scion');
    writeFileSync(
      wrong,
      'model Judge(size = 8) {\n  input image: f32[batch, 1, size, size]\n  output logits = Linear(reshape(image, [-1, size * size]), 3) as fc\n}\n',
    );
    const io = capture();
    expect(await main([...base, '--judge', wrong, '--judge-weights', judgeArgs[3] as string], io)).toBe(1);
    expect(io.stderr).toContain("the judge 'Judge' takes images [1, 8, 8], the samples are [1, 4, 4]");
    // Refused before sampling: no grid was written.
    expect(existsSync(join(dir, 'grid.png'))).toBe(false);
  }, 60_000);

  it('reads the judge from runs/<model>/model.safetensors under the working folder when --judge-weights is not given', async () => {
    const { dir, base, judgeArgs } = await setUp();
    mkdirSync(join(dir, 'runs', 'Judge'), { recursive: true });
    copyFileSync(judgeArgs[3] as string, join(dir, 'runs', 'Judge', 'model.safetensors'));
    const io = capture(dir);
    expect(await main([...base, '--judge', judgeArgs[1] as string, '--classes', '1', '--count', '1', '--steps', '2', '--json'], io)).toBe(0);
    const r = JSON.parse(io.stdout) as Record<string, unknown>;
    expect([r['agreement'], r['count'], r['judge']]).toEqual([1, 1, { file: judgeArgs[1], model: 'Judge' }]);
  }, 60_000);
});
