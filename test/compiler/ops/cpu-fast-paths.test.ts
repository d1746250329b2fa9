// The CPU kernels' fast paths (register-blocked gemm with its 4×4 tile edges, permutes read as
// strided views by matmul, im2col convolutions, row-wise broadcasting and run reductions) against
// naive reference loops written here from the ops' definitions, in f64 on seeded random data of
// sizes that are not multiples of the tile, so every edge case of the fast code runs.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Node } from '../../../compiler/ir/graph.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { tensor, type Tensor } from '../../../runtime/cpu/tensor.ts';
import { maxRelErr } from './harness.ts';

const numel = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);

function rand(n: number, seed: number): number[] {
  let a = seed >>> 0;
  return Array.from({ length: n }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 32 - 0.5;
  });
}

/** Row-major index → multi-index. */
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let k = shape.length - 1; k >= 0; k--) {
    const d = shape[k] as number;
    idx[k] = i % d;
    i = Math.floor(i / d);
  }
  return idx;
}

/** Element of x (shape `shape`) at a multi-index of a broadcast target (numpy rules). */
function bcastAt(x: readonly number[], shape: readonly number[], idx: readonly number[]): number {
  let off = 0;
  for (let k = 0; k < shape.length; k++) {
    const d = shape[k] as number;
    off = off * d + (d === 1 ? 0 : (idx[idx.length - shape.length + k] as number));
  }
  return x[off] as number;
}

/** Runs `build` over f64 inputs named a, b, … and returns the output `y`. */
function run(
  inputs: Record<string, { shape: number[]; values: number[] }>,
  build: (b: GraphBuilder, x: Record<string, Node>) => Node | Record<string, Node>,
): Map<string, Tensor> {
  const b = new GraphBuilder();
  const x: Record<string, Node> = {};
  for (const [k, v] of Object.entries(inputs)) x[k] = b.input(k, v.shape);
  const out = build(b, x);
  if ('id' in out) b.output('y', out as Node);
  else for (const [k, v] of Object.entries(out)) b.output(k, v);
  const feeds = new Map(Object.entries(inputs).map(([k, v]) => [k, tensor(v.values, v.shape)]));
  return runGraph(b.build(), feeds, { dtype: 'f64' });
}

const y = (m: Map<string, Tensor>, name = 'y'): ArrayLike<number> => m.get(name)?.data ?? [];

/** Naive batched matmul with numpy batch broadcasting. */
function refMatmul(a: number[], as: number[], b: number[], bs: number[]): number[] {
  const [m, k] = as.slice(-2) as [number, number];
  const n = bs[bs.length - 1] as number;
  const rank = Math.max(as.length, bs.length) - 2;
  const batch = Array.from({ length: rank }, (_v, i) => Math.max(as[as.length - 2 - rank + i] ?? 1, bs[bs.length - 2 - rank + i] ?? 1));
  const out: number[] = [];
  for (let t = 0; t < numel(batch); t++) {
    const bi = unravel(t, batch);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += bcastAt(a, as, [...bi, i, p]) * bcastAt(b, bs, [...bi, p, j]);
        out.push(s);
      }
    }
  }
  return out;
}

