// The language's constant arithmetic: the one place where `%`, `/`, `**`, comparisons and integer
// limits get their meaning. The checker reports from these results and the compiler lowers from
// them, so `scion check` and `scion explain` cannot disagree about a value (docs/language.md,
// "Constant arithmetic"). Failures are data, never thrown: callers decide what is an error.
//
// Example: evalConst(parseExpr('-1 % 4'), new Map()) → { ok: true, value: 3 }

import type { BinaryOp, Expr, Span, UnaryOp } from '../ast.ts';

/** A compile-time value: a model parameter, a repeat variable, a folded argument. */
export type Value = number | string | boolean | readonly Value[];

/** Where constants come from: a Map, or anything with its `get`. */
export interface ConstEnv {
  get(name: string): Value | undefined;
}

/** Why an expression has no constant value. `span` is the part that failed. */
export type NotConst =
  /** refers to a name that has no value here (a tensor, a layer parameter, an undefined name) */
  | { why: 'name'; name: string; span: Span }
  /** an operation that is not constant (a call, a record, `as`) */
  | { why: 'shape'; what: string; span: Span }
  /** operands of the wrong kinds, division by zero, a result beyond the exact integers */
  | { why: 'type'; what: string; span: Span };

export type EvalResult = { ok: true; value: Value } | { ok: false; err: NotConst };

const ok = (value: Value): EvalResult => ({ ok: true, value });
const fail = (err: NotConst): EvalResult => ({ ok: false, err });

/** Integers are exact up to 2^53 − 1; an integer result beyond that is an error, not a rounding. */
export const MAX_INT = Number.MAX_SAFE_INTEGER;

/** `"8"`, `3`, `[1, 2]` as messages show them. */
export function describeValue(v: Value): string {
  if (Array.isArray(v)) return `[${v.map(describeValue).join(', ')}]`;
  return typeof v === 'string' ? `"${v}"` : String(v);
}

/** `layers[i].self_attn` as written (index expressions abbreviated). */
export function refText(ref: Extract<Expr, { kind: 'ref' }>): string {
  let out = '';
  for (const seg of ref.path) {
    if (seg.kind === 'name') out += (out === '' ? '' : '.') + seg.name;
    else out += `[${seg.index.kind === 'num' ? seg.index.text : seg.index.kind === 'ref' ? refText(seg.index) : '…'}]`;
  }
  return out;
}

/** The message part for a failed evaluation: "`h` is not a constant here". */
export function notConstText(err: NotConst): string {
  switch (err.why) {
    case 'name':
      return `\`${err.name}\` is not a constant here`;
    case 'shape':
      return `${err.what} is not a constant`;
    case 'type':
      return err.what;
  }
}

/** Evaluates `e` with named constants from `env`. Lists and tuples are list values. */
export function evalConst(e: Expr, env: ConstEnv): EvalResult {
  switch (e.kind) {
    case 'num':
      if (e.isInt && !Number.isSafeInteger(e.value)) return fail({ why: 'type', what: overflowText(e.text), span: e.span });
      return ok(e.value);
    case 'str':
    case 'bool':
      return ok(e.value);
    case 'ref':
      return evalRef(e, env);
    case 'unary': {
      const r = evalConst(e.arg, env);
      return r.ok ? foldUnary(e.op, r.value, e.span) : r;
    }
    case 'binary': {
      const l = evalConst(e.left, env);
      if (!l.ok) return l;
      const r = evalConst(e.right, env);
      return r.ok ? foldBinary(e.op, l.value, r.value, e.span) : r;
    }
    case 'tuple':
    case 'list': {
      const items: Value[] = [];
      for (const x of e.items) {
        const r = evalConst(x, env);
        if (!r.ok) return r;
        items.push(r.value);
      }
      return ok(items);
    }
    default:
      return fail({ why: 'shape', what: describeExpr(e), span: e.span });
  }
}

/** `dim`, or an element of a list constant: `sizes[i]`, `sizes[-1]`. */
function evalRef(e: Extract<Expr, { kind: 'ref' }>, env: ConstEnv): EvalResult {
  const [head, ...rest] = e.path;
  if (head === undefined || head.kind !== 'name') return fail({ why: 'shape', what: 'a path', span: e.span });
  let v = env.get(head.name);
  if (v === undefined) return fail({ why: 'name', name: head.name, span: head.span });
  for (const seg of rest) {
    if (seg.kind === 'name' || !Array.isArray(v)) return fail({ why: 'shape', what: `the path \`${refText(e)}\``, span: e.span });
    const list: readonly Value[] = v;
    const k = evalConst(seg.index, env);
    if (!k.ok) return k;
    if (typeof k.value !== 'number' || !Number.isInteger(k.value))
      return fail({ why: 'type', what: `an index must be an integer, found ${describeValue(k.value)}`, span: seg.span });
    const item = list[k.value < 0 ? list.length + k.value : k.value];
    if (item === undefined) return fail({ why: 'type', what: `index ${k.value} is out of range for ${describeValue(list)}`, span: seg.span });
    v = item;
  }
  return ok(v);
}

