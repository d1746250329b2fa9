// Lowering a `train` declaration into ONE graph: the student's forward pass, the frozen teacher and
// base forwards beside it (parameters prefixed `teacher.` / `base.`, trainable=false, their taps
// behind stop_gradient), the loss expression over taps and data fields (each loss call a rule of
// LOSS_RULES, `ramp(...)` weights as scalar inputs fed per step), and ∂loss/∂p for every trainable
// parameter. The runtime feeds data, weights and parameters by name and reads `loss`, the
// per-term outputs and `grad:<param>`.
//
// Example:
//   const t = lowerTrain(program, 'TinyLlama', { batch: 16 });
//   runGraph(t.graph, feeds, { dtype: 'f32' }).get('loss');

import type { BinaryOp, Expr, Program, Span, TrainDecl } from '../../grammar/ast.ts';
import { lookup } from '../../grammar/library/signatures.ts';
import { gradients, gradName } from '../autodiff/grad.ts';
import { GraphBuilder } from '../ir/builder.ts';
import type { DType, Graph, Node } from '../ir/graph.ts';
import { broadcastShapes, IrTypeError } from '../ir/shape-rules.ts';
import { CallCtx, fmt, type ArgValue } from '../layers/context.ts';
import type { Init } from '../layers/init.ts';
import { FN_RULES, isFnName } from '../layers/index.ts';
import { commandLineSpan, LowerError, nearest } from '../../grammar/eval/errors.ts';
import { bindCallArgs, calleeOf, constExpr, findTrain } from './lower-train-config.ts';
import { isLossName, LOSS_RULES, type LossName, type LossParam } from './lower-train-loss.ts';
import type { AdaptedModel } from '../adapters/index.ts';
import { isAdapterName, lowerAdaptedStudent } from './lower-train-adapter.ts';
import { lowerModel, type LoweredModel } from './lower-model.ts';
import { foldBinary } from './values.ts';

export type FrozenRole = 'teacher' | 'base';

export interface FrozenModel {
  role: FrozenRole;
  /** The frozen model's own lowering (its parameter paths are unprefixed there). */
  model: LoweredModel;
  /** `teacher.` or `base.`: its parameters are fed as `<prefix><path>`. */
  prefix: string;
  span: Span;
}

/** A loss weight that changes with the step: fed as the scalar input `input` each step. */
export interface ScheduledWeight {
  input: string;
  from: number;
  to: number;
  steps: number;
  span: Span;
}

export interface LossTerm {
  /** Graph output holding the term's (unweighted) value. */
  output: string;
  callee: LossName;
  span: Span;
}

export interface TrainableParam {
  path: string;
  shape: readonly number[];
  init: Init;
  /** Whether the model file holds it (student parameters) or only checkpoints (loss projections). */
  inModel: boolean;
}

export interface LoweredTrain {
  decl: TrainDecl;
  student: LoweredModel;
  /**
   * When the target names an adapter: the adapted student (lower-train-adapter.ts). Its frozen
   * base parameters are fed under their own paths; `base = <adapter.on> frozen` reads its base
   * taps and adds nothing to `frozen`.
   */
  adapter?: { model: AdaptedModel; fresh: string[] };
  frozen: FrozenModel[];
  /** Outputs: `loss`, one per term, and `grad:<path>` per trainable parameter (unless grads: false). */
  graph: Graph;
  trainable: TrainableParam[];
  /** What each batch feeds: the student's inputs and the data fields the loss reads (`label`). */
  data: { name: string; dtype: DType; shape: readonly number[] }[];
  weights: ScheduledWeight[];
  terms: LossTerm[];
}

export interface LowerTrainOptions {
  batch: number;
  /** Add gradient outputs (default true); false gives the evaluation graph. */
  grads?: boolean;
  /** Adapter targets: dropout on the adapter inputs (needs `dropout_key` fed). Default: `grads`. */
  dropout?: boolean;
}

type Val = Node | number;

