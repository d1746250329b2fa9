// Parameter paths of a model instance: every `as` path with repeats unrolled (`layers[i].mlp`
// → `layers.0.mlp`, `layers.1.mlp`, …), and below each the tensors its layer creates
// (grammar/library/param-names.ts, or a user layer's `param`s and inner `as` paths).

import type { Call, Expr, LayerDecl, Named, Span, Stmt } from '../ast.ts';
import { isLayerName, paramTensors } from '../library/param-names.ts';
import { lookup } from '../library/signatures.ts';
import { noteAt } from '../diagnostics/make.ts';
import type { CheckContext } from './context.ts';
import { describeValue, evalConst, notConstText, type Value } from './eval.ts';
import { calleeName } from './exprs.ts';
import type { ModelInstance } from './models.ts';

export interface ModulePath {
  /** `layers.0.self_attn` */
  path: string;
  /** the `as` path as written */
  span: Span;
  /** full tensor paths: `layers.0.self_attn.q_proj.weight` */
  tensors: string[];
}

/** Unrolling stops here: a spec with more `as` paths than this is surely a mistake. */
const MAX_MODULES = 20_000;
const cache = new WeakMap<CheckContext, Map<string, ModulePath[]>>();

/** The module paths of an instance. Reports E0608 and E0609 (de-duplicated across instances). */
export function modulePaths(ctx: CheckContext, inst: ModelInstance): ModulePath[] {
  let memo = cache.get(ctx);
  if (memo === undefined) cache.set(ctx, (memo = new Map()));
  const hit = memo.get(inst.name);
  if (hit !== undefined) return hit;
  const out: ModulePath[] = [];
  const byPath = new Map<string, ModulePath>();
  const visit = (n: Named, env: ReadonlyMap<string, Value>): void => {
    if (out.length >= MAX_MODULES) return;
    const path = evalPath(ctx, n, env);
    if (path === undefined || n.value.kind !== 'call') return;
    const tensors = layerTensors(ctx, n.value, env, new Set()).map((t) => `${path}.${t}`);
    const prev = byPath.get(path);
    if (prev !== undefined) {
      const it = [...env].filter(([k]) => !inst.decl.params.some((p) => p.name.name === k)).map(([k, v]) => `${k} = ${describeValue(v)}`);
      ctx.report('E0608', n.path.span, `parameter path \`${path}\` is used twice${it.length > 0 ? ` (at ${it.join(', ')})` : ''}`, {
        notes: [noteAt('first used here', prev.span)],
        suggestion: 'give each layer call its own path, e.g. with the repeat variable: `layers[i].mlp`',
      });
      return;
    }
    const m = { path, span: n.path.span, tensors };
    byPath.set(path, m);
    out.push(m);
  };
  walkStmts(inst.decl.body, inst.env, visit);
  memo.set(inst.name, out);
  return out;
}

/** Every tensor path of an instance, flattened. */
export function tensorPaths(ctx: CheckContext, inst: ModelInstance): string[] {
  return modulePaths(ctx, inst).flatMap((m) => m.tensors);
}

type Visit = (n: Named, env: ReadonlyMap<string, Value>) => void;

function walkStmts(body: readonly Stmt[], env: ReadonlyMap<string, Value>, visit: Visit, budget = { left: MAX_MODULES }): void {
  for (const s of body) {
    if (budget.left-- <= 0) return;
    switch (s.kind) {
      case 'let':
      case 'output':
      case 'return':
        findNamed(s.value, env, visit);
        break;
      case 'param':
        if (s.init) findNamed(s.init, env, visit);
        break;
      case 'repeat': {
        if (s.range.kind !== 'range') break;
        const a = evalConst(s.range.start, env);
        const b = evalConst(s.range.end, env);
        if (!a.ok || !b.ok || typeof a.value !== 'number' || typeof b.value !== 'number') break;
        for (let i = a.value; i < b.value && budget.left > 0; i++) {
          walkStmts(s.body, new Map(env).set(s.var.name, i), visit, budget);
        }
        break;
      }
      default:
        break;
    }
  }
}

