// The per-op WGSL table: each IR node becomes `fn v<id>(i: u32) -> f32`, its value at flat index
// i of its own shape, calling its operands' functions at the indices it needs. Movement ops are
// pure index maps, so chains of views and elementwise ops fuse with no copies. Loop ops
// (reductions, contractions) are memoized on their last index, so a row kernel (softmax, norms)
// computes each row's reduction once while it walks the row. A dumb renderer: all decisions were
// made by fusion and legalization.

import type { Node } from '../../ir/graph.ts';
import { numel } from '../../ir/graph.ts';
import type { BinaryArithOp, CompareOp, Op, UnaryFloatOp, UnaryNumericOp } from '../../ir/ops.ts';
import { broadcastStrides, f, remap, stridesOf, u } from './wgsl-util.ts';

export interface NodeCtx {
  node: Node;
  ins: readonly Node[];
  /** Lines of the function body so far (index arithmetic). */
  lines: string[];
  /** A call of operand k's value function at `idx`. */
  v(k: number, idx: string): string;
}

type Render = (c: NodeCtx) => string;

const attrNum = (n: Node, k: string): number => n.attrs[k] as number;
const attrNums = (n: Node, k: string): readonly number[] => n.attrs[k] as readonly number[];
const inShape = (c: NodeCtx, k: number): readonly number[] => (c.ins[k] as Node).shape;

/** Operand k read at the node's own index, broadcasting. */
function arg(c: NodeCtx, k: number): string {
  return c.v(k, remap(c.lines, 'i', c.node.shape, broadcastStrides(inShape(c, k), c.node.shape)));
}

const UNARY: Record<UnaryFloatOp | UnaryNumericOp, (x: string) => string> = {
  neg: (x) => `-(${x})`,
  abs: (x) => `abs(${x})`,
  sign: (x) => `sign(${x})`,
  exp: (x) => `exp(${x})`,
  log: (x) => `log(${x})`,
  sqrt: (x) => `sqrt(${x})`,
  rsqrt: (x) => `(1.0 / sqrt(${x}))`,
  // clamped: tanh saturates in f32 long before 15, and some drivers overflow exp inside tanh
  tanh: (x) => `tanh(clamp(${x}, -15.0, 15.0))`,
  sigmoid: (x) => `sigm(${x})`,
  relu: (x) => `relu(${x})`,
  silu: (x) => `silu(${x})`,
  gelu_tanh: (x) => `gelu(${x})`,
  sin: (x) => `sin(${x})`,
  cos: (x) => `cos(${x})`,
  recip: (x) => `(1.0 / ${x})`,
};

const BINARY: Record<BinaryArithOp | CompareOp, (a: string, b: string, int: boolean) => string> = {
  add: (a, b) => `(${a} + ${b})`,
  sub: (a, b) => `(${a} - ${b})`,
  mul: (a, b) => `(${a} * ${b})`,
  // i32 division truncates toward zero (values are exact integers held in f32)
  div: (a, b, int) => (int ? `trunc(${a} / ${b})` : `(${a} / ${b})`),
  pow: (a, b) => `powf(${a}, ${b})`,
  maximum: (a, b) => `maxf(${a}, ${b})`,
  minimum: (a, b) => `minf(${a}, ${b})`,
  eq: (a, b) => `select(0.0, 1.0, ${a} == ${b})`,
  ne: (a, b) => `select(0.0, 1.0, ${a} != ${b})`,
  lt: (a, b) => `select(0.0, 1.0, ${a} < ${b})`,
  le: (a, b) => `select(0.0, 1.0, ${a} <= ${b})`,
  gt: (a, b) => `select(0.0, 1.0, ${a} > ${b})`,
  ge: (a, b) => `select(0.0, 1.0, ${a} >= ${b})`,
};