describe('matmul fast paths', () => {
  const cases: [number[], number[]][] = [
    [
      [1, 1],
      [1, 1],
    ],
    [
      [5, 7],
      [7, 6],
    ],
    [
      [4, 4],
      [4, 8],
    ],
    [
      [9, 3],
      [3, 1],
    ],
    [
      [3, 0 + 2],
      [2, 5],
    ],
    [
      [2, 6, 5],
      [5, 7],
    ],
    [
      [3, 5, 4],
      [3, 4, 9],
    ],
    [
      [2, 1, 5, 3],
      [1, 3, 3, 6],
    ],
    [
      [7, 13],
      [2, 13, 5],
    ],
  ];
  it.each(cases)('%j @ %j matches the naive loop', (as, bs) => {
    const a = rand(numel(as), 1);
    const b = rand(numel(bs), 2);
    const got = run({ a: { shape: as, values: a }, b: { shape: bs, values: b } }, (g, x) => g.matmul(x['a'] as Node, x['b'] as Node));
    expect(maxRelErr(y(got), refMatmul(a, as, b, bs))).toBeLessThan(1e-13);
  });

  it('reads permuted operands as strided views (transposes and an attention-style [0,2,1,3])', () => {
    const q = rand(2 * 5 * 3 * 4, 3); // [B=2, T=5, H=3, D=4]
    const k = rand(2 * 5 * 3 * 4, 4);
    const got = run({ q: { shape: [2, 5, 3, 4], values: q }, k: { shape: [2, 5, 3, 4], values: k } }, (g, x) => {
      const qh = g.permute(x['q'] as Node, [0, 2, 1, 3]); // [2, 3, 5, 4]
      const kt = g.permute(x['k'] as Node, [0, 2, 3, 1]); // [2, 3, 4, 5]
      return g.matmul(qh, kt);
    });
    const want: number[] = [];
    for (let bb = 0; bb < 2; bb++)
      for (let h = 0; h < 3; h++)
        for (let i = 0; i < 5; i++)
          for (let j = 0; j < 5; j++) {
            let s = 0;
            for (let d = 0; d < 4; d++) s += (q[((bb * 5 + i) * 3 + h) * 4 + d] as number) * (k[((bb * 5 + j) * 3 + h) * 4 + d] as number);
            want.push(s);
          }
    expect(maxRelErr(y(got), want)).toBeLessThan(1e-13);
  });

  it('still materializes a permute that is also an output or read by a non-matmul', () => {
    const a = rand(6 * 5, 5);
    const w = rand(6 * 4, 6);
    const got = run({ a: { shape: [6, 5], values: a }, w: { shape: [6, 4], values: w } }, (g, x) => {
      const at = g.permute(x['a'] as Node, [1, 0]); // [5, 6]
      return { y: g.matmul(at, x['w'] as Node), at, twice: g.add(at, at) };
    });
    const at = Array.from({ length: 30 }, (_v, i) => a[(i % 6) * 5 + Math.floor(i / 6)] as number);
    expect(Array.from(y(got, 'at'))).toEqual(at);
    expect(Array.from(y(got, 'twice'))).toEqual(at.map((v) => 2 * v));
    expect(maxRelErr(y(got), refMatmul(at, [5, 6], w, [6, 4]))).toBeLessThan(1e-13);
  });
});

interface Conv {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  kh: number;
  kw: number;
  stride: [number, number];
  pad: [number, number];
  groups: number;
}

/** Naive NCHW cross-correlation, and its two adjoints by scattering the same index triples. */
function refConv(g: Conv, x: number[], w: number[], dy: number[]): { y: number[]; dx: number[]; dw: number[] } {
  const oh = Math.floor((g.h + 2 * g.pad[0] - g.kh) / g.stride[0]) + 1;
  const ow = Math.floor((g.w + 2 * g.pad[1] - g.kw) / g.stride[1]) + 1;
  const cg = g.c / g.groups;
  const og = g.o / g.groups;
  const yv = new Array<number>(g.n * g.o * oh * ow).fill(0);
  const dx = new Array<number>(x.length).fill(0);
  const dw = new Array<number>(w.length).fill(0);
  for (let b = 0; b < g.n; b++)
    for (let o = 0; o < g.o; o++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          const yi = ((b * g.o + o) * oh + i) * ow + j;
          for (let ci = 0; ci < cg; ci++)
            for (let ki = 0; ki < g.kh; ki++)
              for (let kj = 0; kj < g.kw; kj++) {
                const iy = i * g.stride[0] + ki - g.pad[0];
                const ix = j * g.stride[1] + kj - g.pad[1];
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                const xi = ((b * g.c + Math.floor(o / og) * cg + ci) * g.h + iy) * g.w + ix;
                const wi = ((o * cg + ci) * g.kh + ki) * g.kw + kj;
                yv[yi] = (yv[yi] as number) + (x[xi] as number) * (w[wi] as number);
                dx[xi] = (dx[xi] as number) + (dy[yi] as number) * (w[wi] as number);
                dw[wi] = (dw[wi] as number) + (dy[yi] as number) * (x[xi] as number);
              }
        }
  return { y: yv, dx, dw };
}

