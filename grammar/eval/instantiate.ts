// Instantiation, the one evaluator of a model: a declaration plus concrete sizes → an unrolled
// statement list in which every non-tensor expression is a folded constant (value.ts), every
// `repeat` is unrolled, and every layer call carries its stable parameter path (`layers[3].self_attn`
// → `layers.3.self_attn`). The compiler lowers from it (compiler/lower/lower-model.ts maps tensors,
// never evaluates the language); the checker reports from it (grammar/check/instances.ts), so
// `scion check` and `scion explain` see the same parameters, repeat counts, requires and paths.
//
// Example: `instantiate(program, 'Tiny', { dims: { batch: 4 } })` evaluates `model Tiny =
// Llama(dim = 192, …)` with Llama's body, and binds the symbolic `batch` of `i32[batch, ctx]` to 4.

import {
  type Arg,
  type DType,
  type Expr,
  type LayerDecl,
  type ModelDecl,
  type Preset,
  PRESETS,
  type Program,
  type RequireStmt,
  type Span,
  type Stmt,
} from '../ast.ts';
import type { Code } from '../diagnostics/catalog.ts';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { diag, noteAt } from '../diagnostics/make.ts';
import { lookup, type ArgSpec } from '../library/signatures.ts';
import { cycleError, layerCycleFrom } from './cycles.ts';
import { commandLineSpan, LowerError } from './errors.ts';
import { dimension, elementCount, layerSize, MAX_STEPS, orThrow, repeatBound, repeatCount } from './integers.ts';
import {
  type Binding,
  constOf,
  constsOf,
  type DeclIndex,
  evalParams,
  evalPath,
  indexDecls,
  modelParams,
  notConstError,
  paramValue,
  resolveModel,
  valueOrThrow,
} from './params.ts';
import { describeValue, type EvalResult, evalConst, foldBinary, foldUnary, refText, type Value } from './value.ts';

export type { Value } from './value.ts';
export { dimension, repeatBound, repeatCount } from './integers.ts';
export { type Binding, constOf, type DeclIndex, evalPath, indexDecls, indexOf, modelNames } from './params.ts';

/** A folded expression: constants are values; tensors stay as a small tree over variable ids. */
export type InstExpr =
  | { kind: 'const'; value: Value; span: Span }
  | { kind: 'var'; id: string; span: Span } // a tensor input or let binding, by its SSA id
  | InstCall
  | { kind: 'binary'; op: '+' | '-' | '*' | '/' | '**'; left: InstExpr; right: InstExpr; span: Span }
  | { kind: 'neg'; arg: InstExpr; span: Span }
  | { kind: 'tap'; path: string; value: InstExpr; span: Span }; // `expr as name` on a non-layer value

export interface InstCall {
  kind: 'call';
  callee: string;
  /** Library callable, or a user `layer` declared in the program. */
  user?: LayerDecl;
  /** Arguments bound to the signature's names, defaults filled; absent optional tensors are missing. */
  args: Readonly<Record<string, InstExpr>>;
  /** Variadic tensors (concat's inputs). */
  rest: readonly InstExpr[];
  /** Parameter path prefix of a layer (`layers.3.self_attn`); undefined for functions. */
  path?: string;
  /** The `as` path as written, when the path came from one. */
  pathSpan?: Span;
  span: Span;
}

export type InstStmt =
  | { kind: 'let'; name: string; id: string; value: InstExpr; span: Span }
  | { kind: 'output'; name: string; id: string; value: InstExpr; span: Span };

export interface InputInstance {
  name: string;
  dtype: DType;
  shape: number[];
  span: Span;
}

/** A layer call of the instantiated model, in source order after unrolling. */
export interface ModuleInstance {
  path: string;
  callee: string;
  span: Span;
  /** The call with its folded arguments. */
  call: InstCall;
  /** The `as` path as written; absent for an automatic `<callee>_<n>` path. */
  pathSpan?: Span;
}