/** Helper functions the tables above call; emitted once per kernel. */
export const PRELUDE = `
var<private> BITS_NAN: u32 = 0x7fc00000u;
var<private> BITS_INF: u32 = 0x7f800000u;
var<private> BITS_NINF: u32 = 0xff800000u;
fn sigm(x: f32) -> f32 { if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); } let e = exp(x); return e / (1.0 + e); }
fn relu(x: f32) -> f32 { return select(0.0, x, x > 0.0); }
fn silu(x: f32) -> f32 { return x * sigm(x); }
fn gelu(x: f32) -> f32 { return 0.5 * x * (1.0 + tanh(clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), -15.0, 15.0))); }
fn maxf(a: f32, b: f32) -> f32 { return select(b, a, a > b || a != a); }
fn minf(a: f32, b: f32) -> f32 { return select(b, a, a < b || a != a); }
fn powf(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  let p = pow(abs(a), b);
  if (a >= 0.0) { return p; }
  if (trunc(b) != b) { return bitcast<f32>(BITS_NAN); }
  return select(p, -p, trunc(b * 0.5) != b * 0.5);
}
fn mix32(x0: u32) -> u32 { var x = x0; x ^= x >> 16u; x *= 0x7feb352du; x ^= x >> 15u; x *= 0x846ca68bu; x ^= x >> 16u; return x; }
fn runif(seed: u32, counter: u32, stream: u32, index: u32) -> f32 {
  return f32(mix32(mix32(mix32(mix32(seed ^ 0x9e3779b9u) ^ counter) ^ stream) ^ index) >> 8u) / 16777216.0;
}
fn ix(v: f32, dim: u32) -> u32 { return u32(clamp(i32(v), 0, i32(dim) - 1)); }
`;

const el =
  (fn: (xs: string[]) => string): Render =>
  (c) =>
    fn(c.ins.map((_x, k) => arg(c, k)));
const unary = (op: UnaryFloatOp | UnaryNumericOp): Render => el(([x]) => UNARY[op](x as string));
const binary =
  (op: BinaryArithOp | CompareOp): Render =>
  (c) => {
    const [a, b] = [arg(c, 0), arg(c, 1)];
    return BINARY[op](a, b, c.node.dtype === 'i32');
  };

/** [outer, dim, inner] around `axis`. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  return [numel(shape.slice(0, axis)), shape[axis] as number, numel(shape.slice(axis + 1))];
}

/**
 * A reduction's loop. Without `lanes` one thread walks all of it; with lanes, thread `first` takes
 * every `step`-th element and the result is that thread's partial (subgroup-reduce.ts combines).
 */
export function renderReduce(c: NodeCtx, kind: 'sum' | 'max', lanes?: { first: string; step: number }): string {
  return reduce(kind, lanes)(c);
}

function reduce(kind: 'sum' | 'max', lanes?: { first: string; step: number }): Render {
  return (c) => {
    const x = inShape(c, 0);
    const axes = new Set(attrNums(c.node, 'axes'));
    const st = stridesOf(x);
    const kept = x.map((_d, k) => k).filter((k) => !axes.has(k));
    const red = x.map((_d, k) => k).filter((k) => axes.has(k));
    const base = remap(
      c.lines,
      'i',
      kept.map((k) => x[k] as number),
      kept.map((k) => st[k] as number),
    );
    const count = numel(red.map((k) => x[k] as number));
    const inner: string[] = [];
    const off = remap(
      inner,
      'j',
      red.map((k) => x[k] as number),
      red.map((k) => st[k] as number),
    );
    c.lines.push(`var acc = ${kind === 'sum' ? '0.0' : f(-Infinity)};`);
    const loop = lanes === undefined ? `for (var j = 0u; j < ${u(count)}; j++) {` : `for (var j = ${lanes.first}; j < ${u(count)}; j += ${u(lanes.step)}) {`;
    c.lines.push(loop, ...inner, `let x = ${c.v(0, `${base} + ${off}`)};`);
    c.lines.push(kind === 'sum' ? 'acc += x;' : 'if (x > acc || x != x) { acc = x; }', '}');
    return 'acc';
  };
}

