// The language's one evaluator (grammar/eval/): its arithmetic as the reference states it
// (docs/language.md, "Constant arithmetic"), and the issue-14 `%` probe — `scion check` and
// lowering (`scion explain`) give the same verdict and the same layer count, because both read
// the same evaluation.

import { describe, expect, it } from 'vitest';
import { checkSource } from '../../../grammar/check/check-source.ts';
import { parseExpr, parseProgram } from '../../../grammar/dsl/parse.ts';
import { evalConst, notConstText } from '../../../grammar/eval/value.ts';
import { explainModel } from '../../../compiler/explain.ts';
import { LowerError } from '../../../grammar/eval/errors.ts';

const none = (): undefined => undefined;

/** The value of a constant expression, or its error text. */
function value(text: string): unknown {
  const { expr, diagnostics } = parseExpr(text, 'e.scion');
  if (expr === undefined || diagnostics.length > 0) throw new Error(`cannot parse ${text}`);
  const r = evalConst(expr, new Map());
  return r.ok ? r.value : `error: ${notConstText(r.err)}`;
}

/** What `scion check` says: the error codes, in order. */
function checkCodes(text: string): string[] {
  return checkSource(text, 'probe.scion', none)
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => d.code);
}

/** What lowering says: the layer paths, or the error code it stops with. */
function explain(text: string, model = 'M'): string[] | string {
  const { program, diagnostics } = parseProgram(text, 'probe.scion');
  expect(diagnostics).toEqual([]);
  try {
    return explainModel(program, model).layers.map((l) => l.path);
  } catch (e) {
    if (e instanceof LowerError) return e.diagnostic.code;
    throw e;
  }
}

describe('constant arithmetic', () => {
  it.each([
    ['-1 % 4', 3],
    ['1 % -4', -3],
    ['-7 % -4', -3],
    ['7 % 4', 3],
    ['-8 % 4', 0],
    ['5.5 % 2', 1.5],
    ['7 / 2', 3.5],
    ['-7 / 2', -3.5],
    ['8 / 2', 4],
    ['2 + 3 * 4 % 5', 4],
    ['-2 ** 2', -4],
    ['2 ** 3 ** 2', 512],
    ['2 ** -1', 0.5],
    ['2 ** 52 + (2 ** 52 - 1)', 9007199254740991],
    ['"ab" + "c"', 'abc'],
    ['[1, 2] == [1, 2]', true],
  ])('%s = %j', (text, want) => {
    expect(value(text)).toEqual(want);
  });

  it.each([
    ['1 / 0', 'division by zero'],
    ['1 % 0', 'remainder by zero'],
    ['2 ** 53', 'beyond the exact integers'],
    ['9007199254740991 + 1', 'beyond the exact integers'],
    ['-9007199254740991 - 2', 'beyond the exact integers'],
    ['3000000 * 3000000 * 3000000', 'beyond the exact integers'],
    ['10.0 ** 400', 'is not a finite number'],
    ['(-8) ** 0.5', 'is not a finite number'],
    ['"8" * 2', '`*` needs numbers, found "8"'],
  ])('%s is an error', (text, want) => {
    expect(value(text)).toContain(want);
  });
});

describe('the `%` probe: check and lowering agree', () => {
  const probe = (cond: string): string =>
    `model M(a = -1, dim = 8) {\n  require ${cond}\n  input x: f32[batch, dim]\n  h = x\n  repeat i in 0..(2 + a % 4) {\n    h = Linear(h, dim) as layers[i]\n  }\n  output y = h\n}\n`;

  it('`require a % 4 == -1` fails in both (floored: -1 % 4 is 3)', () => {
    expect(checkCodes(probe('a % 4 == -1'))).toEqual(['E0501']);
    expect(explain(probe('a % 4 == -1'))).toBe('E0501');
  });

  it('`require a % 4 == 3` passes in both', () => {
    expect(checkCodes(probe('a % 4 == 3'))).toEqual([]);
    expect(explain(probe('a % 4 == 3'))).not.toBe('E0501');
  });

  it('`repeat i in 0..(2 + a % 4)` is 5 layers in both', () => {
    const text = probe('true');
    const check = checkSource(text, 'probe.scion', none);
    expect(check.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const layers = explain(text);
    expect(layers).toEqual(['layers.0', 'layers.1', 'layers.2', 'layers.3', 'layers.4']);
  });

  it('a derived model sees its defaults recomputed from its arguments in both', () => {
    const text = `model M(a = 1, n = a % 4 + 1, dim = 8) {\n  input x: f32[batch, dim]\n  h = x\n  repeat i in 0..n {\n    h = Linear(h, dim) as layers[i]\n  }\n  output y = h\n}\nmodel S = M(a = -2)\n`;
    // n = -2 % 4 + 1 = 3 for S, not M's 2.
    expect(explain(text, 'S')).toHaveLength(3);
    const dup = `${text.replace('as layers[i]', 'as layers[i % 2]')}`;
    // Three layers into two paths: a duplicate for S only, reported by check and by lowering.
    expect(checkCodes(dup)).toEqual(['E0608']);
    expect(explain(dup, 'M')).toHaveLength(2);
    expect(explain(dup, 'S')).toBe('E0608');
  });

  it('overflow and fractional dimensions are diagnostics in both', () => {
    const big = 'model M(n = 2 ** 60) {\n  input x: f32[batch, 8]\n  output y = Linear(x, 8) as p\n}\n';
    expect(checkCodes(big)).toEqual(['E0415']);
    expect(explain(big)).toBe('E0415');
    const frac = 'model M(n = 7) {\n  input x: f32[batch, n / 2]\n  output y = Linear(x, 8) as p\n}\n';
    expect(checkCodes(frac)).toEqual(['E0505']);
    expect(explain(frac)).toBe('E0505');
  });
});