function findNamed(e: Expr, env: ReadonlyMap<string, Value>, visit: Visit): void {
  switch (e.kind) {
    case 'named':
      findNamed(e.value, env, visit);
      visit(e, env);
      return;
    case 'call':
      for (const a of e.args) findNamed(a.value, env, visit);
      return;
    case 'binary':
      findNamed(e.left, env, visit);
      findNamed(e.right, env, visit);
      return;
    case 'unary':
      findNamed(e.arg, env, visit);
      return;
    case 'tuple':
    case 'list':
      for (const i of e.items) findNamed(i, env, visit);
      return;
    default:
      return;
  }
}

/** `layers[i].self_attn` in env {i: 2} → `layers.2.self_attn`; reports E0609. */
function evalPath(ctx: CheckContext, n: Named, env: ReadonlyMap<string, Value>): string | undefined {
  const parts: string[] = [];
  for (const [k, seg] of n.path.path.entries()) {
    if (seg.kind === 'name') {
      parts.push(seg.name);
      continue;
    }
    if (k === 0) {
      ctx.report('E0609', seg.span, 'a parameter path must start with a name', { suggestion: 'e.g. `layers[i]`' });
      return undefined;
    }
    const r = evalConst(seg.index, env);
    if (!r.ok) {
      // Names the scope check reports (undefined) are not repeated here.
      if (r.err.why !== 'name') ctx.report('E0609', seg.index.span, `a path index must be a constant: ${notConstText(r.err)}`);
      return undefined;
    }
    if (typeof r.value !== 'number' || !Number.isInteger(r.value) || r.value < 0) {
      ctx.report('E0609', seg.index.span, `a path index must be a non-negative integer, found ${describeValue(r.value)}`);
      return undefined;
    }
    parts.push(String(r.value));
  }
  return parts.join('.');
}

/** The tensors a layer call creates, relative to its `as` path. */
function layerTensors(ctx: CheckContext, call: Call, env: ReadonlyMap<string, Value>, seen: Set<string>): string[] {
  const name = calleeName(call);
  if (name === undefined) return [];
  if (isLayerName(name)) {
    const sig = lookup(name)!;
    return paramTensors(name)
      .filter(
        (t) =>
          t.if === undefined ||
          boolArg(
            call,
            sig.args.map((a) => a.name),
            t.if,
            sig.args.find((a) => a.name === t.if)?.default,
            env,
          ),
      )
      .map((t) => t.path);
  }
  const user = ctx.userLayer(name);
  if (user === undefined || seen.has(name)) return [];
  return userLayerTensors(ctx, user, new Set(seen).add(name));
}

function userLayerTensors(ctx: CheckContext, decl: LayerDecl, seen: Set<string>): string[] {
  const out: string[] = [];
  for (const s of decl.body) if (s.kind === 'param') out.push(s.name.name);
  // Inner `as` paths are relative to the layer's own path; layer parameters have no values here.
  walkStmts(decl.body, new Map(), (n, env) => {
    const parts = n.path.path.map((seg) =>
      seg.kind === 'name'
        ? seg.name
        : (() => {
            const r = evalConst(seg.index, env);
            return r.ok ? String(r.value) : '*';
          })(),
    );
    if (n.value.kind === 'call') for (const t of layerTensors(ctx, n.value, env, seen)) out.push(`${parts.join('.')}.${t}`);
  });
  return out;
}

function boolArg(call: Call, order: readonly string[], name: string, dflt: unknown, env: ReadonlyMap<string, Value>): boolean {
  const pos = order.indexOf(name);
  const positional = call.args.filter((a) => a.name === undefined);
  const arg = call.args.find((a) => a.name === name) ?? (pos >= 0 ? positional[pos] : undefined);
  if (arg === undefined) return dflt !== false;
  const r = evalConst(arg.value, env);
  return !(r.ok && r.value === false);
}