function gatherLike(c: NodeCtx): string {
  const axis = attrNum(c.node, 'axis');
  const [, dim, inner] = around(inShape(c, 0), axis);
  const k = numel(inShape(c, 1));
  c.lines.push(`let o = i / ${u(k * inner)};`, `let j = (i / ${u(inner)}) % ${u(k)};`, `let r = i % ${u(inner)};`);
  c.lines.push(`let row = ix(${c.v(1, 'j')}, ${u(dim)});`);
  return c.v(0, `(o * ${u(dim)} + row) * ${u(inner)} + r`);
}

export const NODE_RENDER: Record<Op, Render> = {
  input: () => {
    throw new Error('wgsl: inputs are buffers, not rendered');
  },
  param: () => {
    throw new Error('wgsl: params are buffers, not rendered');
  },
  constant: (c) => {
    const data = attrNums(c.node, 'data');
    if (data.length === 1) return f(data[0] as number);
    c.lines.push(`var k = array<f32, ${data.length}>(${data.map(f).join(', ')});`);
    return 'k[i]';
  },
  full: (c) => f(attrNum(c.node, 'value')),
  iota: (c) => {
    const axis = attrNum(c.node, 'axis');
    const [, dim, inner] = around(c.node.shape, axis);
    return `f32((i / ${u(inner)}) % ${u(dim)})`;
  },
  random_uniform: (c) => `runif(bitcast<u32>(i32(${c.v(0, '0u')})), bitcast<u32>(i32(${c.v(0, '1u')})), ${u(attrNum(c.node, 'stream'))}, i)`,
  random_normal: (c) => {
    const key = `bitcast<u32>(i32(${c.v(0, '0u')})), bitcast<u32>(i32(${c.v(0, '1u')})), ${u(attrNum(c.node, 'stream'))}`;
    c.lines.push(`let u1 = 1.0 - runif(${key}, 2u * i);`, `let u2 = runif(${key}, 2u * i + 1u);`);
    return 'sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2)';
  },
  neg: unary('neg'),
  abs: unary('abs'),
  sign: unary('sign'),
  exp: unary('exp'),
  log: unary('log'),
  sqrt: unary('sqrt'),
  rsqrt: unary('rsqrt'),
  tanh: unary('tanh'),
  sigmoid: unary('sigmoid'),
  relu: unary('relu'),
  silu: unary('silu'),
  gelu_tanh: unary('gelu_tanh'),
  sin: unary('sin'),
  cos: unary('cos'),
  recip: unary('recip'),
  add: binary('add'),
  sub: binary('sub'),
  mul: binary('mul'),
  div: binary('div'),
  pow: binary('pow'),
  maximum: binary('maximum'),
  minimum: binary('minimum'),
  eq: binary('eq'),
  ne: binary('ne'),
  lt: binary('lt'),
  le: binary('le'),
  gt: binary('gt'),
  ge: binary('ge'),
  where: el(([m, a, b]) => `select(${b}, ${a}, ${m} != 0.0)`),
  cast: (c) => {
    const x = arg(c, 0);
    const to = c.node.dtype;
    return to === 'i32' ? `trunc(${x})` : to === 'bool' ? `select(0.0, 1.0, ${x} != 0.0)` : x;
  },
  stop_gradient: (c) => arg(c, 0),
  reduce_sum: reduce('sum'),
  reduce_max: reduce('max'),
  argmax: (c) => {
    const [, dim, inner] = around(inShape(c, 0), attrNum(c.node, 'axis'));
    c.lines.push(`let base = (i / ${u(inner)}) * ${u(dim * inner)} + i % ${u(inner)};`, `var best = 0u;`, `var bv = ${c.v(0, 'base')};`);
    c.lines.push(`for (var j = 1u; j < ${u(dim)}; j++) { let x = ${c.v(0, `base + j * ${u(inner)}`)}; if (x > bv) { bv = x; best = j; } }`);
    return 'f32(best)';
  },
  log_softmax: () => {
    throw new Error('wgsl: log_softmax is expanded into its row reductions before fusion (expand-rows.ts)');
  },
  reshape: (c) => c.v(0, 'i'),
  permute: (c) => {
    const st = stridesOf(inShape(c, 0));
    return c.v(
      0,
      remap(
        c.lines,
        'i',
        c.node.shape,
        attrNums(c.node, 'perm').map((p) => st[p] as number),
      ),
    );
  },
  broadcast_to: (c) => arg(c, 0),
  slice: (c) => {
    const st = stridesOf(inShape(c, 0));
    const base = attrNums(c.node, 'starts').reduce((acc, s, k) => acc + s * (st[k] as number), 0);
    return c.v(0, remap(c.lines, 'i', c.node.shape, st, base));
  },
  concat: (c) => {
    const axis = attrNum(c.node, 'axis');
    const [, total, inner] = around(c.node.shape, axis);
    c.lines.push(`let o = i / ${u(total * inner)};`, `let a = (i / ${u(inner)}) % ${u(total)};`, `let r = i % ${u(inner)};`);
    let at = 0;
    let last = '0.0';
    c.ins.forEach((x, k) => {
      const d = x.shape[axis] as number;
      const call = c.v(k, `(o * ${u(d)} + a - ${u(at)}) * ${u(inner)} + r`);
      if (k === c.ins.length - 1) last = call;
      else c.lines.push(`if (a < ${u(at + d)}) { return ${call}; }`);
      at += d;
    });
    return last;
  },
  pad: (c) => {
    const x = inShape(c, 0);
    const st = stridesOf(x);
    const before = attrNums(c.node, 'before');
    c.lines.push('var t = i;', 'var o = 0u;', 'var inside = true;');
    for (let k = c.node.shape.length - 1; k >= 0; k--) {
      const d = c.node.shape[k] as number;
      c.lines.push(`{ let s = i32(t % ${u(d)}) - ${before[k] as number}; t = t / ${u(d)};`);
      c.lines.push(`  if (s < 0 || s >= ${x[k] as number}) { inside = false; } else { o += u32(s) * ${u(st[k] as number)}; } }`);
    }
    c.lines.push(`if (!inside) { return ${f(attrNum(c.node, 'value'))}; }`);
    return c.v(0, 'o');
  },
  gather: gatherLike,
  scatter_add: (c) => {
    const axis = attrNum(c.node, 'axis');
    const [, dim, inner] = around(c.node.shape, axis);
    const k = numel(inShape(c, 1));
    c.lines.push(`let o = i / ${u(dim * inner)};`, `let row = (i / ${u(inner)}) % ${u(dim)};`, `let r = i % ${u(inner)};`);
    c.lines.push(`var acc = ${c.v(0, 'i')};`);
    c.lines.push(
      `for (var j = 0u; j < ${u(k)}; j++) { if (ix(${c.v(1, 'j')}, ${u(dim)}) == row) { acc += ${c.v(2, `(o * ${u(k)} + j) * ${u(inner)} + r`)}; } }`,
    );
    return 'acc';
  },
  take_along_axis: (c) => {
    const axis = attrNum(c.node, 'axis');
    const [, dim, inner] = around(inShape(c, 0), axis);
    const k = inShape(c, 1)[axis] as number;
    c.lines.push(`let o = i / ${u(k * inner)};`, `let r = i % ${u(inner)};`, `let row = ix(${c.v(1, 'i')}, ${u(dim)});`);
    return c.v(0, `(o * ${u(dim)} + row) * ${u(inner)} + r`);
  },
  scatter_add_along_axis: (c) => {
    const axis = attrNum(c.node, 'axis');
    const [, dim, inner] = around(c.node.shape, axis);
    const k = inShape(c, 1)[axis] as number;
    c.lines.push(`let o = i / ${u(dim * inner)};`, `let row = (i / ${u(inner)}) % ${u(dim)};`, `let r = i % ${u(inner)};`);
    c.lines.push(`var acc = ${c.v(0, 'i')};`);
    c.lines.push(
      `for (var j = 0u; j < ${u(k)}; j++) { let q = (o * ${u(k)} + j) * ${u(inner)} + r; if (ix(${c.v(1, 'q')}, ${u(dim)}) == row) { acc += ${c.v(2, 'q')}; } }`,
    );
    return 'acc';
  },
  topk_indices: (c) => {
    const x = inShape(c, 0);
    const n = x[x.length - 1] as number;
    const k = attrNum(c.node, 'k');
    c.lines.push(`let row = (i / ${u(k)}) * ${u(n)};`, `let want = i % ${u(k)};`);
    // rank of c = how many elements beat it (greater, or equal at a lower index)
    c.lines.push(`for (var cc = 0u; cc < ${u(n)}; cc++) { let xc = ${c.v(0, 'row + cc')}; var rank = 0u;`);
    c.lines.push(`  for (var e = 0u; e < ${u(n)}; e++) { let xe = ${c.v(0, 'row + e')}; if (xe > xc || (xe == xc && e < cc)) { rank++; } }`);
    c.lines.push(`  if (rank == want) { return f32(cc); } }`);
    return '0.0';
  },
  matmul: (c) => {
    const [as, bs] = [inShape(c, 0), inShape(c, 1)];
    const m = as[as.length - 2] as number;
    const k = as[as.length - 1] as number;
    const n = bs[bs.length - 1] as number;
    const batch = c.node.shape.slice(0, -2);
    c.lines.push(`let t = i / ${u(m * n)};`, `let row = (i / ${u(n)}) % ${u(m)};`, `let col = i % ${u(n)};`);
    const ab = remap(c.lines, 't', batch, broadcastStrides(as.slice(0, -2), batch));
    const bb = remap(c.lines, 't', batch, broadcastStrides(bs.slice(0, -2), batch));
    c.lines.push(`let a0 = ${ab} * ${u(m * k)} + row * ${u(k)};`, `let b0 = ${bb} * ${u(k * n)} + col;`, 'var acc = 0.0;');
    c.lines.push(`for (var p = 0u; p < ${u(k)}; p++) { acc = fma(${c.v(0, 'a0 + p')}, ${c.v(1, `b0 + p * ${u(n)}`)}, acc); }`);
    return 'acc';
  },
  conv2d: (c) => convPull(c, 'conv2d'),
  conv2d_grad_input: (c) => convPull(c, 'grad_input'),
  conv2d_grad_weight: (c) => convPull(c, 'grad_weight'),
  svd_values: () => {
    throw new Error('wgsl: svd_values runs on the host');
  },
  svd_values_grad: () => {
    throw new Error('wgsl: svd_values_grad runs on the host');
  },
};

