// CST → AST for expressions. The parser reads `operand (op operand)*` flat; precedence and
// associativity are resolved here by shunting-yard over explicit stacks, so a long chain such as
// `1 + 1 + … + 1` costs no recursion. Every built node records its depth; past MAX_EXPR_DEPTH the
// expression is replaced by a placeholder and E0106 reported, so later recursive passes (format,
// check, lower) can never overflow the stack.

import type { CstNode, IToken } from 'chevrotain';
import type { Arg, BinaryOp, Expr, PathSeg, RecordField, Ref, UnaryOp } from '../ast.ts';
import { diag } from '../diagnostics/make.ts';
import { child, children, token, tokens, tokEnd, spanOf, type Ctx } from './cst.ts';
import { decodeString, readNumber } from './literals.ts';

/** Deepest expression tree accepted (nodes from root to leaf). */
export const MAX_EXPR_DEPTH = 200;

/** Binding strength, loosest first. Unary `-`/`!` sit between `* / %` and `**`. */
export const PREC = {
  when: 1,
  '||': 2,
  '&&': 3,
  '==': 4,
  '!=': 4,
  '<': 4,
  '<=': 4,
  '>': 4,
  '>=': 4,
  '..': 5,
  '+': 6,
  '-': 6,
  '*': 7,
  '/': 7,
  '%': 7,
  unary: 8,
  '**': 9,
  postfix: 10,
  atom: 11,
} as const;

export type InfixOp = BinaryOp | '..';

export const isRightAssoc = (op: InfixOp): boolean => op === '**';

/** An expression with its source extent (parentheses included) and tree depth. */
export interface X {
  e: Expr;
  s: number;
  t: number;
  d: number;
}

type Pending = { kind: 'bin'; op: InfixOp; prec: number } | { kind: 'un'; op: UnaryOp; start: number };

function placeholder(ctx: Ctx, s: number, t: number): X {
  const span = spanOf(ctx, s, t);
  return { e: { kind: 'ref', path: [{ kind: 'name', name: '', span }], span }, s, t, d: 1 };
}

/** Caps the depth of every node built, reporting E0106 once per top-level expression. */
function mk(ctx: Ctx, e: Expr, s: number, t: number, parts: readonly X[]): X {
  let d = 0;
  for (const p of parts) d = Math.max(d, p.d);
  if (d + 1 <= MAX_EXPR_DEPTH) return { e, s, t, d: d + 1 };
  if (!ctx.deepReported) {
    ctx.deepReported = true;
    ctx.diagnostics.push(
      diag('E0106', spanOf(ctx, s, t), `expression nests more than ${MAX_EXPR_DEPTH} levels deep`, { suggestion: 'split it into smaller pieces with `let`' }),
    );
  }
  return placeholder(ctx, s, t);
}

export function expr(ctx: Ctx, n: CstNode | undefined): X {
  if (ctx.exprNesting === 0) ctx.deepReported = false;
  ctx.exprNesting++;
  try {
    return shuntingYard(ctx, n);
  } finally {
    ctx.exprNesting--;
  }
}

function shuntingYard(ctx: Ctx, n: CstNode | undefined): X {
  const operands = children(n, 'operand');
  const ops = n?.children['BinaryOp'] ?? [];
  if (operands.length === 0) return placeholder(ctx, ctx.here, ctx.here);
  const values: X[] = [];
  const pending: Pending[] = [];
  for (let i = 0; i < operands.length; i++) {
    const o = operands[i]!;
    for (const t of tokens(o, 'PrefixOp')) pending.push({ kind: 'un', op: t.image as UnaryOp, start: t.startOffset });
    values.push(postfixChain(ctx, o));
    const opTok = ops[i];
    // After recovery an operator may lack its right operand; ignore such a dangling operator.
    if (opTok === undefined || !('image' in opTok) || i + 1 >= operands.length) continue;
    const op = opTok.image as InfixOp;
    const prec = PREC[op];
    for (;;) {
      const top = pending[pending.length - 1];
      if (top === undefined) break;
      const topPrec = top.kind === 'un' ? PREC.unary : top.prec;
      if (topPrec > prec || (topPrec === prec && !isRightAssoc(op))) reduce(ctx, values, pending);
      else break;
    }
    pending.push({ kind: 'bin', op, prec });
  }
  while (pending.length > 0) reduce(ctx, values, pending);
  return values[0]!;
}

/** Applies the operator on top of `pending` to the values on top of `values`. */
function reduce(ctx: Ctx, values: X[], pending: Pending[]): void {
  const p = pending.pop()!;
  if (p.kind === 'un') {
    const arg = values.pop()!;
    values.push(mk(ctx, { kind: 'unary', op: p.op, arg: arg.e, span: spanOf(ctx, p.start, arg.t) }, p.start, arg.t, [arg]));
    return;
  }
  const right = values.pop()!;
  const left = values.pop()!;
  const span = spanOf(ctx, left.s, right.t);
  const e: Expr = p.op === '..' ? { kind: 'range', start: left.e, end: right.e, span } : { kind: 'binary', op: p.op, left: left.e, right: right.e, span };
  values.push(mk(ctx, e, left.s, right.t, [left, right]));
}

