// The non-tensor fields of a `train` declaration (optimizer, schedule, steps, batch, data, eval,
// checkpoint, seed…) read into plain data the runtime job consumes. Values are folded from the
// AST here, once, so the runtime never sees the language; anything it cannot run yet is E0904
// naming the spec line.

import type { Arg, Call, Expr, Program, Span, TrainDecl } from '../../grammar/ast.ts';
import { lookup, type ArgSpec } from '../../grammar/library/signatures.ts';
import { LowerError } from '../../grammar/eval/errors.ts';
import { type ConstEnv, evalConst, notConstText } from '../../grammar/eval/value.ts';
import { showValue, type Value } from './values.ts';

/** A data source call, with its arguments bound to the signature's names and defaults filled. */
export interface DataSpec {
  source: string; // brown | mnist | text | jsonl | images
  args: Readonly<Record<string, Value>>;
  span: Span;
}

export type OptimizerSpec =
  | { kind: 'adamw'; lr: number; betas: readonly [number, number]; eps: number; weightDecay: number; clip: number }
  | { kind: 'sgd'; lr: number; momentum: number; weightDecay: number; clip: number };

export type LrScheduleSpec = { kind: 'constant' } | { kind: 'linear'; warmup: number; end: number } | { kind: 'warmup_cosine'; warmup: number; minLr: number };

export interface TrainConfig {
  target: string;
  data: DataSpec;
  eval?: { data: DataSpec; every: number };
  tokenizer?: string;
  optimizer: OptimizerSpec;
  schedule: LrScheduleSpec;
  steps: number;
  batch: number;
  accumulate: number;
  checkpoint: { every: number; keep: number };
  ema?: number;
  seed: number;
}

/** The `train` declaration whose target is `target` (or the only/first one when absent). */
export function findTrain(programs: Program | readonly Program[], target?: string): TrainDecl | undefined {
  const list = Array.isArray(programs) ? (programs as readonly Program[]) : [programs as Program];
  const all = list.flatMap((p) => p.decls.filter((d): d is TrainDecl => d.kind === 'train'));
  return target === undefined ? all[0] : all.find((d) => d.target.name === target);
}

/** Top-level `let` bindings, for fields like `calib = calib`. */
export function bindingsOf(programs: Program | readonly Program[]): Map<string, Expr> {
  const list = Array.isArray(programs) ? (programs as readonly Program[]) : [programs as Program];
  const out = new Map<string, Expr>();
  for (const p of list) for (const d of p.decls) if (d.kind === 'binding') out.set(d.name.name, d.value);
  return out;
}

/** Folds a constant expression by the language's evaluator (grammar/eval/value.ts); top-level `let` names are read through. */
export function constExpr(e: Expr, bindings: ReadonlyMap<string, Expr> = new Map()): Value {
  const env: ConstEnv = {
    get: (name) => {
      const bound = bindings.get(name);
      return bound === undefined ? undefined : constExpr(bound, bindings);
    },
  };
  const r = evalConst(e, env);
  if (r.ok) return r.value;
  throw new LowerError('E0415', r.err.why === 'name' ? 'a constant is expected here' : `a constant is expected here: ${notConstText(r.err)}`, r.err.span);
}

/** `f(…)`'s callee name, or undefined when the callee is not a plain name. */
export function calleeOf(c: Call): string | undefined {
  const p = c.callee.kind === 'ref' ? c.callee.path : undefined;
  return p !== undefined && p.length === 1 && p[0]?.kind === 'name' ? p[0].name : undefined;
}

/** Binds a call's arguments to its signature: name → the argument's expression (defaults are not filled). */
export function bindCallArgs(call: Call, params: readonly ArgSpec[]): Map<string, Arg> {
  const out = new Map<string, Arg>();
  let k = 0;
  for (const a of call.args) {
    const name = a.name ?? params[k++]?.name;
    if (name === undefined) throw new LowerError('E0401', `too many arguments`, a.span);
    out.set(name, a);
  }
  return out;
}

/** A call of a library callable of one context, its constant arguments folded, defaults filled. */
function constCall(e: Expr, context: string, what: string, bindings: ReadonlyMap<string, Expr>): { name: string; args: Record<string, Value>; span: Span } {
  let expr = e;
  // A reference to a top-level `let` (`calib = calib`) stands for its value.
  while (expr.kind === 'ref' && expr.path.length === 1 && expr.path[0]?.kind === 'name' && bindings.has(expr.path[0].name))
    expr = bindings.get(expr.path[0].name)!;
  const name =
    expr.kind === 'call' ? calleeOf(expr) : expr.kind === 'ref' && expr.path.length === 1 && expr.path[0]?.kind === 'name' ? expr.path[0].name : undefined;
  const sig = name === undefined ? undefined : lookup(name);
  if (name === undefined || sig === undefined || sig.context !== context) throw new LowerError('E0905', `${what} must be a ${context} call`, e.span);
  const bound = expr.kind === 'call' ? bindCallArgs(expr, sig.args) : new Map<string, Arg>();
  const args: Record<string, Value> = {};
  for (const p of sig.args) {
    const a = bound.get(p.name);
    if (a !== undefined) args[p.name] = constExpr(a.value, bindings);
    else if (p.default !== undefined && p.default !== null) args[p.name] = p.default;
  }
  return { name, args, span: expr.span };
}

