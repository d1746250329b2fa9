// THE table of op cases: every primitive has hand-computed cases (small inputs, expected outputs
// written out by hand or taken from numpy/python as literals, a stated tolerance), and each case of
// a differentiable op is also checked by finite differences in f64 (op-cases.test.ts).

import type { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { DType, Node } from '../../../compiler/ir/graph.ts';
import type { Op } from '../../../compiler/ir/ops.ts';

export interface CaseInput {
  shape: number[];
  values: number[];
  dtype?: DType;
}

export interface OpCase {
  op: Op;
  name: string;
  inputs: Record<string, CaseInput>;
  /** Values fed to params the case declares itself. */
  params?: Record<string, CaseInput>;
  build: (b: GraphBuilder, x: (name: string) => Node) => Node;
  /** Expected output, written by hand. */
  expect?: { shape: number[]; values: number[]; dtype?: DType };
  /** For outputs that cannot be written by hand (random): a property check that throws. */
  check?: (values: ArrayLike<number>, shape: readonly number[]) => void;
  /** Max |got − want| / max(1, |want|) in f32 (f64 runs use tol/1e6, floored at 1e-12). */
  tol?: number;
  /** Inputs checked by finite differences (default: every float input); false: no FD check. */
  fd?: false | readonly string[];
}

const t = (shape: number[], values: number[], dtype?: DType): CaseInput => (dtype ? { shape, values, dtype } : { shape, values });
const E = Math.E;
const th = (x: number): number => (1 - Math.exp(-2 * x)) / (1 + Math.exp(-2 * x));
const X3 = t([3], [-1, 0.5, 2]);
const POS3 = t([3], [0.25, 1, 4]);
const M23 = t([2, 3], [1, 2, 3, 4, 5, 6]);

function stats(v: ArrayLike<number>): { mean: number; variance: number; min: number; max: number } {
  let s = 0,
    s2 = 0,
    min = Infinity,
    max = -Infinity;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    s += x;
    s2 += x * x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = s / v.length;
  return { mean, variance: s2 / v.length - mean * mean, min, max };
}

function assert(cond: boolean, msg: string): void {
  if (!cond) throw new Error(msg);
}

const KEY = t([2], [7, 3], 'i32');

export const OP_CASES: OpCase[] = [
  // ── sources ──
  { op: 'input', name: 'passes a named input through', inputs: { x: X3 }, build: (_b, x) => x('x'), expect: { shape: [3], values: [-1, 0.5, 2] }, fd: false },
  {
    op: 'param',
    name: 'reads a parameter by name',
    inputs: {},
    params: { w: t([2], [0.5, -3]) },
    build: (b) => b.param('w', [2], 'f32'),
    expect: { shape: [2], values: [0.5, -3] },
    fd: false,
  },
  {
    op: 'constant',
    name: 'row-major literal',
    inputs: {},
    build: (b) => b.constant([1, 2, 3, 4, 5, 6], [2, 3]),
    expect: { shape: [2, 3], values: [1, 2, 3, 4, 5, 6] },
  },
  { op: 'full', name: 'fills a shape', inputs: {}, build: (b) => b.full(2.5, [2, 2]), expect: { shape: [2, 2], values: [2.5, 2.5, 2.5, 2.5] } },
  { op: 'iota', name: 'index along axis 1', inputs: {}, build: (b) => b.iota([2, 3], 1), expect: { shape: [2, 3], values: [0, 1, 2, 0, 1, 2], dtype: 'i32' } },
  { op: 'iota', name: 'index along axis 0, as f32', inputs: {}, build: (b) => b.iota([2, 3], 0, 'f32'), expect: { shape: [2, 3], values: [0, 0, 0, 1, 1, 1] } },
  {
    op: 'random_uniform',
    name: '20k uniforms: range, mean 1/2, variance 1/12',
    inputs: { key: KEY },
    build: (b, x) => b.randomUniform(x('key'), [20000]),
    check: (v) => {
      const s = stats(v);
      assert(s.min >= 0 && s.max < 1, `uniform out of [0,1): ${s.min}..${s.max}`);
      assert(Math.abs(s.mean - 0.5) < 0.01 && Math.abs(s.variance - 1 / 12) < 0.005, `uniform stats ${JSON.stringify(s)}`);
    },
  },
  {
    op: 'random_normal',
    name: '20k normals: mean 0, variance 1',
    inputs: { key: KEY },
    build: (b, x) => b.randomNormal(x('key'), [20000]),
    check: (v) => {
      const s = stats(v);
      assert(Math.abs(s.mean) < 0.03 && Math.abs(s.variance - 1) < 0.04, `normal stats ${JSON.stringify(s)}`);
    },
  },

  // ── unary ──
  { op: 'neg', name: 'negates', inputs: { x: X3 }, build: (b, x) => b.neg(x('x')), expect: { shape: [3], values: [1, -0.5, -2] } },
  {
    op: 'neg',
    name: 'negates i32',
    inputs: { x: t([2], [3, -4], 'i32') },
    build: (b, x) => b.neg(x('x')),
    expect: { shape: [2], values: [-3, 4], dtype: 'i32' },
  },
  { op: 'abs', name: 'absolute value', inputs: { x: X3 }, build: (b, x) => b.abs(x('x')), expect: { shape: [3], values: [1, 0.5, 2] } },
  { op: 'sign', name: 'sign incl. zero', inputs: { x: t([3], [-3, 0, 2]) }, build: (b, x) => b.sign(x('x')), expect: { shape: [3], values: [-1, 0, 1] } },
  { op: 'exp', name: 'e^x', inputs: { x: X3 }, build: (b, x) => b.exp(x('x')), expect: { shape: [3], values: [1 / E, Math.sqrt(E), E * E] } },
  { op: 'log', name: 'ln x', inputs: { x: t([3], [0.5, 1, 4]) }, build: (b, x) => b.log(x('x')), expect: { shape: [3], values: [-Math.LN2, 0, 2 * Math.LN2] } },
  { op: 'sqrt', name: 'square root', inputs: { x: POS3 }, build: (b, x) => b.sqrt(x('x')), expect: { shape: [3], values: [0.5, 1, 2] } },
  { op: 'rsqrt', name: 'reciprocal square root', inputs: { x: POS3 }, build: (b, x) => b.rsqrt(x('x')), expect: { shape: [3], values: [2, 1, 0.5] } },
  { op: 'tanh', name: 'tanh', inputs: { x: X3 }, build: (b, x) => b.tanh(x('x')), expect: { shape: [3], values: [th(-1), th(0.5), th(2)] } },
  {
    op: 'sigmoid',
    name: 'logistic',
    inputs: { x: t([3], [-1, 0, 2]) },
    build: (b, x) => b.sigmoid(x('x')),
    expect: { shape: [3], values: [1 / (1 + E), 0.5, 1 / (1 + Math.exp(-2))] },
  },
  {
    op: 'sigmoid',
    name: 'no overflow far out',
    inputs: { x: t([2], [-800, 800]) },
    build: (b, x) => b.sigmoid(x('x')),
    expect: { shape: [2], values: [0, 1] },
    fd: false,
  },
  { op: 'relu', name: 'max(x, 0)', inputs: { x: X3 }, build: (b, x) => b.relu(x('x')), expect: { shape: [3], values: [0, 0.5, 2] } },
  {
    op: 'silu',
    name: 'x·sigmoid(x)',
    inputs: { x: X3 },
    build: (b, x) => b.silu(x('x')),
    expect: { shape: [3], values: [-1 / (1 + E), 0.5 / (1 + Math.exp(-0.5)), 2 / (1 + Math.exp(-2))] },
  },
  // Literals from python: 0.5*x*(1+math.tanh(math.sqrt(2/math.pi)*(x+0.044715*x**3))).
  {
    op: 'gelu_tanh',
    name: 'tanh-approximate GELU',
    inputs: { x: X3 },
    build: (b, x) => b.geluTanh(x('x')),
    expect: { shape: [3], values: [-0.15880800939172324, 0.34571400982514394, 1.954597694087775] },
  },
  {
    op: 'sin',
    name: 'sine',
    inputs: { x: t([3], [0, Math.PI / 6, Math.PI / 2]) },
    build: (b, x) => b.sin(x('x')),
    expect: { shape: [3], values: [0, 0.5, 1] },
  },
  { op: 'cos', name: 'cosine', inputs: { x: t([3], [0, Math.PI / 3, Math.PI]) }, build: (b, x) => b.cos(x('x')), expect: { shape: [3], values: [1, 0.5, -1] } },
  { op: 'recip', name: '1/x', inputs: { x: t([3], [2, -0.5, 4]) }, build: (b, x) => b.recip(x('x')), expect: { shape: [3], values: [0.5, -2, 0.25] } },

  // ── binary (broadcasting) ──
  {
    op: 'add',
    name: 'row vector broadcast',
    inputs: { a: M23, b: t([3], [10, 20, 30]) },
    build: (b, x) => b.add(x('a'), x('b')),
    expect: { shape: [2, 3], values: [11, 22, 33, 14, 25, 36] },
  },
  { op: 'add', name: 'JS number operand', inputs: { a: t([2], [1, 2]) }, build: (b, x) => b.add(x('a'), 0.5), expect: { shape: [2], values: [1.5, 2.5] } },
  {
    op: 'sub',
    name: 'column minus row → outer',
    inputs: { a: t([2, 1], [1, 2]), b: t([3], [1, 2, 3]) },
    build: (b, x) => b.sub(x('a'), x('b')),
    expect: { shape: [2, 3], values: [0, -1, -2, 1, 0, -1] },
  },
  {
    op: 'mul',
    name: 'scalar tensor broadcast',
    inputs: { a: M23, b: t([], [2]) },
    build: (b, x) => b.mul(x('a'), x('b')),
    expect: { shape: [2, 3], values: [2, 4, 6, 8, 10, 12] },
  },
  {
    op: 'mul',
    name: 'both operands broadcast',
    inputs: { a: t([2, 1], [1, 2]), b: t([1, 2], [3, 4]) },
    build: (b, x) => b.mul(x('a'), x('b')),
    expect: { shape: [2, 2], values: [3, 4, 6, 8] },
  },
  {
    op: 'div',
    name: 'a / b',
    inputs: { a: t([2], [1, 3]), b: t([2], [2, 4]) },
    build: (b, x) => b.div(x('a'), x('b')),
    expect: { shape: [2], values: [0.5, 0.75] },
  },
  {
    op: 'div',
    name: 'i32 truncates toward zero',
    inputs: { a: t([2], [7, -7], 'i32'), b: t([2], [2, 2], 'i32') },
    build: (b, x) => b.div(x('a'), x('b')),
    expect: { shape: [2], values: [3, -3], dtype: 'i32' },
  },
  {
    op: 'pow',
    name: 'a^b',
    inputs: { a: t([2, 2], [2, 3, 4, 0.5]), b: t([2, 2], [3, 2, 0.5, 2]) },
    build: (b, x) => b.pow(x('a'), x('b')),
    expect: { shape: [2, 2], values: [8, 9, 2, 0.25] },
  },
  {
    op: 'maximum',
    name: 'elementwise max',
    inputs: { a: t([3], [1, 5, -2]), b: t([3], [3, 2, -1]) },
    build: (b, x) => b.maximum(x('a'), x('b')),
    expect: { shape: [3], values: [3, 5, -1] },
  },
  {
    op: 'minimum',
    name: 'elementwise min',
    inputs: { a: t([3], [1, 5, -2]), b: t([3], [3, 2, -1]) },
    build: (b, x) => b.minimum(x('a'), x('b')),
    expect: { shape: [3], values: [1, 2, -2] },
  },
  ...(['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const).map(
    (op, k): OpCase => ({
      op,
      name: `${op} → bool`,
      inputs: { a: t([3], [1, 2, 3]), b: t([3], [2, 2, 2]) },
      build: (b, x) => b.binary(op, x('a'), x('b')),
      expect: {
        shape: [3],
        dtype: 'bool',
        values: [
          [0, 1, 0],
          [1, 0, 1],
          [1, 0, 0],
          [1, 1, 0],
          [0, 0, 1],
          [0, 1, 1],
        ][k] as number[],
      },
    }),
  ),
  {
    op: 'where',
    name: 'select',
    inputs: { c: t([3], [1, 0, 1], 'bool'), a: t([3], [1, 2, 3]), b: t([3], [10, 20, 30]) },
    build: (b, x) => b.where(x('c'), x('a'), x('b')),
    expect: { shape: [3], values: [1, 20, 3] },
  },
  {
    op: 'where',
    name: 'broadcast cond, row and scalar',
    inputs: { c: t([2, 1], [1, 0], 'bool'), a: t([3], [1, 2, 3]) },
    build: (b, x) => b.where(x('c'), x('a'), 0),
    expect: { shape: [2, 3], values: [1, 2, 3, 0, 0, 0] },
  },
  {
    op: 'cast',
    name: 'f32 → i32 truncates',
    inputs: { x: t([3], [1.7, -1.7, 0]) },
    build: (b, x) => b.cast(x('x'), 'i32'),
    expect: { shape: [3], values: [1, -1, 0], dtype: 'i32' },
  },
  {
    op: 'cast',
    name: 'f32 → bool is x ≠ 0',
    inputs: { x: t([3], [1.7, -1.7, 0]) },
    build: (b, x) => b.cast(x('x'), 'bool'),
    expect: { shape: [3], values: [1, 1, 0], dtype: 'bool' },
  },
  {
    op: 'cast',
    name: 'f32 → f16 → f32 keeps small values',
    inputs: { x: t([2], [0.5, -2]) },
    build: (b, x) => b.cast(b.cast(x('x'), 'f16'), 'f32'),
    expect: { shape: [2], values: [0.5, -2] },
  },
  {
    op: 'stop_gradient',
    name: 'identity forward',
    inputs: { x: X3 },
    build: (b, x) => b.stopGradient(x('x')),
    expect: { shape: [3], values: [-1, 0.5, 2] },
    fd: false,
  },

  // ── reductions ──
  { op: 'reduce_sum', name: 'rows', inputs: { x: M23 }, build: (b, x) => b.sum(x('x'), 1), expect: { shape: [2], values: [6, 15] } },
  { op: 'reduce_sum', name: 'columns, keepdim', inputs: { x: M23 }, build: (b, x) => b.sum(x('x'), 0, true), expect: { shape: [1, 3], values: [5, 7, 9] } },
  { op: 'reduce_sum', name: 'everything', inputs: { x: M23 }, build: (b, x) => b.sum(x('x')), expect: { shape: [], values: [21] } },
  {
    op: 'reduce_sum',
    name: 'middle axis of 3-D',
    inputs: { x: t([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]) },
    build: (b, x) => b.sum(x('x'), 1),
    expect: { shape: [2, 2], values: [4, 6, 12, 14] },
  },
  {
    op: 'reduce_max',
    name: 'rows',
    inputs: { x: t([2, 3], [1, 6, 3, -4, -1, -5]) },
    build: (b, x) => b.max(x('x'), 1),
    expect: { shape: [2], values: [6, -1] },
  },
  {
    op: 'reduce_max',
    name: 'all, keepdim',
    inputs: { x: t([2, 3], [1, 6, 3, -4, -1, -5]) },
    build: (b, x) => b.max(x('x'), [0, 1], true),
    expect: { shape: [1, 1], values: [6] },
  },
  {
    op: 'log_softmax',
    name: 'rows (last axis)',
    inputs: { x: t([2, 3], [1, 2, 3, -1, 0.5, -1]) },
    build: (b, x) => b.logSoftmax(x('x'), -1),
    // python: v − max − log Σ exp(r − max) per row
    expect: {
      shape: [2, 3],
      values: [-2.4076059644443806, -1.4076059644443804, -0.4076059644443804, -1.8689811354013155, -0.3689811354013155, -1.8689811354013155],
    },
  },
  {
    op: 'log_softmax',
    name: 'columns (axis 0), shifted by the max: 1000 does not overflow exp',
    inputs: { x: t([2, 2], [1000, -2, 1001, 3]) },
    build: (b, x) => b.logSoftmax(x('x'), 0),
    expect: { shape: [2, 2], values: [-1.3132616875182228, -5.006715348489118, -0.31326168751822286, -0.006715348489117967] },
  },
  {
    op: 'log_softmax',
    name: 'VJP through a take_along_axis pick (cross-entropy: the scatter-into-zeros form)',
    inputs: { x: t([2, 3], [1, 2, 3, -1, 0.5, -1]), i: t([2, 1], [0, 2], 'i32') },
    build: (b, x) => b.takeAlongAxis(b.logSoftmax(x('x'), 1), x('i'), 1),
    expect: { shape: [2, 1], values: [-2.4076059644443806, -1.8689811354013155] },
  },
  {
    op: 'argmax',
    name: 'first max wins',
    inputs: { x: t([2, 3], [1, 5, 3, 7, 2, 7]) },
    build: (b, x) => b.argmax(x('x'), 1),
    expect: { shape: [2], values: [1, 0], dtype: 'i32' },
  },
  {
    op: 'argmax',
    name: 'along axis 0',
    inputs: { x: t([2, 3], [1, 5, 3, 7, 2, 1]) },
    build: (b, x) => b.argmax(x('x'), 0),
    expect: { shape: [3], values: [1, 0, 0], dtype: 'i32' },
  },

  // ── movement ──
  {
    op: 'reshape',
    name: 'same data, new shape',
    inputs: { x: M23 },
    build: (b, x) => b.reshape(x('x'), [3, 2]),
    expect: { shape: [3, 2], values: [1, 2, 3, 4, 5, 6] },
  },
  {
    op: 'permute',
    name: '2-D transpose',
    inputs: { x: M23 },
    build: (b, x) => b.permute(x('x'), [1, 0]),
    expect: { shape: [3, 2], values: [1, 4, 2, 5, 3, 6] },
  },
  {
    op: 'permute',
    name: '3-D out[i,j,k] = x[j,k,i]',
    inputs: { x: t([2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]) },
    build: (b, x) => b.permute(x('x'), [2, 0, 1]),
    expect: { shape: [2, 2, 2], values: [0, 2, 4, 6, 1, 3, 5, 7] },
  },
  {
    op: 'broadcast_to',
    name: 'row to matrix',
    inputs: { x: t([3], [1, 2, 3]) },
    build: (b, x) => b.broadcastTo(x('x'), [2, 3]),
    expect: { shape: [2, 3], values: [1, 2, 3, 1, 2, 3] },
  },
  {
    op: 'broadcast_to',
    name: 'column to matrix',
    inputs: { x: t([2, 1], [1, 2]) },
    build: (b, x) => b.broadcastTo(x('x'), [2, 2]),
    expect: { shape: [2, 2], values: [1, 1, 2, 2] },
  },
  {
    op: 'slice',
    name: 'lower-left block',
    inputs: { x: t([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]) },
    build: (b, x) => b.slice(x('x'), [1, 0], [3, 2]),
    expect: { shape: [2, 2], values: [4, 5, 7, 8] },
  },
  {
    op: 'concat',
    name: 'along columns',
    inputs: { a: t([2, 1], [1, 2]), b: t([2, 2], [3, 4, 5, 6]) },
    build: (b, x) => b.concat([x('a'), x('b')], 1),
    expect: { shape: [2, 3], values: [1, 3, 4, 2, 5, 6] },
  },
  {
    op: 'concat',
    name: 'three along rows',
    inputs: { a: t([1, 2], [1, 2]), b: t([1, 2], [3, 4]), c: t([1, 2], [5, 6]) },
    build: (b, x) => b.concat([x('a'), x('b'), x('c')], 0),
    expect: { shape: [3, 2], values: [1, 2, 3, 4, 5, 6] },
  },
  {
    op: 'pad',
    name: '1-D zero padding',
    inputs: { x: t([2], [1, 2]) },
    build: (b, x) => b.pad(x('x'), [1], [2]),
    expect: { shape: [5], values: [0, 1, 2, 0, 0] },
  },
  {
    op: 'pad',
    name: '2-D with a value',
    inputs: { x: t([1, 2], [1, 2]) },
    build: (b, x) => b.pad(x('x'), [1, 0], [0, 1], 9),
    expect: { shape: [2, 3], values: [9, 9, 9, 1, 2, 9] },
  },

  // ── indexing ──
  {
    op: 'gather',
    name: 'embedding rows by a [2,2] id grid',
    inputs: { w: t([3, 2], [1, 2, 3, 4, 5, 6]), i: t([2, 2], [2, 0, 1, 2], 'i32') },
    build: (b, x) => b.gather(x('w'), x('i'), 0),
    expect: { shape: [2, 2, 2], values: [5, 6, 1, 2, 3, 4, 5, 6] },
  },
  {
    op: 'gather',
    name: 'columns (axis 1)',
    inputs: { w: M23, i: t([2], [2, 0], 'i32') },
    build: (b, x) => b.gather(x('w'), x('i'), 1),
    expect: { shape: [2, 2], values: [3, 1, 6, 4] },
  },
  {
    op: 'scatter_add',
    name: 'repeated rows accumulate',
    inputs: { base: t([3, 2], [1, 1, 1, 1, 1, 1]), i: t([3], [0, 2, 0], 'i32'), src: t([3, 2], [1, 2, 3, 4, 5, 6]) },
    build: (b, x) => b.scatterAdd(x('base'), x('i'), x('src'), 0),
    expect: { shape: [3, 2], values: [7, 9, 1, 1, 4, 5] },
  },
  {
    op: 'take_along_axis',
    name: 'per-row picks',
    inputs: { x: M23, i: t([2, 2], [2, 0, 1, 1], 'i32') },
    build: (b, x) => b.takeAlongAxis(x('x'), x('i'), 1),
    expect: { shape: [2, 2], values: [3, 1, 5, 5] },
  },
  {
    op: 'scatter_add_along_axis',
    name: 'per-row adds',
    inputs: { base: t([2, 3], [0, 0, 0, 0, 0, 1]), i: t([2, 2], [2, 0, 1, 1], 'i32'), src: t([2, 2], [1, 2, 3, 4]) },
    build: (b, x) => b.scatterAddAlongAxis(x('base'), x('i'), x('src'), 1),
    expect: { shape: [2, 3], values: [2, 0, 1, 0, 7, 1] },
  },
  {
    op: 'topk_indices',
    name: 'top 2 per row, tie → lower index',
    inputs: { x: t([2, 4], [1, 3, 2, 3, 5, -1, 0, 4]) },
    build: (b, x) => b.topkIndices(x('x'), 2),
    expect: { shape: [2, 2], values: [1, 3, 0, 3], dtype: 'i32' },
  },

  // ── contractions ──
  {
    op: 'matmul',
    name: '[2,3]@[3,2]',
    inputs: { a: M23, b: t([3, 2], [7, 8, 9, 10, 11, 12]) },
    build: (b, x) => b.matmul(x('a'), x('b')),
    expect: { shape: [2, 2], values: [58, 64, 139, 154] },
  },
  {
    op: 'matmul',
    name: 'batched a, shared b',
    inputs: { a: t([2, 1, 2], [1, 2, 3, 4]), b: t([2, 1], [1, -1]) },
    build: (b, x) => b.matmul(x('a'), x('b')),
    expect: { shape: [2, 1, 1], values: [-1, -1] },
  },
  {
    op: 'matmul',
    name: 'batch dims broadcast both ways',
    inputs: { a: t([2, 1, 1, 2], [1, 2, 3, 4]), b: t([1, 2, 2, 1], [1, 0, 0, 1]) },
    build: (b, x) => b.matmul(x('a'), x('b')),
    expect: { shape: [2, 2, 1, 1], values: [1, 2, 3, 4] },
  },
  {
    op: 'conv2d',
    name: '2×2 diagonal kernel',
    inputs: { x: t([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]), w: t([1, 1, 2, 2], [1, 0, 0, 1]) },
    build: (b, x) => b.conv2d(x('x'), x('w')),
    expect: { shape: [1, 1, 2, 2], values: [6, 8, 12, 14] },
  },
  {
    op: 'conv2d',
    name: 'stride 2, padding 1',
    inputs: { x: t([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]), w: t([1, 1, 2, 2], [1, 1, 1, 1]) },
    build: (b, x) => b.conv2d(x('x'), x('w'), { stride: 2, padding: 1 }),
    expect: { shape: [1, 1, 2, 2], values: [1, 5, 11, 28] },
  },
  {
    op: 'conv2d',
    name: 'channels summed',
    inputs: { x: t([1, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]), w: t([1, 2, 1, 1], [1, -1]) },
    build: (b, x) => b.conv2d(x('x'), x('w')),
    expect: { shape: [1, 1, 2, 2], values: [-4, -4, -4, -4] },
  },
  {
    op: 'conv2d',
    name: 'depthwise (groups = C)',
    inputs: { x: t([1, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]), w: t([2, 1, 1, 1], [2, 3]) },
    build: (b, x) => b.conv2d(x('x'), x('w'), { groups: 2 }),
    expect: { shape: [1, 2, 2, 2], values: [2, 4, 6, 8, 15, 18, 21, 24] },
  },
  {
    op: 'conv2d_grad_input',
    name: 'transposed conv scatters dy through w',
    inputs: { dy: t([1, 1, 2, 2], [1, 2, 3, 4]), w: t([1, 1, 2, 2], [1, 0, 0, 1]) },
    build: (b, x) => b.conv2dGradInput(x('dy'), x('w'), [3, 3]),
    expect: { shape: [1, 1, 3, 3], values: [1, 2, 0, 3, 5, 2, 0, 3, 4] },
  },
  {
    op: 'conv2d_grad_input',
    name: 'stride 2, padding 1',
    inputs: { dy: t([1, 1, 2, 2], [1, 2, 3, 4]), w: t([1, 1, 2, 2], [1, 1, 1, 1]) },
    build: (b, x) => b.conv2dGradInput(x('dy'), x('w'), [3, 3], { stride: 2, padding: 1 }),
    expect: { shape: [1, 1, 3, 3], values: [1, 2, 2, 3, 4, 4, 3, 4, 4] },
  },
  {
    op: 'conv2d_grad_weight',
    name: 'correlates x with dy',
    inputs: { x: t([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]), dy: t([1, 1, 2, 2], [1, 0, 0, 1]) },
    build: (b, x) => b.conv2dGradWeight(x('x'), x('dy'), [2, 2]),
    expect: { shape: [1, 1, 2, 2], values: [6, 8, 12, 14] },
  },
  {
    op: 'svd_values',
    name: 'diagonal: |entries| sorted',
    inputs: { x: t([2, 2], [3, 0, 0, -4]) },
    build: (b, x) => b.svdValues(x('x')),
    expect: { shape: [2], values: [4, 3] },
  },
  {
    op: 'svd_values',
    name: 'row vector: its norm',
    inputs: { x: t([1, 2], [3, 4]) },
    build: (b, x) => b.svdValues(x('x')),
    expect: { shape: [1], values: [5] },
  },
  // Literals from numpy.linalg.svd(..., compute_uv=False).
  {
    op: 'svd_values',
    name: 'wide 2×3',
    inputs: { x: t([2, 3], [1, 2, 0, 0, 1, 3]) },
    build: (b, x) => b.svdValues(x('x')),
    expect: { shape: [2], values: [3.2713242148580175, 2.0732674408487624] },
  },
  {
    op: 'svd_values',
    name: 'batched, equal σ',
    inputs: { x: t([2, 2, 2], [1, 2, 3, 4, 0, 1, 1, 0]) },
    build: (b, x) => b.svdValues(x('x')),
    expect: { shape: [2, 2], values: [5.464985704219043, 0.36596619062625746, 1, 1] },
    fd: false,
  },
  // Odd n = 3: the ONNX Jacobi pads a zero column to pair columns in rounds (onnx-svd.ts).
  {
    op: 'svd_values',
    name: 'tall 4×3 (numpy)',
    inputs: { x: t([4, 3], [2, 0, 1, 1, 3, 0, 0, 1, 4, 1, 1, 1]) },
    build: (b, x) => b.svdValues(x('x')),
    expect: { shape: [3], values: [4.680722868313052, 3.051490258834983, 1.944026910895639] },
  },
  // x = e1·3·e1ᵀ + e2·4·(−e2)ᵀ: u1v1ᵀ = [[0,0],[0,−1]], u2v2ᵀ = [[1,0],[0,0]].
  {
    op: 'svd_values_grad',
    name: 'Σ g_i u_i v_iᵀ',
    inputs: { x: t([2, 2], [3, 0, 0, -4]), g: t([2], [1, 2]) },
    build: (b, x) => b.svdValuesGrad(x('x'), x('g')),
    expect: { shape: [2, 2], values: [2, 0, 0, -1] },
    fd: false,
  },
  // U·diag(g)·Vᵀ from numpy.linalg.svd(x, full_matrices=False).
  {
    op: 'svd_values_grad',
    name: 'tall 4×3 (numpy)',
    inputs: { x: t([4, 3], [2, 0, 1, 1, 3, 0, 0, 1, 4, 1, 1, 1]), g: t([3], [1, -2, 0.5]) },
    build: (b, x) => b.svdValuesGrad(x('x'), x('g')),
    expect: {
      shape: [4, 3],
      values: [
        0.4226298663506398, -0.1725197482096645, 0.3154403889907189, -0.6749629741071931, -1.007187627266926, 1.254996569936034, 0.47752826591291886,
        1.1784234621880973, 0.13418527592737323, 0.03956164168228332, -0.1555718910401229, 0.48642722376712794,
      ],
    },
    fd: false,
  },
];

/** Ops whose VJP is not checked by finite differences, with the reason. */
export const FD_SKIPS: Partial<Record<Op, string>> = {
  svd_values_grad: 'second-order gradients through svd_values are not supported (its VJP throws)',
};
