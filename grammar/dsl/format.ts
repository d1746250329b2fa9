// The canonical .scion text of an AST: 2-space indent, one statement or field per line, one blank
// line between declarations, minimal parentheses, numbers from their source text, comments kept.
// `parseProgram(formatProgram(p))` gives `p` back modulo spans, and formatting is idempotent
// (test/grammar/dsl/format.test.ts checks both over the specs and generated programs).

import type { Arg, Commented, Decl, Expr, Field, Import, Param, Program, Ref, Stmt, TensorType } from '../ast.ts';
import { HARD_KEYWORDS } from './lexer.ts';
import { encodeString } from './literals.ts';
import { isRightAssoc, PREC, type InfixOp } from './to-ast-expr.ts';

const INDENT = '  ';
/** A `key = a + b + c` line longer than this breaks before each top-level `+`/`-`. */
const MAX_LINE = 100;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A key as written: bare when it reads back as a name, else quoted. */
const keyText = (k: string): string => (NAME.test(k) && !HARD_KEYWORDS.has(k) ? k : encodeString(k));

function precOf(e: Expr): number {
  switch (e.kind) {
    case 'binary':
      return PREC[e.op];
    case 'range':
      return PREC['..'];
    case 'unary':
      return PREC.unary;
    case 'call':
    case 'named':
    case 'frozen':
      return PREC.postfix;
    default:
      return PREC.atom;
  }
}

/**
 * One expression on one line.
 *
 * @example formatExpr(parseExpr('(a+b)*c', 'x').expr!) // '(a + b) * c'
 */
export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'num':
      return e.text !== '' ? e.text : String(e.value);
    case 'str':
      return encodeString(e.value);
    case 'bool':
      return e.value ? 'true' : 'false';
    case 'ref':
      return formatRef(e);
    case 'call':
      return `${postfixOperand(e.callee)}(${e.args.map(formatArg).join(', ')})`;
    case 'named':
      return `${postfixOperand(e.value)} as ${formatRef(e.path)}`;
    case 'frozen':
      return `${postfixOperand(e.model)} frozen`;
    case 'unary':
      return `${e.op}${wrap(e.arg, precOf(e.arg) < PREC.unary)}`;
    case 'binary':
    case 'range': {
      const op: InfixOp = e.kind === 'range' ? '..' : e.op;
      const [l, r] = e.kind === 'range' ? [e.start, e.end] : [e.left, e.right];
      const p = PREC[op];
      const right = isRightAssoc(op);
      const lp = precOf(l);
      const rp = precOf(r);
      const left = wrap(l, lp < p || (lp === p && right));
      // A prefix operator on the right needs no parentheses: the operand grammar starts with it.
      const rhs = wrap(r, r.kind !== 'unary' && (rp < p || (rp === p && !right)));
      return op === '..' ? `${left}..${rhs}` : `${left} ${op} ${rhs}`;
    }
    case 'tuple':
      return e.items.length === 1 ? `(${formatExpr(e.items[0]!)},)` : `(${e.items.map(formatExpr).join(', ')})`;
    case 'list':
      return `[${e.items.map(formatExpr).join(', ')}]`;
    case 'record':
      return e.fields.length === 0 ? '{}' : `{ ${e.fields.map((f) => `${keyText(f.key)} = ${formatExpr(f.value)}`).join(', ')} }`;
  }
}

const wrap = (e: Expr, paren: boolean): string => (paren ? `(${formatExpr(e)})` : formatExpr(e));

/** The operand of a call, `as` or `frozen`: `as`/`frozen` results are parenthesized for the reader. */
const postfixOperand = (e: Expr): string => wrap(e, precOf(e) < PREC.postfix || e.kind === 'named' || e.kind === 'frozen');

function formatRef(r: Ref): string {
  let out = '';
  r.path.forEach((seg, i) => {
    if (seg.kind === 'index') out += `[${formatExpr(seg.index)}]`;
    else out += i === 0 ? seg.name : `.${seg.name}`;
  });
  return out;
}

const formatArg = (a: Arg): string => (a.name === undefined ? formatExpr(a.value) : `${a.name} = ${formatExpr(a.value)}`);

const formatParam = (p: Param): string => (p.default === undefined ? p.name.name : `${p.name.name} = ${formatExpr(p.default)}`);

const formatType = (t: TensorType): string => `${t.dtype}[${t.shape.map(formatExpr).join(', ')}]`;

const commentLine = (text: string): string => (text === '' ? '//' : `// ${text}`);

/** Leading comment lines, then the node's lines with its trailing comment on the first. */
function commented(node: Commented, indent: string, lines: string[]): string[] {
  const out = (node.leading ?? []).flatMap((c) => c.split('\n')).map((c) => indent + commentLine(c));
  const [first, ...rest] = lines;
  out.push(node.trailing === undefined ? first! : `${first!}  ${commentLine(node.trailing.replace(/\n/g, ' '))}`);
  return [...out, ...rest];
}