export interface ModelInstance {
  /** The requested name (`Tiny`); `declName` is the declaration whose body it uses (`Llama`). */
  name: string;
  declName: string;
  decl: ModelDecl;
  preset: Preset | undefined;
  params: Readonly<Record<string, Value>>;
  dims: Readonly<Record<string, number>>;
  inputs: InputInstance[];
  stmts: InstStmt[];
  modules: ModuleInstance[];
  userLayers: ReadonlyMap<string, LayerDecl>;
}

export interface InstantiateOptions {
  /** Symbolic input dimensions (`batch`); `batch` defaults to 1. */
  dims?: Readonly<Record<string, number>>;
  /** Parameter overrides on top of the declaration's defaults (and a derived model's arguments). */
  overrides?: Readonly<Record<string, Value>>;
  /** Where problems go; THROW (the default) stops at the first. */
  reporter?: Reporter;
  /** A symbolic dimension without a value is 1 instead of an error (the checker has no sizes). */
  anyDims?: boolean;
}

/**
 * How a walk meets the user errors it can step over. The compiler throws at the first (its
 * default); the checker reports each in its own words and goes on, so one run reports many.
 */
export interface Reporter {
  /** A `require` whose condition is false, not true/false, or not a constant; `env` has the values. */
  require(s: RequireStmt, r: EvalResult, env: ReadonlyMap<string, Binding>): void;
  /** Any other user error; the statement it is in is skipped (its names bound to nothing). */
  error(d: Diagnostic): void;
}

/** The compiler's reporter: the first problem ends instantiation. */
export const THROW: Reporter = {
  require(s, r, env) {
    if (!r.ok) throw notConstError(r, env);
    if (typeof r.value !== 'boolean') throw new LowerError('E0506', `a requirement must be true or false, found ${describeValue(r.value)}`, s.cond.span);
    const names = [...env].flatMap(([k, b]) => (b.kind === 'const' ? [`${k} = ${describeValue(b.value)}`] : []));
    throw new LowerError('E0501', s.message?.value ?? 'requirement failed', s.span, [{ message: `with ${names.join(', ')}` }]);
  },
  error(d) {
    throw new LowerError(d.code as Code, d.message, d.span, d.notes, d.suggestion);
  },
};

export function instantiate(programs: Program | readonly Program[], modelName: string, opts: InstantiateOptions = {}): ModelInstance {
  return instantiateIn(indexDecls(programs), modelName, opts);
}

/** As `instantiate`, over an index of declarations (the checker builds one from its symbols). */
export function instantiateIn(index: DeclIndex, modelName: string, opts: InstantiateOptions = {}): ModelInstance {
  const { decl, args } = resolveModel(index, modelName, commandLineSpan('--model'));
  const reporter = opts.reporter ?? THROW;
  const cycle = layerCycleFrom(decl.body, index);
  if (cycle !== undefined) throw cycleError(cycle);
  const params: Record<string, Value> = {};
  if (reporter === THROW) Object.assign(params, modelParams(decl, args, opts.overrides ?? {}));
  else {
    // The checker goes on without the parameters that have no value (it reports them itself).
    const all = evalParams(decl, args, opts.overrides ?? {});
    for (const e of all.unknown) reporter.error(e.diagnostic);
    for (const p of all.params) {
      const v = paramValue(p);
      if (v instanceof LowerError) reporter.error(v.diagnostic);
      else params[p.name] = v;
    }
  }
  const dims: Record<string, number> = { batch: 1, ...opts.dims };
  const env = new Map<string, Binding>();
  for (const [k, v] of Object.entries(params)) env.set(k, { kind: 'const', value: v });
  const inst = new Instantiator(index, dims, undefined, reporter, opts.anyDims === true);
  inst.body(decl.body, env);
  inst.assignAutoPaths();
  const presetName = decl.preset?.name;
  const preset = PRESETS.find((p) => p === presetName);
  return {
    name: modelName,
    declName: decl.name.name,
    decl,
    preset,
    params,
    dims,
    inputs: inst.inputs,
    stmts: inst.stmts,
    modules: inst.modules,
    userLayers: index.layers,
  };
}

/** A `param` statement of a user layer, with its shape and initializer folded. */
export interface ParamStmtInstance {
  name: string;
  id: string;
  shape: number[];
  init?: { callee: string; args: Readonly<Record<string, Value>>; span: Span };
  span: Span;
}

