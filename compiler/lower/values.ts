// Compile-time values: model parameters, repeat variables, layer arguments. Everything in a model
// body that is not a tensor folds to one of these before lowering, so layer rules see numbers.

import type { BinaryOp, Span, UnaryOp } from '../../grammar/ast.ts';
import { LowerError } from './errors.ts';

export type Value = number | string | boolean | readonly Value[];

export function showValue(v: Value): string {
  if (Array.isArray(v)) return `[${v.map(showValue).join(', ')}]`;
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function num(v: Value, op: string, span: Span): number {
  if (typeof v !== 'number') throw new LowerError('E0415', `'${op}' needs numbers, found ${showValue(v)}`, span);
  return v;
}

function bool(v: Value, op: string, span: Span): boolean {
  if (typeof v !== 'boolean') throw new LowerError('E0415', `'${op}' needs true or false, found ${showValue(v)}`, span);
  return v;
}

/** Folds a binary operator over constants with the language's arithmetic (`/` is real division). */
export function foldBinary(op: BinaryOp, l: Value, r: Value, span: Span): Value {
  switch (op) {
    case '+':
      if (typeof l === 'string' && typeof r === 'string') return l + r;
      return num(l, op, span) + num(r, op, span);
    case '-':
      return num(l, op, span) - num(r, op, span);
    case '*':
      return num(l, op, span) * num(r, op, span);
    case '/': {
      const d = num(r, op, span);
      if (d === 0) throw new LowerError('E0415', 'division by zero in a constant expression', span);
      return num(l, op, span) / d;
    }
    case '%': {
      const d = num(r, op, span);
      if (d === 0) throw new LowerError('E0415', 'modulo by zero in a constant expression', span);
      // Mathematical modulo, so `-1 % 4 == 3` as in Python, which spec authors expect.
      const a = num(l, op, span);
      return ((a % d) + d) % d;
    }
    case '**':
      return num(l, op, span) ** num(r, op, span);
    case '==':
      return sameValue(l, r);
    case '!=':
      return !sameValue(l, r);
    case '<':
      return num(l, op, span) < num(r, op, span);
    case '<=':
      return num(l, op, span) <= num(r, op, span);
    case '>':
      return num(l, op, span) > num(r, op, span);
    case '>=':
      return num(l, op, span) >= num(r, op, span);
    case '&&':
      return bool(l, op, span) && bool(r, op, span);
    case '||':
      return bool(l, op, span) || bool(r, op, span);
    case 'when':
      throw new LowerError('E0415', '`when` guards belong in sampler `switch` lists, not in model bodies', span);
  }
}

export function foldUnary(op: UnaryOp, v: Value, span: Span): Value {
  return op === '-' ? -num(v, op, span) : !bool(v, op, span);
}

function sameValue(a: Value, b: Value): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i] as Value));
  return a === b;
}

/** An integer constant or a diagnostic naming what was found. */
export function expectInt(v: Value, what: string, span: Span): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new LowerError('E0406', `${what} must be an integer, found ${showValue(v)}`, span);
  }
  return v;
}

export function expectNumber(v: Value, what: string, span: Span): number {
  if (typeof v !== 'number') throw new LowerError('E0406', `${what} must be a number, found ${showValue(v)}`, span);
  return v;
}

export function expectBool(v: Value, what: string, span: Span): boolean {
  if (typeof v !== 'boolean') throw new LowerError('E0406', `${what} must be true or false, found ${showValue(v)}`, span);
  return v;
}

export function expectString(v: Value, what: string, span: Span): string {
  if (typeof v !== 'string') throw new LowerError('E0406', `${what} must be a string, found ${showValue(v)}`, span);
  return v;
}

export function expectInts(v: Value, what: string, span: Span): number[] {
  if (!Array.isArray(v)) throw new LowerError('E0406', `${what} must be a list of integers, found ${showValue(v)}`, span);
  return v.map((x: Value) => expectInt(x, what, span));
}
