// CST → AST for declarations and statements (expressions: to-ast-expr.ts). Comments are attached
// afterwards by comments.ts, which needs the finished tree.

import type { CstNode, IToken } from 'chevrotain';
import { DTYPES, type Decl, type DType, type Field, type Ident, type Import, type Param, type Span, type Stmt, type StrLit, type TensorType } from '../ast.ts';
import { diag } from '../diagnostics/make.ts';
import { didYouMean } from '../diagnostics/suggest.ts';
import { child, children, spanOf, token, tokEnd, type Ctx } from './cst.ts';
import { arg, expr, items, key, strLit, type X } from './to-ast-expr.ts';

export interface TopLevel {
  imports: Import[];
  decls: Decl[];
}

/** Adds one top-level item (a `topItem` CST node) to `out`: an import or a declaration. */
export function addTopItem(ctx: Ctx, item: CstNode, out: TopLevel): void {
  const imp = child(item, 'importDecl');
  if (imp !== undefined) {
    const kw = token(imp, 'Import');
    const path = token(imp, 'StringLit');
    if (kw === undefined || path === undefined) return;
    const p = strLit(ctx, path);
    out.imports.push({ path: p.e, span: spanOf(ctx, kw.startOffset, p.t) });
    return;
  }
  const d = decl(ctx, item);
  if (d !== undefined) out.decls.push(d);
}

/** The identifier under `n[key]` (a `name` sub-rule), or a placeholder at the last position. */
function ident(ctx: Ctx, n: CstNode | undefined, key = 'name', i = 0): Ident {
  const tok = token(child(n, key, i), 'Name');
  if (tok === undefined) return { name: '', span: spanOf(ctx, ctx.here, ctx.here) };
  ctx.here = tokEnd(tok);
  return { name: tok.image, span: spanOf(ctx, tok.startOffset, tokEnd(tok)) };
}

/** End offset of a `{ … }` node: its `}`, else the furthest position reached inside it. */
function closeEnd(ctx: Ctx, n: CstNode | undefined): number {
  const c = token(n, 'RCurly');
  return c === undefined ? ctx.here : tokEnd(c);
}

function decl(ctx: Ctx, item: CstNode): Decl | undefined {
  const m = child(item, 'modelDecl');
  if (m !== undefined) return modelDecl(ctx, m);
  const l = child(item, 'layerDecl');
  if (l !== undefined) {
    const kw = token(l, 'Layer');
    if (kw === undefined) return undefined;
    const name = ident(ctx, l);
    const params = paramList(ctx, child(l, 'paramList'));
    const blk = child(l, 'block');
    const body = block(ctx, blk);
    return { kind: 'layer', name, params, body, span: spanOf(ctx, kw.startOffset, closeEnd(ctx, blk)) };
  }
  const b = child(item, 'letDecl');
  if (b !== undefined) {
    const kw = token(b, 'Let');
    if (kw === undefined) return undefined;
    const name = ident(ctx, b);
    const v = expr(ctx, child(b, 'expr'));
    return { kind: 'binding', name, value: v.e, span: spanOf(ctx, kw.startOffset, v.t) };
  }
  const inh = child(item, 'inheritDecl');
  if (inh !== undefined) {
    const kw = token(inh, 'Inherit');
    if (kw === undefined) return undefined;
    const childName = ident(ctx, inh);
    const parent = ident(ctx, inh, 'parent');
    const atTok = token(inh, 'StringLit');
    const at: StrLit = atTok === undefined ? { kind: 'str', value: '', span: spanOf(ctx, ctx.here, ctx.here) } : strLit(ctx, atTok).e;
    const fb = child(inh, 'fieldBlock');
    const fields = fieldBlock(ctx, fb);
    return { kind: 'inherit', child: childName, parent, at, fields, span: spanOf(ctx, kw.startOffset, closeEnd(ctx, fb)) };
  }
  const pr = child(item, 'pruneDecl');
  if (pr !== undefined) {
    const kw = token(pr, 'Prune');
    if (kw === undefined) return undefined;
    const model = ident(ctx, pr);
    const to = token(pr, 'To') !== undefined ? ident(ctx, pr, 'to') : undefined;
    const fb = child(pr, 'fieldBlock');
    const fields = fieldBlock(ctx, fb);
    const span = spanOf(ctx, kw.startOffset, closeEnd(ctx, fb));
    return to === undefined ? { kind: 'prune', model, fields, span } : { kind: 'prune', model, to, fields, span };
  }
  const ad = child(item, 'adapterDecl');
  if (ad !== undefined) {
    const kw = token(ad, 'Adapter');
    if (kw === undefined) return undefined;
    const name = ident(ctx, ad);
    const on = ident(ctx, ad, 'on');
    const fb = child(ad, 'fieldBlock');
    const fields = fieldBlock(ctx, fb);
    return { kind: 'adapter', name, on, fields, span: spanOf(ctx, kw.startOffset, closeEnd(ctx, fb)) };
  }
  for (const [rule, kwName, kind] of [
    ['trainDecl', 'Train', 'train'],
    ['sampleDecl', 'Sample', 'sample'],
  ] as const) {
    const n = child(item, rule);
    if (n === undefined) continue;
    const kw = token(n, kwName);
    if (kw === undefined) return undefined;
    const target = ident(ctx, n);
    const fb = child(n, 'fieldBlock');
    const fields = fieldBlock(ctx, fb);
    return { kind, target, fields, span: spanOf(ctx, kw.startOffset, closeEnd(ctx, fb)) };
  }
  return undefined;
}