export function lowerTrain(programs: Program | readonly Program[], target: string, opts: LowerTrainOptions): LoweredTrain {
  const decl = findTrain(programs, target);
  if (decl === undefined) throw new LowerError('E0905', `no \`train ${target}\` declaration`, commandLineSpan('--model'));
  const adapted = isAdapterName(programs, target)
    ? lowerAdaptedStudent(
        programs,
        target,
        opts.batch,
        opts.dropout ?? opts.grads !== false,
        decl.fields.some((f) => f.key === 'base'),
      )
    : undefined;
  const student: LoweredModel = adapted?.model ?? lowerModel(programs, target, { dims: { batch: opts.batch } });
  const { builder: b, nodes: studentNodes } = GraphBuilder.from(student.graph);
  const frozen: FrozenModel[] = [];
  const frozenNodes = new Map<FrozenRole, { model: LoweredModel; nodes: Node[] }>();
  for (const role of ['teacher', 'base'] as const) {
    const f = decl.fields.find((x) => x.key === role);
    if (f === undefined) continue;
    const name = modelRefName(f.value);
    if (name === undefined) throw new LowerError('E0411', `\`${role}\` must name a model, e.g. \`${role} = Llama frozen\``, f.value.span);
    if (adapted !== undefined && role === 'base' && name === adapted.model.adapter.on) {
      // The adapter off, in the student's own graph: its taps, the student's nodes.
      frozenNodes.set(role, { model: { ...adapted.model, taps: adapted.model.baseTaps }, nodes: studentNodes });
      continue;
    }
    const model = lowerModel(programs, name, { dims: { batch: opts.batch } });
    frozen.push({ role, model, prefix: `${role}.`, span: f.value.span });
    frozenNodes.set(role, { model, nodes: inline(b, model, `${role}.`, f.value.span) });
  }

  const loss = new LossLowering(b, student, studentNodes, frozenNodes, opts.batch);
  const lossField = decl.fields.find((f) => f.key === 'loss');
  if (lossField === undefined) throw new LowerError('E0409', `\`train ${target}\` has no \`loss\``, decl.span);
  const total = b.withSpan(lossField.value.span, () => loss.expr(lossField.value));
  if (typeof total === 'number' || total.shape.length !== 0 || (total.dtype !== 'f32' && total.dtype !== 'f16')) {
    const what = typeof total === 'number' ? `the constant ${total}` : `${total.dtype}${fmt(total.shape)}`;
    throw new LowerError('E0905', `the loss must be a float scalar, found ${what}`, lossField.value.span, [], 'reduce it with mean(…) or use a loss function');
  }
  b.output('loss', total);
  for (const t of loss.terms) b.output(t.output, t.node);

  const trainable: TrainableParam[] = [
    ...student.params.filter((p) => p.trainable).map((p) => ({ path: p.path, shape: p.shape, init: p.init, inModel: true })),
    ...loss.params.map((p) => ({ path: p.path, shape: p.shape, init: p.init, inModel: false })),
  ];
  if (opts.grads !== false) {
    const byName = new Map<string, Node>();
    for (const n of b.nodes) if (n.op === 'param') byName.set(n.attrs['name'] as string, n);
    const wrt = trainable.map((p) => byName.get(p.path) ?? fail(`trainable parameter '${p.path}' is not in the graph`));
    const grads = gradients(b, total, wrt);
    trainable.forEach((p, k) => b.output(gradName(p.path), grads[k] as Node));
  }
  const data = [
    ...student.inputs.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.shape })),
    ...[...loss.dataInputs.values()].map((n) => ({ name: n.attrs['name'] as string, dtype: n.dtype, shape: n.shape })),
  ];
  return {
    decl,
    student,
    ...(adapted === undefined ? {} : { adapter: adapted }),
    frozen,
    graph: b.build(),
    trainable,
    data,
    weights: loss.weights,
    terms: loss.terms.map(({ output, callee, span }) => ({ output, callee, span })),
  };
}

function fail(message: string): never {
  throw new Error(`bug: lowerTrain: ${message}`);
}

/** `Llama frozen` or `Llama` → 'Llama'. */
function modelRefName(e: Expr): string | undefined {
  const m = e.kind === 'frozen' ? e.model : e;
  return m.kind === 'ref' && m.path.length === 1 && m.path[0]?.kind === 'name' ? m.path[0].name : undefined;
}