/** `key = value`, broken before top-level `+`/`-` (aligned under `=`) when long. */
function assignment(indent: string, lhs: string, value: Expr): string[] {
  const one = `${indent}${lhs} = ${formatExpr(value)}`;
  if (one.length <= MAX_LINE) return [one];
  const terms: { op: string; e: Expr }[] = [];
  let cur = value;
  while (cur.kind === 'binary' && (cur.op === '+' || cur.op === '-')) {
    terms.unshift({ op: cur.op, e: cur.right });
    cur = cur.left;
  }
  if (terms.length < 2) return [one];
  const pad = ' '.repeat(indent.length + lhs.length + 1);
  // Each right operand prints as it would inside the chain (same parenthesization rules).
  return [
    `${indent}${lhs} = ${wrap(cur, precOf(cur) < PREC['+'])}`,
    ...terms.map((t) => `${pad}${t.op} ${wrap(t.e, t.e.kind !== 'unary' && precOf(t.e) <= PREC['+'])}`),
  ];
}

function block(header: string, indent: string, inner: string[]): string[] {
  return inner.length === 0 ? [`${header} {}`] : [`${header} {`, ...inner, `${indent}}`];
}

function stmtLines(s: Stmt, indent: string): string[] {
  const deeper = indent + INDENT;
  switch (s.kind) {
    case 'input':
      return commented(s, indent, [`${indent}input ${s.name.name}: ${formatType(s.type)}`]);
    case 'let':
      return commented(s, indent, assignment(indent, s.name.name, s.value));
    case 'output':
      return commented(s, indent, assignment(indent, `output ${s.name.name}`, s.value));
    case 'repeat':
      return commented(
        s,
        indent,
        block(
          `${indent}repeat ${s.var.name} in ${formatExpr(s.range)}`,
          indent,
          s.body.flatMap((b) => stmtLines(b, deeper)),
        ),
      );
    case 'require':
      return commented(s, indent, [`${indent}require ${formatExpr(s.cond)}${s.message === undefined ? '' : `, ${encodeString(s.message.value)}`}`]);
    case 'param':
      return commented(s, indent, [`${indent}param ${s.name.name}: ${formatType(s.type)}${s.init === undefined ? '' : ` = ${formatExpr(s.init)}`}`]);
    case 'return':
      return commented(s, indent, [`${indent}return ${formatExpr(s.value)}`]);
  }
}

const fieldLines = (f: Field): string[] => commented(f, INDENT, assignment(INDENT, keyText(f.key), f.value));

const fieldBlock = (header: string, fields: Field[]): string[] => block(header, '', fields.flatMap(fieldLines));

function declLines(d: Decl): string[] {
  const stmts = (body: Stmt[]): string[] => body.flatMap((s) => stmtLines(s, INDENT));
  const params = (ps: Param[]): string => (ps.length === 0 ? '' : `(${ps.map(formatParam).join(', ')})`);
  switch (d.kind) {
    case 'model': {
      const preset = d.preset === undefined ? '' : ` preset ${d.preset.name}`;
      return commented(d, '', block(`model ${d.name.name}${params(d.params)}${preset}`, '', stmts(d.body)));
    }
    case 'derived':
      return commented(d, '', [`model ${d.name.name} = ${d.base.name}(${d.args.map(formatArg).join(', ')})`]);
    case 'layer':
      return commented(d, '', block(`layer ${d.name.name}${params(d.params)}`, '', stmts(d.body)));
    case 'binding':
      return commented(d, '', assignment('', `let ${d.name.name}`, d.value));
    case 'inherit':
      return commented(d, '', fieldBlock(`inherit ${d.child.name} from ${d.parent.name} at ${encodeString(d.at.value)}`, d.fields));
    case 'prune':
      return commented(d, '', fieldBlock(`prune ${d.model.name}${d.to === undefined ? '' : ` to ${d.to.name}`}`, d.fields));
    case 'adapter':
      return commented(d, '', fieldBlock(`adapter ${d.name.name} on ${d.on.name}`, d.fields));
    case 'train':
      return commented(d, '', fieldBlock(`train ${d.target.name}`, d.fields));
    case 'sample':
      return commented(d, '', fieldBlock(`sample ${d.target.name}`, d.fields));
  }
}

const importLines = (i: Import): string[] => commented(i, '', [`import ${encodeString(i.path.value)}`]);

/**
 * The canonical text of a program, ending in a newline (empty for an empty program).
 *
 * @example formatProgram(parseProgram('let  a=1', 'x.scion').program) // 'let a = 1\n'
 */
export function formatProgram(p: Program): string {
  const sections: string[][] = [];
  if (p.header !== undefined && p.header.length > 0) sections.push(p.header.flatMap((c) => c.split('\n')).map(commentLine));
  if (p.imports.length > 0) sections.push(p.imports.flatMap(importLines));
  for (const d of p.decls) sections.push(declLines(d));
  if (p.trailingComments !== undefined && p.trailingComments.length > 0) sections.push(p.trailingComments.flatMap((c) => c.split('\n')).map(commentLine));
  return sections.length === 0 ? '' : sections.map((s) => s.join('\n')).join('\n\n') + '\n';
}