/** A user layer's body for one call: its params, its lets, and the returned expression. */
export interface LayerBodyInstance {
  params: ParamStmtInstance[];
  stmts: InstStmt[];
  result: InstExpr;
  /** Layer calls inside the body, their paths under the call's path. */
  modules: ModuleInstance[];
}

/**
 * Instantiates a user `layer` body for one call. `env` binds its parameters (constants, or tensor
 * ids the caller has lowered); nested layer paths are prefixed with the call's path.
 */
export function instantiateLayerBody(decl: LayerDecl, env: Map<string, Binding>, layers: ReadonlyMap<string, LayerDecl>, path: string): LayerBodyInstance {
  const inst = new Instantiator({ models: new Map(), layers: new Map(layers) }, {}, { pathPrefix: path, idPrefix: `${path}::` });
  inst.body(decl.body, env);
  inst.assignAutoPaths();
  if (inst.result === undefined) throw new LowerError('E0507', `layer '${decl.name.name}' has no \`return\``, decl.span);
  return { params: inst.params, stmts: inst.stmts, result: inst.result, modules: inst.modules };
}

class Instantiator {
  readonly inputs: InputInstance[] = [];
  readonly stmts: InstStmt[] = [];
  readonly modules: ModuleInstance[] = [];
  readonly params: ParamStmtInstance[] = [];
  result: InstExpr | undefined;
  private readonly versions = new Map<string, number>();
  private readonly paths = new Map<string, Span>();
  private readonly unnamed: InstCall[] = [];
  private readonly layerMode: boolean;
  /** Names bound when the walk began (parameters): not repeated in "at i = 1" notes. */
  private outer: ReadonlySet<string> = new Set();
  private steps = 0;

  constructor(
    private readonly index: DeclIndex,
    private readonly dims: Readonly<Record<string, number>>,
    private readonly scope: { pathPrefix: string; idPrefix: string } | undefined = undefined,
    private readonly reporter: Reporter = THROW,
    private readonly anyDims = false,
  ) {
    this.layerMode = scope !== undefined;
  }

  private scoped(path: string): string {
    return this.scope === undefined || this.scope.pathPrefix === '' ? path : `${this.scope.pathPrefix}.${path}`;
  }

  body(stmts: readonly Stmt[], env: Map<string, Binding>): void {
    if (this.steps === 0) this.outer = new Set(env.keys());
    for (const s of stmts) {
      this.steps++;
      if (this.reporter === THROW) {
        this.stmt(s, env);
        continue;
      }
      try {
        this.stmt(s, env);
      } catch (e) {
        if (!(e instanceof LowerError)) throw e;
        this.reporter.error(e.diagnostic);
        // The names it would bind are tensors of unknown value, so later uses do not cascade.
        if (s.kind === 'let' || s.kind === 'output' || s.kind === 'input' || s.kind === 'param') env.set(s.name.name, { kind: 'tensor', id: '?' });
      }
    }
  }

  private freshId(name: string): string {
    const k = this.versions.get(name) ?? 0;
    this.versions.set(name, k + 1);
    return `${this.scope?.idPrefix ?? ''}${k === 0 ? name : `${name}@${k}`}`;
  }

