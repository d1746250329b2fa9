// `scion sample --device cpu` (ONNX Runtime), which `auto` picks on a machine without a hardware
// GPU: the same seed draws the reference's images within f32 tolerance, with feature reuse — the
// full graph (tap as an extra output) and the graph cut at the reuse tap each exported and run as
// their own ONNX Runtime session — and with plain full passes.

import { describe, expect, it } from 'vitest';
import { sampleConfig } from '../../../compiler/objectives/diffusion-sample-config.ts';
import { drawSamples, type DrawResult } from '../../../jobs/sample/draw-samples.ts';
import { parseSpec, TINY_SPEC, tinySetup } from './tiny-denoiser.ts';

describe('sampling on --device cpu', () => {
  it.each([true, false])(
    'draws the reference images from the same seed (|Δ| < 1e-4), reuse %s',
    async (reuse) => {
      const { weights } = await tinySetup();
      const program = parseSpec(TINY_SPEC);
      const draw = (device: 'reference' | 'cpu'): Promise<DrawResult> =>
        drawSamples(program, sampleConfig(program, 'Tiny'), { weights: new Map([[null, weights]]), reuse, device, log: () => undefined });
      const ref = await draw('reference');
      const cpu = await draw('cpu');
      expect([ref.device, cpu.device]).toEqual(['reference', 'cpu']);
      expect(cpu.passes).toEqual(ref.passes);
      expect(cpu.passes).toEqual([{ model: 'Tiny', full: reuse ? 2 : 6, partial: reuse ? 4 : 0 }]);
      expect(cpu.images.length).toBe(6 * 16);
      let worst = 0;
      cpu.images.forEach((v, k) => {
        worst = Math.max(worst, Math.abs(v - (ref.images[k] as number)));
      });
      expect(worst).toBeLessThan(1e-4);
      // Not a trivial agreement: the images are spread over [−1, 1].
      expect(Math.max(...ref.images) - Math.min(...ref.images)).toBeGreaterThan(0.5);
    },
    120_000,
  );
});
