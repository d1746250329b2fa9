// `scion bench` with fake benchmarks and devices: selection, the JSON shape, the table, the
// direction of ratios, skips without a device, and the device released at the end.

import { describe, expect, it } from 'vitest';
import { formatTable, runBench, type BenchDeps } from '../../../cli/commands/bench.ts';
import { result, type Benchmark } from '../../../bench/types.ts';
import type { GpuDevice } from '../../../runtime/webgpu/device.ts';
import { UsageError, type Io } from '../../../cli/io.ts';

function captureIo(): Io & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { out: (t) => void (out += t), err: (t) => void (err += t), isTty: false, cwd: '/', stdout: () => out, stderr: () => err };
}

const cpuBench: Benchmark = {
  name: 'cpu-thing',
  description: 'a CPU benchmark',
  needsGpu: false,
  run: async () => [result('parse', 'ms', 2, 8, 'peer-parser', false)],
};

function gpuBench(seen: { gpu: unknown }[]): Benchmark {
  return {
    name: 'gpu-thing',
    description: 'a GPU benchmark',
    needsGpu: true,
    run: async (ctx) => {
      seen.push({ gpu: ctx.gpu });
      return [result('mm', 'GFLOP/s', 12, 6, 'peer-gpu', true), result('mm', 'GFLOP/s', 12, null, 'absent-peer', true)];
    },
  };
}

function fakeDevice(onDestroy: () => void): GpuDevice {
  return { adapterInfo: { description: 'fake adapter' }, destroy: onDestroy } as unknown as GpuDevice;
}

describe('scion bench', () => {
  it('prints {"results": [...]} with ratios pointing "how many times better ours is"', async () => {
    const seen: { gpu: unknown }[] = [];
    let destroyed = 0;
    const deps: BenchDeps = { benchmarks: [cpuBench, gpuBench(seen)], missing: [], acquire: async () => fakeDevice(() => destroyed++) };
    const io = captureIo();
    expect(await runBench(['--json'], io, deps)).toBe(0);
    const parsed = JSON.parse(io.stdout()) as { results: unknown[]; skipped: unknown[] };
    expect(parsed.results).toEqual([
      { name: 'parse', unit: 'ms', ours: 2, peer: 8, peerName: 'peer-parser', ratio: 4 }, // time: peer/ours
      { name: 'mm', unit: 'GFLOP/s', ours: 12, peer: 6, peerName: 'peer-gpu', ratio: 2 }, // throughput: ours/peer
      { name: 'mm', unit: 'GFLOP/s', ours: 12, peer: null, peerName: 'absent-peer', ratio: null },
    ]);
    expect(parsed.skipped).toEqual([]);
    expect(destroyed).toBe(1);
    expect(io.stderr()).toContain('fake adapter');
  });

  it('runs only the named benchmarks, and acquires no device when none needs one', async () => {
    let acquired = 0;
    const deps: BenchDeps = { benchmarks: [cpuBench, gpuBench([])], missing: [], acquire: async () => (acquired++, fakeDevice(() => {})) };
    const io = captureIo();
    await runBench(['cpu-thing', '--json'], io, deps);
    expect((JSON.parse(io.stdout()) as { results: { name: string }[] }).results.map((r) => r.name)).toEqual(['parse']);
    expect(acquired).toBe(0);
  });

  it('skips GPU benchmarks with the reason when there is no device', async () => {
    const seen: { gpu: unknown }[] = [];
    const deps: BenchDeps = { benchmarks: [cpuBench, gpuBench(seen)], missing: [], acquire: async () => ({ device: null, reason: 'no Vulkan here' }) };
    const io = captureIo();
    expect(await runBench([], io, deps)).toBe(0);
    expect(seen).toEqual([]);
    expect(io.stdout()).toContain('skipped gpu-thing: no Vulkan here');
    expect(io.stderr()).toContain('no WebGPU device, GPU benchmarks skipped: no Vulkan here');
  });

  it('rejects unknown names and options as usage errors', async () => {
    const deps: BenchDeps = { benchmarks: [cpuBench], missing: [], acquire: async () => ({ device: null, reason: '' }) };
    await expect(runBench(['nope'], captureIo(), deps)).rejects.toThrow(UsageError);
    await expect(runBench(['nope'], captureIo(), deps)).rejects.toThrow("no benchmark named 'nope'; available: cpu-thing");
    await expect(runBench(['--fast'], captureIo(), deps)).rejects.toThrow("unknown option '--fast'");
  });

  it('formats an aligned table', () => {
    const table = formatTable([result('matmul-f32-256', 'GFLOP/s', 9.31, 5.8, 'tfjs-webgpu', true), result('x', 'ms', 120.4, 1, 'p', false)]);
    expect(table).toBe(
      [
        'benchmark       unit     ours  peer  peer name       ratio',
        'matmul-f32-256  GFLOP/s  9.31  5.80  tfjs-webgpu     1.61×',
        'x               ms        120  1.00  p            0.00831×',
        '',
      ].join('\n'),
    );
  });
});
