// Workgroup-tiled matmuls in compiled graphs (render-matmul-tiled.ts, CompileOptions
// `matmulTiles`): every register-blocked case (matmul-cases.ts) rendered tiled at two block caps,
// plus shapes spanning several tiles with K not a multiple of the K tile, K a whole number of
// tiles, a transposed operand summed over a batch, SwiGLU at the 16×8 cap (the shallower K tile),
// attention heads' batched QKᵀ and P·V, and a tiled segment sharing a kernel with a subgroup row
// reduction — each against the CPU reference interpreter; a tiny llama's training step compiles
// tiled to the same dispatches (AdamW of every parameter still one). Without the option the WGSL is the
// register form's, byte for byte; the cost report counts a tiled thread's loop by hand.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { softmax } from '../../../compiler/ir/compose.ts';
import type { Graph } from '../../../compiler/ir/graph.ts';
import { costReport } from '../../../compiler/kernel/cost.ts';
import { buildTrainStep } from '../../../compiler/autodiff/train-step.ts';
import { compileGraph, type CompileOptions } from '../../../compiler/pipeline.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { PipelineCache } from '../../../runtime/webgpu/pipeline-cache.ts';
import { tinyLlama } from '../../compiler/ir/tiny-llama.ts';
import { gpuForTests } from './gpu-fixture.ts';
import { MATMUL_CASES } from './matmul-cases.ts';
import { compareWithCpu, randomTensor, relErr } from './ops/helpers.ts';

const { gpu } = await gpuForTests();

const feed = randomTensor;
const TILED: CompileOptions = { matmulTiles: true };

/** The tiled segments' comments, e.g. ['64x64x16']. */
const tiles = (g: Graph, opts: CompileOptions = TILED): string[] =>
  compileGraph(g, opts).programs.flatMap((p) => [...p.code.matchAll(/workgroup-tiled (\d+x\d+x\d+)/g)].map((m) => m[1] as string));

interface Case {
  name: string;
  graph: () => Graph;
  feeds: () => Map<string, Tensor>;
  output: string;
  opts: CompileOptions;
  /** The tile of C per workgroup and its K depth. */
  tile: string;
}

/** relu(x·wᵀ + bias), x [batch, m, k], w [n, k]: B a transposed view (unit stride along K). */
function linear(batch: number, m: number, n: number, k: number, seed: number): Pick<Case, 'graph' | 'feeds'> {
  return {
    graph: () => {
      const b = new GraphBuilder();
      const x = b.input('x', [batch, m, k]);
      b.output('y', b.relu(b.add(b.matmul(x, b.permute(b.param('w', [n, k]), [1, 0])), b.param('bias', [n]))));
      return b.build();
    },
    feeds: () =>
      new Map([
        ['x', feed([batch, m, k], seed)],
        ['w', feed([n, k], seed + 1)],
        ['bias', feed([n], seed + 2)],
      ]),
  };
}

/**
 * softmax(q·kᵀ / √d)·v over [B, H, S, D] as batched matmuls (no fused attention), the way a
 * training graph keeps it for the backward pass: every head in the same dispatch.
 */
function heads(s: { batch: number; heads: number; seq: number; dim: number }, seed: number): Pick<Case, 'graph' | 'feeds'> {
  const shape = [s.batch, s.heads, s.seq, s.dim];
  return {
    graph: () => {
      const b = new GraphBuilder();
      const q = b.input('q', shape);
      const scores = b.mul(b.matmul(q, b.permute(b.input('k', shape), [0, 1, 3, 2])), 1 / Math.sqrt(s.dim));
      const p = softmax(b, scores);
      // kept, as a training graph keeps them for the backward pass (else QKᵀ fuses into the softmax)
      b.output('scores', scores);
      b.output('p', p);
      b.output('y', b.matmul(p, b.input('v', shape)));
      return b.build();
    },
    feeds: () =>
      new Map([
        ['q', feed(shape, seed)],
        ['k', feed(shape, seed + 1)],
        ['v', feed(shape, seed + 2)],
      ]),
  };
}

