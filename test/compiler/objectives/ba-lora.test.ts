// The BA-LoRA regularizer compositions against hand-computed values, an independent JS
// implementation of each formula (ba-lora-reference.ts), and central finite differences of their
// gradients in f64 (relative error < 1e-6, distinct singular values).

import { describe, expect, it } from 'vitest';
import { grad, gradName } from '../../../compiler/autodiff/grad.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Graph, Node } from '../../../compiler/ir/graph.ts';
import { consistency, covarianceDiversity, diversity, svdEnergy, topkEntropyDiversity } from '../../../compiler/objectives/ba-lora.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { randoms } from '../lower/helpers.ts';
import { consistencyArxiv, consistencyIclr, covarianceOffDiag, svdEnergyRef, topkEntropy, type Matrix } from './ba-lora-reference.ts';

type Build = (b: GraphBuilder, z: Node) => Node;

/** A graph with parameter `z` of `shape` and output `loss` = build(z), plus ∂loss/∂z. */
function graphOf(shape: readonly number[], build: Build): Graph {
  const b = new GraphBuilder();
  const z = b.param('z', shape);
  b.output('loss', build(b, z));
  return grad(b.build(), 'loss', ['z']);
}

function run(g: Graph, shape: readonly number[], z: Float64Array): { loss: number; grad: Float64Array } {
  const out = runGraph(g, new Map([['z', { dtype: 'f32' as const, shape, data: z }]]), { dtype: 'f64' });
  return { loss: out.get('loss')?.data[0] as number, grad: out.get(gradName('z'))?.data as Float64Array };
}

function value(shape: readonly number[], z: readonly number[], build: Build): number {
  return run(graphOf(shape, build), shape, Float64Array.from(z)).loss;
}

/** max |analytic − numeric| / max |numeric| over every entry of z. */
function gradError(shape: readonly number[], z: Float64Array, build: Build): number {
  const g = graphOf(shape, build);
  const analytic = run(g, shape, z).grad;
  const eps = 1e-6;
  let worst = 0;
  let scale = 0;
  for (let k = 0; k < z.length; k++) {
    const plus = Float64Array.from(z);
    const minus = Float64Array.from(z);
    plus[k] = (plus[k] as number) + eps;
    minus[k] = (minus[k] as number) - eps;
    const numeric = (run(g, shape, plus).loss - run(g, shape, minus).loss) / (2 * eps);
    worst = Math.max(worst, Math.abs((analytic[k] as number) - numeric));
    scale = Math.max(scale, Math.abs(numeric));
  }
  expect(scale).toBeGreaterThan(1e-4); // the check is not vacuous
  return worst / scale;
}

const rand = (n: number, seed: number, s = 1.5): number[] => Array.from(randoms(n, seed, s));
const rowsOf = (flat: readonly number[], c: number): Matrix => Array.from({ length: flat.length / c }, (_v, i) => flat.slice(i * c, (i + 1) * c));
const konst = (b: GraphBuilder, data: readonly number[], shape: readonly number[]): Node => b.constant(data, shape);

describe('BA-LoRA regularizers: hand-computed values', () => {
  it('consistency (iclr) is KL(softmax(P) ‖ softmax(F)), zero for equal logits', () => {
    const p = [0, Math.log(3)]; // softmax = [1/4, 3/4]
    const want = 0.25 * Math.log(0.25 / 0.5) + 0.75 * Math.log(0.75 / 0.5);
    expect(value([1, 2], [0, 0], (b, z) => consistency(b, z, konst(b, p, [1, 2]), { temperature: 1 }))).toBeCloseTo(want, 14);
    expect(value([2, 3], [1, 2, 3, 0, -1, 4], (b, z) => consistency(b, z, konst(b, [1, 2, 3, 0, -1, 4], [2, 3])))).toBeCloseTo(0, 14);
  });

  it('consistency (arxiv) is the MSE of L2-normalized rows', () => {
    // normalize([3, 0]) − normalize([0, 2]) = [1, −1]: mean square 1.
    expect(value([1, 2], [3, 0], (b, z) => consistency(b, z, konst(b, [0, 2], [1, 2]), { variant: 'arxiv' }))).toBeCloseTo(1, 14);
  });

  it('diversity (iclr) is minus the entropy of the top-k softmax', () => {
    expect(value([1, 3], [5, 5, 0], (b, z) => diversity(b, z, { k: 2 }))).toBeCloseTo(-Math.log(2), 14);
    expect(value([1, 4], [1, 1, 1, 1], (b, z) => diversity(b, z, { k: 9 }))).toBeCloseTo(-Math.log(4), 14); // k clamped to C
  });

  it('diversity (arxiv) is the off-diagonal covariance sum of squares over D', () => {
    // Z = [[1,0],[0,1],[−1,−1]]: mean 0, C = ZᵀZ/2 = [[1, .5], [.5, 1]] → (0.25 + 0.25)/2.
    expect(value([3, 2], [1, 0, 0, 1, -1, -1], (b, z) => diversity(b, z, { variant: 'arxiv' }))).toBeCloseTo(0.25, 14);
  });

  it('svd_energy is −Σ top-k σ over Σσ or ‖Z‖_F, and 0 for Z = 0', () => {
    const diag = [3, 0, 0, 0, 2, 0, 0, 0, 1];
    expect(value([3, 3], diag, (b, z) => svdEnergy(b, z, { k: 1 }))).toBeCloseTo(-0.5, 12);
    expect(value([3, 3], diag, (b, z) => svdEnergy(b, z, { k: 2, norm: 'frobenius' }))).toBeCloseTo(-5 / Math.sqrt(14), 12);
    expect(value([2, 3], [0, 0, 0, 0, 0, 0], (b, z) => svdEnergy(b, z, { k: 1 }))).toBe(0);
  });
});

