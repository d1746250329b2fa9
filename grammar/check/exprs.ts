// Walking an expression: names must resolve, calls must name a callable allowed here and pass
// arguments that fit its signature, `as` must name a layer call. One walker for model bodies,
// layer bodies, losses and config fields; an ExprEnv says which of those it is in.

import type { Call, Expr, Named, Ref } from '../ast.ts';
import { LIBRARY, lookup, type Context, type LibraryName, type Signature } from '../library/signatures.ts';
import { didYouMean } from '../diagnostics/suggest.ts';
import { bareName, bindArgs, checkArgValue, type Callee, type ParamLite } from './args.ts';
import { SYMBOL_WORD, type CheckContext } from './context.ts';
import { refText } from './eval.ts';
import { KIND_WORD, type Scope } from './scope.ts';

export interface ExprEnv {
  scope: Scope;
  /** Library contexts whose callables may be called here. */
  contexts: ReadonlySet<Context>;
  /** Whether user `layer`s may be called here (model and layer bodies). */
  userLayers: boolean;
  /** "a model body", "a loss", "the `optimizer` field": for misplaced-callable messages. */
  where: string;
  /** Config fields accept a callable without parentheses: `dim = l2`, `init = xavier_uniform`. */
  bareCallables?: boolean;
  /** Reports an undefined name itself (a loss says "not a tap"); returns true when it did. */
  onUndefined?: (name: string, span: Ref['span']) => boolean;
  /** Handles references the scope cannot (`teacher.logits`); returns true when it did. */
  refHook?: (ref: Ref) => boolean;
}

/** Where each library context belongs, for "`kd` is a loss; use it in a train `loss`". */
const CONTEXT_HOME: Record<Context, string> = {
  layer: 'a layer; call it in a model or layer body',
  fn: 'a tensor function; use it in a model body, layer body or loss',
  loss: 'a loss; use it in a `train` loss',
  select: 'a selection; use it in `inherit` or `prune` fields',
  data: 'a data source; use it in `data`, `calib` or `eval`',
  optimizer: 'an optimizer; use it in `optimizer`',
  schedule: 'a schedule; use it in `schedule` or as a loss weight',
  sampler: 'a sampler; use it in `sampler`',
  reuse: 'a feature cache; use it in `reuse`',
  init: 'an initializer; use it in `param … = init`, `init` fields',
  round: 'a round weighting; use it in `rounds`',
};

export function signatureParams(sig: Signature): ParamLite[] {
  return sig.args.map((a) => ({
    name: a.name,
    required: a.default === undefined && a.variadic !== true,
    kind: a.kind,
    ...(a.variadic === true ? { variadic: true } : {}),
  }));
}

export function walkExpr(ctx: CheckContext, e: Expr, env: ExprEnv): void {
  switch (e.kind) {
    case 'num':
    case 'str':
    case 'bool':
      return;
    case 'ref':
      return walkRef(ctx, e, env);
    case 'call':
      return walkCall(ctx, e, env);
    case 'binary':
      walkExpr(ctx, e.left, env);
      walkExpr(ctx, e.right, env);
      return;
    case 'unary':
      walkExpr(ctx, e.arg, env);
      return;
    case 'tuple':
    case 'list':
      for (const item of e.items) walkExpr(ctx, item, env);
      return;
    case 'range':
      walkExpr(ctx, e.start, env);
      walkExpr(ctx, e.end, env);
      return;
    case 'record':
      for (const f of e.fields) walkExpr(ctx, f.value, env);
      return;
    case 'named':
      return walkNamed(ctx, e, env);
    case 'frozen':
      walkExpr(ctx, e.model, env);
      return;
  }
}

function walkRef(ctx: CheckContext, ref: Ref, env: ExprEnv): void {
  for (const seg of ref.path) if (seg.kind === 'index') walkExpr(ctx, seg.index, env);
  if (env.refHook?.(ref) === true) return;
  const first = ref.path[0];
  if (first === undefined || first.kind !== 'name') return;
  const name = first.name;
  if (env.scope.read(name) !== undefined) return;
  const sym = ctx.symbols.get(name);
  const sig = lookup(name);
  if (sig !== undefined || sym?.kind === 'layer') {
    const context: Context = sig?.context ?? 'layer';
    if (env.bareCallables === true && env.contexts.has(context) && sig !== undefined) {
      // `dim = l2` means `l2()`: its required arguments must then be absent.
      bindArgs(ctx, { name, label: `\`${name}\``, span: first.span }, signatureParams(sig), []);
      return;
    }
    if (env.bareCallables === true && !env.contexts.has(context)) return misplaced(ctx, name, context, first.span, env);
    ctx.report('E0309', first.span, `\`${name}\` is ${sig ? CONTEXT_HOME[context].split(';')[0] : 'a layer'}, not a value`, {
      suggestion: `call it: \`${name}(…)\``,
    });
    return;
  }
  if (sym !== undefined) {
    ctx.report('E0301', first.span, `\`${name}\` is ${SYMBOL_WORD[sym.kind]} and cannot be used in ${env.where}`);
    return;
  }
  if (env.onUndefined?.(name, first.span) === true) return;
  ctx.report('E0301', first.span, `undefined name \`${name}\` in ${env.where}`, {
    suggestion: didYouMean(name, [...env.scope.allNames(), 'true', 'false']),
  });
}

