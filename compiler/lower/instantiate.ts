// Instantiation: a checked model declaration plus concrete sizes → an unrolled statement list in
// which every non-tensor expression is a folded constant, every `repeat` is unrolled, and every
// layer call carries its stable parameter path (`layers[3].self_attn` → `layers.3.self_attn`).
// Lowering (lower-model.ts) then only has to map tensors, never to evaluate the language.
//
// Example: `instantiate(program, 'Tiny', { dims: { batch: 4 } })` evaluates `model Tiny =
// Llama(dim = 192, …)` with Llama's body, and binds the symbolic `batch` of `i32[batch, ctx]` to 4.

import type { Arg, DerivedModelDecl, Expr, LayerDecl, ModelDecl, Preset, Program, Ref, Span, Stmt } from '../../grammar/ast.ts';
import { PRESETS } from '../../grammar/ast.ts';
import { lookup, type ArgSpec } from '../../grammar/library/signatures.ts';
import type { DType } from '../../grammar/ast.ts';
import { commandLineSpan, LowerError, nearest } from './errors.ts';
import { expectInt, foldBinary, foldUnary, showValue, type Value } from './values.ts';

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
}

export type Binding = { kind: 'const'; value: Value } | { kind: 'tensor'; id: string };

/** Every model (plain or derived) and user layer of a program and the programs it imports. */
export interface DeclIndex {
  models: Map<string, ModelDecl | DerivedModelDecl>;
  layers: Map<string, LayerDecl>;
}

export function indexDecls(programs: Program | readonly Program[]): DeclIndex {
  const list = Array.isArray(programs) ? (programs as readonly Program[]) : [programs as Program];
  const models = new Map<string, ModelDecl | DerivedModelDecl>();
  const layers = new Map<string, LayerDecl>();
  for (const p of list) {
    for (const d of p.decls) {
      if (d.kind === 'model' || d.kind === 'derived') models.set(d.name.name, d);
      else if (d.kind === 'layer') layers.set(d.name.name, d);
    }
  }
  return { models, layers };
}

/** Names of the models a program declares (plain and derived), in source order. */
export function modelNames(program: Program): string[] {
  return program.decls.filter((d) => d.kind === 'model' || d.kind === 'derived').map((d) => d.name.name);
}

/** Follows `model A = B(…)` chains to the body-bearing declaration, collecting argument overrides. */
function resolveModel(index: DeclIndex, name: string, span: Span): { decl: ModelDecl; args: Arg[][] } {
  const chain: Arg[][] = [];
  const seen = new Set<string>();
  let cur = index.models.get(name);
  if (cur === undefined) {
    const hint = nearest(name, [...index.models.keys()]);
    throw new LowerError(
      'E0307',
      `no model named '${name}'`,
      span,
      [{ message: `models: ${[...index.models.keys()].join(', ') || '(none)'}` }],
      hint === undefined ? undefined : `did you mean '${hint}'?`,
    );
  }
  while (cur.kind === 'derived') {
    if (seen.has(cur.name.name)) throw new LowerError('E0307', `model '${name}' derives from itself`, cur.span);
    seen.add(cur.name.name);
    chain.unshift(cur.args); // base-most arguments apply first
    const next = index.models.get(cur.base.name);
    if (next === undefined) throw new LowerError('E0307', `no model named '${cur.base.name}'`, cur.base.span);
    cur = next;
  }
  return { decl: cur, args: chain };
}

