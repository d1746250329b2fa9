// precision 'f16': weights stored as f16, arithmetic in f32. Checked three ways on a small llama
// forward (tiny-lm.scion's Llama at test sizes):
//   1. against the CPU reference fed the SAME f16-rounded weights, at the f32 tolerance of
//      specs-webgpu.test.ts (1e-4 of max |value|): only storage is narrower, every sum is f32;
//   2. against the CPU f32 reference with the original weights at 1e-2 of max |value|. Why 1e-2:
//      rounding to f16 moves each weight by at most u = 2^-11 ≈ 4.9e-4 relative; a logit passes
//      through ~2 + 5·depth weight matrices (embedding, q/k/v/o, gate/up/down, head), each adding
//      at most ~u of relative error to what it multiplies, with RMSNorm renormalizing in between,
//      so ~8u ≈ 4e-3 of the logits' scale here, and 1e-2 leaves room for cancellation;
//   3. f16 together with subgroups, the same as 1.
// The f32↔f16 conversion is checked against rounding computed independently with powers of two.

import { describe, expect, it } from 'vitest';
import { widenHalfLoads } from '../../../compiler/codegen/wgsl/f16-storage.ts';
import { halfBuffers } from '../../../compiler/kernel/plan-memory-f16.ts';
import type { Graph } from '../../../compiler/ir/graph.ts';
import { lowerModel, type LoweredModel } from '../../../compiler/lower/lower-model.ts';
import { compileGraph, TargetError } from '../../../compiler/pipeline.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { f16Bits, f16Value, fromF16, toF16 } from '../../../runtime/webgpu/f16-convert.ts';
import { runArtifact, WebGpuExecutor } from '../../../runtime/webgpu/executor.ts';
import { PipelineCache } from '../../../runtime/webgpu/pipeline-cache.ts';
import { numel, parseSpec, randoms } from '../../compiler/lower/helpers.ts';
import { gpuForTests } from './gpu-fixture.ts';

