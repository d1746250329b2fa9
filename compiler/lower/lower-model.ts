// Lowering: an instantiated model → the graph IR, one library rule per call. Every node carries
// the span of the spec construct it came from (the innermost layer call, else the statement).
// Besides the graph it returns what the rest of the system needs to name things: the parameters
// (paths, shapes, family inits), the inputs, and taps — every `let` name, layer path and `as`-named
// value mapped to its node — plus a per-layer summary (parameters, FLOPs, activation bytes).
//
// Example:
//   const { graph, params } = lowerModel(program, 'TinyLlama', { dims: { batch: 2 } });

import type { Program, Span } from '../../grammar/ast.ts';
import { GraphBuilder } from '../ir/builder.ts';
import type { DType as IrDType, Graph, Node } from '../ir/graph.ts';
import { broadcastShapes, IrTypeError } from '../ir/shape-rules.ts';
import { CallCtx, fmt, ParamRegistry, type ArgValue, type ParamInfo } from '../layers/context.ts';
import { FN_RULES, isFnName, LAYER_RULES } from '../layers/index.ts';
import { familyOf, type Family } from '../layers/init.ts';
import { isLayerName } from '../../grammar/library/param-names.ts';
import { LowerError } from '../../grammar/eval/errors.ts';
import { intermediateCount, orThrow } from '../../grammar/eval/integers.ts';
import { nodeBytes, nodeFlops } from './flops.ts';
import { instantiate, type InstantiateOptions, type InstCall, type InstExpr, type ModelInstance } from '../../grammar/eval/instantiate.ts';
import { lowerUserLayer } from './user-layer.ts';

export interface LowerOptions extends InstantiateOptions {
  /** Init family; defaults to the model's preset (or PyTorch defaults without one). */
  family?: Family;
}

export interface LoweredInput {
  name: string;
  dtype: IrDType;
  shape: readonly number[];
  node: number;
}

/** One layer call: what `scion explain` prints. */
export interface LayerSummary {
  path: string;
  callee: string;
  span: Span;
  /** Output shape of the call. */
  shape: readonly number[];
  params: number;
  flops: number;
  /** Bytes of the intermediate tensors the call creates in a forward pass. */
  activationBytes: number;
}

export interface LoweredModel {
  instance: ModelInstance;
  graph: Graph;
  params: ParamInfo[];
  inputs: LoweredInput[];
  outputs: Graph['outputs'];
  /** Named values: `let` names (last binding), SSA ids (`h@3`), layer paths and `as` taps → node id. */
  taps: ReadonlyMap<string, number>;
  layers: LayerSummary[];
  /** FLOPs of the whole forward pass (layers plus the glue between them). */
  flops: number;
}

const IR_DTYPE: Record<string, IrDType> = { f32: 'f32', f16: 'f16', bf16: 'f32', i32: 'i32', bool: 'bool' };

export function lowerModel(programs: Program | readonly Program[], modelName: string, opts: LowerOptions = {}): LoweredModel {
  return lowerInstance(instantiate(programs, modelName, opts), opts.family);
}

export function lowerInstance(instance: ModelInstance, familyOpt?: Family): LoweredModel {
  const b = new GraphBuilder();
  const family = familyOpt ?? familyOf(instance.preset);
  const lowering = new Lowering(b, new ParamRegistry(b, family), instance);
  const inputs: LoweredInput[] = instance.inputs.map((i) => {
    const dtype = IR_DTYPE[i.dtype] ?? 'f32';
    const node = b.withSpan(i.span, () => b.input(i.name, i.shape, dtype));
    lowering.vars.set(i.name, node);
    lowering.taps.set(i.name, node.id);
    return { name: i.name, dtype, shape: i.shape, node: node.id };
  });
  // Every value the graph makes is bounded as it is made, statement by statement (E0511), so
  // attention scores of batch × heads × ctx × ctx too large for a typed array stop at their line.
  let checked = b.nodes.length;
  for (const s of instance.stmts) {
    const node = b.withSpan(s.span, () => lowering.expr(s.value));
    for (; checked < b.nodes.length; checked++) {
      const n = b.nodes[checked] as Node;
      orThrow(intermediateCount(n.shape, n.op, n.span ?? s.span));
    }
    if (typeof node === 'number') throw new LowerError('E0415', `'${s.name}' must be a tensor, found the constant ${node}`, s.span);
    lowering.vars.set(s.id, node);
    lowering.taps.set(s.id, node.id);
    lowering.taps.set(s.name, node.id);
    if (s.kind === 'output') b.output(s.name, node);
  }
  const graph = b.build();
  let flops = 0;
  for (const n of graph.nodes) flops += nodeFlops(n, graph.nodes);
  return { instance, graph, params: lowering.registry.list, inputs, outputs: graph.outputs, taps: lowering.taps, layers: lowering.layers, flops };
}

