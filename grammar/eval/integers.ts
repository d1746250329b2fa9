// The values the language needs as integers — tensor dimensions and `repeat` ranges — and the
// bound on unrolling. Instantiation throws these errors; the checker's declaration checks
// (grammar/check/bodies.ts) report the same ones with the defaults before any instance exists.
// (Path indices: params.ts, evalPath.)

import type { Span } from '../ast.ts';
import { LowerError } from './errors.ts';
import { describeValue, type Value } from './value.ts';

/** Statements one instantiation may run after unrolling: a model this large is surely a mistake. */
export const MAX_STEPS = 100_000;

/**
 * Elements one tensor may have: 2^31 − 1, the length a Float32Array is sure to reach on every Node
 * version Scion supports (V8's bound was 2^31 − 1 before Node 22 and is 2^32 − 1 on 64-bit since),
 * so a size the runtime cannot allocate is refused at its line instead of dying at allocation.
 */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/**
 * Parameters one model may have: 2^40 (about 1.1 trillion; 4.4 TB of f32 weights before any
 * optimizer state) is beyond any one machine the runtimes run on, so a model that large is surely
 * a mistake in a size. A fixed number, not the machine's memory, so `check` says the same
 * everywhere; what fits this machine is the memory estimate's question.
 */
export const MAX_PARAMETERS = 2 ** 40;

const LIMIT_TEXT = `2^31 - 1 = ${MAX_ELEMENTS}, the most a typed array is sure to hold`;

/** A tensor's element count, or E0509 when one typed array cannot hold it. `what`: "input `x`". */
export function elementCount(shape: readonly number[], what: string, span: Span): number | LowerError {
  const n = shape.reduce((a, d) => a * d, 1); // exact while ≤ MAX_ELEMENTS; only compared beyond
  if (n <= MAX_ELEMENTS) return n;
  return new LowerError('E0509', `${what} of shape [${shape.join(', ')}] has ${n} elements; the limit is ${LIMIT_TEXT}`, span, [], 'use smaller sizes');
}

/**
 * A value the graph computes (attention scores [batch, heads, ctx, ctx], a product, a broadcast),
 * or E0511 when one typed array cannot hold it: no backend could run the node. `op` names the IR
 * operation that makes it; the span is the spec construct it lowers from.
 */
export function intermediateCount(shape: readonly number[], op: string, span: Span): number | LowerError {
  const n = shape.reduce((a, d) => a * d, 1);
  if (n <= MAX_ELEMENTS) return n;
  return new LowerError(
    'E0511',
    `an intermediate value (\`${op}\`) of shape [${shape.join(', ')}] has ${n} elements; the limit is ${LIMIT_TEXT}`,
    span,
    [],
    'reduce the sizes that multiply into it (batch, context length, heads, width)',
  );
}

/** A size argument of a library layer (`Linear(x, out)`): each becomes a parameter's dimension (E0509). */
export function layerSize(v: number, callee: string, arg: string, span: Span): LowerError | undefined {
  if (v <= MAX_ELEMENTS) return undefined;
  return new LowerError('E0509', `\`${callee}\` argument \`${arg}\` is ${v}; a size is at most ${LIMIT_TEXT}`, span, [], 'use a smaller size');
}

/** The running parameter count of a model, or E0510 past MAX_PARAMETERS. */
export function parameterTotal(total: number, path: string, span: Span): LowerError | undefined {
  if (total <= MAX_PARAMETERS) return undefined;
  return new LowerError(
    'E0510',
    `the model's parameters reach ${total} at \`${path}\`; the limit is 2^40 = ${MAX_PARAMETERS}`,
    span,
    [],
    'a model this large is surely a mistake in a size; check the dimensions',
  );
}

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