function modelDecl(ctx: Ctx, m: CstNode): Decl | undefined {
  const kw = token(m, 'Model');
  if (kw === undefined) return undefined;
  const name = ident(ctx, m);
  if (token(m, 'Equals') !== undefined) {
    const base = ident(ctx, m, 'base');
    const al = child(m, 'argList');
    const args = children(al, 'arg').map((a) => arg(ctx, a).arg);
    const close = token(al, 'RParen');
    return { kind: 'derived', name, base, args, span: spanOf(ctx, kw.startOffset, close === undefined ? ctx.here : tokEnd(close)) };
  }
  const params = paramList(ctx, child(m, 'paramList'));
  const preset = token(m, 'Preset') !== undefined ? ident(ctx, m, 'preset') : undefined;
  const blk = child(m, 'block');
  const body = block(ctx, blk);
  const span = spanOf(ctx, kw.startOffset, closeEnd(ctx, blk));
  return preset === undefined ? { kind: 'model', name, params, body, span } : { kind: 'model', name, params, preset, body, span };
}

function paramList(ctx: Ctx, n: CstNode | undefined): Param[] {
  const out: Param[] = [];
  for (const p of children(n, 'param')) {
    const name = ident(ctx, p);
    if (name.name === '') continue;
    if (child(p, 'expr') === undefined) {
      out.push({ name, span: name.span });
      continue;
    }
    const v = expr(ctx, child(p, 'expr'));
    out.push({ name, default: v.e, span: spanOf(ctx, name.span.start.offset, v.t) });
  }
  return out;
}

function fieldBlock(ctx: Ctx, n: CstNode | undefined): Field[] {
  const out: Field[] = [];
  for (const f of children(n, 'field')) {
    const k = key(ctx, child(f, 'key'));
    if (k === undefined) continue;
    const v = expr(ctx, child(f, 'expr'));
    out.push({ key: k.key, keySpan: k.span, value: v.e, span: spanOf(ctx, k.s, v.t) });
  }
  return out;
}

function block(ctx: Ctx, n: CstNode | undefined): Stmt[] {
  const out: Stmt[] = [];
  for (const s of children(n, 'stmt')) {
    const st = stmt(ctx, s);
    if (st !== undefined) out.push(st);
  }
  return out;
}

/** `NAME = expr` in its three spellings: `x = e`, `let x = e`, `output x = e`. */
function valueStmt(ctx: Ctx, n: CstNode, kw: IToken | undefined): { name: Ident; v: X; start: number } {
  const name = ident(ctx, n);
  const v = expr(ctx, child(n, 'expr'));
  return { name, v, start: kw?.startOffset ?? name.span.start.offset };
}

