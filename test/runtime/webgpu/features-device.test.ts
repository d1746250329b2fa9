// Device features: acquireDevice opens the device with the shader features the adapter offers
// (SHADER_FEATURES), the artifact names the features its kernels need, and the executor refuses,
// by name, an artifact needing one the device lacks (an artifact compiled for another target).

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { softmax } from '../../../compiler/ir/compose.ts';
import { compileGraph } from '../../../compiler/pipeline.ts';
import type { GpuDevice } from '../../../runtime/webgpu/device.ts';
import { SHADER_FEATURES } from '../../../runtime/webgpu/device.ts';
import { MissingFeatureError, WebGpuExecutor } from '../../../runtime/webgpu/executor.ts';
import { gpuForTests } from './gpu-fixture.ts';

const { gpu } = await gpuForTests();

/** The same device, claiming not to have `feature` (as another machine's device would). */
function without(g: GpuDevice, feature: string): GpuDevice {
  return { ...g, features: new Set([...g.features].filter((f) => f !== feature)) };
}

function graph(): ReturnType<GraphBuilder['build']> {
  const b = new GraphBuilder();
  b.output('y', softmax(b, b.matmul(b.input('x', [4, 40]), b.param('w', [40, 40]))));
  return b.build();
}

describe.skipIf(gpu === null)('device features', () => {
  it('opens the device with shader-f16 and subgroups where the adapter has them (lavapipe: both, subgroups of 8)', async () => {
    const g = gpu as GpuDevice;
    const adapter = await g.gpu.requestAdapter();
    for (const f of SHADER_FEATURES) expect(g.features.has(f), f).toBe(adapter?.features.has(f) === true);
    if (g.features.has('subgroups')) {
      const sizes = g.subgroupSizes;
      expect(sizes).toBeDefined();
      expect(sizes?.min).toBeGreaterThanOrEqual(1);
      expect(sizes?.max).toBeGreaterThanOrEqual(sizes?.min ?? Infinity);
      expect(sizes?.min).toBe(adapter?.info.subgroupMinSize);
    }
  });

  it.each([
    ['shader-f16', { precision: 'f16' as const }],
    ['subgroups', { features: ['subgroups'] }],
  ])('refuses an artifact needing %s on a device without it, naming the feature', async (feature, opts) => {
    const art = compileGraph(graph(), opts);
    expect(art.features).toEqual([feature]);
    const lacking = without(gpu as GpuDevice, feature);
    await expect(WebGpuExecutor.create(lacking, art)).rejects.toThrow(MissingFeatureError);
    await expect(WebGpuExecutor.create(lacking, art)).rejects.toThrow(
      `the artifact needs the WebGPU feature(s) ${feature}, which this device lacks; compile it for this device`,
    );
  });

  it('a plain artifact needs nothing and runs on a device without either feature', async () => {
    const art = compileGraph(graph());
    expect(art.features).toBeUndefined();
    const ex = await WebGpuExecutor.create(without(without(gpu as GpuDevice, 'subgroups'), 'shader-f16'), art);
    ex.destroy();
  });
});