describe('conv2d as im2col + gemm', () => {
  const convs: Conv[] = [
    { n: 2, c: 3, h: 7, w: 6, o: 5, kh: 3, kw: 3, stride: [1, 1], pad: [1, 1], groups: 1 },
    { n: 1, c: 4, h: 9, w: 8, o: 6, kh: 3, kw: 2, stride: [2, 1], pad: [2, 0], groups: 2 },
    { n: 2, c: 6, h: 5, w: 5, o: 6, kh: 3, kw: 3, stride: [2, 2], pad: [1, 1], groups: 6 },
    { n: 3, c: 5, h: 4, w: 6, o: 7, kh: 1, kw: 1, stride: [1, 1], pad: [0, 0], groups: 1 },
    { n: 2, c: 1, h: 8, w: 8, o: 4, kh: 2, kw: 2, stride: [2, 2], pad: [0, 0], groups: 1 },
  ];
  it.each(convs)('conv2d, grad_input and grad_weight match the naive loops (%j)', (g) => {
    const xs = [g.n, g.c, g.h, g.w];
    const ws = [g.o, g.c / g.groups, g.kh, g.kw];
    const x = rand(numel(xs), 7);
    const w = rand(numel(ws), 8);
    const opts = { stride: g.stride, padding: g.pad, groups: g.groups };
    const shapeY =
      run({ x: { shape: xs, values: x }, w: { shape: ws, values: w } }, (b, v) => b.conv2d(v['x'] as Node, v['w'] as Node, opts)).get('y')?.shape ?? [];
    const dy = rand(numel(shapeY), 9);
    const want = refConv(g, x, w, dy);
    const got = run({ x: { shape: xs, values: x }, w: { shape: ws, values: w }, dy: { shape: [...shapeY], values: dy } }, (b, v) => ({
      y: b.conv2d(v['x'] as Node, v['w'] as Node, opts),
      dx: b.conv2dGradInput(v['dy'] as Node, v['w'] as Node, [g.h, g.w], opts),
      dw: b.conv2dGradWeight(v['x'] as Node, v['dy'] as Node, [g.kh, g.kw], opts),
    }));
    expect(maxRelErr(y(got), want.y)).toBeLessThan(1e-13);
    expect(maxRelErr(y(got, 'dx'), want.dx)).toBeLessThan(1e-13);
    expect(maxRelErr(y(got, 'dw'), want.dw)).toBeLessThan(1e-13);
  });
});

