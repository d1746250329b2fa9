// Model and layer bodies: statement placement, names defined once and before use, dtypes,
// shapes, repeat ranges, outputs and returns. Calls inside are checked by the expression walker.

import { DTYPES, type Ident, type LayerDecl, type ModelDecl, type Param, type Stmt, type TensorType } from '../ast.ts';
import { didYouMean } from '../diagnostics/suggest.ts';
import { noteAt } from '../diagnostics/make.ts';
import type { Context } from '../library/signatures.ts';
import type { CheckContext } from './context.ts';
import { LowerError } from '../eval/errors.ts';
import { dimension, repeatBound, repeatCount } from '../eval/integers.ts';
import { evalConst, notConstText, type Value } from './eval.ts';
import { walkExpr, type ExprEnv } from './exprs.ts';
import { defaultEnv, reportNotConst } from './models.ts';
import { KIND_WORD, Scope, type NameInfo } from './scope.ts';

const BODY_CONTEXTS: ReadonlySet<Context> = new Set(['layer', 'fn']);
const INIT_CONTEXTS: ReadonlySet<Context> = new Set(['init']);

/** Lets defined in a model body, first definition of each name (for the unused-let warning). */
export const bodyLets = new WeakMap<ModelDecl, Map<string, Ident>>();

interface BodyState {
  ctx: CheckContext;
  env: ExprEnv;
  isLayer: boolean;
  lets: Map<string, Ident>;
}

function paramScope(
  ctx: CheckContext,
  params: readonly Param[],
  kind: 'param' | 'lparam',
  values: ReadonlyMap<string, Value>,
  onRead: (n: string) => void,
): Scope {
  const scope = new Scope(undefined, false, (n) => onRead(n));
  for (const p of params) {
    const prev = scope.get(p.name.name);
    if (prev !== undefined) {
      ctx.report('E0304', p.name.span, `parameter \`${p.name.name}\` is declared twice`, {
        notes: prev.span ? [noteAt('first declared here', prev.span)] : [],
      });
      continue;
    }
    // Defaults may use earlier parameters; a layer's defaults are checked for names only.
    if (p.default !== undefined) walkExpr(ctx, p.default, { scope, contexts: new Set(), userLayers: false, where: 'a parameter default' });
    const info: NameInfo = { kind, span: p.name.span };
    const v = values.get(p.name.name);
    if (v !== undefined) info.value = v;
    scope.define(p.name.name, info);
  }
  return scope;
}

export function checkModelBody(decl: ModelDecl, ctx: CheckContext): void {
  const scope = paramScope(ctx, decl.params, 'param', defaultEnv(decl), (n) => ctx.markBodyRead(decl, n));
  const lets = new Map<string, Ident>();
  bodyLets.set(decl, lets);
  const state: BodyState = { ctx, env: { scope, contexts: BODY_CONTEXTS, userLayers: true, where: 'a model body' }, isLayer: false, lets };
  walkBody(state, decl.body);
  if (!hasOutput(decl.body)) {
    ctx.report('E0503', decl.name.span, `model \`${decl.name.name}\` has no output`, { suggestion: 'add one, e.g. `output logits = Linear(h, vocab)`' });
  }
}

function hasOutput(body: readonly Stmt[]): boolean {
  return body.some((s) => s.kind === 'output' || (s.kind === 'repeat' && hasOutput(s.body)));
}

export function checkLayerBody(decl: LayerDecl, ctx: CheckContext): void {
  const scope = paramScope(ctx, decl.params, 'lparam', new Map(), () => {});
  const state: BodyState = { ctx, env: { scope, contexts: BODY_CONTEXTS, userLayers: true, where: 'a layer body' }, isLayer: true, lets: new Map() };
  walkBody(state, decl.body);
  const returns = decl.body.filter((s) => s.kind === 'return');
  const last = decl.body[decl.body.length - 1];
  if (returns.length === 0)
    ctx.report('E0507', decl.name.span, `layer \`${decl.name.name}\` has no \`return\``, { suggestion: 'end its body with `return <tensor>`' });
  for (const r of returns.slice(1))
    ctx.report('E0507', r.span, `layer \`${decl.name.name}\` has more than one \`return\``, { notes: [noteAt('first return here', returns[0]!.span)] });
  if (returns.length === 1 && last !== undefined && last.kind !== 'return') {
    ctx.report('E0507', returns[0]!.span, `\`return\` must be the last statement of layer \`${decl.name.name}\``);
  }
}

function define(st: BodyState, name: Ident, info: NameInfo): void {
  const prev = st.env.scope.get(name.name);
  const rebindable = prev === undefined || (info.kind === 'let' && prev.kind === 'let');
  if (!rebindable) {
    ctx(st).report('E0305', name.span, `\`${name.name}\` is already defined as ${KIND_WORD[prev.kind]}`, {
      notes: prev.span ? [noteAt('defined here', prev.span)] : [],
      suggestion: `choose another name${info.kind === 'let' ? '; only `let`s can be reassigned' : ''}`,
    });
    return;
  }
  st.env.scope.define(name.name, info);
}

