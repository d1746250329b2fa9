// `scion compile --f16 --features` records precision and needed features in plan.json;
// `scion eval --f16` runs the forward pass with f16 weights on WebGPU and writes the CPU
// reference's outputs within 1e-2 of max |value| (the tolerance f16.test.ts justifies).

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { openSafetensors, writeSafetensors } from '../../../runtime/weights/index.ts';
import { captureIo } from '../../cli/capture-io.ts';
import { gpuForTests } from './gpu-fixture.ts';

const SPEC = 'specs/mnist-classifier.scion';

describe('scion compile --f16 / --features', () => {
  it('writes precision and the needed features to plan.json and the --json summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scion-f16-compile-'));
    const io = captureIo(process.cwd());
    // tiny-lm's Tiny: RMSNorm rows of 192 take the subgroup path (DigitMLP has no long rows)
    expect(
      await main(['compile', 'specs/tiny-lm.scion', '--model', 'Tiny', '--batch', '1', '--f16', '--features', 'shader-f16,subgroups', '-o', dir, '--json'], io),
    ).toBe(0);
    const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as { precision: string; features: string[]; memory: { arenaTypes: string[] } };
    expect(plan.precision).toBe('f16');
    expect(plan.features).toEqual(['shader-f16', 'subgroups']);
    expect(plan.memory.arenaTypes.at(-1)).toBe('f16');
    expect((JSON.parse(io.stdout) as { features: string[] }).features).toEqual(['shader-f16', 'subgroups']);
    const kernels = readdirSync(join(dir, 'kernels')).map((f) => readFileSync(join(dir, 'kernels', f), 'utf8'));
    expect(kernels.filter((k) => k.includes('\nenable f16;\n')).length).toBeGreaterThan(0);
    expect(kernels.filter((k) => k.includes('\nenable subgroups;\n')).length).toBeGreaterThan(0);
  });

  it('rejects an unknown feature and --f16 for a target without shader-f16 as usage errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scion-f16-compile-'));
    const a = captureIo(process.cwd());
    expect(await main(['compile', SPEC, '--model', 'DigitMLP', '--features', 'subgroups,warp-speed', '-o', dir], a)).toBe(2);
    expect(a.stderr).toContain('unknown feature(s) warp-speed for --features (known: shader-f16, subgroups)');
    const b = captureIo(process.cwd());
    expect(await main(['compile', SPEC, '--model', 'DigitMLP', '--f16', '--features', 'subgroups', '-o', dir], b)).toBe(2);
    expect(b.stderr).toContain('--f16 needs shader-f16 in --features');
  });
});

const { gpu } = await gpuForTests();

describe.skipIf(gpu === null || !gpu.features.has('shader-f16'))('scion eval --f16', () => {
  it('writes the CPU reference outputs within 1e-2 of max |value|; --f16 with a CPU device is a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scion-f16-eval-'));
    const w = join(dir, 'w.safetensors');
    expect(await main(['init', SPEC, '--model', 'DigitMLP', '--seed', '3', '-o', w], captureIo(process.cwd()))).toBe(0);
    const input = join(dir, 'in.safetensors');
    await writeSafetensors(input, { image: { dtype: 'F32', shape: [2, 1, 28, 28], data: Float32Array.from({ length: 2 * 784 }, (_, k) => Math.cos(k)) } });
    const args = (out: string): string[] => ['eval', SPEC, '--model', 'DigitMLP', '--weights', w, '--input', input, '-o', join(dir, out)];
    expect(await main(args('cpu.safetensors'), captureIo(process.cwd()))).toBe(0);
    const io = captureIo(process.cwd());
    expect(await main([...args('f16.safetensors'), '--f16'], io), io.stderr).toBe(0);
    const read = async (f: string): Promise<Float32Array> => {
      const r = await openSafetensors(join(dir, f));
      const v = (await r.read('logits')) as Float32Array;
      await r.close();
      return v;
    };
    const [want, got] = [await read('cpu.safetensors'), await read('f16.safetensors')];
    const scale = Math.max(...Array.from(want, Math.abs));
    const err = Math.max(...Array.from(want, (v, i) => Math.abs((got[i] as number) - v)));
    expect(scale).toBeGreaterThan(0);
    expect(err).toBeLessThan(1e-2 * scale);
    // f16 rounding is visible: the two runs are not bit-identical
    expect(err).toBeGreaterThan(0);
    const u = captureIo(process.cwd());
    expect(await main([...args('x.safetensors'), '--f16', '--device', 'reference'], u)).toBe(2);
    expect(u.stderr).toContain('--f16 runs f16 weights on WebGPU: not with --device reference');
    const c = captureIo(process.cwd());
    expect(await main([...args('x.safetensors'), '--f16', '--device', 'cpu'], c)).toBe(2);
    expect(c.stderr).toContain('--f16 runs f16 weights on WebGPU: not with --device cpu');
  }, 120_000);
});
