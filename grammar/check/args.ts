// Binding call arguments to parameters — shared by library calls, user layer calls and derived
// models — and checking each bound value's literal kind and range.

import type { Arg, Expr, Span } from '../ast.ts';
import type { ArgKind } from '../library/signatures.ts';
import { didYouMean } from '../diagnostics/suggest.ts';
import { noteAt } from '../diagnostics/make.ts';
import type { CheckContext } from './context.ts';
import { describe, describeValue, evalConst, type Value } from './eval.ts';
import { ARG_RANGES, inRange, rangeText } from './ranges.ts';
import { TENSOR_KINDS, type Scope } from './scope.ts';

export interface ParamLite {
  readonly name: string;
  readonly required: boolean;
  /** Absent for user layers and models, whose parameters are untyped. */
  readonly kind?: ArgKind;
  readonly variadic?: boolean;
}

export interface BoundArg {
  param: ParamLite;
  arg: Arg;
}

/** How the callee is named in messages: "`Linear`", "model `Llama`". */
export interface Callee {
  name: string;
  label: string;
  span: Span;
}

const list = (params: readonly ParamLite[]): string => params.map((p) => p.name).join(', ');

/**
 * Matches `args` to `params` like Python: positionals first, in order, then names.
 * Reports E0401, E0402, E0403, E0404, E0405 and returns what could be bound.
 */
export function bindArgs(ctx: CheckContext, callee: Callee, params: readonly ParamLite[], args: readonly Arg[]): BoundArg[] {
  const bound = new Map<string, BoundArg>();
  const out: BoundArg[] = [];
  let sawNamed = false;
  let pos = 0;
  for (const arg of args) {
    if (arg.name === undefined) {
      if (sawNamed) {
        ctx.report('E0405', arg.span, `positional argument after a named one in ${callee.label}`, {
          suggestion: 'put positional arguments first, or name this one',
        });
        continue;
      }
      const param = params[pos];
      if (param === undefined) {
        const variadic = params.find((p) => p.variadic === true);
        if (variadic !== undefined) {
          out.push({ param: variadic, arg });
          continue;
        }
        ctx.report(
          'E0401',
          arg.span,
          `${callee.label} takes at most ${params.length} argument${params.length === 1 ? '' : 's'}${params.length > 0 ? ` (${list(params)})` : ''}, found ${args.filter((a) => a.name === undefined).length} positional`,
        );
        pos++;
        continue;
      }
      if (param.variadic !== true) pos++;
      bound.set(param.name, { param, arg });
      out.push({ param, arg });
      continue;
    }
    sawNamed = true;
    const nameSpan = arg.nameSpan ?? arg.span;
    const param = params.find((p) => p.name === arg.name);
    if (param === undefined) {
      ctx.report('E0402', nameSpan, `${callee.label} has no parameter \`${arg.name}\``, {
        notes: params.length > 0 ? [{ message: `its parameters: ${list(params)}` }] : [{ message: 'it takes no arguments' }],
        suggestion: didYouMean(
          arg.name,
          params.map((p) => p.name),
        ),
      });
      continue;
    }
    const prev = bound.get(param.name);
    if (prev !== undefined) {
      ctx.report('E0403', nameSpan, `argument \`${param.name}\` of ${callee.label} is given twice`, {
        notes: [noteAt(prev.arg.name === undefined ? 'already given by position here' : 'first given here', prev.arg.span)],
      });
      continue;
    }
    bound.set(param.name, { param, arg });
    out.push({ param, arg });
  }
  for (const p of params) {
    if (p.required && p.variadic !== true && !bound.has(p.name)) {
      ctx.report('E0404', callee.span, `${callee.label} is missing the argument \`${p.name}\`${p.kind ? ` (${KIND_WORD[p.kind]})` : ''}`, {
        suggestion: `pass it, e.g. \`${p.name} = ${EXAMPLE[p.kind ?? 'any']}\``,
      });
    }
  }
  return out;
}

const KIND_WORD: Record<ArgKind, string> = {
  tensor: 'a tensor',
  int: 'an int',
  number: 'a number',
  bool: 'true or false',
  string: 'a string',
  strings: 'a list of strings',
  ints: 'a list of ints',
  shape: 'a shape list',
  any: 'a value',
};
const EXAMPLE: Record<ArgKind, string> = {
  tensor: 'x',
  int: '1',
  number: '1.0',
  bool: 'true',
  string: '"…"',
  strings: '["…"]',
  ints: '[0, 1]',
  shape: '[-1, 64]',
  any: '…',
};