const ctx = (st: BodyState): CheckContext => st.ctx;

function walkBody(st: BodyState, body: readonly Stmt[]): void {
  for (const s of body) walkStmt(st, s);
}

function walkStmt(st: BodyState, s: Stmt): void {
  const c = st.ctx;
  switch (s.kind) {
    case 'input':
    case 'output':
      if (st.isLayer) {
        c.report('E0508', s.span, `\`${s.kind}\` is not allowed in a layer body`, {
          suggestion: s.kind === 'input' ? 'take it as a layer parameter' : 'use `return`',
        });
        return;
      }
      if (s.kind === 'input') {
        checkType(st, s.type);
        define(st, s.name, { kind: 'input', span: s.name.span });
      } else {
        walkExpr(c, s.value, st.env);
        define(st, s.name, { kind: 'output', span: s.name.span });
      }
      return;
    case 'let':
      walkExpr(c, s.value, st.env);
      if (!st.lets.has(s.name.name) && st.env.scope.get(s.name.name) === undefined) st.lets.set(s.name.name, s.name);
      define(st, s.name, { kind: 'let', span: s.name.span });
      return;
    case 'param':
      if (!st.isLayer) {
        c.report('E0508', s.span, '`param` is only allowed in a layer body', { suggestion: 'use a library layer (e.g. `Linear`) or declare a `layer`' });
        return;
      }
      checkType(st, s.type);
      if (s.init !== undefined) walkExpr(c, s.init, { ...st.env, contexts: INIT_CONTEXTS, bareCallables: true, where: 'a parameter initializer' });
      define(st, s.name, { kind: 'tensor-param', span: s.name.span });
      return;
    case 'return':
      if (!st.isLayer) c.report('E0508', s.span, '`return` is only allowed in a layer body', { suggestion: 'use `output NAME = …`' });
      walkExpr(c, s.value, st.env);
      return;
    case 'require':
      walkExpr(c, s.cond, { ...st.env, contexts: new Set() });
      return;
    case 'repeat':
      checkRepeat(st, s);
      return;
  }
}

function checkRepeat(st: BodyState, s: Extract<Stmt, { kind: 'repeat' }>): void {
  const c = st.ctx;
  walkExpr(c, s.range, { ...st.env, contexts: new Set() });
  if (s.range.kind !== 'range') {
    c.report('E0504', s.range.span, 'a repeat needs a range `start..end`', { suggestion: `write \`0..n\`` });
  } else if (!st.isLayer) {
    const consts = st.env.scope.consts();
    // The bounds with the parameters' defaults, by the evaluator's rules (each instance is
    // evaluated again with its own values: grammar/check/instances.ts).
    const [a, b] = [s.range.start, s.range.end].map((e) => {
      const r = evalConst(e, consts);
      if (!r.ok) {
        if (r.err.why !== 'name' || st.env.scope.get(r.err.name) !== undefined) reportNotConst(c, e, 'a repeat bound', notConstText(r.err));
        return undefined;
      }
      const v = repeatBound(r.value, e.span);
      if (v instanceof LowerError) c.add(v.diagnostic);
      else return v;
      return undefined;
    });
    if (a !== undefined && b !== undefined) {
      const n = repeatCount(a, b, s.range.span);
      if (n instanceof LowerError) c.add(n.diagnostic);
      else if (n === 0) c.report('W0005', s.range.span, `repeat range ${a}..${b} is empty; the body never runs`);
    }
  }
  const prev = st.env.scope.get(s.var.name);
  if (prev !== undefined) {
    c.report('E0306', s.var.span, `repeat variable \`${s.var.name}\` shadows ${KIND_WORD[prev.kind]}`, {
      notes: prev.span ? [noteAt('defined here', prev.span)] : [],
      suggestion: 'choose another name',
    });
  }
  const inner = new Scope(st.env.scope, true);
  inner.defineHere(s.var.name, { kind: 'repeat', span: s.var.span });
  walkBody({ ...st, env: { ...st.env, scope: inner } }, s.body);
}

function checkType(st: BodyState, t: TensorType): void {
  const c = st.ctx;
  if (!(DTYPES as readonly string[]).includes(t.dtype)) {
    c.report('E0502', t.dtypeSpan, `unknown dtype \`${t.dtype}\``, {
      notes: [{ message: `dtypes: ${DTYPES.join(', ')}` }],
      suggestion: didYouMean(t.dtype, DTYPES),
    });
  }
  const consts = st.env.scope.consts();
  for (const dim of t.shape) {
    // A name that is not in scope is a symbolic dimension (`batch`); parameters are read.
    if (dim.kind === 'ref' && dim.path.length === 1 && dim.path[0]?.kind === 'name') {
      st.env.scope.read(dim.path[0].name);
      continue;
    }
    walkExpr(c, dim, { ...st.env, contexts: new Set() });
    const r = evalConst(dim, consts);
    const v = r.ok ? dimension(r.value, dim.span) : undefined;
    if (v instanceof LowerError) c.add(v.diagnostic);
  }
}