type Val = Node | number;

export class Lowering {
  readonly vars = new Map<string, Node>();
  readonly taps = new Map<string, number>();
  readonly layers: LayerSummary[] = [];

  constructor(
    readonly b: GraphBuilder,
    readonly registry: ParamRegistry,
    readonly instance: ModelInstance,
  ) {}

  expr(e: InstExpr): Val {
    switch (e.kind) {
      case 'const':
        if (typeof e.value !== 'number') throw new LowerError('E0415', `a ${typeof e.value} where a tensor or number is expected`, e.span);
        return e.value;
      case 'var': {
        const n = this.vars.get(e.id);
        if (n === undefined) throw new Error(`bug: variable '${e.id}' used before its definition`);
        return n;
      }
      case 'neg': {
        const a = this.expr(e.arg);
        return typeof a === 'number' ? -a : this.b.withSpan(e.span, () => this.b.neg(a));
      }
      case 'binary':
        return this.b.withSpan(e.span, () => this.binary(e.op, this.expr(e.left), this.expr(e.right), e.span));
      case 'tap': {
        const v = this.expr(e.value);
        if (typeof v !== 'number') this.taps.set(e.path, v.id);
        return v;
      }
      case 'call':
        return this.call(e);
    }
  }

  private binary(op: '+' | '-' | '*' | '/' | '**', l: Val, r: Val, span: Span): Val {
    const b = this.b;
    if (typeof l === 'number' && typeof r === 'number') throw new Error('bug: constant binary not folded');
    let ln = l;
    let rn = r;
    if (typeof ln !== 'number' && typeof rn !== 'number') {
      try {
        broadcastShapes(ln.shape, rn.shape);
      } catch (error) {
        if (!(error instanceof IrTypeError)) throw error;
        throw new LowerError('E0902', `'${op}' of shapes ${fmt(ln.shape)} and ${fmt(rn.shape)}: they do not broadcast`, span);
      }
      // Mixed integer/float arithmetic promotes to float, as in PyTorch.
      if (ln.dtype !== rn.dtype) {
        if (ln.dtype === 'i32' || ln.dtype === 'bool') ln = b.cast(ln, rn.dtype);
        else rn = b.cast(rn, ln.dtype);
      }
    } else if (op === '/' || op === '**') {
      // Integer tensors divided by numbers become float, never truncated.
      if (typeof ln !== 'number' && ln.dtype !== 'f32' && ln.dtype !== 'f16') ln = b.cast(ln, 'f32');
      if (typeof rn !== 'number' && rn.dtype !== 'f32' && rn.dtype !== 'f16') rn = b.cast(rn, 'f32');
    }
    switch (op) {
      case '+':
        return b.add(ln, rn);
      case '-':
        return b.sub(ln, rn);
      case '*':
        return b.mul(ln, rn);
      case '/':
        return b.div(ln, rn);
      case '**':
        return b.pow(ln, rn);
    }
  }

  private call(e: InstCall): Node {
    const args = new Map<string, ArgValue>();
    for (const [k, a] of Object.entries(e.args)) {
      if (a.kind === 'const') args.set(k, { kind: 'const', value: a.value });
      else {
        const v = this.expr(a);
        args.set(k, typeof v === 'number' ? { kind: 'const', value: v } : { kind: 'tensor', node: v });
      }
    }
    const rest = e.rest.map((a) => {
      const v = this.expr(a);
      if (typeof v === 'number') throw new LowerError('E0406', `${e.callee} joins tensors, found the number ${v}`, a.span);
      return v;
    });
    const start = this.b.nodes.length;
    const before = this.registry.list.length;
    const ctx = new CallCtx(this.b, e.callee, args, rest, e.span, e.path, e.path === undefined ? undefined : this.registry);
    const out = this.b.withSpan(e.span, () => {
      if (e.user !== undefined) return lowerUserLayer(this, e, args);
      if (isLayerName(e.callee)) return LAYER_RULES[e.callee](ctx);
      if (isFnName(e.callee)) return FN_RULES[e.callee](ctx);
      throw new Error(`bug: '${e.callee}' reached lowering without a rule`);
    });
    if (e.path !== undefined) {
      const created = this.b.nodes.slice(start);
      this.taps.set(e.path, out.id);
      this.layers.push({
        path: e.path,
        callee: e.callee,
        span: e.span,
        shape: out.shape,
        params: this.registry.list.slice(before).reduce((p, q) => p + q.shape.reduce((x, y) => x * y, 1), 0),
        flops: created.reduce((p, n) => p + nodeFlops(n, this.b.nodes), 0),
        activationBytes: created.reduce((p, n) => p + nodeBytes(n), 0),
      });
    }
    return out;
  }
}
