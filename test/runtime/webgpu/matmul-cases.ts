// Matmul segments of compiled graphs as test cases, shared by the register-blocked
// (matmul-blocked.test.ts) and workgroup-tiled (matmul-tiled.test.ts) suites: shapes whose sides
// are not multiples of 8 (edge blocks store only their in-range part), a side small enough for the
// 4-wide block, a batch summed in the kernel, a broadcast operand, SwiGLU's two matmuls in one
// block, an operand no strided view describes (read through its value function), and RoPE reading
// the projection at the pair column (a lookup block as wide as a head: render-matmul.ts `lookupBlock`). `block` is the register block each
// renders with by default.

import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Graph } from '../../../compiler/ir/graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { randomTensor } from './ops/helpers.ts';

const feed = randomTensor;

export interface Case {
  name: string;
  graph: () => Graph;
  feeds: () => Map<string, Tensor>;
  output: string;
  block: string;
}

export const MATMUL_CASES: Case[] = [
  {
    // x: [2, 19, 13], W: [21, 13] read transposed, bias [21]: 19×21 per batch, K = 13
    name: 'linear with bias and relu, 19×21 per batch from K = 13 (edges in both directions)',
    graph: () => {
      const b = new GraphBuilder();
      const x = b.input('x', [2, 19, 13]);
      b.output('y', b.relu(b.add(b.matmul(x, b.permute(b.param('w', [21, 13]), [1, 0])), b.param('bias', [21]))));
      return b.build();
    },
    feeds: () =>
      new Map([
        ['x', feed([2, 19, 13], 11)],
        ['w', feed([21, 13], 12)],
        ['bias', feed([21], 13)],
      ]),
    output: 'y',
    block: '8x8',
  },
  {
    // (Σ_b x_bᵀ · g_b)ᵀ: x [3, 17, 11], g [3, 17, 23] → [23, 11], the batch summed inside the kernel
    name: 'weight gradient 11×23 summed over a batch of 3, K = 17, transposed on store',
    graph: () => {
      const b = new GraphBuilder();
      const x = b.input('x', [3, 17, 11]);
      const g = b.input('g', [3, 17, 23]);
      b.output('dw', b.permute(b.sum(b.matmul(b.permute(x, [0, 2, 1]), g), [0]), [1, 0]));
      return b.build();
    },
    feeds: () =>
      new Map([
        ['x', feed([3, 17, 11], 21)],
        ['g', feed([3, 17, 23], 22)],
      ]),
    output: 'dw',
    block: '8x8',
  },
  {
    // a [4, 9, 6] · b [6, 10]: B broadcast over the batch (stride 0), scaled by 0.5 on store
    name: 'batch of 4 with a broadcast right operand, 9×10 from K = 6',
    graph: () => {
      const b = new GraphBuilder();
      b.output('y', b.mul(b.matmul(b.input('a', [4, 9, 6]), b.input('b', [6, 10])), 0.5));
      return b.build();
    },
    feeds: () =>
      new Map([
        ['a', feed([4, 9, 6], 31)],
        ['b', feed([6, 10], 32)],
      ]),
    output: 'y',
    block: '8x8',
  },
  {
    // a [19, 13]·b [13, 21] + c [19, 7]·dᵀ (d [21, 7]) + e [19, 5]·f [5, 21], then a residual and
    // relu: three matmuls of different K summed into one block (a gradient reaching x by 3 paths)
    name: 'three matmuls added (K = 13, 7, 5; one operand transposed), 19×21, residual and relu on store',
    graph: () => {
      const b = new GraphBuilder();
      const sum = b.add(
        b.add(b.matmul(b.input('a', [19, 13]), b.input('b', [13, 21])), b.matmul(b.input('c', [19, 7]), b.permute(b.input('d', [21, 7]), [1, 0]))),
        b.matmul(b.input('e', [19, 5]), b.input('f', [5, 21])),
      );
      b.output('y', b.relu(b.add(b.input('x', [19, 21]), sum)));
      return b.build();
    },
    feeds: () =>
      new Map([
        ['a', feed([19, 13], 51)],
        ['b', feed([13, 21], 52)],
        ['c', feed([19, 7], 53)],
        ['d', feed([21, 7], 54)],
        ['e', feed([19, 5], 55)],
        ['f', feed([5, 21], 56)],
        ['x', feed([19, 21], 57)],
      ]),
    output: 'y',
    block: '8x8',
  },
  {
    // 3 rows: the 4-row block, 8 columns wide
    name: 'three rows, 3×17 from K = 12 (4×8 block)',
    graph: () => {
      const b = new GraphBuilder();
      b.output('y', b.matmul(b.input('a', [3, 12]), b.input('b', [12, 17])));
      return b.build();
    },
    feeds: () =>
      new Map([
        ['a', feed([3, 12], 41)],
        ['b', feed([12, 17], 42)],
      ]),
    output: 'y',
    block: '4x8',
  },
  {
    // SwiGLU: silu(x·W1ᵀ) ⊙ (x·W3ᵀ), x [2, 19, 13], W1, W3 [21, 13]: two accumulator sets in one
    // block sharing the loads of x, edges in both directions, a batch of 2
    name: 'SwiGLU, two matmuls multiplied in the epilogue, 19×21 per batch of 2 from K = 13',
    graph: () => {
      const b = new GraphBuilder();
      const x = b.input('x', [2, 19, 13]);
      const w1 = b.permute(b.param('w1', [21, 13]), [1, 0]);
      const w3 = b.permute(b.param('w3', [21, 13]), [1, 0]);
      b.output('y', b.mul(b.silu(b.matmul(x, w1)), b.matmul(x, w3)));
      return b.build();
    },
    feeds: () =>
      new Map([
        ['x', feed([2, 19, 13], 61)],
        ['w1', feed([21, 13], 62)],
        ['w3', feed([21, 13], 63)],
      ]),
    output: 'y',
    block: '8x8',
  },
  {
    // heads [2, 3, 5, 4] moved back to tokens (permute, reshape: no stride per axis describes it)
    // and projected, W [12, 7]: the left operand read through its value function
    name: 'attention output moved back to tokens then projected, 5×7 per batch of 2 from K = 12',
    graph: () => {
      const b = new GraphBuilder();
      const heads = b.permute(b.input('h', [2, 3, 5, 4]), [0, 2, 1, 3]);
      b.output('y', b.add(b.matmul(b.reshape(heads, [2, 5, 12]), b.param('w', [12, 7])), b.param('bias', [7])));
      return b.build();
    },
    feeds: () =>
      new Map([
        ['h', feed([2, 3, 5, 4], 91)],
        ['w', feed([12, 7], 92)],
        ['bias', feed([7], 93)],
      ]),
    output: 'y',
    block: '8x8',
  },
  rope(
    'RoPE on a projection into 2 heads of 16 (pairs inside the 16-wide block), 2×11 tokens, K = 9',
    { batch: 2, seq: 11, heads: 2, dim: 16, k: 9 },
    71,
    '8x16',
  ),
  // the block's columns cover a whole head, so the pair 16 (32) columns away is the thread's own
  rope('RoPE on 3 heads of 32 (a 32-wide block per head), 2×9 tokens, K = 12', { batch: 2, seq: 9, heads: 3, dim: 32, k: 12 }, 61, '4x32'),
  rope('RoPE on 2 heads of 64 (a 64-wide block per head), 1×5 tokens, K = 7', { batch: 1, seq: 5, heads: 2, dim: 64, k: 7 }, 51, '2x64'),
  // a head width that is no power of two: 4 rows (128 / 24 rounded down to a power of two)
  rope('RoPE on 2 heads of 24 (a 24-wide block per head), 1×6 tokens, K = 5', { batch: 1, seq: 6, heads: 2, dim: 24, k: 5 }, 41, '4x24'),
  // 3 heads of 6: n = 18 is not a multiple of the block, and pairs straddle block edges (recomputed)
  rope('RoPE on 3 heads of 6 (pairs across block edges recomputed), 1×7 tokens, K = 5', { batch: 1, seq: 7, heads: 3, dim: 6, k: 5 }, 81, '4x16'),
];