export function instantiate(programs: Program | readonly Program[], modelName: string, opts: InstantiateOptions = {}): ModelInstance {
  const index = indexDecls(programs);
  const { decl, args } = resolveModel(index, modelName, commandLineSpan('--model'));
  const params = evalModelParams(decl, args, opts.overrides ?? {});
  const dims: Record<string, number> = { batch: 1, ...opts.dims };
  const env = new Map<string, Binding>();
  for (const [k, v] of Object.entries(params)) env.set(k, { kind: 'const', value: v });
  const inst = new Instantiator(index, dims);
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

function evalModelParams(decl: ModelDecl, chain: Arg[][], overrides: Readonly<Record<string, Value>>): Record<string, Value> {
  const params: Record<string, Value> = {};
  const env = new Map<string, Binding>();
  const names = decl.params.map((p) => p.name.name);
  // Defaults may refer to earlier parameters: `model M(dim = 64, ffn = dim * 4)`.
  const given = new Map<string, { expr: Expr; env: Map<string, Binding> }>();
  for (const args of chain) {
    args.forEach((a, k) => {
      const name = a.name ?? names[k];
      if (name === undefined || !names.includes(name)) {
        throw new LowerError('E0413', `the base model '${decl.name.name}' has no parameter '${a.name ?? `#${k + 1}`}'`, a.span);
      }
      given.set(name, { expr: a.value, env: new Map() });
    });
  }
  for (const k of Object.keys(overrides)) {
    if (!names.includes(k)) throw new LowerError('E0413', `model '${decl.name.name}' has no parameter '${k}'`, commandLineSpan(k));
  }
  for (const p of decl.params) {
    const name = p.name.name;
    let v: Value;
    const override = overrides[name];
    const g = given.get(name);
    if (override !== undefined) v = override;
    else if (g !== undefined) v = constOf(g.expr, g.env);
    else if (p.default !== undefined) v = constOf(p.default, env);
    else throw new LowerError('E0414', `model parameter '${name}' has no value`, p.span);
    params[name] = v;
    env.set(name, { kind: 'const', value: v });
  }
  return params;
}

/** Evaluates an expression that must be constant under `env` (tensors not allowed). */
export function constOf(e: Expr, env: ReadonlyMap<string, Binding>): Value {
  switch (e.kind) {
    case 'num':
    case 'str':
    case 'bool':
      return e.value;
    case 'ref': {
      const b = lookupRef(e, env);
      if (b.kind !== 'const') throw new LowerError('E0415', `'${refText(e)}' is a tensor where a constant is expected`, e.span);
      return b.value;
    }
    case 'binary':
      return foldBinary(e.op, constOf(e.left, env), constOf(e.right, env), e.span);
    case 'unary':
      return foldUnary(e.op, constOf(e.arg, env), e.span);
    case 'tuple':
    case 'list':
      return e.items.map((x) => constOf(x, env));
    default:
      throw new LowerError('E0415', `a ${e.kind} expression where a constant is expected`, e.span);
  }
}

function refText(r: Ref): string {
  return r.path.map((s, k) => (s.kind === 'name' ? (k === 0 ? s.name : `.${s.name}`) : '[…]')).join('');
}

function lookupRef(r: Ref, env: ReadonlyMap<string, Binding>): Binding {
  const [head, ...rest] = r.path;
  if (head === undefined || head.kind !== 'name') throw new Error('bug: a Ref starts with a name');
  const b = env.get(head.name);
  if (b === undefined) {
    const hint = nearest(head.name, [...env.keys()]);
    throw new LowerError('E0301', `'${head.name}' is not defined here`, head.span, [], hint === undefined ? undefined : `did you mean '${hint}'?`);
  }
  if (rest.length === 0) return b;
  if (b.kind !== 'const') throw new LowerError('E0415', `'${refText(r)}': a tensor has no fields or indices`, r.span);
  let v: Value = b.value;
  for (const seg of rest) {
    if (seg.kind === 'name' || !Array.isArray(v)) throw new LowerError('E0415', `'${refText(r)}' cannot be indexed`, seg.span);
    const list: readonly Value[] = v;
    const k = expectInt(constOf(seg.index, env), 'an index', seg.span);
    const item = list[k < 0 ? list.length + k : k];
    if (item === undefined) throw new LowerError('E0415', `index ${k} is out of range for ${showValue(v)}`, seg.span);
    v = item;
  }
  return { kind: 'const', value: v };
}

/** `layers[i].self_attn` with i = 3 → `layers.3.self_attn`. */
export function evalPath(r: Ref, env: ReadonlyMap<string, Binding>): string {
  return r.path
    .map((s) => {
      if (s.kind === 'name') return s.name;
      const k = constOf(s.index, env);
      if (typeof k !== 'number' || !Number.isInteger(k) || k < 0) {
        throw new LowerError('E0609', `a path index must be a non-negative integer, found ${showValue(k)}`, s.span);
      }
      return String(k);
    })
    .join('.');
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
  return { params: inst.params, stmts: inst.stmts, result: inst.result };
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

  constructor(
    private readonly index: DeclIndex,
    private readonly dims: Readonly<Record<string, number>>,
    private readonly scope: { pathPrefix: string; idPrefix: string } | undefined = undefined,
  ) {
    this.layerMode = scope !== undefined;
  }

  private scoped(path: string): string {
    return this.scope === undefined || this.scope.pathPrefix === '' ? path : `${this.scope.pathPrefix}.${path}`;
  }

  body(stmts: readonly Stmt[], env: Map<string, Binding>): void {
    for (const s of stmts) this.stmt(s, env);
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
          env.set(s.var.name, { kind: 'const', value: v });
          this.body(s.body, env);
        }
        env.delete(s.var.name);
        return;
      }
      case 'require': {
        const ok = constOf(s.cond, env);
        if (typeof ok !== 'boolean') throw new LowerError('E0506', `a requirement must be true or false, found ${showValue(ok)}`, s.cond.span);
        if (!ok) {
          const names = [...env.entries()].filter(([, b]) => b.kind === 'const').map(([k, b]) => `${k} = ${showValue((b as { value: Value }).value)}`);
          throw new LowerError('E0501', s.message?.value ?? 'requirement failed', s.span, [{ message: `with ${names.join(', ')}` }]);
        }
        return;
      }
      case 'param': {
        if (!this.layerMode) throw new LowerError('E0508', '`param` belongs in a layer body', s.span);
        const shape = s.type.shape.map((d) => this.dim(d, env));
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
      if (v === undefined) throw new LowerError('E0505', `the dimension '${name}' has no value (pass --${name} N)`, d.span);
      return v;
    }
    const v = constOf(d, env);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      throw new LowerError('E0505', `a dimension must be a positive integer, found ${showValue(v)}`, d.span);
    return v;
  }

  private rangeValues(e: Expr, env: ReadonlyMap<string, Binding>): Value[] {
    if (e.kind === 'range') {
      const a = expectInt(constOf(e.start, env), 'a range start', e.start.span);
      const b = expectInt(constOf(e.end, env), 'a range end', e.end.span);
      if (a > b) throw new LowerError('E0504', `the range ${a}..${b} runs backwards`, e.span);
      return Array.from({ length: b - a }, (_, k) => a + k);
    }
    const v = constOf(e, env);
    if (!Array.isArray(v)) throw new LowerError('E0504', `repeat needs a range or a list, found ${showValue(v)}`, e.span);
    return [...v];
  }

  expr(e: Expr, env: ReadonlyMap<string, Binding>): InstExpr {
    switch (e.kind) {
      case 'num':
      case 'str':
      case 'bool':
        return { kind: 'const', value: e.value, span: e.span };
      case 'ref': {
        const b = lookupRef(e, env);
        return b.kind === 'const' ? { kind: 'const', value: b.value, span: e.span } : { kind: 'var', id: b.id, span: e.span };
      }
      case 'tuple':
      case 'list':
        return { kind: 'const', value: constOf(e, env), span: e.span };
      case 'unary': {
        const a = this.expr(e.arg, env);
        if (a.kind === 'const') return { kind: 'const', value: foldUnary(e.op, a.value, e.span), span: e.span };
        if (e.op !== '-') throw new LowerError('E0415', '`!` applies to true/false constants, not tensors', e.span);
        return { kind: 'neg', arg: a, span: e.span };
      }
      case 'binary': {
        const l = this.expr(e.left, env);
        const r = this.expr(e.right, env);
        if (l.kind === 'const' && r.kind === 'const') return { kind: 'const', value: foldBinary(e.op, l.value, r.value, e.span), span: e.span };
        if (e.op !== '+' && e.op !== '-' && e.op !== '*' && e.op !== '/' && e.op !== '**') {
          throw new LowerError('E0415', `'${e.op}' compares constants; it does not apply to tensors`, e.span);
        }
        return { kind: 'binary', op: e.op, left: l, right: r, span: e.span };
      }
      case 'call':
        return this.call(e.callee, e.args, e.span, env);
      case 'named': {
        const v = this.expr(e.value, env);
        const path = this.scoped(evalPath(e.path, env));
        if (v.kind === 'call' && v.path === undefined && (v.user !== undefined || lookup(v.callee)?.context === 'layer')) {
          this.claimPath(path, e.path.span);
          v.path = path;
          return v;
        }
        if (v.kind === 'const') throw new LowerError('E0610', "`as` names a layer's parameters; a constant has none", e.span);
        return { kind: 'tap', path, value: v, span: e.span };
      }
      default:
        throw new LowerError('E0415', `a ${e.kind} expression cannot appear in a model body`, e.span);
    }
  }

  private claimPath(path: string, span: Span): void {
    const prev = this.paths.get(path);
    if (prev !== undefined) {
      throw new LowerError('E0608', `two layers get the parameter path '${path}'`, span, [{ message: 'the first one is here', span: prev }]);
    }
    this.paths.set(path, span);
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
        if (e.path !== undefined) this.modules.push({ path: e.path, callee: e.callee, span: e.span });
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
