// Model instances: a model declaration with its parameters evaluated by the language's evaluator
// (grammar/eval/params.ts) — the declaration's own defaults, a derived model's overrides (`model
// Tiny = Llama(dim = 192)`, later defaults recomputed from it), or a pruned copy. Instantiation is
// silent; the checks below and grammar/check/instances.ts report what is wrong.

import type { DerivedModelDecl, Expr, ModelDecl } from '../ast.ts';
import { evalParams, indexOf, type DeclIndex, resolveModel } from '../eval/params.ts';
import { bindArgs } from './args.ts';
import type { CheckContext } from './context.ts';
import { evalConst, notConstText, type Value } from './eval.ts';

export interface ModelInstance {
  /** The name the instance is known by (`Tiny`). */
  name: string;
  /** The declaration whose body it runs (`Llama`'s). */
  decl: ModelDecl;
  /** Evaluated parameters; a parameter that failed to evaluate is absent. */
  env: Map<string, Value>;
  /** The derived declaration that set the parameters, if any. */
  derived?: DerivedModelDecl;
  /** The model the evaluator instantiates: this one, or the model a pruned one copies. */
  source: string;
}

const cache = new WeakMap<CheckContext, Map<string, ModelInstance | null>>();
const indexes = new WeakMap<CheckContext, DeclIndex>();

/** Models and layers by name, first declarations only (later ones are E0302). */
export function declIndex(ctx: CheckContext): DeclIndex {
  let index = indexes.get(ctx);
  if (index === undefined) indexes.set(ctx, (index = indexOf([...ctx.symbols.values()].map((s) => s.decl))));
  return index;
}

/** Parameter defaults in order; each may use the parameters before it. */
export function defaultEnv(decl: ModelDecl): Map<string, Value> {
  return valuesOf(decl, []);
}

function valuesOf(decl: ModelDecl, chain: Parameters<typeof evalParams>[1]): Map<string, Value> {
  const env = new Map<string, Value>();
  for (const p of evalParams(decl, chain).params) if (p.result !== 'no-default' && p.result.ok) env.set(p.name, p.result.value);
  return env;
}

/** The instance a model name denotes, or undefined when it is not (or not a valid) model. */
export function instantiate(ctx: CheckContext, name: string, seen: ReadonlySet<string> = new Set()): ModelInstance | undefined {
  let memo = cache.get(ctx);
  if (memo === undefined) cache.set(ctx, (memo = new Map()));
  const hit = memo.get(name);
  if (hit !== undefined) return hit ?? undefined;
  if (seen.has(name)) return undefined; // a cycle of pruned models
  const sym = ctx.symbols.get(name);
  let inst: ModelInstance | undefined;
  if (sym?.kind === 'model' || sym?.kind === 'derived') {
    const resolved = tryResolve(declIndex(ctx), name, sym.decl.span);
    if (resolved !== undefined) {
      inst = { name, decl: resolved.decl, env: valuesOf(resolved.decl, resolved.args), source: name };
      if (sym.kind === 'derived') inst.derived = sym.decl;
    }
  } else if (sym?.kind === 'pruned') {
    const base = instantiate(ctx, sym.decl.model.name, new Set(seen).add(name));
    if (base !== undefined) inst = { ...base, name };
  }
  memo.set(name, inst ?? null);
  return inst;
}

/** A cycle of derived models or an unknown base has no instance (the reference checks report it). */
function tryResolve(index: DeclIndex, name: string, span: ModelDecl['span']): ReturnType<typeof resolveModel> | undefined {
  try {
    return resolveModel(index, name, span);
  } catch {
    return undefined;
  }
}

/** Model parameters: defaults present and constant (E0414, E0415). */
export function checkModelParams(decl: ModelDecl, ctx: CheckContext): void {
  for (const [k, p] of evalParams(decl, []).params.entries()) {
    const param = decl.params[k]!;
    if (p.result === 'no-default') {
      ctx.report('E0414', param.name.span, `model parameter \`${p.name}\` has no default value`, {
        suggestion: `give it one, e.g. \`${p.name} = 64\`; derived models can override it`,
      });
      continue;
    }
    // A failing name is undefined (E0301) or a parameter already reported: say nothing more.
    if (!p.result.ok && p.result.err.why !== 'name') reportNotConst(ctx, param.default!, `the default of \`${p.name}\``, notConstText(p.result.err));
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
