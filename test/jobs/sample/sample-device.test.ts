// `scion sample --device webgpu`: the same seed draws the same images on WebGPU as on the CPU
// reference (within f32 tolerance), with feature reuse — the full graph (tap as an extra output)
// and the graph cut at the reuse tap each compiled once and run on the device; a plain denoiser
// runs its one graph through the same runner. Only the reuse case runs here: lavapipe compiles
// each pipeline in about a second. Skipped without an adapter (a failure under CI=true).

import { describe, expect, it } from 'vitest';
import { sampleConfig } from '../../../compiler/objectives/diffusion-sample-config.ts';
import { drawSamples, type DrawResult } from '../../../jobs/sample/draw-samples.ts';
import { gpuForTests } from '../../runtime/webgpu/gpu-fixture.ts';
import { parseSpec, TINY_SPEC, tinySetup } from './tiny-denoiser.ts';

const probe = await gpuForTests();

describe.skipIf(probe.gpu === null)('sampling on WebGPU', () => {
  it('draws the CPU reference images on WebGPU from the same seed (|Δ| < 1e-3), reusing features on 4 of 6 steps', async () => {
    const { weights } = await tinySetup();
    const program = parseSpec(TINY_SPEC);
    const draw = (device: 'reference' | 'webgpu', reuse: boolean): Promise<DrawResult> =>
      drawSamples(program, sampleConfig(program, 'Tiny'), { weights: new Map([[null, weights]]), reuse, device, log: () => undefined });
    {
      const cpu = await draw('reference', true);
      const gpu = await draw('webgpu', true);
      expect([cpu.device, gpu.device]).toEqual(['reference', 'webgpu']);
      expect(gpu.passes).toEqual(cpu.passes);
      expect(gpu.passes).toEqual([{ model: 'Tiny', full: 2, partial: 4 }]);
      expect(gpu.images.length).toBe(6 * 16);
      let worst = 0;
      gpu.images.forEach((v, k) => {
        worst = Math.max(worst, Math.abs(v - (cpu.images[k] as number)));
      });
      expect(worst).toBeLessThan(1e-3);
      // Not a trivial agreement: the images are spread over [−1, 1].
      expect(Math.max(...cpu.images) - Math.min(...cpu.images)).toBeGreaterThan(0.5);
    }
  }, 180_000);
});