/** How an expression is described in messages: "a string", "a call to `brown`". */
export function describeExpr(e: Expr): string {
  switch (e.kind) {
    case 'num':
      return e.isInt ? `the integer ${e.text}` : `the number ${e.text}`;
    case 'str':
      return `the string "${e.value}"`;
    case 'bool':
      return `\`${e.value}\``;
    case 'ref':
      return `\`${refText(e)}\``;
    case 'call':
      return e.callee.kind === 'ref' ? `a call to \`${refText(e.callee)}\`` : 'a call';
    case 'list':
      return 'a list';
    case 'tuple':
      return 'a tuple';
    case 'record':
      return 'a record';
    case 'range':
      return 'a range';
    case 'named':
      return `an \`as\` expression`;
    case 'frozen':
      return `a frozen model`;
    default:
      return 'an expression';
  }
}

const overflowText = (what: string): string => `${what} is beyond the exact integers (magnitude at most 2^53 - 1 = ${MAX_INT}); use a smaller value`;

function needNumber(v: Value, op: string, span: Span): number | EvalResult {
  return typeof v === 'number' ? v : fail({ why: 'type', what: `\`${op}\` needs numbers, found ${describeValue(v)}`, span });
}

function needBool(v: Value, op: string, span: Span): boolean | EvalResult {
  return typeof v === 'boolean' ? v : fail({ why: 'type', what: `\`${op}\` needs conditions, found ${describeValue(v)}`, span });
}

/** An arithmetic result: finite, and exact when the operands are integers. */
function arith(v: number, a: number, b: number, op: string, span: Span): EvalResult {
  if (!Number.isFinite(v)) return fail({ why: 'type', what: `\`${a} ${op} ${b}\` is not a finite number`, span });
  if (Number.isInteger(a) && Number.isInteger(b) && Number.isInteger(v) && !Number.isSafeInteger(v))
    return fail({ why: 'type', what: overflowText(`\`${a} ${op} ${b}\``), span });
  return ok(v);
}

/**
 * One binary operator over constants. `%` is floored (the result has the sign of the divisor, as
 * in Python: `-1 % 4 == 3`); `/` is real division (`7 / 2 == 3.5`; where an integer is needed, a
 * fraction is an error, never truncated); `+` also joins two strings.
 */
export function foldBinary(op: BinaryOp, l: Value, r: Value, span: Span): EvalResult {
  switch (op) {
    case '==':
      return ok(sameValue(l, r));
    case '!=':
      return ok(!sameValue(l, r));
    case '&&':
    case '||': {
      const a = needBool(l, op, span);
      if (typeof a !== 'boolean') return a;
      const b = needBool(r, op, span);
      if (typeof b !== 'boolean') return b;
      return ok(op === '&&' ? a && b : a || b);
    }
    case 'when':
      return fail({ why: 'shape', what: 'a `when` alternative', span });
    default:
      break;
  }
  if (op === '+' && typeof l === 'string' && typeof r === 'string') return ok(l + r);
  const a = needNumber(l, op, span);
  if (typeof a !== 'number') return a;
  const b = needNumber(r, op, span);
  if (typeof b !== 'number') return b;
  switch (op) {
    case '+':
      return arith(a + b, a, b, op, span);
    case '-':
      return arith(a - b, a, b, op, span);
    case '*':
      return arith(a * b, a, b, op, span);
    case '/':
      return b === 0 ? fail({ why: 'type', what: 'division by zero', span }) : arith(a / b, a, b, op, span);
    case '%':
      return b === 0 ? fail({ why: 'type', what: 'remainder by zero', span }) : arith(flooredMod(a, b), a, b, op, span);
    case '**':
      return arith(a ** b, a, b, op, span);
    case '<':
      return ok(a < b);
    case '<=':
      return ok(a <= b);
    case '>':
      return ok(a > b);
    case '>=':
      return ok(a >= b);
  }
}

/** `a % b` with the sign of `b`; exact for integers (JS's `%` is exact, and so is one correction). */
function flooredMod(a: number, b: number): number {
  const r = a % b;
  if (r === 0) return 0; // also turns -0 into 0
  return r < 0 !== b < 0 ? r + b : r;
}

export function foldUnary(op: UnaryOp, v: Value, span: Span): EvalResult {
  if (op === '!') return typeof v === 'boolean' ? ok(!v) : fail({ why: 'type', what: `\`!\` needs a condition, found ${describeValue(v)}`, span });
  return typeof v === 'number' ? ok(-v) : fail({ why: 'type', what: `\`-\` needs a number, found ${describeValue(v)}`, span });
}

function sameValue(a: Value, b: Value): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i] as Value));
  return a === b;
}
