// Model instances: a model declaration with its parameters evaluated — the declaration's own
// defaults, a derived model's overrides (`model Tiny = Llama(dim = 192)`), or a pruned copy.
// Instantiation is silent; the checks below report what is wrong with the parameters.

import type { DerivedModelDecl, Expr, ModelDecl, RequireStmt, Span, Stmt } from '../ast.ts';
import { noteAt } from '../diagnostics/make.ts';
import { bindArgs } from './args.ts';
import type { CheckContext } from './context.ts';
import { describeValue, evalConst, notConstText, type Value } from './eval.ts';

export interface ModelInstance {
  /** The name the instance is known by (`Tiny`). */
  name: string;
  /** The declaration whose body it runs (`Llama`'s). */
  decl: ModelDecl;
  /** Evaluated parameters; a parameter that failed to evaluate is absent. */
  env: Map<string, Value>;
  /** The derived declaration that set the parameters, if any. */
  derived?: DerivedModelDecl;
}

const cache = new WeakMap<CheckContext, Map<string, ModelInstance | null>>();

/** Parameter defaults in order; each may use the parameters before it. */
export function defaultEnv(decl: ModelDecl): Map<string, Value> {
  const env = new Map<string, Value>();
  for (const p of decl.params) {
    if (p.default === undefined) continue;
    const r = evalConst(p.default, env);
    if (r.ok) env.set(p.name.name, r.value);
  }
  return env;
}

/** The instance a model name denotes, or undefined when it is not (or not a valid) model. */
export function instantiate(ctx: CheckContext, name: string, seen: ReadonlySet<string> = new Set()): ModelInstance | undefined {
  let memo = cache.get(ctx);
  if (memo === undefined) cache.set(ctx, (memo = new Map()));
  const hit = memo.get(name);
  if (hit !== undefined) return hit ?? undefined;
  if (seen.has(name)) return undefined; // a cycle of derived models
  const inner = new Set(seen).add(name);
  const sym = ctx.symbols.get(name);
  let inst: ModelInstance | undefined;
  if (sym?.kind === 'model') inst = { name, decl: sym.decl, env: defaultEnv(sym.decl) };
  else if (sym?.kind === 'pruned') {
    const base = instantiate(ctx, sym.decl.model.name, inner);
    if (base !== undefined) inst = { ...base, name };
  } else if (sym?.kind === 'derived') {
    const base = instantiate(ctx, sym.decl.base.name, inner);
    if (base !== undefined) {
      const env = new Map(base.env);
      const names = base.decl.params.map((p) => p.name.name);
      let pos = 0;
      for (const a of sym.decl.args) {
        const key = a.name ?? names[pos++];
        if (key === undefined || !names.includes(key)) continue;
        const r = evalConst(a.value, new Map());
        if (r.ok) env.set(key, r.value);
      }
      inst = { name, decl: base.decl, env, derived: sym.decl };
    }
  }
  memo.set(name, inst ?? null);
  return inst;
}

/** Model parameters: defaults present and constant (E0414, E0415). */
export function checkModelParams(decl: ModelDecl, ctx: CheckContext): void {
  const env = new Map<string, Value>();
  for (const p of decl.params) {
    if (p.default === undefined) {
      ctx.report('E0414', p.name.span, `model parameter \`${p.name.name}\` has no default value`, {
        suggestion: `give it one, e.g. \`${p.name.name} = 64\`; derived models can override it`,
      });
      continue;
    }
    const r = evalConst(p.default, env);
    if (r.ok) env.set(p.name.name, r.value);
    // A failing name is undefined (E0301) or a parameter already reported: say nothing more.
    else if (r.err.why !== 'name') reportNotConst(ctx, p.default, `the default of \`${p.name.name}\``, notConstText(r.err));
  }
}

export function reportNotConst(ctx: CheckContext, e: Expr, what: string, why: string): void {
  ctx.report('E0415', e.span, `${what} must be a constant: ${why}`);
}

/** `model Tiny = Llama(…)`: the base is a model, the arguments are its parameters (E0413). */
export function checkDerived(decl: DerivedModelDecl, ctx: CheckContext): void {
  const sym = ctx.symbols.get(decl.base.name);
  const base = instantiate(ctx, decl.base.name);
  if (base === undefined || sym === undefined) return; // reported by the reference check
  const params = base.decl.params.map((p) => ({ name: p.name.name, required: false }));
  const before = ctx.diagnostics.length;
  bindArgs(ctx, { name: decl.base.name, label: `model \`${decl.base.name}\``, span: decl.base.span }, params, decl.args);
  // bindArgs reports unknown names as E0402; for models the catalog has a dedicated code.
  for (let i = before; i < ctx.diagnostics.length; i++) {
    const d = ctx.diagnostics[i]!;
    if (d.code === 'E0402') ctx.diagnostics[i] = { ...d, code: 'E0413' };
  }
  for (const a of decl.args) {
    const r = evalConst(a.value, new Map());
    if (!r.ok) reportNotConst(ctx, a.value, `the argument${a.name ? ` \`${a.name}\`` : ''} of model \`${decl.base.name}\``, notConstText(r.err));
  }
}

/** Every `require` of a body, in order (also inside repeats). */
export function requiresOf(body: readonly Stmt[]): RequireStmt[] {
  const out: RequireStmt[] = [];
  for (const s of body) {
    if (s.kind === 'require') out.push(s);
    else if (s.kind === 'repeat') out.push(...requiresOf(s.body));
  }
  return out;
}

function namesIn(e: Expr, out: Set<string>): Set<string> {
  switch (e.kind) {
    case 'ref': {
      const f = e.path[0];
      if (f?.kind === 'name' && e.path.length === 1) out.add(f.name);
      break;
    }
    case 'binary':
      namesIn(e.left, out);
      namesIn(e.right, out);
      break;
    case 'unary':
      namesIn(e.arg, out);
      break;
    default:
      break;
  }
  return out;
}

/** Evaluates the model's requires for one instance (E0501, E0506). */
export function checkRequires(ctx: CheckContext, inst: ModelInstance, site?: Span): void {
  for (const req of requiresOf(inst.decl.body)) {
    const r = evalConst(req.cond, inst.env);
    if (!r.ok) {
      // A name without a value is a repeat variable or an already-reported parameter.
      if (r.err.why !== 'name') reportNotConst(ctx, req.cond, 'a `require` condition', notConstText(r.err));
      else if (!inst.decl.params.some((p) => p.name.name === (r.err as { name: string }).name)) {
        reportNotConst(ctx, req.cond, 'a `require` condition', notConstText(r.err));
      }
      continue;
    }
    if (typeof r.value !== 'boolean') {
      ctx.report('E0506', req.cond.span, `a \`require\` condition must be true or false, found ${describeValue(r.value)}`, {
        suggestion: 'compare it, e.g. `dim % heads == 0`',
      });
      continue;
    }
    if (r.value) continue;
    const values = [...namesIn(req.cond, new Set())].filter((n) => inst.env.has(n)).map((n) => `${n} = ${describeValue(inst.env.get(n)!)}`);
    const what = req.message ? req.message.value : 'the condition is false';
    const notes = [];
    if (values.length > 0) notes.push({ message: `with ${values.join(', ')}` });
    if (inst.derived !== undefined && site !== undefined) notes.push(noteAt(`for model \`${inst.name}\`, declared here`, site));
    ctx.report('E0501', req.span, `requirement failed${inst.derived ? ` for \`${inst.name}\`` : ''}: ${what}`, { notes });
  }
}