function postfixChain(ctx: Ctx, n: CstNode): X {
  let x = primary(ctx, child(n, 'primary'));
  for (const p of children(n, 'postfixOp')) {
    const args = child(p, 'argList');
    const idx = child(p, 'index');
    const path = child(p, 'path');
    if (args !== undefined) {
      const close = token(args, 'RParen');
      const t = close === undefined ? Math.max(x.t, ctx.here) : tokEnd(close);
      const built = children(args, 'arg').map((a) => arg(ctx, a));
      x = mk(ctx, { kind: 'call', callee: x.e, args: built.map((b) => b.arg), span: spanOf(ctx, x.s, t) }, x.s, t, [x, ...built.map((b) => b.x)]);
    } else if (token(p, 'As') !== undefined) {
      const ref = pathRef(ctx, path);
      x = mk(ctx, { kind: 'named', value: x.e, path: ref.e as Ref, span: spanOf(ctx, x.s, ref.t) }, x.s, ref.t, [x, ref]);
    } else if (token(p, 'Frozen') !== undefined) {
      const t = tokEnd(token(p, 'Frozen')!);
      x = mk(ctx, { kind: 'frozen', model: x.e, span: spanOf(ctx, x.s, t) }, x.s, t, [x]);
    } else {
      const seg = idx !== undefined ? indexSeg(ctx, idx) : nameSeg(ctx, p);
      if (seg === undefined) continue;
      if (x.e.kind !== 'ref') {
        ctx.diagnostics.push(
          diag(
            'E0107',
            spanOf(ctx, x.s, seg.t),
            `only a name path can take ${seg.seg.kind === 'index' ? 'an index `[…]`' : 'a field `.name`'}; this is a ${x.e.kind}`,
            { suggestion: 'bind the value to a name with `let` first' },
          ),
        );
        continue;
      }
      // A path is a flat list: only an index expression inside it adds depth.
      // The Ref was built by this function's primary, so it is extended in place (no copying).
      x.e.path.push(seg.seg);
      x.e.span = spanOf(ctx, x.s, seg.t);
      x = mk(ctx, x.e, x.s, seg.t, [{ ...x, d: x.d - 1 }, seg.x]);
    }
  }
  return x;
}

interface Seg {
  seg: PathSeg;
  t: number;
  x: X;
}

function nameSeg(ctx: Ctx, n: CstNode): Seg | undefined {
  const tok = token(child(n, 'name'), 'Name');
  if (tok === undefined) return undefined;
  const t = tokEnd(tok);
  const span = spanOf(ctx, tok.startOffset, t);
  ctx.here = t;
  // A name segment adds no depth of its own: `x` stands in as a depth-0 leaf.
  return { seg: { kind: 'name', name: tok.image, span }, t, x: { e: { kind: 'bool', value: true, span }, s: tok.startOffset, t, d: 0 } };
}

function indexSeg(ctx: Ctx, n: CstNode): Seg | undefined {
  const open = token(n, 'LBracket');
  const close = token(n, 'RBracket');
  const inner = expr(ctx, child(n, 'expr'));
  const s = open?.startOffset ?? inner.s;
  const t = close === undefined ? inner.t : tokEnd(close);
  return { seg: { kind: 'index', index: inner.e, span: spanOf(ctx, s, t) }, t, x: inner };
}

/** `as PATH`: a name followed by `.name` and `[index]` segments. */
function pathRef(ctx: Ctx, n: CstNode | undefined): X {
  const first = token(child(n, 'name'), 'Name');
  if (first === undefined) return placeholder(ctx, ctx.here, ctx.here);
  const segs: PathSeg[] = [{ kind: 'name', name: first.image, span: spanOf(ctx, first.startOffset, tokEnd(first)) }];
  let t = tokEnd(first);
  let d = 1;
  for (const p of children(n, 'pathSeg')) {
    const idx = child(p, 'index');
    const seg = idx !== undefined ? indexSeg(ctx, idx) : nameSeg(ctx, p);
    if (seg === undefined) continue;
    segs.push(seg.seg);
    t = seg.t;
    d = Math.max(d, seg.x.d + 1);
  }
  const ref: Ref = { kind: 'ref', path: segs, span: spanOf(ctx, first.startOffset, t) };
  return mk(ctx, ref, first.startOffset, t, [{ e: ref, s: first.startOffset, t, d: d - 1 }]);
}

export function arg(ctx: Ctx, n: CstNode): { arg: Arg; x: X } {
  const value = expr(ctx, child(n, 'expr'));
  const nameTok = token(child(n, 'name'), 'Name');
  if (nameTok === undefined) return { arg: { value: value.e, span: spanOf(ctx, value.s, value.t) }, x: value };
  const nameSpan = spanOf(ctx, nameTok.startOffset, tokEnd(nameTok));
  return { arg: { name: nameTok.image, nameSpan, value: value.e, span: spanOf(ctx, nameTok.startOffset, value.t) }, x: value };
}