  private stmt(s: Stmt, env: Map<string, Binding>): void {
    switch (s.kind) {
      case 'input': {
        if (this.layerMode) throw new LowerError('E0508', '`input` belongs in a model body', s.span);
        const shape = s.type.shape.map((d) => this.dim(d, env));
        orThrow(elementCount(shape, `input \`${s.name.name}\``, s.type.span));
        this.inputs.push({ name: s.name.name, dtype: s.type.dtype, shape, span: s.span });
        env.set(s.name.name, { kind: 'tensor', id: this.freshId(s.name.name) });
        return;
      }
      case 'let':
      case 'output': {
        if (s.kind === 'output' && this.layerMode) throw new LowerError('E0508', '`output` belongs in a model body; a layer ends with `return`', s.span);
        const value = this.expr(s.value, env);
        if (value.kind === 'const' && s.kind === 'let') {
          env.set(s.name.name, { kind: 'const', value: value.value });
          return;
        }
        const id = this.freshId(s.name.name);
        this.stmts.push({ kind: s.kind, name: s.name.name, id, value, span: s.span });
        env.set(s.name.name, { kind: 'tensor', id });
        return;
      }
      case 'repeat': {
        for (const v of this.rangeValues(s.range, env)) {
          if (this.steps > MAX_STEPS)
            throw new LowerError('E0504', `unrolling runs more than ${MAX_STEPS} statements; a model this deep is surely a mistake`, s.range.span);
          env.set(s.var.name, { kind: 'const', value: v });
          this.body(s.body, env);
        }
        env.delete(s.var.name);
        return;
      }
      case 'require': {
        const r = evalConst(s.cond, constsOf(env));
        if (!r.ok || r.value !== true) this.reporter.require(s, r, env);
        return;
      }
      case 'param': {
        if (!this.layerMode) throw new LowerError('E0508', '`param` belongs in a layer body', s.span);
        const shape = s.type.shape.map((d) => this.dim(d, env));
        orThrow(elementCount(shape, `param \`${s.name.name}\``, s.type.span));
        const id = this.freshId(`param:${s.name.name}`);
        const p: ParamStmtInstance = { name: s.name.name, id, shape, span: s.span };
        if (s.init !== undefined) p.init = this.initCall(s.init, env);
        this.params.push(p);
        env.set(s.name.name, { kind: 'tensor', id });
        return;
      }
      case 'return':
        if (!this.layerMode) throw new LowerError('E0508', '`return` belongs in a layer body', s.span);
        this.result = this.expr(s.value, env);
        return;
    }
  }

  /** `ones()`, `normal(std = 0.02)`: an init callable with constant arguments. */
  private initCall(e: Expr, env: ReadonlyMap<string, Binding>): { callee: string; args: Record<string, Value>; span: Span } {
    const call = e.kind === 'call' ? e : e.kind === 'ref' ? { callee: e, args: [] as Arg[], span: e.span } : undefined;
    const callee = call?.callee.kind === 'ref' && call.callee.path.length === 1 && call.callee.path[0]?.kind === 'name' ? call.callee.path[0].name : undefined;
    const sig = callee === undefined ? undefined : lookup(callee);
    if (call === undefined || callee === undefined || sig?.context !== 'init')
      throw new LowerError('E0407', 'a `param` initializer must be an init function such as ones(), zeros() or normal(std = 0.02)', e.span);
    const args: Record<string, Value> = {};
    call.args.forEach((a, k) => {
      const name = a.name ?? sig.args[k]?.name;
      if (name === undefined) throw new LowerError('E0401', `too many arguments for '${callee}'`, a.span);
      args[name] = constOf(a.value, env);
    });
    for (const spec of sig.args) if (!Object.hasOwn(args, spec.name) && spec.default !== undefined && spec.default !== null) args[spec.name] = spec.default;
    return { callee, args, span: e.span };
  }

  private dim(d: Expr, env: ReadonlyMap<string, Binding>): number {
    if (d.kind === 'ref' && d.path.length === 1 && d.path[0]?.kind === 'name' && !env.has(d.path[0].name)) {
      const name = d.path[0].name;
      const v = this.dims[name];
      if (v === undefined && this.anyDims) return 1;
      if (v === undefined) throw new LowerError('E0505', `the dimension '${name}' has no value (pass --${name} N)`, d.span);
      return v;
    }
    return orThrow(dimension(constOf(d, env), d.span));
  }

  private rangeValues(e: Expr, env: ReadonlyMap<string, Binding>): Value[] {
    if (e.kind === 'range') {
      const a = orThrow(repeatBound(constOf(e.start, env), e.start.span));
      const b = orThrow(repeatBound(constOf(e.end, env), e.end.span));
      return Array.from({ length: orThrow(repeatCount(a, b, e.span)) }, (_, k) => a + k);
    }
    const v = constOf(e, env);
    if (!Array.isArray(v)) throw new LowerError('E0504', `repeat needs a range or a list, found ${describeValue(v)}`, e.span);
    return [...v];
  }

