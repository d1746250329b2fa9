// The one dense matrix product the CPU contractions share (matmul, conv2d and its two grads):
// out[m, n] (+)= A[m, k] · B[k, n], operands read through arbitrary (row, column) strides so a
// transposed or permuted operand costs nothing extra.
//
// Why it is shaped like this (bench/reference-train-step.ts measured each step):
// - Both operands are packed into Float64Array panels first (B: column panels [k, 4], A: row
//   panels [k, 4]). The hot loop then only ever sees Float64Array, so it stays monomorphic when
//   f32 runs and f64 gradient checks share one process, and it reads two contiguous streams.
// - A 4×4 register block: 16 accumulators, 8 loads per 16 multiply-adds (the plain i-k-j loop
//   does a load and a store of `out` per multiply-add).
// - Sums are accumulated in doubles over the whole of k and rounded once on store: f64 runs are
//   exact to working precision, f32 runs are at least as accurate as per-step f32 rounding.
//
// Packing costs O(mk + kn) against the O(mkn) product; callers packing B once for many A (a
// weight shared over a batch) call packB once and gemmPacked per batch entry.

import { wasmPanel } from './gemm-wasm.ts';
import type { FloatArray } from './tensor.ts';

let bPack = new Float64Array(1024);
let aPack = new Float64Array(256);
/** One 4×4 tile, for the partial tiles at the right and bottom edges. */
const edge = new Float64Array(16);

// With WebAssembly SIMD the packed panels live in the kernel's memory: B's panels from byte 0,
// then per call A's panel and the [4, 4·nb] output panel. `heap` views that memory (renewed when
// it grows, which keeps its contents).
const wasm = wasmPanel();
let heap = wasm === null ? new Float64Array(0) : new Float64Array(wasm.memory.buffer);
let useWasm = wasm !== null;

/**
 * Which inner loop gemmPacked runs: 'wasm' (the default where WebAssembly SIMD exists) or the
 * scalar JavaScript loop. Both give the same bits; the switch is for tests and benchmarks.
 * Returns the kernel in use after the call.
 */
export function gemmKernel(kind?: 'wasm' | 'scalar'): 'wasm' | 'scalar' {
  if (kind !== undefined) useWasm = kind === 'wasm' && wasm !== null;
  return useWasm ? 'wasm' : 'scalar';
}

/** Makes the kernel's memory hold at least `doubles` f64 values; returns the current view. */
function heapOf(doubles: number): Float64Array {
  if (wasm !== null && heap.length < doubles) {
    const pages = Math.ceil((doubles * 8 - wasm.memory.buffer.byteLength) / 65536);
    wasm.memory.grow(Math.max(pages, wasm.memory.buffer.byteLength / 65536));
    heap = new Float64Array(wasm.memory.buffer);
  }
  return heap;
}

function grow(buf: Float64Array<ArrayBuffer>, n: number): Float64Array<ArrayBuffer> {
  return buf.length >= n ? buf : new Float64Array(Math.max(n, buf.length * 2));
}

/** Packs B[k, n] (element (p, j) at b[off + p·rs + j·cs]) into panels of 4 columns, zero-padded. */
export function packB(b: FloatArray, off: number, rs: number, cs: number, k: number, n: number): void {
  const nb = (n + 3) >> 2;
  let bp: Float64Array;
  if (wasm === null) {
    bPack = grow(bPack, nb * k * 4);
    bp = bPack;
  } else bp = heapOf(nb * k * 4);
  for (let jb = 0; jb < nb; jb++) {
    const j0 = jb * 4;
    const base = jb * k * 4;
    if (j0 + 4 <= n) {
      for (let p = 0; p < k; p++) {
        const src = off + p * rs + j0 * cs;
        const d = base + p * 4;
        bp[d] = b[src] as number;
        bp[d + 1] = b[src + cs] as number;
        bp[d + 2] = b[src + 2 * cs] as number;
        bp[d + 3] = b[src + 3 * cs] as number;
      }
    } else {
      for (let p = 0; p < k; p++) {
        for (let c = 0; c < 4; c++) bp[base + p * 4 + c] = j0 + c < n ? (b[off + p * rs + (j0 + c) * cs] as number) : 0;
      }
    }
  }
}

/** Packs rows i0..i0+3 of A (element (i, p) at a[off + i·rs + p·cs]) as [k, 4] at ap[at…], zero-padded. */
function packA(ap: Float64Array, at: number, a: FloatArray, off: number, rs: number, cs: number, i0: number, m: number, k: number): void {
  const rows = Math.min(4, m - i0);
  for (let r = 0; r < 4; r++) {
    if (r >= rows) {
      for (let p = 0; p < k; p++) ap[at + p * 4 + r] = 0;
      continue;
    }
    const src = off + (i0 + r) * rs;
    for (let p = 0; p < k; p++) ap[at + p * 4 + r] = a[src + p * cs] as number;
  }
}