/**
 * Copies a frozen model's graph into `b`: parameters renamed `<prefix><path>` and frozen, inputs
 * shared with the student's by name (hash-consing makes an equal input the same node).
 */
function inline(b: GraphBuilder, m: LoweredModel, prefix: string, span: Span): Node[] {
  const map: Node[] = [];
  const inputs = new Map<string, Node>();
  for (const n of b.nodes) if (n.op === 'input') inputs.set(n.attrs['name'] as string, n);
  for (const n of m.graph.nodes) {
    const ins = n.inputs.map((i) => map[i] ?? fail(`node %${i} of ${m.instance.name} used before definition`));
    if (n.op === 'input') {
      const mine = inputs.get(n.attrs['name'] as string);
      if (mine !== undefined && fmt(mine.shape) !== fmt(n.shape)) {
        throw new LowerError(
          'E0905',
          `the ${prefix.slice(0, -1)} '${m.instance.name}' takes '${String(n.attrs['name'])}' as ${fmt(n.shape)}, the student as ${fmt(mine.shape)}`,
          span,
        );
      }
    }
    const attrs = n.op === 'param' ? { ...n.attrs, name: `${prefix}${String(n.attrs['name'])}`, trainable: false } : n.attrs;
    map[n.id] = b.withSpan(n.span, () => b.apply(n.op, ins, attrs));
  }
  return map;
}

/** Evaluates the loss expression of a `train` into nodes of the shared builder. */
class LossLowering {
  readonly terms: { output: string; callee: LossName; span: Span; node: Node }[] = [];
  readonly params: LossParam[] = [];
  readonly weights: ScheduledWeight[] = [];
  readonly dataInputs = new Map<string, Node>();
  private readonly calls = new Map<string, number>();

  constructor(
    private readonly b: GraphBuilder,
    private readonly student: LoweredModel,
    private readonly studentNodes: readonly Node[],
    private readonly frozen: ReadonlyMap<FrozenRole, { model: LoweredModel; nodes: Node[] }>,
    private readonly batch: number,
  ) {}

  expr(e: Expr): Val {
    switch (e.kind) {
      case 'num':
        return e.value;
      case 'ref':
        return this.ref(e);
      case 'unary': {
        if (e.op !== '-') throw new LowerError('E0905', `'${e.op}' has no meaning in a loss`, e.span);
        const v = this.expr(e.arg);
        return typeof v === 'number' ? -v : this.b.withSpan(e.span, () => this.b.neg(v));
      }
      case 'binary':
        return this.binary(e.op, this.expr(e.left), this.expr(e.right), e.span);
      case 'call':
        return this.b.withSpan(e.span, () => this.call(e));
      default:
        throw new LowerError('E0905', `a ${e.kind} has no meaning in a loss`, e.span);
    }
  }

  private binary(op: BinaryOp, l: Val, r: Val, span: Span): Val {
    if (typeof l === 'number' && typeof r === 'number') {
      const v = foldBinary(op, l, r, span);
      if (typeof v !== 'number') throw new LowerError('E0905', `'${op}' has no meaning in a loss`, span);
      return v;
    }
    if (typeof l !== 'number' && typeof r !== 'number') {
      try {
        broadcastShapes(l.shape, r.shape);
      } catch (error) {
        if (!(error instanceof IrTypeError)) throw error;
        throw new LowerError('E0902', `'${op}' of shapes ${fmt(l.shape)} and ${fmt(r.shape)}: they do not broadcast`, span);
      }
    }
    const b = this.b;
    return b.withSpan(span, () => {
      switch (op) {
        case '+':
          return b.add(l, r);
        case '-':
          return b.sub(l, r);
        case '*':
          return b.mul(l, r);
        case '/':
          return b.div(l, r);
        default:
          throw new LowerError('E0905', `'${op}' has no meaning in a loss`, span);
      }
    });
  }

