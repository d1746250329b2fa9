// Forward graphs with fused attention (compiler/kernel/fuse-attention.ts) on WebGPU against the
// CPU reference: llama (causal, grouped-query, odd length 7) and DiT (full attention over 16
// patches, q/k/v sliced from one projection).

import { describe, expect, it } from 'vitest';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { compileGraph } from '../../../compiler/pipeline.ts';
import { referenceBackend } from '../../../backends/reference/index.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { runArtifact } from '../../../runtime/webgpu/executor.ts';
import { numel, parseSpec, randoms } from '../../compiler/lower/helpers.ts';
import { gpuForTests } from './gpu-fixture.ts';

const CASES = [
  { spec: 'default.scion', model: 'TinyLlama', overrides: { vocab: 32, dim: 16, depth: 2, heads: 4, kv_heads: 2, ffn: 24, ctx: 7 }, layers: 2 },
  { spec: 'lit.scion', model: 'DiT', overrides: { size: 8, patch: 2, dim: 16, depth: 1, heads: 2, classes: 4 }, layers: 1 },
];

const probe = await gpuForTests();

describe.skipIf(probe.gpu === null)('fused attention in spec forward graphs, WebGPU vs the CPU reference', () => {
  for (const c of CASES) {
    it(`${c.spec} ${c.model}: ${c.layers} fused kernel(s), outputs within relative 1e-5`, async () => {
      const gpu = probe.gpu;
      if (gpu === null) throw new Error('unreachable');
      const m = lowerModel(parseSpec(c.spec), c.model, { dims: { batch: 2 }, overrides: c.overrides });
      const feeds = new Map<string, Tensor>();
      let seed = 11;
      for (const p of m.params) feeds.set(p.path, { dtype: 'f32', shape: p.shape, data: randoms(numel(p.shape), seed++, 0.5) });
      for (const i of m.inputs) {
        const n = numel(i.shape);
        if (i.dtype === 'i32') feeds.set(i.name, { dtype: 'i32', shape: i.shape, data: Int32Array.from({ length: n }, (_, k) => (k * 5 + 1) % 4) });
        else if (i.name === 't') feeds.set(i.name, { dtype: 'f32', shape: i.shape, data: Float32Array.from({ length: n }, (_, k) => 250 + 400 * k) });
        else feeds.set(i.name, { dtype: 'f32', shape: i.shape, data: randoms(n, seed++, 1) });
      }
      const art = compileGraph(m.graph);
      expect(art.graph.kernels.filter((k) => k.attention !== undefined).length).toBe(c.layers);
      const want = await referenceBackend.run(m.graph, feeds);
      const got = await runArtifact(gpu, art, feeds);
      for (const [name, w] of want) {
        const g = got.get(name) as Tensor;
        let scale = 0;
        let err = 0;
        for (let i = 0; i < w.data.length; i++) {
          scale = Math.max(scale, Math.abs(w.data[i] as number));
          err = Math.max(err, Math.abs((g.data[i] as number) - (w.data[i] as number)));
        }
        expect(scale, `${name} is not all zeros`).toBeGreaterThan(1e-3);
        expect(err, `${name}: max error ${err} against max |value| ${scale}`).toBeLessThanOrEqual(1e-5 * scale);
      }
    }, 300_000);
  }
});