const CASES: Case[] = [
  // every case at the 8×8 cap; three at 4×4 too (32×32 tiles): lavapipe compiles a tiled kernel
  // for seconds (its barriers), so the suite stays short
  // (a 2×64 lookup block's tiles fit TILE_BYTES at no depth: it stays register-blocked,
  // matmul-blocked.test.ts; a 24-wide one's tile shape is tileColumns' choice, not 8 × its block)
  ...MATMUL_CASES.filter((c) => !/heads of (64|24)/.test(c.name)).flatMap((c) =>
    [...(/^(linear|weight gradient|SwiGLU)/.test(c.name) ? [{ cap: { rows: 4, cols: 4 }, side: 4 }] : []), { cap: { rows: 8, cols: 8 }, side: 8 }].map(
      ({ cap, side }) => {
        // the register case's block (shrunk for small sides; a RoPE lookup's block whatever the cap) under this cap
        const [r, col] = c.block.split('x').map(Number) as [number, number];
        const block = c.name.startsWith('RoPE') ? [r, col] : [Math.min(r, side), Math.min(col, side)];
        const [tm, tn] = [8 * (block[0] as number), 8 * (block[1] as number)];
        // a tile 256 or more wide (a wide head's lookup block) stages 8 K steps at a time, to fit TILE_BYTES
        const depth = tn >= 256 ? 8 : 16;
        return { ...c, name: `${c.name}, cap ${side}×${side}`, opts: { ...TILED, matmulBlock: cap }, tile: `${tm}x${tn}x${depth}` };
      },
    ),
  ),
  {
    // 128×32 tiles pad 70×67 to 128×96, 64×64 ones to 128×128
    name: 'linear 70×67 per batch of 2 from K = 37: 1×3 tiles of 128×32, three K tiles, the last ragged',
    ...linear(2, 70, 67, 37, 101),
    output: 'y',
    opts: TILED,
    tile: '128x32x16',
  },
  {
    // a narrow C: one 256×16 tile (32 × 2 threads), whose A tile fits only 8 deep
    name: 'linear 129×9 from K = 32: a 256×16 tile, K a whole number of K tiles (no masking)',
    ...linear(1, 129, 9, 32, 111),
    output: 'y',
    opts: TILED,
    tile: '256x16x8',
  },
  {
    // (Σ_b x_bᵀ · g_b)ᵀ, x [3, 33, 70], g [3, 33, 40]: A = xᵀ a column-major view, K = 33 per entry
    name: 'weight gradient 70×40 summed over a batch of 3 (transposed A), K = 33, transposed on store',
    graph: () => {
      const b = new GraphBuilder();
      const x = b.input('x', [3, 33, 70]);
      const g = b.input('g', [3, 33, 40]);
      b.output('dw', b.permute(b.sum(b.matmul(b.permute(x, [0, 2, 1]), g), [0]), [1, 0]));
      return b.build();
    },
    feeds: () =>
      new Map([
        ['x', feed([3, 33, 70], 121)],
        ['g', feed([3, 33, 40], 122)],
      ]),
    output: 'dw',
    opts: TILED,
    tile: '64x64x16',
  },
  {
    // 256×32 tiles (16 × 4 threads of 16×8) with two B tiles fit 15 KiB only 8 deep
    name: 'SwiGLU at the 16×8 cap, 130×70 from K = 21: two B tiles, K tile 8',
    graph: () => {
      const b = new GraphBuilder();
      const x = b.input('x', [130, 21]);
      b.output('y', b.mul(b.silu(b.matmul(x, b.param('w1', [21, 70]))), b.matmul(x, b.param('w3', [21, 70]))));
      return b.build();
    },
    feeds: () =>
      new Map([
        ['x', feed([130, 21], 131)],
        ['w1', feed([21, 70], 132)],
        ['w3', feed([21, 70], 133)],
      ]),
    output: 'y',
    opts: { ...TILED, matmulBlock: { rows: 16, cols: 8 } },
    tile: '256x32x8',
  },
];

