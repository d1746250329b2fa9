// Lowering of the parameter-free library functions (signatures.ts, context 'fn').

import type { GraphBuilder } from '../ir/builder.ts';
import type { Node } from '../ir/graph.ts';
import { fmt, lastDim, type CallCtx, type FnName, type FnRule } from './context.ts';
import { logSoftmax, mean, softmax } from '../ir/compose.ts';

const axisOf = (c: CallCtx, x: Node, name = 'axis'): number => {
  const a = c.int(name);
  const r = x.shape.length;
  if (a < -r || a >= r) c.fail(`axis ${a} is out of range for a tensor of rank ${r}`);
  return a < 0 ? a + r : a;
};

const float = (c: CallCtx, name = 'x'): Node => {
  const x = c.tensor(name);
  return x.dtype === 'i32' || x.dtype === 'bool' ? c.b.cast(x, 'f32') : x;
};

const unary =
  (f: (b: GraphBuilder, x: Node) => Node): FnRule =>
  (c) =>
    f(c.b, float(c));

/** DiT get_2d_sincos_pos_embed: for token (i, j) the first half embeds j, the second i; each [sin, cos]. */
export function posEmbed2d(grid: number, dim: number): number[] {
  const quarter = dim / 4;
  const omega = Array.from({ length: quarter }, (_, k) => 1 / 10000 ** (k / quarter));
  const out: number[] = [];
  for (let i = 0; i < grid; i++) {
    for (let j = 0; j < grid; j++) {
      // np.meshgrid(grid_w, grid_h): grid[0] holds the column index w = j, grid[1] the row h = i.
      for (const pos of [j, i]) {
        for (const w of omega) out.push(Math.sin(pos * w));
        for (const w of omega) out.push(Math.cos(pos * w));
      }
    }
  }
  return out;
}

