// Every matmul variant against the float64 JS reference on awkward shapes (non-multiples of 4
// and of the 64-wide tiles, 1×N, N×1, batches, a broadcast B) and with the epilogues.

import { describe, expect, it } from 'vitest';
import { fitsVec4, type Activation, type MatmulDims, type MatmulSpec } from '../../../compiler/codegen/wgsl/matmul.ts';
import { PipelineCache } from '../../../runtime/webgpu/pipeline-cache.ts';
import { matmulOnGpu } from '../../../bench/scion-matmul.ts';
import { gpuForTests, randomF32 } from './gpu-fixture.ts';
import { referenceMatmul, tolerance } from './reference.ts';

const { gpu } = await gpuForTests();

interface Case {
  name: string;
  dims: MatmulDims;
}

const SHAPES: Case[] = [
  { name: 'odd 37×45×29', dims: { batch: 1, m: 37, n: 45, k: 29 } },
  { name: 'vec4 edges 70×68×100 (not multiples of 64 or of the 4-row block)', dims: { batch: 1, m: 70, n: 68, k: 100 } },
  { name: '1×N row 1×130×33', dims: { batch: 1, m: 1, n: 130, k: 33 } },
  { name: '1×N row, vec4 1×132×36', dims: { batch: 1, m: 1, n: 132, k: 36 } },
  { name: 'N×1 column 50×1×7', dims: { batch: 1, m: 50, n: 1, k: 7 } },
  { name: 'batch 3×20×12×16 (vec4)', dims: { batch: 3, m: 20, n: 12, k: 16 } },
  { name: 'batch 2×9×7×5', dims: { batch: 2, m: 9, n: 7, k: 5 } },
  { name: 'batch 3 with broadcast B 10×8×12', dims: { batch: 3, m: 10, n: 8, k: 12, broadcastB: true } },
  { name: 'wider than one tile 130×129×65', dims: { batch: 1, m: 130, n: 129, k: 65 } },
  { name: 'vec4, rows past a 16-row block and columns past an 8-wide one: 2×37×44×12', dims: { batch: 2, m: 37, n: 44, k: 12 } },
];

/** Variants as functions of the shape: the vec4 forms only where they apply. */
const VARIANTS: Record<string, (dims: MatmulDims) => MatmulSpec | null> = {
  'register 4×4 (vec4 where it fits)': (d) => ({ variant: 'register', vec4: fitsVec4(d), bias: false, activation: 'none' }),
  'register 4×4 scalar loads': () => ({ variant: 'register', vec4: false, bias: false, activation: 'none' }),
  'register 4×8 vec4, 16×4 workgroup': (d) =>
    fitsVec4(d) ? { variant: 'register', vec4: true, bias: false, activation: 'none', block: [4, 2], workgroup: [16, 4] } : null,
  'register 8×8 vec4': (d) => (fitsVec4(d) ? { variant: 'register', vec4: true, bias: false, activation: 'none', block: [8, 2], workgroup: [8, 8] } : null),
  'register 16×8 vec4': (d) => (fitsVec4(d) ? { variant: 'register', vec4: true, bias: false, activation: 'none', block: [16, 2], workgroup: [8, 8] } : null),
  tiled: () => ({ variant: 'tiled', vec4: false, bias: false, activation: 'none' }),
  naive: () => ({ variant: 'naive', vec4: false, bias: false, activation: 'none' }),
};

const EPILOGUES: { bias: boolean; activation: Activation }[] = [
  { bias: true, activation: 'relu' },
  { bias: true, activation: 'gelu' },
  { bias: false, activation: 'silu' },
];

describe.skipIf(gpu === null)('matmul kernels on WebGPU vs the JS reference', () => {
  const cache = gpu === null ? null : new PipelineCache(gpu);

  async function check(spec: MatmulSpec, dims: MatmulDims, seed: number): Promise<void> {
    const a = randomF32(dims.batch * dims.m * dims.k, seed);
    const b = randomF32((dims.broadcastB === true ? 1 : dims.batch) * dims.k * dims.n, seed + 1);
    const bias = spec.bias ? randomF32(dims.n, seed + 2) : undefined;
    const got = await matmulOnGpu(gpu!, cache!, spec, dims, a, b, bias);
    const ref = referenceMatmul(dims, a, b, bias, spec.activation);
    expect(got.length).toBe(ref.values.length);
    let worst = { index: -1, excess: 0 };
    for (let i = 0; i < got.length; i++) {
      const excess = Math.abs(got[i]! - ref.values[i]!) - tolerance(dims.k, ref.magnitude[i]!, ref.values[i]!);
      if (!(excess <= 0) && (worst.index < 0 || !(excess <= worst.excess))) worst = { index: i, excess };
    }
    if (worst.index >= 0) {
      const i = worst.index;
      throw new Error(`element ${i}: got ${got[i]}, expected ${ref.values[i]} (tolerance ${tolerance(dims.k, ref.magnitude[i]!, ref.values[i]!)})`);
    }
  }

  for (const [variant, make] of Object.entries(VARIANTS)) {
    for (const [index, { name, dims }] of SHAPES.entries()) {
      const spec = make(dims);
      if (spec === null) continue; // the variant does not exist for this shape (not a skip: nothing to test)
      it(`${variant}: ${name}`, () => check(spec, dims, 100 + index));
    }
  }

  // The epilogue is shared WGSL (epilogue / epilogue4), so each one is checked on a vec4 and a
  // scalar-load shape of the register variant, and bias + relu also through the tiled variant.
  for (const epilogue of EPILOGUES) {
    const variants =
      epilogue.activation === 'relu'
        ? (['register 4×4 (vec4 where it fits)', 'register 16×8 vec4', 'tiled'] as const)
        : (['register 4×4 (vec4 where it fits)'] as const);
    for (const variant of variants) {
      for (const dims of [
        { batch: 2, m: 33, n: 20, k: 24 },
        { batch: 1, m: 17, n: 19, k: 23 },
      ]) {
        const make = VARIANTS[variant]!(dims);
        if (make === null) continue; // a vec4-only block on a shape that does not fit vec4
        const spec = { ...make, ...epilogue };
        it(`${variant} + bias ${epilogue.bias} + ${epilogue.activation}: ${dims.batch}×${dims.m}×${dims.n}×${dims.k}`, () => check(spec, dims, 7));
      }
    }
  }

  it('compiles each shader key once', async () => {
    const local = new PipelineCache(gpu!);
    const spec: MatmulSpec = { variant: 'naive', vec4: false, bias: false, activation: 'none' };
    const dims = { batch: 1, m: 3, n: 2, k: 4 };
    const a = randomF32(12, 1);
    const b = randomF32(8, 2);
    const first = await matmulOnGpu(gpu!, local, spec, dims, a, b);
    const second = await matmulOnGpu(gpu!, local, spec, { batch: 1, m: 2, n: 3, k: 4 }, a, randomF32(12, 3));
    expect(local.size).toBe(1);
    // sizes are uniforms: the same pipeline served both shapes correctly
    expect(first.length).toBe(6);
    expect(second.length).toBe(6);
    const ref = referenceMatmul({ batch: 1, m: 2, n: 3, k: 4 }, a, randomF32(12, 3), undefined, 'none');
    second.forEach((v, i) => expect(Math.abs(v - ref.values[i]!)).toBeLessThanOrEqual(tolerance(4, ref.magnitude[i]!, ref.values[i]!)));
  });
});
