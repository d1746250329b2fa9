// acquireDevice when there is no usable adapter: a reason a user can act on, and nothing left
// installed. Runs without a real device (and in its own worker, so no other device holds the poll).

import { describe, expect, it } from 'vitest';
import { acquireDevice } from '../../../runtime/webgpu/device.ts';
import { pollStats } from '../../../runtime/webgpu/poll.ts';

/** A GPU object whose adapter is whatever the test says (no Dawn involved). */
function fakeGpu(adapter: unknown): GPU {
  return { requestAdapter: async () => adapter } as unknown as GPU;
}

describe('acquireDevice without a usable adapter', () => {
  it('says there is no Vulkan driver and how to get one when Dawn finds no adapter', async () => {
    const result = await acquireDevice({ gpu: fakeGpu(null) });
    expect(result.device).toBeNull();
    expect('reason' in result && result.reason).toMatch(/no usable Vulkan driver.*mesa-vulkan-drivers/);
    // the yielding poll it installed for the attempt is gone again
    expect(pollStats()).toBeNull();
  });

  it('names the required features the adapter lacks', async () => {
    const adapter = { features: new Set(['timestamp-query']), limits: {}, info: {} };
    const result = await acquireDevice({ gpu: fakeGpu(adapter), requiredFeatures: ['shader-f16', 'timestamp-query', 'subgroups'] });
    expect('reason' in result && result.reason).toBe('the adapter lacks required feature(s): shader-f16, subgroups');
  });

  it('reports a failed device request as a reason, not a crash', async () => {
    const adapter = { features: new Set(), limits: {}, info: {}, requestDevice: async () => Promise.reject(new Error('boom')) };
    const result = await acquireDevice({ gpu: fakeGpu(adapter), limits: 'default' });
    expect('reason' in result && result.reason).toBe('requesting a WebGPU device failed: boom');
  });
});

describe('device loss', () => {
  /** An adapter whose device's `lost` promise the test resolves. */
  function losableAdapter() {
    let lose: (info: { reason: string; message: string }) => void = () => {};
    const lost = new Promise<{ reason: string; message: string }>((resolve) => (lose = resolve));
    let destroyed = 0;
    const device = { lost, features: new Set(['shader-f16']), limits: {}, destroy: () => void destroyed++, onuncapturederror: null };
    const adapter = {
      features: new Set(['shader-f16']),
      limits: {},
      info: { vendor: 'v', architecture: 'a', device: 'd', description: 'fake' },
      requestDevice: async () => device,
    };
    return { adapter, lose, destroyed: () => destroyed };
  }

  it('turns a lost device into a clear DeviceLostError on the next use, and tells onLost', async () => {
    const { adapter, lose } = losableAdapter();
    const seen: Error[] = [];
    const gpu = await acquireDevice({ gpu: fakeGpu(adapter), onLost: (e) => seen.push(e) });
    if (gpu.device === null) throw new Error(gpu.reason);
    expect(gpu.adapterInfo.key).toBe('node:v/a/d/fake');
    gpu.assertAlive();
    lose({ reason: 'unknown', message: 'driver reset' });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(seen.map((e) => e.message)).toEqual(['WebGPU device lost (unknown): driver reset; results since then are invalid — restart the run']);
    expect(() => gpu.assertAlive()).toThrow(/WebGPU device lost \(unknown\): driver reset/);
    expect(pollStats()).toBeNull(); // a lost device releases the poll too
  });

  it('does not report destroy() as a loss', async () => {
    const { adapter, lose, destroyed } = losableAdapter();
    const seen: Error[] = [];
    const gpu = await acquireDevice({ gpu: fakeGpu(adapter), onLost: (e) => seen.push(e) });
    if (gpu.device === null) throw new Error(gpu.reason);
    gpu.destroy();
    gpu.destroy();
    lose({ reason: 'destroyed', message: '' });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(destroyed()).toBe(1);
    expect(seen).toEqual([]);
    expect(() => gpu.assertAlive()).toThrow('GpuDevice used after destroy()');
    expect(pollStats()).toBeNull();
  });
});