  expr(e: Expr, env: ReadonlyMap<string, Binding>): InstExpr {
    switch (e.kind) {
      case 'num':
      case 'str':
      case 'bool':
        return { kind: 'const', value: e.value, span: e.span };
      case 'ref': {
        const head = e.path[0];
        const b = head?.kind === 'name' ? env.get(head.name) : undefined;
        if (b?.kind !== 'tensor') return { kind: 'const', value: constOf(e, env), span: e.span };
        if (e.path.length > 1) throw new LowerError('E0415', `'${refText(e)}': a tensor has no fields or indices`, e.span);
        return { kind: 'var', id: b.id, span: e.span };
      }
      case 'tuple':
      case 'list':
        return { kind: 'const', value: constOf(e, env), span: e.span };
      case 'unary': {
        const a = this.expr(e.arg, env);
        if (a.kind === 'const') return { kind: 'const', value: valueOrThrow(foldUnary(e.op, a.value, e.span)), span: e.span };
        if (e.op !== '-') throw new LowerError('E0415', '`!` applies to true/false constants, not tensors', e.span);
        return { kind: 'neg', arg: a, span: e.span };
      }
      case 'binary': {
        const l = this.expr(e.left, env);
        const r = this.expr(e.right, env);
        if (l.kind === 'const' && r.kind === 'const') return { kind: 'const', value: valueOrThrow(foldBinary(e.op, l.value, r.value, e.span)), span: e.span };
        if (e.op !== '+' && e.op !== '-' && e.op !== '*' && e.op !== '/' && e.op !== '**') {
          throw new LowerError('E0415', `'${e.op}' compares constants; it does not apply to tensors`, e.span);
        }
        return { kind: 'binary', op: e.op, left: l, right: r, span: e.span };
      }
      case 'call':
        return this.call(e.callee, e.args, e.span, env);
      case 'named': {
        const v = this.expr(e.value, env);
        let path: string;
        try {
          path = this.scoped(evalPath(e.path, env));
        } catch (err) {
          // The checker goes on with the layer unnamed; the compiler stops here.
          if (!(err instanceof LowerError) || this.reporter === THROW) throw err;
          this.reporter.error(err.diagnostic);
          return v;
        }
        if (v.kind === 'call' && v.path === undefined && (v.user !== undefined || lookup(v.callee)?.context === 'layer')) {
          if (!this.claimPath(path, e.path.span, env)) return v;
          v.path = path;
          v.pathSpan = e.path.span;
          return v;
        }
        if (v.kind === 'const') throw new LowerError('E0610', "`as` names a layer's parameters; a constant has none", e.span);
        return { kind: 'tap', path, value: v, span: e.span };
      }
      default:
        throw new LowerError('E0415', `a ${e.kind} expression cannot appear in a model body`, e.span);
    }
  }

  /** Takes `path` for one layer; a second claim is E0608 (and false when the reporter goes on). */
  private claimPath(path: string, span: Span, env: ReadonlyMap<string, Binding>): boolean {
    const prev = this.paths.get(path);
    if (prev === undefined) {
      this.paths.set(path, span);
      return true;
    }
    const at = [...env].flatMap(([k, b]) => (b.kind === 'const' && !this.outer.has(k) ? [`${k} = ${describeValue(b.value)}`] : []));
    this.reporter.error(
      diag('E0608', span, `parameter path \`${path}\` is used twice${at.length > 0 ? ` (at ${at.join(', ')})` : ''}`, {
        notes: [noteAt('first used here', prev)],
        suggestion: 'give each layer call its own path, e.g. with the repeat variable: `layers[i].mlp`',
      }),
    );
    return false;
  }

