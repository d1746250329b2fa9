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

describe('sizes (E0509 per tensor, E0510 per model, E0511 per intermediate value)', () => {
  const LIMIT = '2^31 - 1 = 2147483647, the most a typed array is sure to hold';

  it('an input dimension beyond one typed array: check and lowering, at the input', () => {
    const src = 'model M(dim = 1e12) {\n  input x: f32[batch, dim]\n  output y = x * 2\n}\n';
    const msg = `E0509 input \`x\` of shape [1, 1000000000000] has 1000000000000 elements; the limit is ${LIMIT}`;
    expect(check(src)).toEqual([msg]);
    expect(explain(src)).toBe(msg);
  });

  it('the product of dimensions counts, not each one', () => {
    const src = 'model M(dim = 65536) {\n  input x: f32[batch, dim, dim]\n  output y = x * 2\n}\n';
    expect(check(src)).toEqual([`E0509 input \`x\` of shape [1, 65536, 65536] has 4294967296 elements; the limit is ${LIMIT}`]);
    expect(check('model M(dim = 46340) {\n  input x: f32[batch, dim, dim]\n  output y = x * 2\n}\n')).toEqual([]); // 2,147,395,600
  });

  it("a library layer's size argument", () => {
    const src = MODEL('Linear(x, 100000000000) as proj');
    const msg = `E0509 \`Linear\` argument \`out\` is 100000000000; a size is at most ${LIMIT}`;
    expect(check(src)).toEqual([msg]);
    expect(explain(src)).toBe(msg);
  });

  it("a layer's weight whose dimensions are each fine: lowering refuses before allocating", () => {
    const src = 'model M(dim = 100000) {\n  input x: f32[batch, dim]\n  output y = Linear(x, dim) as proj\n}\n';
    expect(explain(src)).toBe(`E0509 parameter \`proj.weight\` of shape [100000, 100000] has 10000000000 elements; the limit is ${LIMIT}`);
  });

  it("a user layer's param", () => {
    const src = `layer T(x, rows) {\n  param w: f32[rows, 65536] = normal(std = 0.02)\n  return x * 2\n}\n${MODEL('T(x, 65536) as t')}`;
    expect(explain(src)).toBe(`E0509 param \`w\` of shape [65536, 65536] has 4294967296 elements; the limit is ${LIMIT}`);
  });

  it('a model past 2^40 parameters stops at the parameter that crosses it', () => {
    const src =
      'model M(dim = 40000, depth = 1000) {\n  input x: f32[batch, dim]\n  let h = x\n  repeat i in 0..depth {\n    h = Linear(h, dim) as layers[i]\n  }\n  output y = h\n}\n';
    expect(explain(src)).toBe("E0510 the model's parameters reach 1100827480000 at `layers.687.weight`; the limit is 2^40 = 1099511627776");
  });

  it('attention scores batch × heads × ctx × ctx beyond one typed array: E0511 at the Attention call (E0511)', () => {
    const spec = (ctx: number): string =>
      `model M(heads = 8, ctx = ${ctx}) {\n  input x: f32[batch, ctx, 64]\n  output y = x + Attention(x, heads, causal = true) as attn\n}\n`;
    // 8 × 16384² = 2^31 scores, one more than a typed array holds; the first node that large is q·kᵀ.
    const { program } = parseProgram(spec(16384), 'probe.scion');
    let caught: unknown;
    try {
      explainModel(program, 'M');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(LowerError);
    const d = (caught as LowerError).diagnostic;
    expect(`${d.code} ${d.message}`).toBe(
      `E0511 an intermediate value (\`matmul\`) of shape [1, 8, 16384, 16384] has 2147483648 elements; the limit is ${LIMIT}`,
    );
    expect([d.span.start.line, d.span.start.col]).toEqual([3, 18]);
    // 8 × 16383² = 2,147,221,512 fits; at batch 2 it does not.
    expect(explain(spec(16383))).toBe(1);
    const { program: p2 } = parseProgram(spec(16383), 'probe.scion');
    expect(() => explainModel(p2, 'M', { dims: { batch: 2 } })).toThrow('[2, 8, 16383, 16383] has 4294443024 elements');
  });

  it('a repeat of 1e9 is refused before unrolling, naming the count and the limit', () => {
    const src =
      'model M(dim = 8, depth = 1e9) {\n  input x: f32[batch, dim]\n  let h = x\n  repeat i in 0..depth {\n    h = Linear(h, dim) as layers[i]\n  }\n  output y = h\n}\n';
    const msg = 'E0504 repeat range 0..1000000000 runs 1000000000 times; the limit is 100000';
    expect(check(src)).toEqual([msg]);
    expect(explain(src)).toBe(msg);
  });
});
