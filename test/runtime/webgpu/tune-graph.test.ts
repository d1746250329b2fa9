// Per-adapter tuning of compiled graphs without a device: the `matmulBlock` compile option caps
// the register block (and changes nothing when absent), `matmulTiles` stages it through
// workgroup-memory tiles, and the tuner's flow — time once, store under the adapter (in memory
// or in the autotune file), read the store afterwards — with fake probes (timing is not what is
// checked: the fake candidates differ by 25 ms against 0, far beyond timer noise).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blockFor } from '../../../compiler/codegen/wgsl/render-matmul.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { softmax } from '../../../compiler/ir/compose.ts';
import type { Graph } from '../../../compiler/ir/graph.ts';
import { compileGraph, type CompileOptions } from '../../../compiler/pipeline.ts';
import { MemoryTuneStore } from '../../../runtime/webgpu/autotune.ts';
import { FileTuneStore } from '../../../runtime/webgpu/tune-store-file.ts';
import {
  compileOptionsFor,
  decide,
  deviceCompileOptions,
  GRAPH_TUNE_KEYS,
  MATMUL_CANDIDATES,
  tuneGraph,
  type PrepareProbe,
} from '../../../backends/webgpu/tune-graph.ts';

/** relu(x·wᵀ + bias), x [2, 37, 13], w [21, 13]: 37×21 per batch (odd in both directions). */
function linear(): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [2, 37, 13]);
  b.output('y', b.relu(b.add(b.matmul(x, b.permute(b.param('w', [21, 13]), [1, 0])), b.param('bias', [21]))));
  return b.build();
}

const blocks = (g: Graph, opts: CompileOptions = {}): string[] =>
  compileGraph(g, opts).programs.flatMap((p) =>
    [...p.code.matchAll(/(register-blocked|workgroup-tiled \d+x\d+x\d+, \d+x\d+ threads of) (\d+x\d+)/g)].map(
      (m) => `${m[1]?.startsWith('workgroup') ? 'tiled-' : ''}${m[2]}`,
    ),
  );

