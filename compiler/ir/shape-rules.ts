// Helpers for OP_INFO's dtype and shape rules. A rule violation is a compiler bug (lowering must
// check user-facing shapes first and report diagnostics), so rules throw IrTypeError.

import type { Attrs, DType, Shape } from './graph.ts';

export class IrTypeError extends Error {
  override name = 'IrTypeError';
}

/** What a rule sees of each operand. */
export interface TypeInfo {
  readonly dtype: DType;
  readonly shape: Shape;
}

export function fail(msg: string): never {
  throw new IrTypeError(msg);
}

export function fmtShape(s: Shape): string {
  return `[${s.join(',')}]`;
}

export function attrNum(attrs: Attrs, key: string): number {
  const v = attrs[key];
  if (typeof v !== 'number') fail(`attr '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

export function attrInt(attrs: Attrs, key: string): number {
  const v = attrNum(attrs, key);
  if (!Number.isInteger(v)) fail(`attr '${key}' must be an integer, got ${v}`);
  return v;
}

export function attrNums(attrs: Attrs, key: string): readonly number[] {
  const v = attrs[key];
  if (!Array.isArray(v)) fail(`attr '${key}' must be a number list, got ${JSON.stringify(v)}`);
  return v as readonly number[];
}

export function attrStr(attrs: Attrs, key: string): string {
  const v = attrs[key];
  if (typeof v !== 'string') fail(`attr '${key}' must be a string, got ${JSON.stringify(v)}`);
  return v;
}

export function attrBool(attrs: Attrs, key: string): boolean {
  const v = attrs[key];
  if (typeof v !== 'boolean') fail(`attr '${key}' must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

export function attrDType(attrs: Attrs, key = 'dtype'): DType {
  const v = attrStr(attrs, key);
  if (v !== 'f32' && v !== 'f16' && v !== 'i32' && v !== 'bool') fail(`attr '${key}' is not a dtype: ${v}`);
  return v;
}

export function attrShape(attrs: Attrs, key = 'shape'): Shape {
  const s = attrNums(attrs, key);
  for (const d of s) if (!Number.isInteger(d) || d < 0) fail(`attr '${key}' is not a shape: ${fmtShape(s)}`);
  return s;
}

/** Resolves a possibly negative axis against a rank. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) fail(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Numpy broadcasting: align right; each pair of dims must be equal or one of them 1. */
export function broadcastShapes(...shapes: Shape[]): Shape {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const k = s.length - rank + i;
      const e = k >= 0 ? (s[k] as number) : 1;
      if (e === 1) continue;
      if (d !== 1 && d !== e) fail(`shapes ${shapes.map(fmtShape).join(' and ')} do not broadcast`);
      d = e;
    }
    out.push(d);
  }
  return out;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function isFloatDType(d: DType): boolean {
  return d === 'f32' || d === 'f16';
}

export function requireFloat(op: string, t: TypeInfo): DType {
  if (!isFloatDType(t.dtype)) fail(`${op} needs a float operand, got ${t.dtype}`);
  return t.dtype;
}

export function requireNumeric(op: string, t: TypeInfo): DType {
  if (t.dtype === 'bool') fail(`${op} needs a numeric operand, got bool`);
  return t.dtype;
}

export function sameDType(op: string, ins: readonly TypeInfo[]): DType {
  const d = ins[0]?.dtype ?? fail(`${op} needs operands`);
  for (const t of ins) if (t.dtype !== d) fail(`${op} needs equal dtypes, got ${ins.map((x) => x.dtype).join(', ')}`);
  return d;
}

/** Output spatial size of a convolution (dilation 1). */
export function convOut(size: number, k: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - k) / stride) + 1;
}

/** Reduced shape: drop (or keep as 1) the given axes. */
export function reduceShape(shape: Shape, axes: readonly number[], keepdim: boolean): Shape {
  const set = new Set(axes.map((a) => normAxis(a, shape.length)));
  if (set.size !== axes.length) fail(`duplicate reduction axes ${fmtShape(axes)}`);
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keepdim) out.push(1);
  });
  return out;
}