function stmt(ctx: Ctx, s: CstNode): Stmt | undefined {
  const assign = child(s, 'assignStmt') ?? child(s, 'letStmt');
  if (assign !== undefined) {
    const { name, v, start } = valueStmt(ctx, assign, token(assign, 'Let'));
    if (name.name === '') return undefined;
    return { kind: 'let', name, value: v.e, span: spanOf(ctx, start, v.t) };
  }
  const out = child(s, 'outputStmt');
  if (out !== undefined) {
    const { name, v, start } = valueStmt(ctx, out, token(out, 'Output'));
    return { kind: 'output', name, value: v.e, span: spanOf(ctx, start, v.t) };
  }
  const inp = child(s, 'inputStmt') ?? child(s, 'paramStmt');
  if (inp !== undefined) {
    const kw = token(inp, 'Input') ?? token(inp, 'Param');
    if (kw === undefined) return undefined;
    const name = ident(ctx, inp);
    const { type, t } = tensorType(ctx, child(inp, 'tensorType'));
    if (kw.image === 'input') return { kind: 'input', name, type, span: spanOf(ctx, kw.startOffset, t) };
    if (child(inp, 'expr') === undefined) return { kind: 'param', name, type, span: spanOf(ctx, kw.startOffset, t) };
    const init = expr(ctx, child(inp, 'expr'));
    return { kind: 'param', name, type, init: init.e, span: spanOf(ctx, kw.startOffset, init.t) };
  }
  const rep = child(s, 'repeatStmt');
  if (rep !== undefined) {
    const kw = token(rep, 'Repeat');
    if (kw === undefined) return undefined;
    const v = ident(ctx, rep);
    const range = expr(ctx, child(rep, 'expr'));
    const blk = child(rep, 'block');
    const body = block(ctx, blk);
    return { kind: 'repeat', var: v, range: range.e, body, span: spanOf(ctx, kw.startOffset, closeEnd(ctx, blk)) };
  }
  const req = child(s, 'requireStmt');
  if (req !== undefined) {
    const kw = token(req, 'Require');
    if (kw === undefined) return undefined;
    const cond = expr(ctx, child(req, 'expr'));
    const msgTok = token(req, 'StringLit');
    if (msgTok === undefined) return { kind: 'require', cond: cond.e, span: spanOf(ctx, kw.startOffset, cond.t) };
    const msg = strLit(ctx, msgTok);
    return { kind: 'require', cond: cond.e, message: msg.e, span: spanOf(ctx, kw.startOffset, msg.t) };
  }
  const ret = child(s, 'returnStmt');
  if (ret !== undefined) {
    const kw = token(ret, 'Return');
    if (kw === undefined) return undefined;
    const v = expr(ctx, child(ret, 'expr'));
    return { kind: 'return', value: v.e, span: spanOf(ctx, kw.startOffset, v.t) };
  }
  return undefined;
}

function tensorType(ctx: Ctx, n: CstNode | undefined): { type: TensorType; t: number } {
  const d = ident(ctx, n);
  const dtype = checkDType(ctx, d.name, d.span);
  const { xs } = items(ctx, child(n, 'items'));
  const close = token(n, 'RBracket');
  const t = close === undefined ? ctx.here : tokEnd(close);
  return { type: { kind: 'ttype', dtype, dtypeSpan: d.span, shape: xs.map((x) => x.e), span: spanOf(ctx, d.span.start.offset, t) }, t };
}

function checkDType(ctx: Ctx, name: string, span: Span): DType {
  if ((DTYPES as readonly string[]).includes(name)) return name as DType;
  if (name !== '') {
    const suggestion = didYouMean(name, DTYPES);
    ctx.diagnostics.push(
      diag('E0502', span, `unknown dtype \`${name}\`; expected one of ${DTYPES.join(', ')}`, suggestion === undefined ? {} : { suggestion }),
    );
  }
  return 'f32';
}
