// Kernel generation without a device: shader keys identify the source, bad specs throw, the
// dispatch rule covers the output, and uniforms pack in declaration order.

import { describe, expect, it } from 'vitest';
import { fitsVec4, matmulCandidates, matmulProgram, matmulUniforms, type MatmulSpec } from '../../../compiler/codegen/wgsl/matmul.ts';
import { groupsFor, packUniforms } from '../../../runtime/webgpu/dispatch.ts';

const base: MatmulSpec = { variant: 'register', vec4: true, bias: false, activation: 'none' };

describe('matmulProgram', () => {
  it('gives equal keys to equal specs and different keys to different source', () => {
    const specs: MatmulSpec[] = [
      base,
      { ...base, vec4: false },
      { ...base, bias: true },
      { ...base, activation: 'gelu' },
      { ...base, workgroup: [16, 4] },
      { ...base, block: [4, 2] },
      { variant: 'tiled', vec4: false, bias: false, activation: 'none' },
      { variant: 'naive', vec4: false, bias: false, activation: 'none' },
    ];
    const programs = specs.map(matmulProgram);
    expect(new Set(programs.map((p) => p.key)).size).toBe(specs.length);
    expect(new Set(programs.map((p) => p.code)).size).toBe(specs.length);
    expect(matmulProgram({ ...base }).code).toBe(programs[0]!.code);
  });

  it('declares the bias binding only when asked', () => {
    expect(matmulProgram(base).bindings.map((b) => b.name)).toEqual(['a', 'b', 'c']);
    const withBias = matmulProgram({ ...base, bias: true });
    expect(withBias.bindings.map((b) => b.name)).toEqual(['a', 'b', 'c', 'bias']);
    expect(withBias.code).toContain('@binding(4) var<storage, read> bias');
  });

  it('throws on combinations that do not exist', () => {
    expect(() => matmulProgram({ variant: 'tiled', vec4: true, bias: false, activation: 'none' })).toThrow(/only the register variant has a vec4 form/);
    expect(() => matmulProgram({ variant: 'naive', vec4: false, bias: false, activation: 'none', workgroup: [8, 8] })).toThrow(/workgroup size/);
    expect(() => matmulProgram({ ...base, vec4: false, block: [4, 2] })).toThrow(/block shape/);
  });

  it('tiles cover the output: workgroups × tile ≥ shape for each variant', () => {
    const dims = { batch: 2, m: 130, n: 68, k: 36 };
    for (const spec of Object.values(matmulCandidates(dims, { bias: false, activation: 'none' }))) {
      const p = matmulProgram(spec);
      const [wx, wy] = p.workgroupSize;
      const perThread = spec.variant === 'naive' ? [1, 1] : spec.vec4 ? [4 * (spec.block?.[1] ?? 1), spec.block?.[0] ?? 4] : [4, 4];
      expect(p.tile).toEqual({ cols: wx * perThread[0]!, rows: wy * perThread[1]! });
      expect(groupsFor(dims.n, p.tile.cols) * p.tile.cols).toBeGreaterThanOrEqual(dims.n);
      expect(groupsFor(dims.m, p.tile.rows) * p.tile.rows).toBeGreaterThanOrEqual(dims.m);
    }
  });
});

describe('matmul uniforms', () => {
  it('packs M, N, K, batch and per-batch strides in declaration order, padded to 16 bytes', () => {
    const program = matmulProgram(base);
    expect(Array.from(packUniforms(program, matmulUniforms({ batch: 3, m: 5, n: 8, k: 4 })))).toEqual([5, 8, 4, 3, 20, 32, 40, 0]);
    // a broadcast B has stride 0
    expect(matmulUniforms({ batch: 3, m: 5, n: 8, k: 4, broadcastB: true }).strideB).toBe(0);
  });

  it('refuses a missing or non-u32 value', () => {
    const program = matmulProgram(base);
    expect(() => packUniforms(program, { M: 1, N: 1 })).toThrow(/uniform 'K' must be a u32, got undefined/);
    expect(() => packUniforms(program, { ...matmulUniforms({ batch: 1, m: 1, n: 1, k: 1 }), M: -1 })).toThrow(/'M'/);
  });

  it('uses vec4 only when K and N split into whole vec4s', () => {
    expect(fitsVec4({ batch: 1, m: 3, n: 8, k: 4 })).toBe(true);
    expect(fitsVec4({ batch: 1, m: 4, n: 6, k: 4 })).toBe(false);
    expect(fitsVec4({ batch: 1, m: 4, n: 8, k: 5 })).toBe(false);
    expect('register-4x8' in matmulCandidates({ batch: 1, m: 4, n: 6, k: 4 }, { bias: false, activation: 'none' })).toBe(false);
  });
});
