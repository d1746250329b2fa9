// fast-check generators of .scion ASTs: every shape the formatter must print so that the parser
// reads the same tree back. Spans are a dummy (tests compare with stripSpans).

import fc from 'fast-check';
import {
  DTYPES,
  type Arg,
  type Decl,
  type Expr,
  type Field,
  type Ident,
  type Param,
  type PathSeg,
  type Program,
  type Ref,
  type Span,
  type Stmt,
  type StrLit,
} from '../../../grammar/ast.ts';

const P = { line: 1, col: 1, offset: 0 };
export const S: Span = { file: 'gen.scion', start: P, end: P };

/** Plain names and soft keywords: both must work in every name position. */
const NAMES = ['a', 'h', 'x', 't', 'calib', 'Llama', 'layers', 'model', 'sample', 'from', 'to', 'input', 'train', 'let', 'in', 'require', 'output'];
const name = fc.constantFrom(...NAMES);
const ident: fc.Arbitrary<Ident> = name.map((n) => ({ name: n, span: S }));

/** Comment text as the parser yields it: one line, no trailing blanks. */
const commentText = fc.string({ maxLength: 12 }).map((s) => s.replace(/[\r\n\u2028\u2029]/g, ' ').trimEnd());

const num: fc.Arbitrary<Expr> = fc.oneof(
  fc.nat({ max: 100000 }).map((n) => ({ kind: 'num' as const, value: n, text: String(n), isInt: true, span: S })),
  fc.tuple(fc.nat({ max: 999 }), fc.nat({ max: 999 })).map(([a, b]) => {
    const text = `${a}.${b}`;
    return { kind: 'num' as const, value: Number(text), text, isInt: false, span: S };
  }),
  // Suffixed forms, with values worked out by hand.
  fc
    .constantFrom<[string, number, boolean]>(['2k', 2000, true], ['1.5M', 1500000, true], ['3G', 3e9, true], ['1e-4', 1e-4, false], ['2.5e2', 250, false])
    .map(([text, value, isInt]) => ({ kind: 'num' as const, value, text, isInt, span: S })),
);

const str: fc.Arbitrary<StrLit> = fc.string({ unit: 'binary', maxLength: 8 }).map((value) => ({ kind: 'str', value, span: S }));
const bool: fc.Arbitrary<Expr> = fc.boolean().map((value) => ({ kind: 'bool', value, span: S }));

const BINARY = ['+', '-', '*', '/', '%', '**', '==', '!=', '<', '<=', '>', '>=', '&&', '||', 'when'] as const;

export const exprArb: fc.Arbitrary<Expr> = fc.letrec<{ expr: Expr; ref: Ref }>((tie) => ({
  ref: fc
    .tuple(
      name,
      fc.array(
        fc.oneof(
          name.map((n): PathSeg => ({ kind: 'name', name: n, span: S })),
          tie('expr').map((index): PathSeg => ({ kind: 'index', index, span: S })),
        ),
        { maxLength: 2 },
      ),
    )
    .map(([first, rest]): Ref => ({ kind: 'ref', path: [{ kind: 'name', name: first, span: S }, ...rest], span: S })),
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    num,
    str,
    bool,
    tie('ref'),
    fc.tuple(fc.constantFrom(...BINARY), tie('expr'), tie('expr')).map(([op, left, right]): Expr => ({ kind: 'binary', op, left, right, span: S })),
    fc.tuple(fc.constantFrom('-' as const, '!' as const), tie('expr')).map(([op, arg]): Expr => ({ kind: 'unary', op, arg, span: S })),
    fc.tuple(tie('expr'), tie('expr')).map(([start, end]): Expr => ({ kind: 'range', start, end, span: S })),
    fc.tuple(tie('expr'), fc.array(fc.tuple(fc.option(name, { nil: undefined }), tie('expr')), { maxLength: 3 })).map(
      ([callee, args]): Expr => ({
        kind: 'call',
        callee,
        args: args.map(([n, value]): Arg => (n === undefined ? { value, span: S } : { name: n, nameSpan: S, value, span: S })),
        span: S,
      }),
    ),
    fc.array(tie('expr'), { maxLength: 3 }).map((items): Expr => ({ kind: 'tuple', items, span: S })),
    fc.array(tie('expr'), { maxLength: 3 }).map((items): Expr => ({ kind: 'list', items, span: S })),
    fc
      .array(fc.tuple(fc.oneof(name, fc.string({ maxLength: 5 })), tie('expr')), { maxLength: 3 })
      .map(([...fs]): Expr => ({ kind: 'record', fields: fs.map(([key, value]) => ({ key, keySpan: S, value, span: S })), span: S })),
    fc.tuple(tie('expr'), tie('ref')).map(([value, path]): Expr => ({ kind: 'named', value, path: path as Ref, span: S })),
    tie('expr').map((model): Expr => ({ kind: 'frozen', model, span: S })),
  ),
})).expr;

/** Leading and trailing comments, each present or not. */
const comments = fc.record({
  leading: fc.option(fc.array(commentText, { minLength: 1, maxLength: 2 }), { nil: undefined }),
  trailing: fc.option(commentText, { nil: undefined }),
});
function withComments<T extends object>(arb: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.tuple(arb, comments).map(([node, c]) => {
    const out: T & { leading?: string[]; trailing?: string } = { ...node };
    if (c.leading !== undefined) out.leading = c.leading;
    if (c.trailing !== undefined) out.trailing = c.trailing;
    return out;
  });
}