describe('matmulBlock compile option', () => {
  it('caps the block, halving a side (not below 4) while the matrix fits in half of it', () => {
    // default: today's rule, 8 unless a side is at most 4
    expect(blockFor(37, 21)).toEqual({ rows: 8, cols: 8 });
    expect(blockFor(3, 17)).toEqual({ rows: 4, cols: 8 });
    const cap = { rows: 16, cols: 8 };
    expect(blockFor(37, 21, cap)).toEqual({ rows: 16, cols: 8 });
    expect(blockFor(9, 21, cap)).toEqual({ rows: 16, cols: 8 }); // 9 > 16/2: one 16-row block
    expect(blockFor(8, 21, cap)).toEqual({ rows: 8, cols: 8 }); // 8 fits in 8
    expect(blockFor(3, 2, cap)).toEqual({ rows: 4, cols: 4 });
    expect(blockFor(37, 21, { rows: 4, cols: 4 })).toEqual({ rows: 4, cols: 4 });
    expect(() => blockFor(37, 21, { rows: 6, cols: 8 })).toThrow(/side 6/);
  });

  it('renders each candidate block and leaves the WGSL byte-identical when absent or 8×8', () => {
    const g = linear();
    const plain = compileGraph(g).programs.map((p) => p.code);
    expect(compileGraph(g, { matmulBlock: { rows: 8, cols: 8 } }).programs.map((p) => p.code)).toEqual(plain);
    expect(blocks(g)).toEqual(['8x8']);
    for (const [name, choice] of Object.entries(MATMUL_CANDIDATES)) expect(blocks(g, compileOptionsFor({ ...choice, subgroups: false }))).toEqual([name]);
    // 16 rows: 16 rows × 2 vec4 accumulators per thread (acc<matmul>_<row>_<vec4>), ceil(37/16)·ceil(21/8) = 9 threads per batch entry
    const code = compileGraph(g, { matmulBlock: { rows: 16, cols: 8 } }).programs.find((p) => p.code.includes('register-blocked'))!;
    expect(code.code).toContain('var acc0_15_1 = vec4f(0.0);');
    expect(code.code).not.toContain('acc0_16_');
    expect(code.threads).toBeGreaterThanOrEqual(2 * 3 * 3);
  });

  it('compileOptionsFor turns the tuning into compile options', () => {
    expect(compileOptionsFor({ matmulBlock: { rows: 4, cols: 4 }, matmulTiles: false, subgroups: false })).toEqual({ matmulBlock: { rows: 4, cols: 4 } });
    expect(compileOptionsFor({ matmulBlock: { rows: 16, cols: 8 }, matmulTiles: false, subgroups: true })).toEqual({
      matmulBlock: { rows: 16, cols: 8 },
      features: ['subgroups'],
    });
    expect(compileOptionsFor({ matmulBlock: { rows: 8, cols: 8 }, matmulTiles: true, subgroups: false })).toEqual({
      matmulBlock: { rows: 8, cols: 8 },
      matmulTiles: true,
    });
  });

  it('gives fused attention 4 query rows per thread on a software adapter and 1 on a GPU', () => {
    const adapter = (description: string) => ({ platform: 'node' as const, vendor: 'mesa', architecture: '', device: '', description, key: description });
    const lavapipe = { adapterInfo: adapter('llvmpipe (LLVM 15.0.6, 256 bits)') };
    const gpu = { adapterInfo: { ...adapter('NVIDIA H100'), vendor: 'nvidia' } };
    const t = { matmulBlock: { rows: 8, cols: 8 }, matmulTiles: false, subgroups: false };
    expect(deviceCompileOptions(lavapipe, t)).toEqual({ matmulBlock: { rows: 8, cols: 8 }, attentionRows: 4 });
    expect(deviceCompileOptions(gpu, t)).toEqual({ matmulBlock: { rows: 8, cols: 8 } });
    // and the option reaches the fused attention kernel of a compiled graph
    const b = new GraphBuilder();
    const [q, k, v] = ['q', 'k', 'v'].map((n) => b.input(n, [1, 2, 9, 8]));
    b.output('o', b.matmul(softmax(b, b.mul(b.matmul(q!, b.permute(k!, [0, 1, 3, 2])), b.scalar(0.35))), v!));
    const g = b.build();
    const header = (opts: CompileOptions): string | undefined =>
      compileGraph(g, opts)
        .programs.find((p) => p.code.includes('fused attention'))
        ?.code.split('\n')[0];
    expect(header({})).toMatch(/fused attention \[B1, H2\/2, Sq9, Sk9, D8\/8\]$/);
    expect(header(deviceCompileOptions(lavapipe, t))).toMatch(/, 4 query rows per thread$/);
  });
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Fake probes: `fastMatmul` (by default the 16×8 register block) and the subgroup reduction are
 * the fast ones. Records each prepared candidate (by the options it was compiled with), runs and
 * disposals.
 */
function fakeProbes(fastMatmul = '16x8'): { prepare: PrepareProbe; prepared: string[]; runs: () => number; live: () => number } {
  const prepared: string[] = [];
  let runs = 0;
  let live = 0;
  const prepare: PrepareProbe = async (graph, opts) => {
    const name =
      opts.matmulBlock !== undefined
        ? `${opts.matmulTiles === true ? 'tiled-' : ''}${opts.matmulBlock.rows}x${opts.matmulBlock.cols}`
        : [...(opts.features ?? ['plain'])].join();
    // the probes are real graphs: a matmul one for blocks, a reduction one for subgroups
    expect(graph.nodes.some((n) => n.op === (opts.matmulBlock !== undefined ? 'matmul' : 'reduce_max'))).toBe(true);
    prepared.push(name);
    live++;
    const fast = name === fastMatmul || name === 'subgroups';
    return {
      run: async () => {
        runs++;
        await sleep(fast ? 0 : 25);
      },
      dispose: () => void live--,
    };
  };
  return { prepare, prepared, runs: () => runs, live: () => live };
}

describe('tuneGraph (fake probes)', () => {
  it('switches from the default only for a clear win (SWITCH_MARGIN = 0.85)', () => {
    expect(decide({ '4x4': 6, '8x8': 5, '16x8': 4.9 }, '8x8')).toBe('8x8'); // 2% faster: noise
    expect(decide({ '4x4': 6, '8x8': 5, '16x8': 4.2 }, '8x8')).toBe('16x8'); // 16% faster
    expect(decide({ '4x4': 6, '8x8': 5, '16x8': 4.25 }, '8x8')).toBe('8x8'); // exactly 15%: not below the margin
    expect(decide({ '4x4': 5, '8x8': 7 }, '8x8')).toBe('4x4'); // the default clearly slower
    expect(decide({ '4x4': 6, '8x8': 7 }, '8x8')).toBe('8x8'); // 14% is within the margin
    expect(decide({ a: 2, b: 1 }, 'absent')).toBe('b');
  });

  it('times every candidate once per adapter, stores the choices, and then reads the store', async () => {
    const store = new MemoryTuneStore();
    const probes = fakeProbes();
    const first = await tuneGraph({ store, adapterKey: 'node:fake', subgroups: true, prepare: probes.prepare, reps: 1 });
    expect(first).toEqual({ matmulBlock: { rows: 16, cols: 8 }, matmulTiles: false, subgroups: true, fresh: true });
    expect(probes.prepared).toEqual(['4x4', '8x8', '16x8', 'tiled-4x4', 'tiled-8x8', 'plain', 'subgroups']);
    expect(probes.runs()).toBe(7 * 2); // a warm-up and one timed run each
    expect(probes.live()).toBe(0); // every probe released
    expect(store.get('node:fake', GRAPH_TUNE_KEYS.matmulBlock)?.choice).toBe('16x8');
    expect(Object.keys(store.get('node:fake', GRAPH_TUNE_KEYS.matmulBlock)?.timesMs ?? {}).sort()).toEqual(['16x8', '4x4', '8x8', 'tiled-4x4', 'tiled-8x8']);
    expect(store.get('node:fake', GRAPH_TUNE_KEYS.rowReduce)?.choice).toBe('subgroups');

    const second = await tuneGraph({ store, adapterKey: 'node:fake', subgroups: true, prepare: probes.prepare, reps: 1 });
    expect(second).toEqual({ ...first, fresh: false });
    expect(probes.prepared.length).toBe(7); // nothing compiled or timed again
    expect(probes.runs()).toBe(14);

    // another adapter is tuned on its own
    expect((await tuneGraph({ store, adapterKey: 'node:other', subgroups: true, prepare: probes.prepare, reps: 1 })).fresh).toBe(true);
  });

  it('uses a stored choice as is, and never times subgroups on a device without them', async () => {
    const store = new MemoryTuneStore();
    const timesMs = { '4x4': 1, '8x8': 2, '16x8': 3, 'tiled-4x4': 4, 'tiled-8x8': 5 };
    store.set('a', GRAPH_TUNE_KEYS.matmulBlock, { choice: '4x4', timesMs, workload: 'w', at: 'then' });
    const probes = fakeProbes();
    const r = await tuneGraph({ store, adapterKey: 'a', subgroups: false, prepare: probes.prepare, reps: 1 });
    expect(r).toEqual({ matmulBlock: { rows: 4, cols: 4 }, matmulTiles: false, subgroups: false, fresh: false });
    expect(probes.prepared).toEqual([]);
    expect(store.get('a', GRAPH_TUNE_KEYS.rowReduce)).toBeUndefined();
  });

  it('re-times when the stored choice was made among other candidates (before the tiled ones existed)', async () => {
    const store = new MemoryTuneStore();
    store.set('a', GRAPH_TUNE_KEYS.matmulBlock, { choice: '8x8', timesMs: { '4x4': 3, '8x8': 1, '16x8': 2 }, workload: 'w', at: 'then' });
    const probes = fakeProbes('tiled-8x8');
    const r = await tuneGraph({ store, adapterKey: 'a', subgroups: false, prepare: probes.prepare, reps: 1 });
    expect(r).toEqual({ matmulBlock: { rows: 8, cols: 8 }, matmulTiles: true, subgroups: false, fresh: true });
    expect(probes.prepared).toEqual(['4x4', '8x8', '16x8', 'tiled-4x4', 'tiled-8x8']);
  });

  it('keeps a tiled choice in the autotune file and reuses it from a fresh store on the same file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scion-tune-'));
    try {
      const probes = fakeProbes('tiled-4x4');
      const first = await tuneGraph({ store: new FileTuneStore(dir), adapterKey: 'gpu:fake', subgroups: false, prepare: probes.prepare, reps: 1 });
      expect(first).toEqual({ matmulBlock: { rows: 4, cols: 4 }, matmulTiles: true, subgroups: false, fresh: true });
      const again = await tuneGraph({ store: new FileTuneStore(dir), adapterKey: 'gpu:fake', subgroups: false, prepare: probes.prepare, reps: 1 });
      expect(again).toEqual({ ...first, fresh: false });
      expect(probes.prepared).toHaveLength(5); // timed once, by the first store
      expect(compileOptionsFor(again)).toEqual({ matmulBlock: { rows: 4, cols: 4 }, matmulTiles: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('releases the probes already prepared when one fails to compile', async () => {
    const probes = fakeProbes();
    const failing: PrepareProbe = (g, opts) => (opts.matmulBlock?.rows === 16 ? Promise.reject(new Error('pipeline failed')) : probes.prepare(g, opts));
    await expect(tuneGraph({ store: new MemoryTuneStore(), adapterKey: 'a', subgroups: false, prepare: failing })).rejects.toThrow('pipeline failed');
    expect(probes.prepared).toEqual(['4x4', '8x8']);
    expect(probes.live()).toBe(0);
  });
});