  private call(calleeExpr: Expr, args: readonly Arg[], span: Span, env: ReadonlyMap<string, Binding>): InstExpr {
    if (calleeExpr.kind !== 'ref' || calleeExpr.path.length !== 1 || calleeExpr.path[0]?.kind !== 'name') {
      throw new LowerError('E0313', 'only library callables and user layers can be called', calleeExpr.span);
    }
    const callee = calleeExpr.path[0].name;
    const user = this.index.layers.get(callee);
    const sig = lookup(callee);
    let specs: readonly ArgSpec[];
    if (user !== undefined)
      specs = user.params.map((p) => (p.default === undefined ? { name: p.name.name, kind: 'any' } : { name: p.name.name, kind: 'any', default: null }));
    else if (sig !== undefined && (sig.context === 'layer' || sig.context === 'fn')) specs = sig.args;
    else
      throw new LowerError(
        sig === undefined ? 'E0303' : 'E0407',
        sig === undefined ? `'${callee}' is not a layer or function` : `'${callee}' is a ${sig.context}, not usable in a model body`,
        calleeExpr.span,
      );

    const bound: Record<string, InstExpr> = {};
    const rest: InstExpr[] = [];
    let k = 0;
    for (const a of args) {
      const v = this.expr(a.value, env);
      if (a.name !== undefined) {
        if (!specs.some((s) => s.name === a.name)) throw new LowerError('E0402', `'${callee}' has no argument '${a.name}'`, a.nameSpan ?? a.span);
        bound[a.name] = v;
        continue;
      }
      const spec = specs[k];
      if (spec?.variadic === true) {
        rest.push(v);
        continue;
      }
      if (spec === undefined) throw new LowerError('E0401', `too many arguments for '${callee}'`, a.span);
      bound[spec.name] = v;
      k++;
    }
    for (const s of specs) {
      if (s.variadic === true || Object.hasOwn(bound, s.name)) continue;
      if (s.default === undefined) throw new LowerError('E0404', `'${callee}' needs the argument '${s.name}'`, span);
      if (s.default !== null) bound[s.name] = { kind: 'const', value: s.default, span };
    }
    if (user !== undefined) {
      // User-layer defaults are expressions over earlier arguments.
      const lenv = new Map<string, Binding>();
      for (const p of user.params) {
        const given = bound[p.name.name];
        if (given === undefined && p.default !== undefined) bound[p.name.name] = { kind: 'const', value: constOf(p.default, lenv), span: p.span };
        const b = bound[p.name.name];
        if (b?.kind === 'const') lenv.set(p.name.name, { kind: 'const', value: b.value });
      }
    }
    if (user === undefined && sig?.context === 'layer') {
      for (const spec of specs) {
        const v = bound[spec.name];
        if (spec.kind !== 'int' || v?.kind !== 'const' || typeof v.value !== 'number') continue;
        const tooBig = layerSize(v.value, callee, spec.name, v.span);
        if (tooBig !== undefined) throw tooBig;
      }
    }
    const call: InstCall = { kind: 'call', callee, args: bound, rest, span, ...(user === undefined ? {} : { user }) };
    if (user !== undefined || sig?.context === 'layer') this.unnamed.push(call);
    return call;
  }

  /** Layers without `as` get `<callee>_<n>` paths so every parameter still has a stable name. */
  assignAutoPaths(): void {
    const counts = new Map<string, number>();
    for (const c of this.unnamed) {
      if (c.path !== undefined) continue;
      const base = c.callee.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
      let n = counts.get(base) ?? 0;
      while (this.paths.has(this.scoped(`${base}_${n}`))) n++;
      counts.set(base, n + 1);
      c.path = this.scoped(`${base}_${n}`);
      this.paths.set(c.path, c.span);
    }
    // Modules in execution order: arguments before the call that consumes them.
    const visit = (e: InstExpr): void => {
      if (e.kind === 'call') {
        for (const a of Object.values(e.args)) visit(a);
        for (const a of e.rest) visit(a);
        if (e.path !== undefined)
          this.modules.push({ path: e.path, callee: e.callee, span: e.span, call: e, ...(e.pathSpan === undefined ? {} : { pathSpan: e.pathSpan }) });
      } else if (e.kind === 'binary') {
        visit(e.left);
        visit(e.right);
      } else if (e.kind === 'neg') visit(e.arg);
      else if (e.kind === 'tap') visit(e.value);
    };
    for (const s of this.stmts) visit(s.value);
    if (this.result !== undefined) visit(this.result);
  }
}