/**
 * q = x·W reshaped into heads and moved ahead of the tokens, then rotated as RoPE does:
 * q ⊙ cos + rotate_half(q) ⊙ sin, rotate_half reading q at the pair column (± dim/2).
 */
function rope(name: string, s: { batch: number; seq: number; heads: number; dim: number; k: number }, seed: number, block: string): Case {
  const n = s.heads * s.dim;
  const half = s.dim / 2;
  const qShape = [s.batch, s.heads, s.seq, s.dim];
  return {
    name,
    graph: () => {
      const b = new GraphBuilder();
      const proj = b.matmul(b.input('x', [s.batch, s.seq, s.k]), b.param('w', [s.k, n]));
      const q = b.permute(b.reshape(proj, [s.batch, s.seq, s.heads, s.dim]), [0, 2, 1, 3]);
      const lo = b.slice(q, [0, 0, 0, 0], [s.batch, s.heads, s.seq, half]);
      const hi = b.slice(q, [0, 0, 0, half], qShape);
      const rotated = b.concat([b.neg(hi), lo], 3);
      b.output('y', b.add(b.mul(q, b.input('cos', [s.seq, s.dim])), b.mul(rotated, b.input('sin', [s.seq, s.dim]))));
      return b.build();
    },
    feeds: () =>
      new Map([
        ['x', feed([s.batch, s.seq, s.k], seed)],
        ['w', feed([s.k, n], seed + 1)],
        ['cos', feed([s.seq, s.dim], seed + 2)],
        ['sin', feed([s.seq, s.dim], seed + 3)],
      ]),
    output: 'y',
    block,
  };
}
