// `scion eval --device` and `--profile`: the forward pass on the cpu backend (ONNX Runtime) and on
// WebGPU writes the reference's outputs (relative 1e-4), and the profile lists every kernel once, slowest first, each with the
// spec line it came from. The WebGPU half is skipped without an adapter (a failure under CI=true).

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Io } from '../../../cli/io.ts';
import { main } from '../../../cli/main.ts';
import { openSafetensors, writeSafetensors } from '../../../runtime/weights/index.ts';
import { gpuForTests } from '../../runtime/webgpu/gpu-fixture.ts';

function capture(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    isTty: false,
    cwd: process.cwd(),
    out: (s: string) => {
      io.stdout += s;
    },
    err: (s: string) => {
      io.stderr += s;
    },
  };
  return io;
}

async function setUp(): Promise<{ args: (out: string) => string[]; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'scion-eval-device-'));
  const w = join(dir, 'w.safetensors');
  expect(await main(['init', 'specs/mnist-classifier.scion', '--model', 'DigitMLP', '--seed', '2', '-o', w], capture())).toBe(0);
  const input = join(dir, 'in.safetensors');
  await writeSafetensors(input, { image: { dtype: 'F32', shape: [2, 1, 28, 28], data: Float32Array.from({ length: 2 * 784 }, (_, k) => Math.sin(k)) } });
  return { dir, args: (out) => ['eval', 'specs/mnist-classifier.scion', '--model', 'DigitMLP', '--weights', w, '--input', input, '-o', join(dir, out)] };
}

async function logits(path: string): Promise<Float32Array> {
  const r = await openSafetensors(path);
  const v = (await r.read('logits')) as Float32Array;
  await r.close();
  return v;
}

describe('scion eval --device and --profile (usage)', () => {
  it('rejects --profile on the CPU and an unknown device as usage errors', async () => {
    const { args } = await setUp();
    const a = capture();
    expect(await main([...args('o.safetensors'), '--profile', '--device', 'reference'], a)).toBe(2);
    expect(a.stderr).toContain('--profile times WebGPU kernels: it cannot run with --device reference');
    const c = capture();
    expect(await main([...args('o.safetensors'), '--profile', '--device', 'cpu'], c)).toBe(2);
    expect(c.stderr).toContain('--profile times WebGPU kernels: it cannot run with --device cpu');
    expect(await main([...args('o.safetensors'), '--device', 'tpu'], capture())).toBe(2);
  });
});

describe('scion eval --device cpu', () => {
  it('writes the reference outputs through ONNX Runtime', async () => {
    const { dir, args } = await setUp();
    expect(await main([...args('ref.safetensors')], capture())).toBe(0); // eval's default: the reference
    expect(await main([...args('ort.safetensors'), '--device', 'cpu'], capture())).toBe(0);
    const want = await logits(join(dir, 'ref.safetensors'));
    const got = await logits(join(dir, 'ort.safetensors'));
    const scale = Math.max(...Array.from(want, Math.abs));
    expect(scale).toBeGreaterThan(0);
    expect(got.length).toBe(want.length);
    want.forEach((w, i) => expect(Math.abs((got[i] as number) - w)).toBeLessThanOrEqual(1e-4 * scale));
  }, 60_000);
});

const probe = await gpuForTests();

describe.skipIf(probe.gpu === null)('scion eval on WebGPU', () => {
  it('writes the CPU outputs with --device webgpu, and profiles every kernel with its source', async () => {
    const { dir, args } = await setUp();
    expect(await main([...args('cpu.safetensors'), '--device', 'reference'], capture())).toBe(0);
    expect(await main([...args('gpu.safetensors'), '--device', 'webgpu'], capture())).toBe(0);
    const want = await logits(join(dir, 'cpu.safetensors'));
    const got = await logits(join(dir, 'gpu.safetensors'));
    const scale = Math.max(...Array.from(want, Math.abs));
    want.forEach((w, i) => expect(Math.abs((got[i] as number) - w)).toBeLessThanOrEqual(1e-4 * scale));

    const io = capture();
    expect(await main([...args('prof.safetensors'), '--profile'], io)).toBe(0);
    const rows = io.stdout.split('\n').filter((l) => /^\s*[\d.]+\s+[\d.]+\s+#\d+/.test(l));
    // fc1 (matmul + bias + relu) and fc2 (matmul + bias): two fused kernels, at DigitMLP's lines of them.
    expect(rows.length).toBe(2);
    const ms = rows.map((r) => Number(r.trim().split(/\s+/)[0]));
    expect(ms).toEqual([...ms].sort((x, y) => y - x));
    const specLines = readFileSync('specs/mnist-classifier.scion', 'utf8').split('\n');
    const lineOf = (name: string): string => String(specLines.findIndex((l) => l.includes(`as ${name}`) && l.includes('Linear(h')) + 1);
    expect(rows.map((r) => /specs\/mnist-classifier\.scion:(\d+)/.exec(r)?.[1]).sort()).toEqual([lineOf('fc1'), lineOf('fc2')].sort());
    expect(await logits(join(dir, 'prof.safetensors'))).toEqual(got);
  }, 120_000);
});