const numArg = (v: Value | undefined, what: string, span: Span): number => {
  if (typeof v !== 'number') throw new LowerError('E0406', `${what} must be a number, found ${v === undefined ? 'nothing' : showValue(v)}`, span);
  return v;
};

function record(e: Expr, what: string): Map<string, Expr> {
  if (e.kind !== 'record') throw new LowerError('E0905', `${what} must be a record like { every = 100 }`, e.span);
  return new Map(e.fields.map((f) => [f.key, f.value]));
}

export function dataSpec(e: Expr, bindings: ReadonlyMap<string, Expr> = new Map()): DataSpec {
  const c = constCall(e, 'data', 'a data source', bindings);
  return { source: c.name, args: c.args, span: c.span };
}

function optimizerSpec(e: Expr | undefined, bindings: ReadonlyMap<string, Expr>): OptimizerSpec {
  if (e === undefined) return { kind: 'adamw', lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, clip: 0 };
  const c = constCall(e, 'optimizer', 'the optimizer', bindings);
  const n = (k: string): number => numArg(c.args[k], `${c.name}'s '${k}'`, c.span);
  if (c.name === 'sgd') return { kind: 'sgd', lr: n('lr'), momentum: n('momentum'), weightDecay: n('weight_decay'), clip: n('clip') };
  const betas = c.args['betas'];
  const pair: readonly [number, number] =
    Array.isArray(betas) && betas.length === 2 && betas.every((x) => typeof x === 'number') ? [betas[0] as number, betas[1] as number] : [0.9, 0.999];
  return { kind: 'adamw', lr: n('lr'), betas: pair, eps: n('eps'), weightDecay: n('weight_decay'), clip: n('clip') };
}

function scheduleSpec(e: Expr | undefined, bindings: ReadonlyMap<string, Expr>): LrScheduleSpec {
  if (e === undefined) return { kind: 'constant' };
  const c = constCall(e, 'schedule', 'the schedule', bindings);
  const n = (k: string): number => numArg(c.args[k], `${c.name}'s '${k}'`, c.span);
  switch (c.name) {
    case 'constant':
      return { kind: 'constant' };
    case 'linear':
      return { kind: 'linear', warmup: n('warmup'), end: n('end') };
    case 'warmup_cosine':
      return { kind: 'warmup_cosine', warmup: n('warmup'), minLr: n('min_lr') };
    default:
      throw new LowerError('E0905', `'${c.name}' is a loss-weight schedule; the learning rate takes constant, linear or warmup_cosine`, c.span);
  }
}

/** The optimizer of a `train` alone (for exports, which need no data, rounds or schedule). */
export function trainOptimizer(decl: TrainDecl, programs: Program | readonly Program[]): OptimizerSpec {
  return optimizerSpec(decl.fields.find((f) => f.key === 'optimizer')?.value, bindingsOf(programs));
}

/** Reads every field of a `train` into a TrainConfig. */
export function trainConfig(decl: TrainDecl, programs: Program | readonly Program[]): TrainConfig {
  const bindings = bindingsOf(programs);
  const field = (k: string): Expr | undefined => decl.fields.find((f) => f.key === k)?.value;
  const int = (k: string, dflt: number): number => {
    const e = field(k);
    if (e === undefined) return dflt;
    const v = constExpr(e, bindings);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      throw new LowerError('E0406', `\`${k}\` must be a positive integer, found ${showValue(v)}`, e.span);
    return v;
  };
  const rounds = field('rounds');
  if (rounds !== undefined) throw new LowerError('E0904', 'multiple-round training (`rounds`) is not supported yet by scion train', rounds.span);
  const data = field('data');
  if (data === undefined) throw new LowerError('E0409', `\`train ${decl.target.name}\` has no \`data\``, decl.span);
  const steps = int('steps', 1);
  const cfg: TrainConfig = {
    target: decl.target.name,
    data: dataSpec(data, bindings),
    optimizer: optimizerSpec(field('optimizer'), bindings),
    schedule: scheduleSpec(field('schedule'), bindings),
    steps,
    batch: int('batch', 8),
    accumulate: int('accumulate', 1),
    checkpoint: { every: steps, keep: 3 },
    seed: 0,
  };
  const seed = field('seed');
  if (seed !== undefined) cfg.seed = numArg(constExpr(seed, bindings), '`seed`', seed.span);
  const tok = field('tokenizer');
  if (tok !== undefined) cfg.tokenizer = String(constExpr(tok, bindings));
  const ema = field('ema');
  if (ema !== undefined) cfg.ema = numArg(constExpr(ema, bindings), '`ema`', ema.span);
  const ev = field('eval');
  if (ev !== undefined) {
    const r = record(ev, '`eval`');
    const d = r.get('data');
    if (d === undefined) throw new LowerError('E0905', '`eval` needs `data = …`', ev.span);
    const every = r.get('every');
    cfg.eval = { data: dataSpec(d, bindings), every: every === undefined ? steps : numArg(constExpr(every, bindings), '`every`', every.span) };
  }
  const ck = field('checkpoint');
  if (ck !== undefined) {
    const r = record(ck, '`checkpoint`');
    const every = r.get('every');
    const keep = r.get('keep');
    if (every !== undefined) cfg.checkpoint.every = numArg(constExpr(every, bindings), '`every`', every.span);
    if (keep !== undefined) cfg.checkpoint.keep = numArg(constExpr(keep, bindings), '`keep`', keep.span);
  }
  return cfg;
}
