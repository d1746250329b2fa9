// The WebAssembly SIMD inner loop of the CPU gemm against the scalar JavaScript loop (the same
// bits, by construction: f64x2 multiply and add round like the scalar ones, and each sum adds its
// terms in the same order) and against a naive f64 triple loop, on shapes that are not multiples
// of the 4×4 tile, strided (transposed) operands, accumulation, f32 and f64 outputs.

import { afterEach, describe, expect, it } from 'vitest';
import { gemm, gemmKernel, gemmPacked, packB } from '../../../runtime/cpu/gemm.ts';
import { wasmPanel } from '../../../runtime/cpu/gemm-wasm.ts';

function rand(n: number, seed: number): Float64Array {
  let a = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 32 - 0.5;
  });
}

type Case = { m: number; n: number; k: number; transA: boolean; transB: boolean; accumulate: boolean };

const cases: Case[] = [
  { m: 1, n: 1, k: 1, transA: false, transB: false, accumulate: false },
  { m: 5, n: 3, k: 1, transA: false, transB: false, accumulate: false },
  { m: 37, n: 13, k: 7, transA: false, transB: true, accumulate: false },
  { m: 64, n: 48, k: 96, transA: true, transB: false, accumulate: false },
  { m: 9, n: 17, k: 33, transA: true, transB: true, accumulate: true },
  { m: 130, n: 6, k: 257, transA: false, transB: false, accumulate: true },
];

/** out = A·B (+ out) with A [m, k], B [k, n] stored transposed where asked. */
function run(c: Case, kind: 'wasm' | 'scalar', a: Float64Array, b: Float64Array, out: Float32Array | Float64Array): void {
  gemmKernel(kind);
  const [aRs, aCs] = c.transA ? [1, c.m] : [c.k, 1];
  const [bRs, bCs] = c.transB ? [1, c.k] : [c.n, 1];
  gemm(c.m, c.n, c.k, a, 0, aRs, aCs, b, 0, bRs, bCs, out, 0, c.accumulate);
}

function naive(c: Case, a: Float64Array, b: Float64Array, init: Float64Array): Float64Array {
  const out = Float64Array.from(init);
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < c.n; j++) {
      let s = 0;
      for (let p = 0; p < c.k; p++) {
        const av = a[c.transA ? p * c.m + i : i * c.k + p] as number;
        const bv = b[c.transB ? j * c.k + p : p * c.n + j] as number;
        s += av * bv;
      }
      out[i * c.n + j] = c.accumulate ? (out[i * c.n + j] as number) + s : s;
    }
  }
  return out;
}

describe('gemm: WebAssembly SIMD kernel', () => {
  afterEach(() => {
    gemmKernel('wasm');
  });

  it('is available in this runtime (Node has WebAssembly SIMD) and is the default', () => {
    expect(wasmPanel()).not.toBeNull();
    expect(gemmKernel()).toBe('wasm');
  });

  it.each(cases)('gives the scalar loop’s bits and the naive sums (%j)', (c) => {
    const a = rand(c.m * c.k, 1 + c.m);
    const b = rand(c.k * c.n, 2 + c.n);
    const init = rand(c.m * c.n, 3);
    for (const Out of [Float32Array, Float64Array]) {
      const viaWasm = Out.from(init);
      const viaScalar = Out.from(init);
      run(c, 'wasm', a, b, viaWasm);
      run(c, 'scalar', a, b, viaScalar);
      expect(Array.from(viaWasm)).toEqual(Array.from(viaScalar));
      const want = naive(c, a, b, Float64Array.from(Out.from(init)));
      const tol = Out === Float64Array ? 1e-13 : 1e-6;
      for (let i = 0; i < want.length; i++) expect(Math.abs((viaWasm[i] as number) - (want[i] as number))).toBeLessThan(tol);
    }
  });

  it('keeps a packed B across several products (one weight for a batch) and across memory growth', () => {
    const k = 40;
    const n = 10;
    const b = rand(k * n, 5);
    packB(b, 0, n, 1, k, n);
    const small = rand(3 * k, 6);
    const outSmall = new Float64Array(3 * n);
    gemmPacked(3, n, k, small, 0, k, 1, outSmall, 0, false);
    // A product large enough to grow the kernel's memory; B's panels must survive it.
    const bigM = 20_000;
    const big = rand(bigM * k, 7);
    const outBig = new Float64Array(bigM * n);
    gemmPacked(bigM, n, k, big, 0, k, 1, outBig, 0, false);
    const again = new Float64Array(3 * n);
    gemmPacked(3, n, k, small, 0, k, 1, again, 0, false);
    expect(Array.from(again)).toEqual(Array.from(outSmall));
    const c: Case = { m: bigM, n, k, transA: false, transB: false, accumulate: false };
    const want = naive(c, big, b, new Float64Array(bigM * n));
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((outBig[i] as number) - (want[i] as number)));
    expect(worst).toBeLessThan(1e-13);
  });
});