describe('workgroup-tiled matmul segments (no device needed)', () => {
  it('leaves the WGSL byte-identical without the option', () => {
    for (const c of MATMUL_CASES) {
      const plain = compileGraph(c.graph()).programs.map((p) => p.code);
      expect(compileGraph(c.graph(), { matmulTiles: false }).programs.map((p) => p.code)).toEqual(plain);
      expect(plain.join('\n')).not.toContain('var<workgroup>');
    }
  });

  for (const c of CASES) {
    it(`renders ${c.name} as one ${c.tile} tile`, () => {
      expect(tiles(c.graph(), c.opts)).toEqual([c.tile]);
    });
  }

  it('keeps the register form where the tiles do not fit in workgroup memory at any depth', () => {
    // x·W1 + x·W2 + x·W3 share x: 128×128 tiles at the 16×16 cap, an A tile and three B tiles
    // of 128 × 8 f32 each take over 15 KiB even 8 deep
    const b = new GraphBuilder();
    const x = b.input('x', [120, 9]);
    const mm = (w: string) => b.matmul(x, b.param(w, [9, 250]));
    b.output('y', b.add(b.add(mm('w1'), mm('w2')), mm('w3')));
    const code = compileGraph(b.build(), { ...TILED, matmulBlock: { rows: 16, cols: 16 } })
      .programs.map((p) => p.code)
      .join('\n');
    expect(code).toMatch(/register-blocked 16x16/);
    expect(code).not.toContain('workgroup-tiled');
  });

  it('runs every head of a batched QKᵀ and P·V in one dispatch each', () => {
    const art = compileGraph(heads({ batch: 2, heads: 3, seq: 70, dim: 16 }, 1).graph(), { ...TILED, fuseAttention: false });
    const matmuls = art.programs.filter((p) => p.code.includes('workgroup-tiled'));
    // QKᵀ 70×70 from K = 16 and P·V 70×16 from K = 70, per head: 128×32 tiles pad them least
    // (1×3 and 1×1 tiles); all 2·3 heads of each in one segment of one dispatch
    expect(matmuls.map((p) => p.code.match(/workgroup-tiled (\d+x\d+x\d+)/)?.[1])).toEqual(['128x32x16', '128x32x16']);
    expect(matmuls.map((p) => p.threads)).toEqual([2 * 3 * 3 * 64, 2 * 3 * 1 * 64]);
    expect(matmuls.map((p) => p.forms?.length)).toEqual([1, 1]);
  });

  it('counts a tiled thread in the cost report: staging, K depth per K tile, then its block', () => {
    const g = linear(2, 70, 67, 37, 1).graph();
    const art = compileGraph(g, TILED);
    const cost = costReport(art.optimized, art);
    const k = cost.kernels.find((x) => x.name.includes('matmul'))!;
    // 128×32×16 tiles: per K tile 128·16/64 = 32 loads of A, 16·8 vec4 / 64 = 2 of B, 16 FMA
    // steps; ceil(37/16) = 3 K tiles; then the 8×8 block stored
    expect(k.loop).toBe(3 * (32 + 2 + 16) + 64);
    // 2 batch entries × 1 × 3 tiles, 64 threads each
    expect(k.threads).toBe(2 * 3 * 64);
    expect(art.programs[0]!.forms).toEqual([{ kind: 'tiled', threads: 384, steps: 150, block: 64, tile: { rows: 128, cols: 32, depth: 16 } }]);
  });
  it('compiles a tiny llama training step with tiles: the same dispatches, AdamW of every parameter still one', () => {
    // (run once on lavapipe it matched the CPU reference — loss within 1e-6, carried state within
    // relative 1e-6 — but lavapipe compiles its 22 tiled kernels for minutes from a cold cache)
    const step = buildTrainStep(tinyLlama(), 'loss', { betas: [0.9, 0.95], weightDecay: 0.1 });
    const plain = compileGraph(step.graph, { carry: step.carry });
    const art = compileGraph(step.graph, { carry: step.carry, ...TILED });
    // tiles change how segments run, not the kernel graph
    expect(art.graph.kernels.length).toBe(plain.graph.kernels.length);
    const carried = new Set(step.carry.map((c) => art.graph.outputs.find((o) => o.name === c.output)!.buffer));
    expect(art.graph.kernels.filter((k) => k.outputs.some((b) => carried.has(b))).map((k) => k.id)).toEqual([art.graph.kernels.length - 1]);
    expect(art.programs.filter((p) => p.code.includes('workgroup-tiled')).length).toBeGreaterThan(10);
  });
});

describe.skipIf(gpu === null)('workgroup-tiled matmuls on WebGPU match the CPU reference (f32)', () => {
  const cache = gpu === null ? null : new PipelineCache(gpu);
  for (const c of CASES) {
    it(c.name, { timeout: 300_000 }, async () => {
      const r = await compareWithCpu(gpu!, c.graph(), c.feeds(), cache!, c.opts);
      const got = r.gpu.get(c.output)!.data;
      const want = r.cpu.get(c.output)!.data;
      expect(got.length).toBe(want.length);
      expect(relErr(got, want)).toBeLessThan(1e-5);
    });
  }

  it('attention heads as batched QKᵀ and P·V, B 2 × H 3, S 70, D 16', { timeout: 300_000 }, async () => {
    const c = heads({ batch: 2, heads: 3, seq: 70, dim: 16 }, 141);
    const r = await compareWithCpu(gpu!, c.graph(), c.feeds(), cache!, { ...TILED, fuseAttention: false });
    for (const out of ['scores', 'y']) expect(relErr(r.gpu.get(out)!.data, r.cpu.get(out)!.data)).toBeLessThan(1e-5);
  });

  it.skipIf(gpu?.features.has('subgroups') !== true)('shares a kernel with a subgroup row reduction', { timeout: 300_000 }, async () => {
    // two independent outputs: merged into one dispatch, one workgroup per softmax row and per tile
    const b = new GraphBuilder();
    b.output('p', softmax(b, b.input('s', [5, 80])));
    b.output('y', b.matmul(b.input('a', [40, 19]), b.input('w', [19, 36])));
    const g = b.build();
    const opts: CompileOptions = { ...TILED, features: ['subgroups'] };
    const code = compileGraph(g, opts).programs.map((p) => p.code);
    expect(code.some((x) => x.includes('workgroup-tiled') && x.includes('enable subgroups;'))).toBe(true);
    const feeds = new Map([
      ['s', feed([5, 80], 151)],
      ['a', feed([40, 19], 152)],
      ['w', feed([19, 36], 153)],
    ]);
    const r = await compareWithCpu(gpu!, g, feeds, cache!, opts);
    for (const out of ['p', 'y']) expect(relErr(r.gpu.get(out)!.data, r.cpu.get(out)!.data)).toBeLessThan(1e-5);
  });
});
