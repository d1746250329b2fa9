// Per-adapter tuning on the device: every candidate matmul form (register blocks, workgroup
// tiles) gives the CPU reference's results on odd shapes (edge blocks, a batch summed in the
// kernel), the real tuner stores a choice for this adapter and reads it back without timing, and
// the WebGPU backend compiles with the stored choice — the tiled form here — (or the untuned one
// when told to, or when tuning fails).

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Graph } from '../../../compiler/ir/graph.ts';
import { referenceBackend } from '../../../backends/reference/index.ts';
import { decide, GRAPH_TUNE_KEYS, MATMUL_CANDIDATES, compileOptionsFor, tuneGraphForDevice } from '../../../backends/webgpu/tune-graph.ts';
import { createWebGpuBackend } from '../../../backends/webgpu/index.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { MemoryTuneStore, type TuneStore } from '../../../runtime/webgpu/autotune.ts';
import { PipelineCache } from '../../../runtime/webgpu/pipeline-cache.ts';
import { gpuForTests } from './gpu-fixture.ts';
import { compareWithCpu, randomTensor, relErr } from './ops/helpers.ts';

const { gpu } = await gpuForTests();

const feed = randomTensor;

/**
 * relu(x·wᵀ + bias) for x [2, 37, 13], w [21, 13] (37×21 per batch: partial 16-row and 8-column
 * edge blocks), and the weight gradient (Σ_b xᵀ_b·g_b)ᵀ for g [2, 37, 21] → [21, 13], K = 74 summed
 * over the batch inside the kernel.
 */
function oddGraph(): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [2, 37, 13]);
  const g = b.input('g', [2, 37, 21]);
  b.output('y', b.relu(b.add(b.matmul(x, b.permute(b.param('w', [21, 13]), [1, 0])), b.param('bias', [21]))));
  b.output('dw', b.permute(b.sum(b.matmul(b.permute(x, [0, 2, 1]), g), [0]), [1, 0]));
  return b.build();
}

const oddFeeds = (): Map<string, Tensor> =>
  new Map([
    ['x', feed([2, 37, 13], 1)],
    ['g', feed([2, 37, 21], 2)],
    ['w', feed([21, 13], 3)],
    ['bias', feed([21], 4)],
  ]);

describe.skipIf(gpu === null)('tuned compiled graphs on WebGPU', () => {
  const cache = gpu === null ? null : new PipelineCache(gpu);

  for (const [name, choice] of Object.entries(MATMUL_CANDIDATES)) {
    it(`the ${name} matmul form matches the CPU reference on odd shapes`, { timeout: 120_000 }, async () => {
      const r = await compareWithCpu(gpu!, oddGraph(), oddFeeds(), cache!, compileOptionsFor({ ...choice, subgroups: false }));
      for (const out of ['y', 'dw']) expect(relErr(r.gpu.get(out)!.data, r.cpu.get(out)!.data)).toBeLessThan(1e-5);
    });
  }

  it('tunes once per adapter and then reads the store without compiling a probe', { timeout: 120_000 }, async () => {
    const store = new MemoryTuneStore();
    const first = await tuneGraphForDevice(gpu!, cache!, store);
    expect(first.fresh).toBe(true);
    const stored = store.get(gpu!.adapterInfo.key, GRAPH_TUNE_KEYS.matmulBlock);
    expect(stored).toBeDefined();
    // the choice follows from the stored timings (fastest, by a margin over the default)
    expect(MATMUL_CANDIDATES[decide(stored!.timesMs, '8x8')]).toEqual({ matmulBlock: first.matmulBlock, matmulTiles: first.matmulTiles });
    const reduce = store.get(gpu!.adapterInfo.key, GRAPH_TUNE_KEYS.rowReduce);
    expect(first.subgroups).toBe(reduce !== undefined && decide(reduce.timesMs, 'thread-per-row') === 'subgroups');
    if (!gpu!.features.has('subgroups')) expect(first.subgroups).toBe(false);
    const pipelines = cache!.size;
    const second = await tuneGraphForDevice(gpu!, cache!, store);
    expect(second).toEqual({ ...first, fresh: false });
    expect(cache!.size).toBe(pipelines);
  });

  it('the training backend compiles with the stored choice and matches the CPU reference', { timeout: 120_000 }, async () => {
    const store = new MemoryTuneStore();
    const key = gpu!.adapterInfo.key;
    // the tiled form stored as this adapter's winner, as a real GPU's probe would store it
    const timesMs = { '4x4': 5, '8x8': 4, '16x8': 3, 'tiled-4x4': 2, 'tiled-8x8': 1 };
    store.set(key, GRAPH_TUNE_KEYS.matmulBlock, { choice: 'tiled-8x8', timesMs, workload: 'w', at: 'then' });
    store.set(key, GRAPH_TUNE_KEYS.rowReduce, { choice: 'thread-per-row', timesMs: { 'thread-per-row': 1, subgroups: 2 }, workload: 'w', at: 'then' });
    const graph = oddGraph();
    const backend = await createWebGpuBackend(graph, { allowSoftware: true, tune: store });
    if (!('run' in backend)) throw new Error(backend.reason);
    try {
      expect(backend.tuning).toEqual({ matmulBlock: { rows: 8, cols: 8 }, matmulTiles: true, subgroups: false, source: 'stored' });
      const want = await referenceBackend.run(graph, oddFeeds());
      const got = await backend.run(graph, oddFeeds());
      for (const out of ['y', 'dw']) expect(relErr(got.get(out)!.data, want.get(out)!.data)).toBeLessThan(1e-5);
    } finally {
      backend.dispose();
    }
  });

  it('the backend falls back to the untuned choices when asked to, or when tuning fails', { timeout: 120_000 }, async () => {
    const broken: TuneStore = {
      get: () => {
        throw new Error('store unreadable');
      },
      set: () => undefined,
    };
    for (const [tune, note] of [
      [false, undefined],
      [broken, 'tuning failed: store unreadable'],
    ] as const) {
      const backend = await createWebGpuBackend(oddGraph(), { allowSoftware: true, tune });
      if (!('run' in backend)) throw new Error(backend.reason);
      backend.dispose();
      expect(backend.tuning).toEqual({
        matmulBlock: { rows: 8, cols: 8 },
        matmulTiles: false,
        subgroups: false,
        source: 'untuned',
        ...(note === undefined ? {} : { note }),
      });
    }
  });
});