function misplaced(ctx: CheckContext, name: string, context: Context, span: Ref['span'], env: ExprEnv): void {
  ctx.report('E0407', span, `\`${name}\` cannot be used in ${env.where}`, { notes: [{ message: `\`${name}\` is ${CONTEXT_HOME[context]}` }] });
}

/** The callee name of a call whose callee is a plain name. */
export function calleeName(call: Call): string | undefined {
  return bareName(call.callee);
}

function walkCall(ctx: CheckContext, call: Call, env: ExprEnv): void {
  const name = calleeName(call);
  if (name === undefined) {
    ctx.report(
      'E0313',
      call.callee.span,
      `${call.callee.kind === 'call' ? 'the result of a call' : `\`${call.callee.kind === 'ref' ? refText(call.callee) : 'this expression'}\``} cannot be called`,
      {
        suggestion: call.callee.kind === 'call' ? 'pass the input as the first argument instead: `Layer(x, …)`' : undefined,
      },
    );
    for (const a of call.args) walkExpr(ctx, a.value, env);
    return;
  }
  const span = call.callee.span;
  const local = env.scope.get(name);
  if (local !== undefined) {
    ctx.report('E0313', span, `\`${name}\` is ${KIND_WORD[local.kind]}, not a layer or function`);
    for (const a of call.args) walkExpr(ctx, a.value, env);
    return;
  }
  const sig = lookup(name);
  const user = ctx.userLayer(name);
  let params: ParamLite[] | undefined;
  const callee: Callee = { name, label: `\`${name}\``, span };
  if (user !== undefined) {
    if (!env.userLayers) misplaced(ctx, name, 'layer', span, env);
    params = user.params.map((p) => ({ name: p.name.name, required: p.default === undefined }));
  } else if (sig !== undefined) {
    if (!env.contexts.has(sig.context)) misplaced(ctx, name, sig.context, span, env);
    params = signatureParams(sig);
  } else {
    const sym = ctx.symbols.get(name);
    if (sym !== undefined) ctx.report('E0313', span, `\`${name}\` is ${SYMBOL_WORD[sym.kind]}, not a layer or function`);
    else {
      const candidates = [
        ...(Object.keys(LIBRARY) as LibraryName[]).filter((k) => env.contexts.has(LIBRARY[k].context)),
        ...(env.userLayers ? [...ctx.symbols.values()].filter((s) => s.kind === 'layer').map((s) => s.name.name) : []),
        ...Object.keys(LIBRARY),
      ];
      ctx.report('E0303', span, `unknown ${env.contexts.has('layer') ? 'layer or function' : 'callable'} \`${name}\``, {
        suggestion: didYouMean(name, candidates),
      });
    }
  }
  if (params === undefined) {
    for (const a of call.args) walkExpr(ctx, a.value, env);
    return;
  }
  const bound = bindArgs(ctx, callee, params, call.args);
  const handled = new Set<Expr>();
  for (const { param, arg } of bound) if (checkArgValue(ctx, callee, param, arg.value, env.scope)) handled.add(arg.value);
  // Arguments of kind `any` (calib, corpus) may hold data sources.
  const anyKinds = new Set(bound.filter((b) => b.param.kind === 'any').map((b) => b.arg.value));
  const wider: ExprEnv = { ...env, contexts: new Set<Context>([...env.contexts, 'data']) };
  for (const a of call.args) if (!handled.has(a.value)) walkExpr(ctx, a.value, anyKinds.has(a.value) ? wider : env);
}

/** Whether an expression is a call of a layer (library or user), the only thing `as` can name. */
export function isLayerCall(ctx: CheckContext, e: Expr): boolean {
  if (e.kind !== 'call') return false;
  const name = calleeName(e);
  if (name === undefined) return false;
  return ctx.userLayer(name) !== undefined || lookup(name)?.context === 'layer';
}

function walkNamed(ctx: CheckContext, e: Named, env: ExprEnv): void {
  walkExpr(ctx, e.value, env);
  // A call of an unknown name was reported already; whether it has parameters is unknowable.
  const unknownCallee =
    e.value.kind === 'call' &&
    ((n) => n !== undefined && lookup(n) === undefined && !ctx.symbols.has(n) && env.scope.get(n) === undefined)(calleeName(e.value));
  if (!unknownCallee && !isLayerCall(ctx, e.value)) {
    ctx.report(
      'E0610',
      e.path.span,
      `\`as ${refText(e.path)}\` names ${e.value.kind === 'call' ? `a call to \`${calleeName(e.value) ?? '…'}\`, which creates no parameters` : 'a value that has no parameters'}`,
      {
        suggestion: 'put `as` directly after a layer call: `Linear(x, 64) as proj`',
      },
    );
  }
  // Index expressions in the path are checked against the scope (repeat variables).
  for (const seg of e.path.path) if (seg.kind === 'index') walkExpr(ctx, seg.index, env);
}