function primary(ctx: Ctx, n: CstNode | undefined): X {
  const num = token(n, 'NumberLit');
  if (num !== undefined) {
    const r = readNumber(num.image);
    const s = num.startOffset;
    const t = tokEnd(num);
    ctx.here = t;
    return { e: { kind: 'num', value: r?.value ?? NaN, text: num.image, isInt: r?.isInt ?? false, span: spanOf(ctx, s, t) }, s, t, d: 1 };
  }
  const str = token(n, 'StringLit');
  if (str !== undefined) return strLit(ctx, str);
  const bool = token(n, 'True') ?? token(n, 'False');
  if (bool !== undefined) {
    const t = tokEnd(bool);
    ctx.here = t;
    return { e: { kind: 'bool', value: bool.image === 'true', span: spanOf(ctx, bool.startOffset, t) }, s: bool.startOffset, t, d: 1 };
  }
  const name = token(child(n, 'name'), 'Name');
  if (name !== undefined) {
    const t = tokEnd(name);
    ctx.here = t;
    const span = spanOf(ctx, name.startOffset, t);
    return { e: { kind: 'ref', path: [{ kind: 'name', name: name.image, span }], span }, s: name.startOffset, t, d: 1 };
  }
  const paren = child(n, 'paren');
  if (paren !== undefined) return bracketed(ctx, paren, 'LParen', 'RParen', 'tuple');
  const list = child(n, 'list');
  if (list !== undefined) return bracketed(ctx, list, 'LBracket', 'RBracket', 'list');
  const rec = child(n, 'record');
  if (rec !== undefined) return record(ctx, rec);
  return placeholder(ctx, ctx.here, ctx.here);
}

export function strLit(ctx: Ctx, tok: IToken): X & { e: { kind: 'str' } } {
  const t = tokEnd(tok);
  ctx.here = t;
  return { e: { kind: 'str', value: decodeString(tok.image).value, span: spanOf(ctx, tok.startOffset, t) }, s: tok.startOffset, t, d: 1 };
}

/** The expressions of an `items` node, and whether a trailing comma follows the last. */
export function items(ctx: Ctx, n: CstNode | undefined): { xs: X[]; trailingComma: boolean } {
  const xs = children(n, 'expr').map((e) => expr(ctx, e));
  return { xs, trailingComma: xs.length > 0 && tokens(n, 'Comma').length >= xs.length };
}

function bracketed(ctx: Ctx, n: CstNode, open: string, close: string, kind: 'tuple' | 'list'): X {
  const o = token(n, open);
  const { xs, trailingComma } = items(ctx, child(n, 'items'));
  const c = token(n, close);
  const s = o?.startOffset ?? xs[0]?.s ?? ctx.here;
  const t = c === undefined ? (xs[xs.length - 1]?.t ?? s) : tokEnd(c);
  ctx.here = Math.max(ctx.here, t);
  // `(a)` only groups; its extent grows to cover the parentheses.
  if (kind === 'tuple' && xs.length === 1 && !trailingComma) return { ...xs[0]!, s, t };
  return mk(ctx, { kind, items: xs.map((x) => x.e), span: spanOf(ctx, s, t) }, s, t, xs);
}

function record(ctx: Ctx, n: CstNode): X {
  const o = token(n, 'LCurly');
  const c = token(n, 'RCurly');
  const fields: RecordField[] = [];
  const parts: X[] = [];
  for (const f of children(n, 'recordField')) {
    const k = key(ctx, child(f, 'key'));
    const v = expr(ctx, child(f, 'expr'));
    if (k === undefined) continue;
    fields.push({ key: k.key, keySpan: k.span, value: v.e, span: spanOf(ctx, k.s, v.t) });
    parts.push(v);
  }
  const s = o?.startOffset ?? parts[0]?.s ?? ctx.here;
  const t = c === undefined ? (parts[parts.length - 1]?.t ?? s) : tokEnd(c);
  return mk(ctx, { kind: 'record', fields, span: spanOf(ctx, s, t) }, s, t, parts);
}

/** A field or record key: a name, or a string for keys that are not names. */
export function key(ctx: Ctx, n: CstNode | undefined): { key: string; span: ReturnType<typeof spanOf>; s: number } | undefined {
  const nameTok = token(child(n, 'name'), 'Name');
  const strTok = token(n, 'StringLit');
  const tok = nameTok ?? strTok;
  if (tok === undefined) return undefined;
  const value = nameTok !== undefined ? nameTok.image : decodeString(tok.image).value;
  ctx.here = tokEnd(tok);
  return { key: value, span: spanOf(ctx, tok.startOffset, tokEnd(tok)), s: tok.startOffset };
}
