// BA-LoRA regularizers through `train`'s loss table: a spec's loss expression lowers to terms whose
// values match the JS reference on the model's own outputs, ramp weights become fed scalars, and
// bad arguments are diagnostics.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Node } from '../../../compiler/ir/graph.ts';
import { LowerError } from '../../../grammar/eval/errors.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { lowerTrain } from '../../../compiler/lower/lower-train.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { numel, parse, randoms } from '../lower/helpers.ts';
import { consistencyIclr, covarianceOffDiag, svdEnergyRef, topkEntropy, type Matrix } from './ba-lora-reference.ts';

const MODEL = `
model C(vocab = 11, dim = 6, ctx = 4, genres = 5) {
  input tokens: i32[batch, ctx]
  h = Embedding(tokens, vocab, dim) as embed_tokens
  features = mean(h, axis = 1)
  output logits = Linear(features, genres) as score
}`;

const TRAIN = (loss: string): string => `${MODEL}
train C {
  data = brown(split = "train", seq = 4, task = "genre")
  base = C frozen
  loss = ${loss}
  steps = 10
}`;

const TOKENS: Tensor = { dtype: 'i32', shape: [3, 4], data: Int32Array.from([1, 4, 10, 2, 3, 3, 0, 7, 5, 6, 9, 8]) };
const rowsOf = (flat: ArrayLike<number>, c: number): Matrix => Array.from({ length: flat.length / c }, (_v, i) => Array.from(flat).slice(i * c, (i + 1) * c));

describe('BA-LoRA loss rules in train', () => {
  it('lower to terms equal to the reference formulas on the model outputs', () => {
    const prog = parse(
      TRAIN(`cross_entropy(logits, label) + 0.15 * consistency(logits, base.logits, T = 2)
       + ramp(from = 0, to = 0.03, steps = 100) * diversity(features, k = 3)
       + 0.03 * svd_energy(features, k = 2) + 0.01 * diversity(logits, variant = "arxiv")`),
    );
    const t = lowerTrain(prog, 'C', { batch: 3, grads: false });
    expect(t.terms.map((x) => x.output)).toEqual(['term:cross_entropy', 'term:consistency', 'term:diversity', 'term:svd_energy', 'term:diversity.1']);
    expect(t.weights).toMatchObject([{ input: 'weight:0', from: 0, to: 0.03, steps: 100 }]);

    // Student and base get different weights, so consistency is not trivially zero.
    const plain = lowerModel(prog, 'C', { dims: { batch: 3 } });
    const student = new Map(plain.params.map((p, k) => [p.path, Float64Array.from(randoms(numel(p.shape), 40 + k, 0.8))]));
    const base = new Map(plain.params.map((p, k) => [p.path, Float64Array.from(randoms(numel(p.shape), 90 + k, 0.8))]));
    const feed = new Map<string, Tensor>([
      ['tokens', TOKENS],
      ['label', { dtype: 'i32', shape: [3], data: Int32Array.from([0, 3, 1]) }],
      ['weight:0', { dtype: 'f32', shape: [], data: Float64Array.of(0.5) }],
    ]);
    for (const p of plain.params) {
      feed.set(p.path, { dtype: 'f32', shape: p.shape, data: student.get(p.path) as Float64Array });
      feed.set(`base.${p.path}`, { dtype: 'f32', shape: p.shape, data: base.get(p.path) as Float64Array });
    }
    const out = runGraph(t.graph, feed, { dtype: 'f64' });
    const term = (n: string): number => out.get(n)?.data[0] as number;

    // The plain model's logits and features, for the reference.
    const { builder: b, nodes } = GraphBuilder.from(plain.graph);
    b.output('features', nodes[plain.taps.get('features') as number] as Node);
    const fwd = (w: Map<string, Float64Array>): Map<string, Tensor> => {
      const f = new Map<string, Tensor>([['tokens', TOKENS]]);
      for (const p of plain.params) f.set(p.path, { dtype: 'f32', shape: p.shape, data: w.get(p.path) as Float64Array });
      return runGraph(b.build(), f, { dtype: 'f64' });
    };
    const s = fwd(student);
    const zb = fwd(base);
    const logits = rowsOf(s.get('logits')?.data ?? [], 5);
    const features = rowsOf(s.get('features')?.data ?? [], 6);
    expect(term('term:consistency')).toBeCloseTo(consistencyIclr(logits, rowsOf(zb.get('logits')?.data ?? [], 5), 2), 12);
    expect(term('term:diversity')).toBeCloseTo(topkEntropy(features, 3), 12);
    expect(term('term:svd_energy')).toBeCloseTo(svdEnergyRef(features, 2, 'sum_sigma'), 12);
    expect(term('term:diversity.1')).toBeCloseTo(covarianceOffDiag(logits), 12);
    const total =
      term('term:cross_entropy') +
      0.15 * term('term:consistency') +
      0.5 * term('term:diversity') +
      0.03 * term('term:svd_energy') +
      0.01 * term('term:diversity.1');
    expect(term('loss')).toBeCloseTo(total, 12);
  });

  it('reports bad arguments as diagnostics', () => {
    const code = (loss: string): string => {
      try {
        lowerTrain(parse(TRAIN(loss)), 'C', { batch: 3, grads: false });
      } catch (e) {
        if (e instanceof LowerError) return `${e.diagnostic.code}: ${e.message}`;
        throw e;
      }
      return 'ok';
    };
    expect(code('consistency(logits, base.logits, variant = "nlu")')).toBe('E0901: consistency: variant must be "iclr" or "arxiv", found "nlu"');
    expect(code('svd_energy(features, norm = "l2")')).toBe('E0901: svd_energy: norm must be "sum_sigma" or "frobenius", found "l2"');
    expect(code('consistency(logits, features)')).toBe('E0901: consistency: logits [3, 5] and base [3, 6] must have one shape');
    expect(code('diversity(logits, k = 0)')).toBe('E0901: diversity: k must be >= 1, found 0');
  });
});