export const FN_RULES: Record<FnName, FnRule> = {
  matmul: (c) => {
    const a = c.tensor('a');
    const bb = c.tensor('b');
    if (a.shape.length < 2 || bb.shape.length < 2 || a.shape[a.shape.length - 1] !== bb.shape[bb.shape.length - 2])
      c.fail(`cannot multiply ${fmt(a.shape)} by ${fmt(bb.shape)}`);
    return c.b.matmul(a, bb);
  },
  softmax: (c) => {
    const x = float(c);
    return softmax(c.b, x, axisOf(c, x));
  },
  log_softmax: (c) => {
    const x = float(c);
    return logSoftmax(c.b, x, axisOf(c, x));
  },
  silu: unary((b, x) => b.silu(x)),
  gelu: unary((b, x) => b.geluTanh(x)),
  relu: unary((b, x) => b.relu(x)),
  sigmoid: unary((b, x) => b.sigmoid(x)),
  tanh: unary((b, x) => b.tanh(x)),
  exp: unary((b, x) => b.exp(x)),
  log: unary((b, x) => b.log(x)),
  sqrt: unary((b, x) => b.sqrt(x)),
  rsqrt: unary((b, x) => b.rsqrt(x)),
  abs: (c) => c.b.abs(c.tensor('x')),
  sum: (c) => {
    const x = c.tensor('x');
    return c.b.sum(x, c.args.has('axis') ? axisOf(c, x) : undefined, c.bool('keepdim'));
  },
  mean: (c) => {
    const x = float(c);
    const axes = c.args.has('axis') ? [axisOf(c, x)] : x.shape.map((_d, k) => k);
    return mean(c.b, x, axes, c.bool('keepdim'));
  },
  max: (c) => {
    const x = c.tensor('x');
    return c.b.max(x, axisOf(c, x), c.bool('keepdim'));
  },
  reshape: (c) => {
    const x = c.tensor('x');
    const shape = c.ints('shape');
    const total = x.shape.reduce((p, d) => p * d, 1);
    const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
    const free = shape.filter((d) => d === -1).length;
    if (free > 1 || shape.some((d) => d < -1 || d === 0) || (free === 0 ? known !== total : total % known !== 0))
      c.fail(`cannot reshape ${fmt(x.shape)} to ${fmt(shape)}`);
    return c.b.reshape(x, shape);
  },
  transpose: (c) => {
    const x = c.tensor('x');
    const perm = c.ints('perm');
    const sorted = [...perm].sort((p, q) => p - q);
    if (perm.length !== x.shape.length || sorted.some((v, k) => v !== k))
      c.fail(`${fmt(perm)} is not a permutation of the ${x.shape.length} axes of ${fmt(x.shape)}`);
    return c.b.permute(x, perm);
  },
  concat: (c) => {
    const xs = c.rest;
    const first = xs[0];
    if (first === undefined) return c.fail('concat needs at least one tensor');
    const r = first.shape.length;
    const a0 = c.int('axis');
    const axis = a0 < 0 ? a0 + r : a0;
    if (axis < 0 || axis >= r) c.fail(`axis ${a0} is out of range for rank ${r}`);
    for (const x of xs)
      if (x.shape.length !== r || x.shape.some((d, k) => k !== axis && d !== first.shape[k]))
        c.fail(`cannot join ${xs.map((y) => fmt(y.shape)).join(' and ')} along axis ${a0}`);
    return c.b.concat(xs, axis);
  },
  chunk: (c) => {
    const x = c.tensor('x');
    const axis = axisOf(c, x);
    const n = c.int('n');
    const k = c.int('index');
    const size = x.shape[axis] ?? 0;
    if (n < 1 || size % n !== 0 || k < 0 || k >= n) c.fail(`cannot take chunk ${k} of ${n} from axis ${axis} of size ${size}`);
    return c.b.sliceAxis(x, axis, (k * size) / n, ((k + 1) * size) / n);
  },
  upsample: (c) => {
    const x = c.tensor('x');
    if (x.shape.length !== 4) c.fail(`needs [B, C, H, W], found ${fmt(x.shape)}`);
    const s = c.int('scale');
    const [bsz, ch, h, w] = x.shape as [number, number, number, number];
    const e = c.b.broadcastTo(c.b.reshape(x, [bsz, ch, h, 1, w, 1]), [bsz, ch, h, s, w, s]);
    return c.b.reshape(e, [bsz, ch, h * s, w * s]);
  },
  avg_pool: (c) => {
    const x = float(c);
    if (x.shape.length !== 4) c.fail(`needs [B, C, H, W], found ${fmt(x.shape)}`);
    return mean(c.b, x, [2, 3], false);
  },
  unpatchify: (c) => {
    // DiT: [B, N, p²·C] → reshape [B, h, w, p, p, C] → einsum nhwpqc→nchpwq → [B, C, h·p, w·p].
    const x = c.tensor('x');
    const p = c.int('patch');
    const ch = c.int('channels');
    if (x.shape.length !== 3 || lastDim(x) !== p * p * ch) c.fail(`needs [B, N, ${p * p * ch}] (patch² · channels), found ${fmt(x.shape)}`);
    const [bsz, n] = x.shape as [number, number];
    const g = Math.round(Math.sqrt(n));
    if (g * g !== n) c.fail(`${n} tokens do not form a square grid`);
    const r = c.b.permute(c.b.reshape(x, [bsz, g, g, p, p, ch]), [0, 5, 1, 3, 2, 4]);
    return c.b.reshape(r, [bsz, ch, g * p, g * p]);
  },
  pos_embed_2d: (c) => {
    const x = c.tensor('x');
    if (x.shape.length !== 3) c.fail(`needs tokens [B, N, D], found ${fmt(x.shape)}`);
    const n = x.shape[1] ?? 0;
    const d = lastDim(x);
    const g = Math.round(Math.sqrt(n));
    if (g * g !== n || d % 4 !== 0) c.fail(`needs a square token grid and a width divisible by 4, found ${fmt(x.shape)}`);
    return c.b.add(x, c.b.constant(posEmbed2d(g, d), [n, d]));
  },
  next: (c) => {
    // targets[t] = tokens[t + 1]; the last position has none and gets the ignore index −100.
    const x = c.tensor('tokens');
    if (x.shape.length < 1) c.fail('needs a sequence');
    const t = lastDim(x);
    const shifted = c.b.sliceAxis(x, -1, 1, t);
    return c.b.concat([shifted, c.b.full(-100, [...x.shape.slice(0, -1), 1], x.dtype)], x.shape.length - 1);
  },
  detach: (c) => c.b.stopGradient(c.tensor('x')),
};
