// The values the language needs as integers — tensor dimensions and `repeat` ranges — and the
// bound on unrolling. Instantiation throws these errors; the checker's declaration checks
// (grammar/check/bodies.ts) report the same ones with the defaults before any instance exists.
// (Path indices: params.ts, evalPath.)

import type { Span } from '../ast.ts';
import { LowerError } from './errors.ts';
import { describeValue, type Value } from './value.ts';

/** Statements one instantiation may run after unrolling: a model this large is surely a mistake. */
export const MAX_STEPS = 100_000;

/** A tensor dimension: a positive exact integer (E0505). */
export function dimension(v: Value, span: Span): number | LowerError {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1) return v;
  return new LowerError('E0505', `a dimension must be a positive integer, found ${describeValue(v)}`, span);
}

/** A `repeat` bound: an exact integer (E0504). */
export function repeatBound(v: Value, span: Span): number | LowerError {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  return new LowerError('E0504', `a repeat bound must be an integer, found ${describeValue(v)}`, span);
}

/** How many times `a..b` runs (E0504 when it runs backwards or too often). */
export function repeatCount(a: number, b: number, span: Span): number | LowerError {
  if (a > b) return new LowerError('E0504', `repeat range ${a}..${b} runs backwards`, span, [], `write \`${b}..${a}\``);
  if (b - a > MAX_STEPS) return new LowerError('E0504', `repeat range ${a}..${b} runs ${b - a} times; the limit is ${MAX_STEPS}`, span);
  return b - a;
}

export function orThrow<T>(v: T | LowerError): T {
  if (v instanceof LowerError) throw v;
  return v;
}
