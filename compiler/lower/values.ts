// Compile-time values: model parameters, repeat variables, layer arguments. Everything in a model
// body that is not a tensor folds to one of these before lowering (grammar/eval/, the language's one
// evaluator), so layer rules see numbers; here are the throwing forms lowering uses.

import type { BinaryOp, Span, UnaryOp } from '../../grammar/ast.ts';
import { valueOrThrow } from '../../grammar/eval/params.ts';
import { describeValue as showValue, foldBinary as fold, foldUnary as foldOne, type Value } from '../../grammar/eval/value.ts';
import { LowerError } from '../../grammar/eval/errors.ts';

export type { Value } from '../../grammar/eval/value.ts';
export { describeValue as showValue } from '../../grammar/eval/value.ts';

/** Folds a binary operator over constants with the language's arithmetic (grammar/eval/value.ts). */
export function foldBinary(op: BinaryOp, l: Value, r: Value, span: Span): Value {
  return valueOrThrow(fold(op, l, r, span));
}

export function foldUnary(op: UnaryOp, v: Value, span: Span): Value {
  return valueOrThrow(foldOne(op, v, span));
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