/** gemmPacked through the WebAssembly kernel: one call per 4-row panel of A, then rows copied out. */
function gemmWasm(
  m: number,
  n: number,
  k: number,
  a: FloatArray,
  aOff: number,
  aRs: number,
  aCs: number,
  out: FloatArray,
  oOff: number,
  accumulate: boolean,
): void {
  if (wasm === null) throw new Error('bug: gemmWasm without the kernel');
  const nb = (n + 3) >> 2;
  const n4 = nb * 4;
  const aAt = (nb * k * 4 + 1) & ~1; // f64 index, 16-byte aligned
  const oAt = aAt + k * 4;
  const hp = heapOf(oAt + 4 * n4);
  for (let i0 = 0; i0 < m; i0 += 4) {
    packA(hp, aAt, a, aOff, aRs, aCs, i0, m, k);
    wasm.panel(aAt * 8, 0, oAt * 8, k, nb, n4 * 8);
    const rows = Math.min(4, m - i0);
    for (let r = 0; r < rows; r++) {
      const src = oAt + r * n4;
      const dst = oOff + (i0 + r) * n;
      if (!accumulate) out.set(hp.subarray(src, src + n), dst);
      else for (let c = 0; c < n; c++) out[dst + c] = (out[dst + c] as number) + (hp[src + c] as number);
    }
  }
}

/**
 * out[oOff + i·n + j] = (or += when `accumulate`) Σ_p A[i, p] · B[p, j], with B as last packed by
 * packB(…, k, n). A's element (i, p) is a[aOff + i·aRs + p·aCs].
 */
export function gemmPacked(
  m: number,
  n: number,
  k: number,
  a: FloatArray,
  aOff: number,
  aRs: number,
  aCs: number,
  out: FloatArray,
  oOff: number,
  accumulate: boolean,
): void {
  if (useWasm && k > 0) {
    gemmWasm(m, n, k, a, aOff, aRs, aCs, out, oOff, accumulate);
    return;
  }
  const nb = (n + 3) >> 2;
  aPack = grow(aPack, k * 4);
  const ap = aPack;
  const bp = wasm === null ? bPack : heap;
  const kk = k * 4;
  for (let i0 = 0; i0 < m; i0 += 4) {
    packA(ap, 0, a, aOff, aRs, aCs, i0, m, k);
    for (let jb = 0; jb < nb; jb++) {
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      let pb = jb * kk;
      for (let pa = 0; pa < kk; pa += 4, pb += 4) {
        const a0 = ap[pa] as number,
          a1 = ap[pa + 1] as number,
          a2 = ap[pa + 2] as number,
          a3 = ap[pa + 3] as number;
        const b0 = bp[pb] as number,
          b1 = bp[pb + 1] as number,
          b2 = bp[pb + 2] as number,
          b3 = bp[pb + 3] as number;
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3;
        c20 += a2 * b0;
        c21 += a2 * b1;
        c22 += a2 * b2;
        c23 += a2 * b3;
        c30 += a3 * b0;
        c31 += a3 * b1;
        c32 += a3 * b2;
        c33 += a3 * b3;
      }
      const j0 = jb * 4;
      if (i0 + 4 <= m && j0 + 4 <= n && !accumulate) {
        let o = oOff + i0 * n + j0;
        out[o] = c00;
        out[o + 1] = c01;
        out[o + 2] = c02;
        out[o + 3] = c03;
        o += n;
        out[o] = c10;
        out[o + 1] = c11;
        out[o + 2] = c12;
        out[o + 3] = c13;
        o += n;
        out[o] = c20;
        out[o + 1] = c21;
        out[o + 2] = c22;
        out[o + 3] = c23;
        o += n;
        out[o] = c30;
        out[o + 1] = c31;
        out[o + 2] = c32;
        out[o + 3] = c33;
        continue;
      }
      edge[0] = c00;
      edge[1] = c01;
      edge[2] = c02;
      edge[3] = c03;
      edge[4] = c10;
      edge[5] = c11;
      edge[6] = c12;
      edge[7] = c13;
      edge[8] = c20;
      edge[9] = c21;
      edge[10] = c22;
      edge[11] = c23;
      edge[12] = c30;
      edge[13] = c31;
      edge[14] = c32;
      edge[15] = c33;
      const rows = Math.min(4, m - i0);
      const cols = Math.min(4, n - j0);
      for (let r = 0; r < rows; r++) {
        const o = oOff + (i0 + r) * n + j0;
        for (let c = 0; c < cols; c++) {
          const v = edge[r * 4 + c] as number;
          out[o + c] = accumulate ? (out[o + c] as number) + v : v;
        }
      }
    }
  }
}

/** out (row-major [m, n] at oOff) = A · B, both read through strides (see gemmPacked). */
export function gemm(
  m: number,
  n: number,
  k: number,
  a: FloatArray,
  aOff: number,
  aRs: number,
  aCs: number,
  b: FloatArray,
  bOff: number,
  bRs: number,
  bCs: number,
  out: FloatArray,
  oOff: number,
  accumulate = false,
): void {
  packB(b, bOff, bRs, bCs, k, n);
  gemmPacked(m, n, k, a, aOff, aRs, aCs, out, oOff, accumulate);
}
