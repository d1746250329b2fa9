// The one way to make IR nodes. Hash-consed: building an equal node (same op, operands and attrs)
// returns the existing one, so equality is identity and CSE is free. Every node's dtype and shape
// come from OP_INFO's rules, so a built graph is well-typed by construction.
//
// Example:
//   const b = new GraphBuilder();
//   const x = b.input('x', [2, 3]);
//   const w = b.param('lin.weight', [3, 4]);
//   b.output('y', b.relu(b.matmul(x, w)));
//   const g = b.build();

import type { Span } from '../../grammar/ast.ts';
import type { AttrValue, Attrs, DType, Graph, GraphOutput, Node, Shape } from './graph.ts';
import { OP_INFO, type BinaryArithOp, type CompareOp, type Op, type UnaryFloatOp, type UnaryNumericOp } from './ops.ts';
import { fail, fmtShape, normAxis } from './shape-rules.ts';

/** A node, or a JS number that becomes a scalar constant of the other operand's dtype. */
export type Operand = Node | number;

export interface ConvOpts {
  stride?: readonly [number, number] | number;
  padding?: readonly [number, number] | number;
  groups?: number;
}

/** Formats a number so the text form and hash keys are exact and handle ±inf/nan. */
export function fmtNum(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

export function fmtAttr(v: AttrValue): string {
  if (typeof v === 'number') return fmtNum(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean') return String(v);
  return `[${v.map(fmtNum).join(',')}]`;
}

function attrKey(attrs: Attrs): string {
  return Object.keys(attrs)
    .sort()
    .map((k) => `${k}=${fmtAttr(attrs[k] as AttrValue)}`)
    .join(';');
}

const pair = (v: readonly [number, number] | number | undefined, dflt: number): [number, number] =>
  v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

export class GraphBuilder {
  private readonly list: Node[] = [];
  private readonly byKey = new Map<string, Node>();
  private readonly outs: GraphOutput[] = [];
  private readonly paramsByName = new Map<string, Node>();
  private currentSpan: Span | undefined;
  private nextStream = 0;

  /** Rebuilds an existing graph (nodes and outputs) into a fresh builder, e.g. to extend it. */
  static from(graph: Graph): { builder: GraphBuilder; nodes: Node[] } {
    const b = new GraphBuilder();
    const map: Node[] = [];
    for (const n of graph.nodes) {
      const ins = n.inputs.map((i) => map[i] ?? fail(`node %${n.id} uses %${i} before definition`));
      map[n.id] = b.withSpan(n.span, () => b.apply(n.op, ins, n.attrs));
    }
    for (const o of graph.outputs) b.output(o.name, map[o.node] ?? fail(`output ${o.name} names missing %${o.node}`));
    return { builder: b, nodes: map };
  }

  get nodes(): readonly Node[] {
    return this.list;
  }

  get outputs(): readonly GraphOutput[] {
    return this.outs;
  }

  /** Nodes built inside `fn` carry `span` (lowering wraps each AST node's lowering in this). */
  withSpan<R>(span: Span | undefined, fn: () => R): R {
    const saved = this.currentSpan;
    this.currentSpan = span ?? saved;
    try {
      return fn();
    } finally {
      this.currentSpan = saved;
    }
  }

  /** The generic constructor: checks arity and attrs, derives dtype/shape, hash-conses. */
  apply(op: Op, inputs: readonly Node[], attrs: Attrs = {}): Node {
    const info = OP_INFO[op];
    if (info.arity === 'variadic' ? inputs.length < 1 : inputs.length !== info.arity) {
      fail(`${op} takes ${info.arity} operands, got ${inputs.length}`);
    }
    for (const k of info.attrs) if (!(k in attrs)) fail(`${op} is missing attr '${k}'`);
    for (const k of Object.keys(attrs)) if (!info.attrs.includes(k)) fail(`${op} has unknown attr '${k}'`);
    for (const i of inputs) if (this.list[i.id] !== i) fail(`${op}: operand %${i.id} belongs to another builder`);
    const key = `${op}|${inputs.map((i) => i.id).join(',')}|${attrKey(attrs)}`;
    const hit = this.byKey.get(key);
    if (hit) return hit;
    const types = inputs.map((i) => ({ dtype: i.dtype, shape: i.shape }));
    const dtype = info.dtype(types, attrs);
    const shape = Object.freeze([...info.shape(types, attrs)]);
    if (op === 'param') {
      const name = attrs['name'] as string;
      if (this.paramsByName.has(name)) fail(`param '${name}' declared twice with different shape, dtype or trainable`);
    }
    const base = { id: this.list.length, op, inputs: Object.freeze(inputs.map((i) => i.id)), attrs: Object.freeze({ ...attrs }), dtype, shape };
    const node: Node = Object.freeze(this.currentSpan ? { ...base, span: this.currentSpan } : base);
    this.list.push(node);
    this.byKey.set(key, node);
    if (op === 'param') this.paramsByName.set(attrs['name'] as string, node);
    return node;
  }

  private lift(v: Operand, like: Node | undefined): Node {
    return typeof v === 'number' ? this.full(v, [], like?.dtype ?? 'f32') : v;
  }

  private lift2(a: Operand, b: Operand): [Node, Node] {
    const an = typeof a === 'number' ? undefined : a;
    const bn = typeof b === 'number' ? undefined : b;
    return [this.lift(a, bn), this.lift(b, an)];
  }

  // ── sources ──
  input(name: string, shape: Shape, dtype: DType = 'f32'): Node {
    return this.apply('input', [], { name, shape, dtype });
  }
  param(name: string, shape: Shape, dtype: DType = 'f32', opts: { trainable?: boolean } = {}): Node {
    return this.apply('param', [], { name, shape, dtype, trainable: opts.trainable ?? true });
  }
  constant(data: readonly number[], shape: Shape, dtype: DType = 'f32'): Node {
    return this.apply('constant', [], { shape, dtype, data });
  }
  full(value: number, shape: Shape, dtype: DType = 'f32'): Node {
    return this.apply('full', [], { shape, dtype, value });
  }
  scalar(value: number, dtype: DType = 'f32'): Node {
    return this.full(value, [], dtype);
  }
  iota(shape: Shape, axis: number, dtype: DType = 'i32'): Node {
    return this.apply('iota', [], { shape, dtype, axis: normAxis(axis, shape.length) });
  }
  /** `key` is i32[2] = [seed, counter]; each call gets its own stream unless one is given. */
  randomUniform(key: Node, shape: Shape, stream?: number): Node {
    return this.apply('random_uniform', [key], { shape, stream: stream ?? this.nextStream++ });
  }
  randomNormal(key: Node, shape: Shape, stream?: number): Node {
    return this.apply('random_normal', [key], { shape, stream: stream ?? this.nextStream++ });
  }

  // ── elementwise ──
  unary(op: UnaryFloatOp | UnaryNumericOp, x: Node): Node {
    return this.apply(op, [x]);
  }
  neg(x: Node): Node {
    return this.apply('neg', [x]);
  }
  abs(x: Node): Node {
    return this.apply('abs', [x]);
  }
  sign(x: Node): Node {
    return this.apply('sign', [x]);
  }
  exp(x: Node): Node {
    return this.apply('exp', [x]);
  }
  log(x: Node): Node {
    return this.apply('log', [x]);
  }
  sqrt(x: Node): Node {
    return this.apply('sqrt', [x]);
  }
  rsqrt(x: Node): Node {
    return this.apply('rsqrt', [x]);
  }
  tanh(x: Node): Node {
    return this.apply('tanh', [x]);
  }
  sigmoid(x: Node): Node {
    return this.apply('sigmoid', [x]);
  }
  relu(x: Node): Node {
    return this.apply('relu', [x]);
  }
  silu(x: Node): Node {
    return this.apply('silu', [x]);
  }
  geluTanh(x: Node): Node {
    return this.apply('gelu_tanh', [x]);
  }
  sin(x: Node): Node {
    return this.apply('sin', [x]);
  }
  cos(x: Node): Node {
    return this.apply('cos', [x]);
  }
  recip(x: Node): Node {
    return this.apply('recip', [x]);
  }

  binary(op: BinaryArithOp | CompareOp, a: Operand, b: Operand): Node {
    return this.apply(op, this.lift2(a, b));
  }
  add(a: Operand, b: Operand): Node {
    return this.binary('add', a, b);
  }
  sub(a: Operand, b: Operand): Node {
    return this.binary('sub', a, b);
  }
  mul(a: Operand, b: Operand): Node {
    return this.binary('mul', a, b);
  }
  div(a: Operand, b: Operand): Node {
    return this.binary('div', a, b);
  }
  pow(a: Operand, b: Operand): Node {
    return this.binary('pow', a, b);
  }
  maximum(a: Operand, b: Operand): Node {
    return this.binary('maximum', a, b);
  }
  minimum(a: Operand, b: Operand): Node {
    return this.binary('minimum', a, b);
  }
  eq(a: Operand, b: Operand): Node {
    return this.binary('eq', a, b);
  }
  ne(a: Operand, b: Operand): Node {
    return this.binary('ne', a, b);
  }
  lt(a: Operand, b: Operand): Node {
    return this.binary('lt', a, b);
  }
  le(a: Operand, b: Operand): Node {
    return this.binary('le', a, b);
  }
  gt(a: Operand, b: Operand): Node {
    return this.binary('gt', a, b);
  }
  ge(a: Operand, b: Operand): Node {
    return this.binary('ge', a, b);
  }
  where(cond: Node, a: Operand, b: Operand): Node {
    const [x, y] = this.lift2(a, b);
    return this.apply('where', [cond, x, y]);
  }
  cast(x: Node, dtype: DType): Node {
    return x.dtype === dtype ? x : this.apply('cast', [x], { dtype });
  }
  stopGradient(x: Node): Node {
    return this.apply('stop_gradient', [x]);
  }

  // ── reductions (axes undefined = all axes) ──
  private axesOf(x: Node, axes: number | readonly number[] | undefined): number[] {
    const list = axes === undefined ? x.shape.map((_d, i) => i) : typeof axes === 'number' ? [axes] : [...axes];
    return list.map((a) => normAxis(a, x.shape.length)).sort((p, q) => p - q);
  }
  sum(x: Node, axes?: number | readonly number[], keepdim = false): Node {
    return this.apply('reduce_sum', [x], { axes: this.axesOf(x, axes), keepdim });
  }
  max(x: Node, axes?: number | readonly number[], keepdim = false): Node {
    return this.apply('reduce_max', [x], { axes: this.axesOf(x, axes), keepdim });
  }
  argmax(x: Node, axis: number): Node {
    return this.apply('argmax', [x], { axis: normAxis(axis, x.shape.length) });
  }
  logSoftmax(x: Node, axis = -1): Node {
    return this.apply('log_softmax', [x], { axis: normAxis(axis, x.shape.length) });
  }

  // ── movement ──
  /** One dim may be -1 (inferred). Reshaping to the same shape returns x. */
  reshape(x: Node, shape: readonly number[]): Node {
    const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
    const total = x.shape.reduce((p, d) => p * d, 1);
    const s = shape.map((d) => (d === -1 ? total / known : d));
    if (s.length === x.shape.length && s.every((d, i) => d === x.shape[i])) return x;
    return this.apply('reshape', [x], { shape: s });
  }
  permute(x: Node, perm: readonly number[]): Node {
    const p = perm.map((a) => normAxis(a, x.shape.length));
    if (p.every((v, i) => v === i)) return x;
    return this.apply('permute', [x], { perm: p });
  }
  /** Swaps two axes (default: the last two). */
  transpose(x: Node, a = -2, b = -1): Node {
    const r = x.shape.length;
    const perm = x.shape.map((_d, i) => i);
    const i = normAxis(a, r);
    const j = normAxis(b, r);
    perm[i] = j;
    perm[j] = i;
    return this.permute(x, perm);
  }
  broadcastTo(x: Node, shape: Shape): Node {
    if (shape.length === x.shape.length && shape.every((d, i) => d === x.shape[i])) return x;
    return this.apply('broadcast_to', [x], { shape });
  }
  slice(x: Node, starts: readonly number[], ends: readonly number[]): Node {
    return this.apply('slice', [x], { starts, ends });
  }
  /** x[..., start:end, ...] on one axis. */
  sliceAxis(x: Node, axis: number, start: number, end: number): Node {
    const a = normAxis(axis, x.shape.length);
    return this.slice(
      x,
      x.shape.map((_d, i) => (i === a ? start : 0)),
      x.shape.map((d, i) => (i === a ? end : d)),
    );
  }
  concat(xs: readonly Node[], axis: number): Node {
    if (xs.length === 1) return xs[0] as Node;
    const first = xs[0] ?? fail('concat of nothing');
    return this.apply('concat', xs, { axis: normAxis(axis, first.shape.length) });
  }
  pad(x: Node, before: readonly number[], after: readonly number[], value = 0): Node {
    return this.apply('pad', [x], { before, after, value });
  }

  // ── indexing ──
  gather(x: Node, idx: Node, axis = 0): Node {
    return this.apply('gather', [x, idx], { axis: normAxis(axis, x.shape.length) });
  }
  scatterAdd(base: Node, idx: Node, src: Node, axis = 0): Node {
    return this.apply('scatter_add', [base, idx, src], { axis: normAxis(axis, base.shape.length) });
  }
  takeAlongAxis(x: Node, idx: Node, axis: number): Node {
    return this.apply('take_along_axis', [x, idx], { axis: normAxis(axis, x.shape.length) });
  }
  scatterAddAlongAxis(base: Node, idx: Node, src: Node, axis: number): Node {
    return this.apply('scatter_add_along_axis', [base, idx, src], { axis: normAxis(axis, base.shape.length) });
  }
  topkIndices(x: Node, k: number): Node {
    return this.apply('topk_indices', [x], { k });
  }

  // ── contractions ──
  matmul(a: Node, b: Node): Node {
    return this.apply('matmul', [a, b]);
  }
  conv2d(x: Node, w: Node, opts: ConvOpts = {}): Node {
    return this.apply('conv2d', [x, w], { stride: pair(opts.stride, 1), padding: pair(opts.padding, 0), groups: opts.groups ?? 1 });
  }
  conv2dGradInput(dy: Node, w: Node, inputHW: readonly [number, number], opts: ConvOpts = {}): Node {
    return this.apply('conv2d_grad_input', [dy, w], {
      stride: pair(opts.stride, 1),
      padding: pair(opts.padding, 0),
      groups: opts.groups ?? 1,
      input_hw: inputHW,
    });
  }
  conv2dGradWeight(x: Node, dy: Node, kernelHW: readonly [number, number], opts: ConvOpts = {}): Node {
    return this.apply('conv2d_grad_weight', [x, dy], {
      stride: pair(opts.stride, 1),
      padding: pair(opts.padding, 0),
      groups: opts.groups ?? 1,
      kernel_hw: kernelHW,
    });
  }
  svdValues(x: Node): Node {
    return this.apply('svd_values', [x]);
  }
  svdValuesGrad(x: Node, g: Node): Node {
    return this.apply('svd_values_grad', [x, g]);
  }

  // ── graph ──
  output(name: string, node: Node): void {
    if (this.outs.some((o) => o.name === name)) fail(`output '${name}' declared twice`);
    if (this.list[node.id] !== node) fail(`output '${name}': node %${node.id} belongs to another builder`);
    this.outs.push({ name, node: node.id });
  }

  /** The finished graph. `prune` drops nodes no output depends on (and renumbers). */
  build(opts: { prune?: boolean } = {}): Graph {
    if (!opts.prune) return { nodes: [...this.list], outputs: [...this.outs] };
    const live = new Uint8Array(this.list.length);
    for (const o of this.outs) live[o.node] = 1;
    for (let i = this.list.length - 1; i >= 0; i--) if (live[i]) for (const j of (this.list[i] as Node).inputs) live[j] = 1;
    const remap = new Map<number, number>();
    const nodes: Node[] = [];
    for (const n of this.list) {
      if (!live[n.id]) continue;
      remap.set(n.id, nodes.length);
      nodes.push(Object.freeze({ ...n, id: nodes.length, inputs: Object.freeze(n.inputs.map((i) => remap.get(i) as number)) }));
    }
    return { nodes, outputs: this.outs.map((o) => ({ name: o.name, node: remap.get(o.node) as number })) };
  }

  describe(n: Node): string {
    return `%${n.id}: ${n.dtype}${fmtShape(n.shape)} = ${n.op}`;
  }
}
