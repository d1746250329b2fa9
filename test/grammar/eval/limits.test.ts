// Limits the evaluator enforces where values are made (issue 19, item 2): recursion among models
// and layers is a diagnostic with the cycle's path, from `scion check` and from lowering alike —
// never a stack overflow.

import { describe, expect, it } from 'vitest';
import { checkSource } from '../../../grammar/check/check-source.ts';
import { parseProgram } from '../../../grammar/dsl/parse.ts';
import { explainModel } from '../../../compiler/explain.ts';
import { LowerError } from '../../../grammar/eval/errors.ts';

const none = (): undefined => undefined;

/** `scion check`'s errors as `CODE message`. */
function check(text: string): string[] {
  return checkSource(text, 'probe.scion', none)
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => `${d.code} ${d.message}`);
}

/** Lowering's verdict: the layer count, or the error it stops with as `CODE message`. */
function explain(text: string, model = 'M'): number | string {
  const { program, diagnostics } = parseProgram(text, 'probe.scion');
  expect(diagnostics).toEqual([]);
  try {
    return explainModel(program, model).layers.length;
  } catch (e) {
    if (e instanceof LowerError) return `${e.diagnostic.code} ${e.diagnostic.message}`;
    throw e;
  }
}

const MODEL = (call: string): string => `model M(dim = 8) {\n  input x: f32[batch, dim]\n  output y = ${call}\n}\n`;

describe('recursion (E0314)', () => {
  it('a layer calling itself', () => {
    const src = `layer A(x) {\n  return A(x)\n}\n${MODEL('A(x)')}`;
    expect(check(src)).toEqual(['E0314 layer `A` calls itself: `A` → `A`']);
    expect(explain(src)).toBe('E0314 layer `A` calls itself: `A` → `A`');
  });

  it('layers calling each other through a third, inside a repeat', () => {
    const src = `layer A(x) {\n  return B(x)\n}\nlayer B(x) {\n  let h = x\n  repeat i in 0..2 {\n    h = C(h)\n  }\n  return h\n}\nlayer C(x) {\n  return A(x) * 2\n}\n${MODEL('A(x)')}`;
    expect(check(src)).toEqual(['E0314 layer `A` calls itself: `A` → `B` → `C` → `A`']);
    expect(explain(src)).toBe('E0314 layer `A` calls itself: `A` → `B` → `C` → `A`');
  });

  it('a model reaching no cyclic layer is unaffected by one elsewhere', () => {
    const src = `layer A(x) {\n  return A(x)\n}\n${MODEL('Linear(x, dim) as proj')}`;
    expect(check(src)).toEqual(['E0314 layer `A` calls itself: `A` → `A`']);
    expect(explain(src)).toBe(1);
  });

  it('models derived from themselves or from each other', () => {
    const src = `${MODEL('Linear(x, dim) as proj')}model S = S(dim = 2)\nmodel P = Q(dim = 4)\nmodel Q = P(dim = 2)\nmodel R = P(dim = 1)\n`;
    expect(check(src)).toEqual(['E0314 model `S` derives from itself: `S` → `S`', 'E0314 model `P` derives from itself: `P` → `Q` → `P`']);
    expect(explain(src, 'R')).toBe('E0314 model `P` derives from itself: `P` → `Q` → `P`');
    expect(explain(src, 'Q')).toBe('E0314 model `P` derives from itself: `P` → `Q` → `P`'); // the cycle `check` reports
  });

  it('a long acyclic chain of layers is not a cycle', () => {
    const layers = Array.from({ length: 50 }, (_, k) => `layer L${k}(x) {\n  return ${k === 49 ? 'x * 2' : `L${k + 1}(x)`}\n}\n`).join('');
    const src = `${layers}${MODEL('L0(x)')}`;
    expect(check(src)).toEqual([]);
    expect(typeof explain(src)).toBe('number');
  });
});
