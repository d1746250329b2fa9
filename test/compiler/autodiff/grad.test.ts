// grad(): which parameters get gradients, and that broadcasting, fan-out and stop_gradient are
// handled (values checked by hand and by finite differences).

import { describe, expect, it } from 'vitest';
import { grad, gradName } from '../../../compiler/autodiff/grad.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { tensor } from '../../../runtime/cpu/tensor.ts';
import { fdCheck } from '../ops/harness.ts';

describe('grad', () => {
  it('gives hand-checkable gradients and reduces broadcasting', () => {
    // loss = Σ_ij (x_ij · w_j + c)  →  ∂/∂w_j = Σ_i x_ij, ∂/∂c = 6 (c broadcast over [2,3]).
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3]);
    const w = b.param('w', [3]);
    const c = b.param('c', []);
    b.output('loss', b.sum(b.add(b.mul(x, w), c)));
    const g = grad(b.build(), 'loss');
    verifyGraph(g);
    const out = runGraph(
      g,
      new Map([
        ['x', tensor([1, 2, 3, 4, 5, 6], [2, 3])],
        ['w', tensor([1, 1, 1], [3])],
        ['c', tensor([0], [])],
      ]),
      { dtype: 'f64' },
    );
    expect([...(out.get(gradName('w'))?.data ?? [])]).toEqual([5, 7, 9]);
    expect([...(out.get(gradName('c'))?.data ?? [])]).toEqual([6]);
    expect(out.get('loss')?.data[0]).toBe(21);
  });

  it('skips frozen params, stops at stop_gradient, and zero-fills unreached params', () => {
    const b = new GraphBuilder();
    const w = b.param('w', [2]);
    const frozen = b.param('base', [2], 'f32', { trainable: false });
    const unused = b.param('unused', [3]);
    void unused;
    // loss = Σ w² + Σ stop(w)·w + Σ base·w  →  ∂/∂w = 2w + w + base = 3w + base
    b.output('loss', b.sum(b.add(b.add(b.mul(w, w), b.mul(b.stopGradient(w), w)), b.mul(frozen, w))));
    const g = grad(b.build(), 'loss');
    expect(g.outputs.map((o) => o.name)).toEqual(['loss', 'grad:w', 'grad:unused']);
    const out = runGraph(
      g,
      new Map([
        ['w', tensor([1, -2], [2])],
        ['base', tensor([10, 20], [2])],
        ['unused', tensor([0, 0, 0], [3])],
      ]),
      { dtype: 'f64' },
    );
    expect([...(out.get('grad:w')?.data ?? [])]).toEqual([13, 14]);
    expect([...(out.get('grad:unused')?.data ?? [])]).toEqual([0, 0, 0]);
    expect(() => grad(b.build(), 'loss', ['base'])).toThrow(/'base' is frozen/);
    expect(() => grad(b.build(), 'loss', ['nope'])).toThrow(/no parameter named 'nope'/);
    expect(() => grad(b.build(), 'nope')).toThrow(/no output named 'nope'/);
  });

  it('accumulates fan-out and matches finite differences through a small MLP', () => {
    const res = fdCheck(
      {
        w1: { shape: [3, 4], values: [0.1, -0.2, 0.3, 0.05, 0.2, 0.1, -0.3, 0.4, -0.1, 0.25, 0.15, -0.05] },
        b1: { shape: [4], values: [0.01, -0.02, 0.03, 0] },
      },
      { x: { shape: [2, 3], values: [1, -1, 0.5, 0.3, 0.2, -0.7] } },
      (b, p) => {
        const h = b.tanh(b.add(b.matmul(p('x'), p('w1')), p('b1')));
        return b.mul(h, b.sigmoid(h)); // h used twice
      },
    );
    for (const r of res) expect(r.relErr).toBeLessThan(1e-6);
  });
});