/** The three convolutions in pull form: each output element sums its own contributions. */
function convPull(c: NodeCtx, kind: 'conv2d' | 'grad_input' | 'grad_weight'): string {
  const [sh, sw] = attrNums(c.node, 'stride') as [number, number];
  const [ph, pw] = attrNums(c.node, 'padding') as [number, number];
  const groups = attrNum(c.node, 'groups');
  const xs = kind === 'conv2d' ? inShape(c, 0) : kind === 'grad_input' ? c.node.shape : inShape(c, 0);
  const ws = kind === 'grad_weight' ? c.node.shape : inShape(c, 1);
  const ys = kind === 'conv2d' ? c.node.shape : kind === 'grad_input' ? inShape(c, 0) : inShape(c, 1);
  const [N, C, H, W] = xs as [number, number, number, number];
  const [O, cg, kh, kw] = ws as [number, number, number, number];
  const [, , OH, OW] = ys as [number, number, number, number];
  const og = O / groups;
  const xAt = (n: string, ch: string, y: string, x: string): string => `((${n} * ${u(C)} + ${ch}) * ${u(H)} + u32(${y})) * ${u(W)} + u32(${x})`;
  const wAt = (o: string, icg: string, ki: string, kj: string): string => `((${o} * ${u(cg)} + ${icg}) * ${u(kh)} + ${ki}) * ${u(kw)} + ${kj}`;
  const yAt = (n: string, o: string, y: string, x: string): string => `((${n} * ${u(O)} + ${o}) * ${u(OH)} + u32(${y})) * ${u(OW)} + u32(${x})`;
  const L = c.lines;
  L.push('var acc = 0.0;');
  if (kind === 'conv2d') {
    L.push(
      `let ox = i % ${u(OW)};`,
      `let oy = (i / ${u(OW)}) % ${u(OH)};`,
      `let oc = (i / ${u(OW * OH)}) % ${u(O)};`,
      `let n = i / ${u(OW * OH * O)};`,
      `let g = oc / ${u(og)};`,
    );
    L.push(`for (var icg = 0u; icg < ${u(cg)}; icg++) { for (var ki = 0u; ki < ${u(kh)}; ki++) { for (var kj = 0u; kj < ${u(kw)}; kj++) {`);
    L.push(`  let iy = i32(oy * ${u(sh)} + ki) - ${ph}; let jx = i32(ox * ${u(sw)} + kj) - ${pw};`);
    L.push(
      `  if (iy >= 0 && iy < ${H} && jx >= 0 && jx < ${W}) { acc = fma(${c.v(0, xAt('n', `g * ${u(cg)} + icg`, 'iy', 'jx'))}, ${c.v(1, wAt('oc', 'icg', 'ki', 'kj'))}, acc); }`,
    );
    L.push('} } }');
  } else if (kind === 'grad_input') {
    L.push(
      `let jx = i % ${u(W)};`,
      `let iy = (i / ${u(W)}) % ${u(H)};`,
      `let ch = (i / ${u(W * H)}) % ${u(C)};`,
      `let n = i / ${u(W * H * C)};`,
      `let g = ch / ${u(cg)};`,
      `let icg = ch % ${u(cg)};`,
    );
    L.push(`for (var o = g * ${u(og)}; o < (g + 1u) * ${u(og)}; o++) { for (var ki = 0u; ki < ${u(kh)}; ki++) { for (var kj = 0u; kj < ${u(kw)}; kj++) {`);
    L.push(`  let ty = i32(iy) + ${ph} - i32(ki); let tx = i32(jx) + ${pw} - i32(kj);`);
    L.push(`  if (ty < 0 || tx < 0 || ty % ${sh} != 0 || tx % ${sw} != 0) { continue; }`);
    L.push(`  let oy = ty / ${sh}; let ox = tx / ${sw};`);
    L.push(`  if (oy < ${OH} && ox < ${OW}) { acc = fma(${c.v(0, yAt('n', 'o', 'oy', 'ox'))}, ${c.v(1, wAt('o', 'icg', 'ki', 'kj'))}, acc); }`);
    L.push('} } }');
  } else {
    L.push(
      `let kj = i % ${u(kw)};`,
      `let ki = (i / ${u(kw)}) % ${u(kh)};`,
      `let icg = (i / ${u(kw * kh)}) % ${u(cg)};`,
      `let oc = i / ${u(kw * kh * cg)};`,
      `let ch = (oc / ${u(og)}) * ${u(cg)} + icg;`,
    );
    L.push(`for (var n = 0u; n < ${u(N)}; n++) { for (var oy = 0u; oy < ${u(OH)}; oy++) { for (var ox = 0u; ox < ${u(OW)}; ox++) {`);
    L.push(`  let iy = i32(oy * ${u(sh)} + ki) - ${ph}; let jx = i32(ox * ${u(sw)} + kj) - ${pw};`);
    L.push(
      `  if (iy >= 0 && iy < ${H} && jx >= 0 && jx < ${W}) { acc = fma(${c.v(0, xAt('n', 'ch', 'iy', 'jx'))}, ${c.v(1, yAt('n', 'oc', 'oy', 'ox'))}, acc); }`,
    );
    L.push('} } }');
  }
  return 'acc';
}
