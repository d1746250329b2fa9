// Constant evaluation of expressions: model parameters, repeat ranges, `require` conditions,
// argument literals. Anything that is not a constant (a tensor, an unknown name) is reported as a
// reason, never thrown, so callers decide whether that is an error.

import type { Expr } from '../ast.ts';

export type Value = number | boolean | string;

/** Why an expression has no constant value. */
export type NotConst =
  /** refers to a name that has no value here (a tensor, a layer parameter) */
  | { why: 'name'; name: string }
  /** an operation that is not constant (a call, a list, `as`) */
  | { why: 'shape'; what: string }
  /** operands of the wrong kinds, or division by zero */
  | { why: 'type'; what: string };

export type EvalResult = { ok: true; value: Value } | { ok: false; err: NotConst };

const ok = (value: Value): EvalResult => ({ ok: true, value });
const fail = (err: NotConst): EvalResult => ({ ok: false, err });

/** How an expression is described in messages: "a string", "a call to `brown`". */
export function describe(e: Expr): string {
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

/** `layers[i].self_attn` as written (index expressions abbreviated). */
export function refText(ref: Extract<Expr, { kind: 'ref' }>): string {
  let out = '';
  for (const seg of ref.path) {
    if (seg.kind === 'name') out += (out === '' ? '' : '.') + seg.name;
    else out += `[${seg.index.kind === 'num' ? seg.index.text : seg.index.kind === 'ref' ? refText(seg.index) : '…'}]`;
  }
  return out;
}

export function describeValue(v: Value): string {
  return typeof v === 'string' ? `"${v}"` : String(v);
}

function num(r: EvalResult, op: string): EvalResult | number {
  if (!r.ok) return r;
  if (typeof r.value !== 'number') return fail({ why: 'type', what: `\`${op}\` needs numbers, found ${describeValue(r.value)}` });
  return r.value;
}

/** Evaluates `e` with named constants from `env`. */
export function evalConst(e: Expr, env: ReadonlyMap<string, Value>): EvalResult {
  switch (e.kind) {
    case 'num':
      return ok(e.value);
    case 'str':
      return ok(e.value);
    case 'bool':
      return ok(e.value);
    case 'ref': {
      const first = e.path[0];
      if (first === undefined || first.kind !== 'name') return fail({ why: 'shape', what: 'a path' });
      if (e.path.length > 1) return fail({ why: 'shape', what: `the path \`${refText(e)}\`` });
      const v = env.get(first.name);
      return v === undefined ? fail({ why: 'name', name: first.name }) : ok(v);
    }
    case 'unary': {
      const r = evalConst(e.arg, env);
      if (!r.ok) return r;
      if (e.op === '!')
        return typeof r.value === 'boolean' ? ok(!r.value) : fail({ why: 'type', what: `\`!\` needs a condition, found ${describeValue(r.value)}` });
      return typeof r.value === 'number' ? ok(-r.value) : fail({ why: 'type', what: `\`-\` needs a number, found ${describeValue(r.value)}` });
    }
    case 'binary':
      return evalBinary(e, env);
    default:
      return fail({ why: 'shape', what: describe(e) });
  }
}

function evalBinary(e: Extract<Expr, { kind: 'binary' }>, env: ReadonlyMap<string, Value>): EvalResult {
  const l = evalConst(e.left, env);
  if (!l.ok) return l;
  if (e.op === '&&' || e.op === '||') {
    if (typeof l.value !== 'boolean') return fail({ why: 'type', what: `\`${e.op}\` needs conditions, found ${describeValue(l.value)}` });
    const r = evalConst(e.right, env);
    if (!r.ok) return r;
    if (typeof r.value !== 'boolean') return fail({ why: 'type', what: `\`${e.op}\` needs conditions, found ${describeValue(r.value)}` });
    return ok(e.op === '&&' ? l.value && r.value : l.value || r.value);
  }
  const r = evalConst(e.right, env);
  if (!r.ok) return r;
  if (e.op === '==') return ok(l.value === r.value);
  if (e.op === '!=') return ok(l.value !== r.value);
  if (e.op === 'when') return fail({ why: 'shape', what: 'a `when` alternative' });
  const a = num(l, e.op);
  if (typeof a !== 'number') return a;
  const b = num(r, e.op);
  if (typeof b !== 'number') return b;
  switch (e.op) {
    case '+':
      return ok(a + b);
    case '-':
      return ok(a - b);
    case '*':
      return ok(a * b);
    case '/':
      return b === 0 ? fail({ why: 'type', what: 'division by zero' }) : ok(a / b);
    case '%':
      return b === 0 ? fail({ why: 'type', what: 'remainder by zero' }) : ok(a % b);
    case '**':
      return ok(a ** b);
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

/** The message part for a failed evaluation: "`h` is not a constant". */
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