  /** `logits`, `layers[0].mlp`, `teacher.logits`, `label`. */
  private ref(e: Extract<Expr, { kind: 'ref' }>): Node {
    const names = e.path.map((s) => (s.kind === 'name' ? s.name : String(constExpr(s.index))));
    const first = names[0] as string;
    if (first === 'teacher' || first === 'base') {
      const f = this.frozen.get(first);
      if (f === undefined) throw new LowerError('E0312', `\`${first}.…\` is used but this \`train\` has no \`${first}\` field`, e.span);
      const path = names.slice(1).join('.');
      const id = f.model.taps.get(path);
      if (id === undefined) throw this.unknown(path, f.model, e.span, `${first} '${f.model.instance.name}'`);
      // Frozen taps are targets: stop_gradient makes that explicit for autodiff and fusion.
      return this.b.stopGradient(f.nodes[id] as Node);
    }
    const path = names.join('.');
    const id = this.student.taps.get(path);
    if (id !== undefined) return this.studentNodes[id] as Node;
    if (path === 'label') {
      const node = this.b.input('label', [this.batch], 'i32'); // one class id per example
      this.dataInputs.set('label', node);
      return node;
    }
    throw this.unknown(path, this.student, e.span, `'${this.student.instance.name}'`);
  }

  private unknown(path: string, m: LoweredModel, span: Span, what: string): LowerError {
    const taps = [...m.taps.keys()].filter((k) => !k.includes('@'));
    const near = nearest(path, taps);
    return new LowerError(
      'E0905',
      `${what} has no tap '${path}'`,
      span,
      [{ message: `taps: ${taps.join(', ')}` }],
      near === undefined ? undefined : `did you mean '${near}'?`,
    );
  }

  private call(e: Extract<Expr, { kind: 'call' }>): Val {
    const name = calleeOf(e);
    const sig = name === undefined ? undefined : lookup(name);
    if (name === undefined || sig === undefined) throw new LowerError('E0303', 'a loss can call losses, functions and ramp(…)', e.span);
    const bound = bindCallArgs(e, sig.args);
    if (sig.context === 'schedule') {
      if (name !== 'ramp') throw new LowerError('E0904', `'${name}' as a loss weight is not supported yet; use ramp(from, to, steps)`, e.span);
      const arg = (k: string): number => {
        const a = bound.get(k);
        const v = a === undefined ? undefined : constExpr(a.value);
        if (typeof v !== 'number') throw new LowerError('E0406', `ramp's '${k}' must be a number`, a?.span ?? e.span);
        return v;
      };
      const input = `weight:${this.weights.length}`;
      this.weights.push({ input, from: arg('from'), to: arg('to'), steps: arg('steps'), span: e.span });
      return this.b.input(input, [], 'f32');
    }
    const args = new Map<string, ArgValue>();
    for (const p of sig.args) {
      const a = bound.get(p.name);
      if (a === undefined) {
        if (p.default !== undefined && p.default !== null) args.set(p.name, { kind: 'const', value: p.default });
        continue;
      }
      if (p.kind === 'tensor') {
        const v = this.expr(a.value);
        args.set(p.name, typeof v === 'number' ? { kind: 'const', value: v } : { kind: 'tensor', node: v });
      } else args.set(p.name, { kind: 'const', value: constExpr(a.value) });
    }
    const ctx = new CallCtx(this.b, name, args, [], e.span, undefined, undefined);
    if (isLossName(name)) {
      const k = this.calls.get(name) ?? 0;
      this.calls.set(name, k + 1);
      const node = LOSS_RULES[name](ctx, {
        param: (pname, shape, init) => {
          const path = `loss.${name}.${k}.${pname}`;
          this.params.push({ path, shape, init, span: e.span });
          return this.b.param(path, shape, 'f32', { trainable: true });
        },
      });
      this.terms.push({ output: k === 0 ? `term:${name}` : `term:${name}.${k}`, callee: name, span: e.span, node });
      return node;
    }
    if (isFnName(name)) return FN_RULES[name](ctx);
    throw new LowerError('E0407', `'${name}' (a ${sig.context}) cannot be used in a loss`, e.span);
  }
}
