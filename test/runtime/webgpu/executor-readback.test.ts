// Readback buffers are reused: reading an output after every step maps the same staging buffer
// again instead of allocating (and Dawn zeroing) a fresh one each time, and what comes back is
// always the step just run, never a previous read's bytes.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { compileGraph } from '../../../compiler/pipeline.ts';
import type { GpuDevice } from '../../../runtime/webgpu/device.ts';
import { BUFFER_USAGE } from '../../../runtime/webgpu/gpu-constants.ts';
import { WebGpuExecutor } from '../../../runtime/webgpu/executor.ts';
import { gpuForTests, randomF32 } from './gpu-fixture.ts';

const { gpu } = await gpuForTests();

const [M, K, N] = [3, 20, 7];

/** x·w in float64: the independent expectation. */
function matmul(x: Float32Array, w: Float32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (x[i * K + k] as number) * (w[k * N + j] as number);
      out.push(s);
    }
  return out;
}

/** The same device with its createBuffer counted: how many mappable (readback) buffers were made. */
function counting(g: GpuDevice): { gpu: GpuDevice; mappable: () => number } {
  let made = 0;
  const device = new Proxy(g.device, {
    get(target, key) {
      if (key === 'createBuffer')
        return (desc: GPUBufferDescriptor) => {
          if ((desc.usage & BUFFER_USAGE.MAP_READ) !== 0) made++;
          return target.createBuffer(desc);
        };
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { gpu: { ...g, device }, mappable: () => made };
}

describe.skipIf(gpu === null)('executor readback', () => {
  it('reuses one staging buffer across steps and reads each step fresh', async () => {
    const b = new GraphBuilder();
    b.output('y', b.matmul(b.input('x', [M, K]), b.param('w', [K, N])));
    const { gpu: g, mappable } = counting(gpu as GpuDevice);
    const ex = await WebGpuExecutor.create(g, compileGraph(b.build()));
    try {
      const w = randomF32(K * N, 7);
      ex.write('w', { dtype: 'f32', shape: [K, N], data: w });
      for (let s = 0; s < 3; s++) {
        const x = randomF32(M * K, 100 + s);
        ex.write('x', { dtype: 'f32', shape: [M, K], data: x });
        await ex.step();
        const y = Array.from((await ex.read('y')).data as Float32Array);
        const want = matmul(x, w);
        for (let i = 0; i < want.length; i++) expect(y[i]).toBeCloseTo(want[i] as number, 5);
      }
      expect(mappable()).toBe(1);
      // Another size takes its own buffer, and the first is still there for the old size.
      expect((await ex.readMany(['y', 'w'])).get('w')?.data).toEqual(w);
      expect(mappable()).toBe(2);
      await ex.read('y');
      expect(mappable()).toBe(2);
      // Two reads in flight at once cannot share a buffer: the second makes its own, both read right.
      const [one, two] = await Promise.all([ex.read('y'), ex.read('y')]);
      expect(two.data).toEqual(one.data);
      expect(mappable()).toBe(3);
      await Promise.all([ex.read('y'), ex.read('y')]);
      expect(mappable()).toBe(3);
    } finally {
      ex.destroy();
    }
  });
});