/** The kind word of an argument kind, for messages elsewhere. */
export const argKindWord = (k: ArgKind): string => KIND_WORD[k];

/**
 * Checks one bound argument's value against its kind and range. Returns true when the value
 * was fully handled (a bare word given for a string), so the caller need not walk it as a name.
 */
export function checkArgValue(ctx: CheckContext, callee: Callee, param: ParamLite, value: Expr, scope: Scope): boolean {
  const kind = param.kind;
  if (kind === undefined || kind === 'any') return false;
  const what = `argument \`${param.name}\` of ${callee.label}`;
  const wrong = (found: string, help?: string): void =>
    ctx.report('E0406', value.span, `${what} must be ${KIND_WORD[kind]}, found ${found}`, { suggestion: help });
  switch (kind) {
    case 'tensor':
      if (value.kind === 'str' || value.kind === 'bool' || value.kind === 'list' || value.kind === 'record') wrong(describe(value));
      return false;
    case 'string': {
      if (value.kind === 'str') return false;
      const bare = bareName(value);
      if (bare !== undefined && scope.get(bare) === undefined) {
        wrong(`the word \`${bare}\``, `quote it: \`"${bare}"\``);
        return true;
      }
      if (isLiteral(value)) wrong(describe(value));
      return false;
    }
    case 'strings':
      if (value.kind !== 'list') wrong(describe(value));
      else
        for (const item of value.items)
          if (item.kind !== 'str') ctx.report('E0406', item.span, `${what} must be a list of strings, found ${describe(item)} in it`);
      return false;
    case 'ints':
    case 'shape':
      if (value.kind !== 'list' && value.kind !== 'tuple') wrong(describe(value));
      else if (kind === 'ints')
        for (const item of value.items) {
          const r = evalConst(item, scope.consts());
          if (r.ok && !(typeof r.value === 'number' && Number.isInteger(r.value)))
            ctx.report('E0406', item.span, `${what} must be a list of ints, found ${describeValue(r.value)} in it`);
        }
      return false;
    case 'bool':
    case 'int':
    case 'number':
      checkScalar(ctx, callee, param.name, kind, value, scope, wrong);
      return false;
  }
}

function checkScalar(
  ctx: CheckContext,
  callee: Callee,
  argName: string,
  kind: 'bool' | 'int' | 'number',
  value: Expr,
  scope: Scope,
  wrong: (found: string) => void,
): void {
  if (value.kind === 'str' || value.kind === 'list' || value.kind === 'tuple' || value.kind === 'record' || value.kind === 'range')
    return wrong(describe(value));
  const r = evalConst(value, scope.consts());
  if (!r.ok) {
    if (r.err.why === 'name') {
      const info = scope.get(r.err.name);
      if (info !== undefined && TENSOR_KINDS.has(info.kind)) wrong(`\`${r.err.name}\`, a tensor`);
    }
    return;
  }
  const v: Value = r.value;
  if (kind === 'bool') {
    if (typeof v !== 'boolean') wrong(describeValue(v));
    return;
  }
  if (typeof v !== 'number') return wrong(describeValue(v));
  if (kind === 'int' && !Number.isInteger(v)) return wrong(describeValue(v));
  const range = ARG_RANGES[`${callee.name}.${argName}`] ?? ARG_RANGES[argName];
  if (range !== undefined && !inRange(v, range)) {
    ctx.report('E0412', value.span, `argument \`${argName}\` of ${callee.label} must be ${rangeText(range)}, found ${describeValue(v)}`, {
      notes: [{ message: range.why }],
    });
  }
}

function isLiteral(e: Expr): boolean {
  return e.kind === 'num' || e.kind === 'bool' || e.kind === 'list' || e.kind === 'tuple' || e.kind === 'record';
}

/** `train` in `brown(split = train)`: a one-segment reference. */
export function bareName(e: Expr): string | undefined {
  if (e.kind !== 'ref' || e.path.length !== 1) return undefined;
  const seg = e.path[0];
  return seg?.kind === 'name' ? seg.name : undefined;
}
