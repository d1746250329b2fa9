// Device acquisition on the real adapter: error scopes that name the failing object, and a
// process that ends by itself after destroy(). (No-device reasons: device-fallback.test.ts.)

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { GpuError, withErrorScopes } from '../../../runtime/webgpu/errors.ts';
import { PipelineCache } from '../../../runtime/webgpu/pipeline-cache.ts';
import { gpuForTests } from './gpu-fixture.ts';

const { gpu } = await gpuForTests();

describe.skipIf(gpu === null)('acquireDevice on the real adapter', () => {
  it('describes the adapter and the limits it granted', () => {
    expect(gpu!.adapterInfo.platform).toBe('node');
    expect(gpu!.adapterInfo.key).toContain(gpu!.adapterInfo.description);
    // 'adapter' limits: the device got the adapter's maximum storage binding, at least the spec default
    expect(gpu!.limits['maxStorageBufferBindingSize']).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(gpu!.features.size).toBeGreaterThan(0);
  });

  it('turns a validation error into a GpuError naming the object', async () => {
    const device = gpu!.device;
    // MAP_READ may only be combined with COPY_DST, not STORAGE
    const attempt = withErrorScopes(device, "buffer 'odd'", () => device.createBuffer({ size: 16, usage: 0x1 | 0x80 }));
    await expect(attempt).rejects.toThrow(GpuError);
    await expect(attempt).rejects.toThrow(/^buffer 'odd': WebGPU validation error: /);
    gpu!.assertAlive(); // a captured error does not poison the device
  });

  it('rejects WGSL that does not compile, naming the shader key', async () => {
    const cache = new PipelineCache(gpu!);
    const broken = {
      key: 'test/broken',
      code: 'fn main( {',
      entryPoint: 'main',
      workgroupSize: [1, 1, 1] as const,
      tile: { cols: 1, rows: 1 },
      uniforms: [],
      bindings: [],
    };
    await expect(cache.get(broken)).rejects.toThrow();
    expect(cache.size).toBe(0); // the failure is not cached
  });
});

describe.skipIf(gpu === null)('process lifetime', () => {
  it('a script that acquires, computes and destroys exits by itself', () => {
    const script = `
      import { acquireDevice } from './runtime/webgpu/device.ts';
      import { uploadF32, readF32 } from './runtime/webgpu/buffers.ts';
      const gpu = await acquireDevice();
      if (gpu.device === null) throw new Error(gpu.reason);
      const back = await readF32(gpu, await uploadF32(gpu, new Float32Array([1.5, -2, 3]), 'x'), 3);
      console.log(JSON.stringify([...back]));
      gpu.destroy();
      let threw = false;
      try { gpu.assertAlive(); } catch { threw = true; }
      console.log(threw ? 'dead-after-destroy' : 'alive-after-destroy');
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('../../..', import.meta.url).pathname,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(child.error).toBeUndefined(); // no timeout: the process ended on its own
    expect(child.status).toBe(0);
    expect(child.stdout.trim().split('\n')).toEqual(['[1.5,-2,3]', 'dead-after-destroy']);
  });
});