const ttype = fc
  .tuple(fc.constantFrom(...DTYPES), fc.array(exprArb, { maxLength: 3 }))
  .map(([dtype, shape]) => ({ kind: 'ttype' as const, dtype, dtypeSpan: S, shape, span: S }));

const stmtArb: fc.Arbitrary<Stmt> = fc.letrec<{ stmt: Stmt }>((tie) => ({
  stmt: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    withComments(fc.tuple(ident, exprArb).map(([n, value]): Stmt => ({ kind: 'let', name: n, value, span: S }))),
    withComments(fc.tuple(ident, exprArb).map(([n, value]): Stmt => ({ kind: 'output', name: n, value, span: S }))),
    withComments(fc.tuple(ident, ttype).map(([n, type]): Stmt => ({ kind: 'input', name: n, type, span: S }))),
    withComments(
      fc
        .tuple(ident, ttype, fc.option(exprArb, { nil: undefined }))
        .map(([n, type, init]): Stmt => (init === undefined ? { kind: 'param', name: n, type, span: S } : { kind: 'param', name: n, type, init, span: S })),
    ),
    withComments(
      fc
        .tuple(exprArb, fc.option(str, { nil: undefined }))
        .map(([cond, message]): Stmt => (message === undefined ? { kind: 'require', cond, span: S } : { kind: 'require', cond, message, span: S })),
    ),
    withComments(exprArb.map((value): Stmt => ({ kind: 'return', value, span: S }))),
    withComments(
      fc.tuple(ident, exprArb, fc.array(tie('stmt'), { maxLength: 2 })).map(([v, range, body]): Stmt => ({ kind: 'repeat', var: v, range, body, span: S })),
    ),
  ),
})).stmt;

const fieldArb: fc.Arbitrary<Field> = withComments(
  fc.tuple(fc.oneof(name, fc.string({ maxLength: 5 })), exprArb).map(([key, value]) => ({ key, keySpan: S, value, span: S })),
);
const fields = fc.array(fieldArb, { maxLength: 3 });
const params = fc.array(
  fc.tuple(ident, fc.option(exprArb, { nil: undefined })).map(([n, d]): Param => (d === undefined ? { name: n, span: S } : { name: n, default: d, span: S })),
  { maxLength: 3 },
);
const args = fc.array(
  fc
    .tuple(fc.option(name, { nil: undefined }), exprArb)
    .map(([n, value]): Arg => (n === undefined ? { value, span: S } : { name: n, nameSpan: S, value, span: S })),
  { maxLength: 3 },
);
const body = fc.array(stmtArb, { maxLength: 3 });

export const declArb: fc.Arbitrary<Decl> = withComments(
  fc.oneof(
    fc
      .tuple(ident, params, fc.option(ident, { nil: undefined }), body)
      .map(
        ([n, ps, preset, b]): Decl =>
          preset === undefined ? { kind: 'model', name: n, params: ps, body: b, span: S } : { kind: 'model', name: n, params: ps, preset, body: b, span: S },
      ),
    fc.tuple(ident, ident, args).map(([n, base, as]): Decl => ({ kind: 'derived', name: n, base, args: as, span: S })),
    fc.tuple(ident, params, body).map(([n, ps, b]): Decl => ({ kind: 'layer', name: n, params: ps, body: b, span: S })),
    fc.tuple(ident, exprArb).map(([n, value]): Decl => ({ kind: 'binding', name: n, value, span: S })),
    fc.tuple(ident, ident, str, fields).map(([c, p, at, fs]): Decl => ({ kind: 'inherit', child: c, parent: p, at, fields: fs, span: S })),
    fc
      .tuple(ident, fc.option(ident, { nil: undefined }), fields)
      .map(([m, to, fs]): Decl => (to === undefined ? { kind: 'prune', model: m, fields: fs, span: S } : { kind: 'prune', model: m, to, fields: fs, span: S })),
    fc.tuple(ident, ident, fields).map(([n, on, fs]): Decl => ({ kind: 'adapter', name: n, on, fields: fs, span: S })),
    fc.tuple(fc.constantFrom('train' as const, 'sample' as const), ident, fields).map(([kind, target, fs]): Decl => ({ kind, target, fields: fs, span: S })),
  ),
);

export const programArb: fc.Arbitrary<Program> = fc
  .tuple(
    fc.array(withComments(str.map((path) => ({ path, span: S }))), { maxLength: 2 }),
    fc.array(declArb, { maxLength: 4 }),
    fc.option(fc.array(commentText, { minLength: 1, maxLength: 2 }), { nil: undefined }),
    fc.option(fc.array(commentText, { minLength: 1, maxLength: 2 }), { nil: undefined }),
  )
  .map(([imports, decls, header, trailing]) => {
    const p: Program = { file: 'gen.scion', imports, decls };
    // A header exists only above some import or declaration; with none, comments are trailing.
    if (header !== undefined && (imports.length > 0 || decls.length > 0)) p.header = header;
    if (trailing !== undefined) p.trailingComments = trailing;
    return p;
  });