/** Nearest f16 by arithmetic: scale to the value's f16 ulp, round half to even, scale back. */
function roundF16(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  const a = Math.abs(Math.fround(v));
  const ulp = 2 ** (Math.max(Math.floor(Math.log2(a)), -14) - 10);
  const q = a / ulp;
  const fl = Math.floor(q);
  const r = q - fl > 0.5 || (q - fl === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
  const out = r * ulp;
  return Math.sign(v) * (out > 65504 ? Infinity : out);
}

describe('f32 ↔ f16 conversion (no device needed)', () => {
  const values = [
    ...[0.1, 1 / 3, 2049, 2051, 65504, 65519.9, 65520, 1e6, 6.1e-5, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 1.5 * 2 ** -24, 1e-9, 1 + 2 ** -11, 1 + 3 * 2 ** -11],
    ...Array.from(randoms(300, 7, 1), (x, i) => x * 2 ** ((i % 40) - 25)),
  ];
  it.each([1, -1])('rounds to nearest, ties to even, overflow to inf, tiny to subnormals or zero (sign %i)', (sign) => {
    for (const v of values) expect(f16Value(f16Bits(sign * v)), String(sign * v)).toBe(roundF16(sign * v));
  });
  it('keeps inf, NaN and the sign of zero; packs to an even length for 4-byte writes', () => {
    expect(f16Value(f16Bits(Infinity))).toBe(Infinity);
    expect(f16Value(f16Bits(-Infinity))).toBe(-Infinity);
    expect(Number.isNaN(f16Value(f16Bits(NaN)))).toBe(true);
    expect(Object.is(f16Value(f16Bits(-0)), -0)).toBe(true);
    const w = toF16([1, 2, 3]);
    expect(w.length).toBe(4);
    expect(Array.from(fromF16(w, 3))).toEqual([1, 2, 3]);
  });
});

describe('f16 storage in the compiler (no device needed)', () => {
  const m = lowerModel(parseSpec('tiny-lm.scion'), 'Llama', {
    dims: { batch: 2 },
    overrides: { vocab: 32, dim: 16, depth: 1, heads: 4, kv_heads: 2, ffn: 24, ctx: 8 },
  });

  it('puts every weight in one f16 arena at even offsets, says it needs shader-f16, and saves their bytes', () => {
    // f16 keeps attention unfused (pipeline.ts), so compare with the f32 plan of the same kernels
    const f32 = compileGraph(m.graph, { fuseAttention: false });
    const f16 = compileGraph(m.graph, { precision: 'f16' });
    expect(f16.graph.kernels.map((k) => k.name)).toEqual(f32.graph.kernels.map((k) => k.name));
    expect(f32.features).toBeUndefined();
    expect(f16.features).toEqual(['shader-f16']);
    const arena = f16.memory.arenas.length - 1;
    expect(f16.memory.arenaTypes).toEqual([...f16.memory.arenas.slice(0, -1).map(() => 'f32'), 'f16']);
    const params = f16.graph.params.map((p) => f16.graph.buffers[p.buffer]!);
    expect(params.length).toBe(m.params.length);
    let end = 0;
    for (const b of [...params].sort((x, y) => f16.memory.placements[x.id]!.offset - f16.memory.placements[y.id]!.offset)) {
      const p = f16.memory.placements[b.id]!;
      expect(p.arena).toBe(arena);
      expect(p.offset % 2).toBe(0);
      expect(p.offset).toBeGreaterThanOrEqual(end);
      end = p.offset + b.count;
    }
    const elems = params.reduce((s, b) => s + b.count, 0);
    expect(f16.memory.arenas[arena]).toBe(params.reduce((s, b) => s + Math.ceil(b.count / 2) * 4, 0));
    // 4 bytes per weight before, 2 after; at most a pad and an unused f32 slot per tensor
    expect(f32.memory.peakBytes - f16.memory.peakBytes).toBeGreaterThanOrEqual(2 * elems - 6 * params.length);
    // only kernels reading weights enable f16, and they read them widened to f32
    for (const p of f16.programs) {
      expect(p.code.includes('enable f16;')).toBe(p.arenas.includes(arena));
      if (p.arenas.includes(arena)) expect(p.code).toContain(`var<storage, read_write> A${arena}: array<f16>;`);
    }
  });

  it('refuses f16 for a target that lists its features without shader-f16', () => {
    expect(() => compileGraph(m.graph, { precision: 'f16', features: ['subgroups'] })).toThrow(TargetError);
    expect(() => compileGraph(m.graph, { precision: 'f16', features: ['subgroups'] })).toThrow(/shader-f16/);
  });

  it('keeps carried parameters (trained ones) in f32', () => {
    const kg = compileGraph(m.graph).graph;
    const first = kg.params[0]!;
    expect(halfBuffers({ ...kg, carry: [{ output: 'y', input: first.name }] }).has(first.buffer)).toBe(false);
    expect(halfBuffers(kg).has(first.buffer)).toBe(true);
  });

  it('widens reads of f16 arenas (nested indices too) and refuses writes', () => {
    const code = 'var<storage, read_write> A1: array<f32>;\nvar<storage, read_write> A2: array<f32>;\nlet x = A2[A1[3u] + u32(A2[4u])];\nA1[0u] = x;';
    expect(widenHalfLoads(code, new Set([2]))).toBe(
      'var<storage, read_write> A1: array<f32>;\nvar<storage, read_write> A2: array<f16>;\nlet x = f32(A2[A1[3u] + u32(f32(A2[4u]))]);\nA1[0u] = x;',
    );
    expect(() => widenHalfLoads(code, new Set([1]))).toThrow(/writes f16 arena A1/);
  });
});

const { gpu } = await gpuForTests();
const hasF16 = gpu?.features.has('shader-f16') === true;

describe.skipIf(!hasF16)('f16 weights on the device: a small llama forward', () => {
  const m: LoweredModel = lowerModel(parseSpec('tiny-lm.scion'), 'Llama', {
    dims: { batch: 2 },
    overrides: { vocab: 48, dim: 32, depth: 2, heads: 4, kv_heads: 2, ffn: 48, ctx: 8 },
  });
  const feeds = new Map<string, Tensor>();
  const rounded = new Map<string, Tensor>();
  m.params.forEach((p, k) => {
    // norm weights near 1, matrices ~0.3: both ranges f16 must hold
    const data = randoms(numel(p.shape), k + 1, p.path.includes('norm') ? 0.2 : 0.3).map((x) => (p.path.includes('norm') ? 1 + x : x));
    feeds.set(p.path, { dtype: 'f32', shape: p.shape, data });
    rounded.set(p.path, { dtype: 'f32', shape: p.shape, data: data.map(roundF16) });
  });
  for (const i of m.inputs) {
    const data = Int32Array.from({ length: numel(i.shape) }, (_v, k) => (k * 7 + 3) % 48);
    feeds.set(i.name, { dtype: 'i32', shape: i.shape, data });
    rounded.set(i.name, { dtype: 'i32', shape: i.shape, data });
  }
  const cache = gpu === null ? undefined : new PipelineCache(gpu);
  const logits = (g: Graph, f: ReadonlyMap<string, Tensor>): Float32Array => runGraph(g, f, { dtype: 'f32' }).get('logits')!.data as Float32Array;
  /** max |got − want| / max |want|. */
  const err = (got: ArrayLike<number>, want: ArrayLike<number>): number => {
    let scale = 0;
    let e = 0;
    for (let i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i] as number));
      e = Math.max(e, Math.abs((got[i] as number) - (want[i] as number)));
    }
    expect(scale).toBeGreaterThan(0.1);
    return e / scale;
  };

  it.each([
    ['f16', false],
    ['f16 + subgroups', true],
  ])(
    '%s: matches the CPU on f16-rounded weights at the f32 tolerance, and the f32 CPU at 1e-2',
    async (_name, subgroups) => {
      if (gpu === null) throw new Error('no device');
      const art = compileGraph(m.graph, { precision: 'f16', features: subgroups ? gpu.features : ['shader-f16'] });
      expect(art.features).toEqual(subgroups ? ['shader-f16', 'subgroups'] : ['shader-f16']);
      const got = (await runArtifact(gpu, art, feeds, cache)).get('logits')!.data;
      expect(err(got, logits(m.graph, rounded))).toBeLessThan(1e-4);
      const loose = err(got, logits(m.graph, feeds));
      expect(loose).toBeLessThan(1e-2);
      // and the rounding is really there: f16 storage is not secretly f32
      expect(loose).toBeGreaterThan(1e-5);
    },
    300_000,
  );

  it('reads a weight back as its f16-rounded value', async () => {
    if (gpu === null) throw new Error('no device');
    const ex = await WebGpuExecutor.create(gpu, compileGraph(m.graph, { precision: 'f16' }), cache);
    try {
      const name = m.params[1]!.path;
      ex.write(name, feeds.get(name)!);
      expect(Array.from((await ex.read(name)).data)).toEqual(Array.from(rounded.get(name)!.data));
    } finally {
      ex.destroy();
    }
  }, 300_000);
});