describe('row-wise broadcasting and run reductions', () => {
  const pairs: [number[], number[]][] = [
    [
      [3, 4, 5],
      [3, 4, 5],
    ],
    [[3, 4, 5], []],
    [[3, 4, 5], [5]],
    [
      [3, 4, 5],
      [3, 1, 5],
    ],
    [
      [3, 4, 5],
      [3, 4, 1],
    ],
    [
      [1, 4, 1],
      [3, 1, 5],
    ],
    [
      [2, 3, 1, 4],
      [3, 6, 1],
    ],
  ];
  it.each(pairs)('sub and where over %j and %j match numpy broadcasting', (as, bs) => {
    const a = rand(numel(as), 10);
    const b = rand(numel(bs), 11);
    const got = run({ a: { shape: as, values: a }, b: { shape: bs, values: b } }, (g, x) => {
      const d = g.sub(x['a'] as Node, x['b'] as Node);
      return { y: d, w: g.where(g.gt(x['a'] as Node, 0), x['b'] as Node, x['a'] as Node) };
    });
    const shape = got.get('y')?.shape ?? [];
    const at = (v: number[], s: number[], i: number): number => bcastAt(v, s, unravel(i, shape));
    const n = numel(shape);
    expect(Array.from(y(got))).toEqual(Array.from({ length: n }, (_v, i) => at(a, as, i) - at(b, bs, i)));
    expect(Array.from(y(got, 'w'))).toEqual(Array.from({ length: n }, (_v, i) => (at(a, as, i) > 0 ? at(b, bs, i) : at(a, as, i))));
  });

  const reductions: [number[], number[]][] = [
    [[3, 4, 5], [2]],
    [[3, 4, 5], [0]],
    [
      [3, 4, 5],
      [0, 1],
    ],
    [[3, 4, 5], [1]],
    [
      [3, 4, 5],
      [0, 2],
    ],
    [
      [3, 1, 5],
      [0, 1],
    ],
  ];
  it.each(reductions)('sum and max of %j over axes %j match the naive loop', (xs, axes) => {
    const x = rand(numel(xs), 12);
    const got = run({ x: { shape: xs, values: x } }, (g, v) => ({ y: g.sum(v['x'] as Node, axes), m: g.max(v['x'] as Node, axes) }));
    const kept = xs.filter((_d, i) => !axes.includes(i));
    const sums = new Array<number>(numel(kept)).fill(0);
    const maxes = new Array<number>(numel(kept)).fill(-Infinity);
    x.forEach((v, i) => {
      const idx = unravel(i, xs).filter((_d, k) => !axes.includes(k));
      const o = idx.reduce((acc, d, k) => acc * (kept[k] as number) + d, 0);
      sums[o] = (sums[o] as number) + v;
      maxes[o] = Math.max(maxes[o] as number, v);
    });
    expect(maxRelErr(y(got), sums)).toBeLessThan(1e-14);
    expect(Array.from(y(got, 'm'))).toEqual(maxes);
  });
});

describe('buffer reuse across runs', () => {
  it('keeps earlier outputs intact and recycles zeroed buffers into accumulating kernels', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [3, 4]);
    const sq = b.mul(x, x); // one operand read twice, released once
    const s = b.sum(b.add(sq, 1), [1]); // reduce_sum accumulates into its (recycled) buffer
    b.output('s', s);
    b.output('t', b.matmul(b.permute(sq, [1, 0]), sq));
    // [2, 3, 4] summed over axis 0 into 12 elements: a size released earlier in the same run.
    b.output('u', b.sum(b.broadcastTo(b.add(sq, 0.5), [2, 3, 4]), [0]));
    const g = b.build();
    const xs = [rand(12, 20), rand(12, 21)];
    const runs = xs.map((v) => runGraph(g, new Map([['x', tensor(v, [3, 4])]]), { dtype: 'f64' }));
    const again = runGraph(g, new Map([['x', tensor(xs[0] as number[], [3, 4])]]), { dtype: 'f64' });
    xs.forEach((v, r) => {
      const want = [0, 1, 2].map((i) => v.slice(4 * i, 4 * i + 4).reduce((acc, e) => acc + e * e + 1, 0));
      expect(maxRelErr(runs[r]?.get('s')?.data ?? [], want)).toBeLessThan(1e-15);
      expect(
        maxRelErr(
          runs[r]?.get('u')?.data ?? [],
          v.map((e) => 2 * (e * e + 0.5)),
        ),
      ).toBeLessThan(1e-15);
    });
    expect(Array.from(again.get('s')?.data ?? [])).toEqual(Array.from(runs[0]?.get('s')?.data ?? []));
    expect(Array.from(again.get('t')?.data ?? [])).toEqual(Array.from(runs[0]?.get('t')?.data ?? []));
  });
});