describe('BA-LoRA regularizers: against the JS reference', () => {
  const f = rand(4 * 6, 1);
  const p = rand(4 * 6, 2);
  const mask = [1, 0, 1, 1];
  const F = rowsOf(f, 6);
  const P = rowsOf(p, 6);

  it('consistency, both variants, with and without a mask', () => {
    const mk = (b: GraphBuilder): Node => konst(b, mask, [4]);
    expect(value([4, 6], f, (b, z) => consistency(b, z, konst(b, p, [4, 6]), { temperature: 2 }))).toBeCloseTo(consistencyIclr(F, P, 2), 12);
    expect(value([4, 6], f, (b, z) => consistency(b, z, konst(b, p, [4, 6]), { temperature: 2, mask: mk(b) }))).toBeCloseTo(consistencyIclr(F, P, 2, mask), 12);
    expect(value([4, 6], f, (b, z) => consistency(b, z, konst(b, p, [4, 6]), { variant: 'arxiv', mask: mk(b) }))).toBeCloseTo(consistencyArxiv(F, P, mask), 12);
    // Rank 3 [B, T, C] with a [B, T] mask is the same as the flattened rows.
    expect(value([2, 2, 6], f, (b, z) => consistency(b, z, konst(b, p, [2, 2, 6]), { mask: konst(b, mask, [2, 2]) }))).toBeCloseTo(
      consistencyIclr(F, P, 2, mask),
      12,
    );
  });

  it('diversity, both variants', () => {
    expect(value([4, 6], f, (b, z) => topkEntropyDiversity(b, z, 3, konst(b, mask, [4])))).toBeCloseTo(topkEntropy(F, 3, mask), 12);
    expect(value([4, 6], f, (b, z) => covarianceDiversity(b, z))).toBeCloseTo(covarianceOffDiag(F), 12);
    expect(value([4, 6], f, (b, z) => covarianceDiversity(b, z, konst(b, mask, [4])))).toBeCloseTo(covarianceOffDiag(F, mask), 12);
  });

  it('svd_energy, both norms, masked rows dropped, arXiv reshape', () => {
    expect(value([4, 6], f, (b, z) => svdEnergy(b, z, { k: 2 }))).toBeCloseTo(svdEnergyRef(F, 2, 'sum_sigma'), 12);
    expect(value([4, 6], f, (b, z) => svdEnergy(b, z, { k: 3, norm: 'frobenius', mask: konst(b, mask, [4]) }))).toBeCloseTo(
      svdEnergyRef(F, 3, 'frobenius', mask),
      12,
    );
    // arXiv NLG: [B, L, V] → [B, L·V].
    expect(value([2, 2, 6], f, (b, z) => svdEnergy(b, z, { k: 1, variant: 'arxiv' }))).toBeCloseTo(svdEnergyRef(rowsOf(f, 12), 1, 'sum_sigma'), 12);
  });
});

describe('BA-LoRA regularizers: gradients match finite differences (f64)', () => {
  const z = Float64Array.from(rand(5 * 4, 7));
  const base = rand(5 * 4, 8);
  const mask = [1, 1, 0, 1, 1];
  const cases: [string, Build][] = [
    ['consistency iclr, T = 2, masked', (b, x) => consistency(b, x, konst(b, base, [5, 4]), { temperature: 2, mask: konst(b, mask, [5]) })],
    ['consistency arxiv', (b, x) => consistency(b, x, konst(b, base, [5, 4]), { variant: 'arxiv' })],
    ['diversity iclr top-3 entropy, masked', (b, x) => topkEntropyDiversity(b, x, 3, konst(b, mask, [5]))],
    ['diversity arxiv covariance', (b, x) => covarianceDiversity(b, x)],
    ['diversity covariance, masked', (b, x) => covarianceDiversity(b, x, konst(b, mask, [5]))],
    ['svd_energy sum_sigma k = 2', (b, x) => svdEnergy(b, x, { k: 2 })],
    ['svd_energy frobenius k = 1, masked', (b, x) => svdEnergy(b, x, { k: 1, norm: 'frobenius', mask: konst(b, mask, [5]) })],
  ];
  for (const [name, build] of cases) {
    it(name, () => {
      expect(gradError([5, 4], z, build)).toBeLessThan(1e-6);
    });
  }

  it('svd_energy arxiv on [B, L, V]', () => {
    expect(gradError([2, 3, 4], Float64Array.from(rand(24, 9)), (b, x) => svdEnergy(b, x, { k: 1, variant: 'arxiv' }))).toBeLessThan(1e-6);
  });

  it('no gradient reaches the base logits', () => {
    const b = new GraphBuilder();
    const zf = b.param('f', [2, 3]);
    const zp = b.param('p', [2, 3]);
    b.output('loss', consistency(b, zf, zp));
    const g = grad(b.build(), 'loss', ['f', 'p']);
    const out = runGraph(
      g,
      new Map([
        ['f', { dtype: 'f32' as const, shape: [2, 3], data: Float64Array.from(rand(6, 3)) }],
        ['p', { dtype: 'f32' as const, shape: [2, 3], data: Float64Array.from(rand(6, 4)) }],
      ]),
      { dtype: 'f64' },
    );
    expect([...(out.get(gradName('p'))?.data ?? [])].every((v) => v === 0)).toBe(true);
    expect([...(out.get(gradName('f'))?.data ?? [])].some((v) => v !== 0)).toBe(true);
  });
});
