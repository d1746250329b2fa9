// Lowering `train` into one graph: the loss against a hand-written reference (embedding rows,
// logits, cross-entropy with next(), KD at temperature 2, MSE under a ramp weight), the teacher's
// parameters frozen and prefixed with no gradient, student gradients against finite differences,
// feature_kd's learned projection, and a clear E0904 for what is not supported yet.

import { describe, expect, it } from 'vitest';
import { gradName } from '../../../compiler/autodiff/grad.ts';
import { LowerError } from '../../../grammar/eval/errors.ts';
import { lowerTrain, type LoweredTrain } from '../../../compiler/lower/lower-train.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { numel, parse, randoms } from '../../compiler/lower/helpers.ts';

const MODELS = `
model S(vocab = 3, dim = 2, ctx = 3) {
  input tokens: i32[batch, ctx]
  output logits = Linear(Embedding(tokens, vocab, dim) as embed, vocab, bias = false) as head
}
model T = S(dim = 4)
`;

const spec = (loss: string, extra = ''): string => `${MODELS}
train S {
  data = brown(split = "train", seq = 3)
  teacher = T frozen
  loss = ${loss}
  steps = 1
  ${extra}
}`;

const TOKENS = [0, 2, 1, 1, 1, 2]; // [2, 3]

function feeds(t: LoweredTrain, weight = 0.3): Map<string, Tensor> {
  const f = new Map<string, Tensor>();
  let seed = 1;
  for (const n of t.graph.nodes) {
    if (n.op !== 'param') continue;
    f.set(n.attrs['name'] as string, { dtype: 'f32', shape: n.shape, data: Float64Array.from(randoms(numel(n.shape), seed++, 0.8)) });
  }
  f.set('tokens', { dtype: 'i32', shape: [2, 3], data: Int32Array.from(TOKENS) });
  for (const w of t.weights) f.set(w.input, { dtype: 'f32', shape: [], data: Float64Array.of(weight) });
  return f;
}

/** logits[b, t, :] = E[tok] · Wᵀ, by hand. */
function logitsOf(f: Map<string, Tensor>, prefix: string, dim: number): number[][] {
  const e = f.get(`${prefix}embed.weight`)!.data;
  const w = f.get(`${prefix}head.weight`)!.data;
  return TOKENS.map((tok) =>
    [0, 1, 2].map((v) => {
      let s = 0;
      for (let d = 0; d < dim; d++) s += (e[tok * dim + d] as number) * (w[v * dim + d] as number);
      return s;
    }),
  );
}

const logSoftmax = (row: number[], t = 1): number[] => {
  const z = row.map((x) => x / t);
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((a, x) => a + Math.exp(x - m), 0));
  return z.map((x) => x - lse);
};

function reference(f: Map<string, Tensor>, weight: number): { ce: number; kd: number; mse: number; total: number } {
  const s = logitsOf(f, '', 2);
  const t = logitsOf(f, 'teacher.', 4);
  // next(tokens): position p of a row predicts p + 1; the last position of each row is ignored.
  let ce = 0;
  let n = 0;
  for (let r = 0; r < 2; r++) {
    for (let p = 0; p < 2; p++) {
      ce -= logSoftmax(s[r * 3 + p]!)[TOKENS[r * 3 + p + 1]!]!;
      n++;
    }
  }
  ce /= n;
  let kd = 0;
  let mse = 0;
  for (let i = 0; i < 6; i++) {
    const ls = logSoftmax(s[i]!, 2);
    const lt = logSoftmax(t[i]!, 2);
    kd += lt.reduce((a, l, v) => a + Math.exp(l) * (l - ls[v]!), 0);
    for (let v = 0; v < 3; v++) mse += (s[i]![v]! - t[i]![v]!) ** 2;
  }
  kd = (4 * kd) / 6;
  mse /= 18;
  return { ce, kd, mse, total: ce + 0.5 * kd + weight * mse };
}

const LOSS = 'cross_entropy(logits, next(tokens)) + 0.5 * kd(logits, teacher.logits, T = 2) + ramp(from = 0, to = 1, steps = 10) * mse(logits, teacher.logits)';

describe('lowerTrain', () => {
  const t = lowerTrain(parse(spec(LOSS)), 'S', { batch: 2 });

  it('computes the loss expression as the hand-written reference does', () => {
    const f = feeds(t, 0.3);
    const out = runGraph(t.graph, f, { dtype: 'f64' });
    const ref = reference(f, 0.3);
    expect(out.get('loss')!.data[0]).toBeCloseTo(ref.total, 10);
    expect(out.get('term:cross_entropy')!.data[0]).toBeCloseTo(ref.ce, 10);
    expect(out.get('term:kd')!.data[0]).toBeCloseTo(ref.kd, 10);
    expect(out.get('term:mse')!.data[0]).toBeCloseTo(ref.mse, 10);
    expect(t.weights).toEqual([expect.objectContaining({ input: 'weight:0', from: 0, to: 1, steps: 10 })]);
  });

  it('feeds ramp weights per step: the loss moves by Δweight · mse', () => {
    const a = runGraph(t.graph, feeds(t, 0.3), { dtype: 'f64', outputs: ['loss', 'term:mse'] });
    const b = runGraph(t.graph, feeds(t, 0.8), { dtype: 'f64', outputs: ['loss'] });
    expect((b.get('loss')!.data[0] as number) - (a.get('loss')!.data[0] as number)).toBeCloseTo(0.5 * (a.get('term:mse')!.data[0] as number), 10);
  });

  it('freezes the teacher: prefixed, trainable=false, no gradient output', () => {
    const params = t.graph.nodes.filter((n) => n.op === 'param');
    const teacher = params.filter((n) => String(n.attrs['name']).startsWith('teacher.'));
    expect(teacher.map((n) => n.attrs['name']).sort()).toEqual(['teacher.embed.weight', 'teacher.head.weight']);
    for (const n of teacher) expect(n.attrs['trainable']).toBe(false);
    expect(t.trainable.map((p) => p.path).sort()).toEqual(['embed.weight', 'head.weight']);
    const grads = t.graph.outputs.map((o) => o.name).filter((n) => n.startsWith('grad:'));
    expect(grads.sort()).toEqual([gradName('embed.weight'), gradName('head.weight')]);
  });

  it('gives student gradients that match finite differences of the whole loss', () => {
    const f = feeds(t);
    const out = runGraph(t.graph, f, { dtype: 'f64' });
    const lossAt = (name: string, k: number, h: number): number => {
      const g = new Map(f);
      const p = f.get(name)!;
      const data = Float64Array.from(p.data);
      data[k]! += h;
      g.set(name, { ...p, data });
      return runGraph(t.graph, g, { dtype: 'f64', outputs: ['loss'] }).get('loss')!.data[0] as number;
    };
    for (const name of ['embed.weight', 'head.weight']) {
      const g = out.get(gradName(name))!.data;
      for (let k = 0; k < g.length; k++) {
        const fd = (lossAt(name, k, 1e-6) - lossAt(name, k, -1e-6)) / 2e-6;
        expect(g[k]).toBeCloseTo(fd, 6);
      }
    }
  });

  it('adds a trained projection when feature_kd compares different widths', () => {
    const k = lowerTrain(parse(spec('feature_kd(logits, teacher.logits) + feature_kd(embed, teacher.embed)')), 'S', { batch: 2 });
    expect(k.trainable.filter((p) => !p.inModel)).toEqual([expect.objectContaining({ path: 'loss.feature_kd.1.proj.weight', shape: [4, 2] })]);
    const f = feeds(k);
    const out = runGraph(k.graph, f, { dtype: 'f64' });
    // The projected student embedding rows against the teacher's, by hand.
    const es = f.get('embed.weight')!.data;
    const et = f.get('teacher.embed.weight')!.data;
    const w = f.get('loss.feature_kd.1.proj.weight')!.data;
    let mse = 0;
    for (const tok of TOKENS) {
      for (let o = 0; o < 4; o++) {
        const y = (es[tok * 2] as number) * (w[o * 2] as number) + (es[tok * 2 + 1] as number) * (w[o * 2 + 1] as number);
        mse += (y - (et[tok * 4 + o] as number)) ** 2;
      }
    }
    expect(out.get('term:feature_kd.1')!.data[0]).toBeCloseTo(mse / 24, 10);
    expect(out.has(gradName('loss.feature_kd.1.proj.weight'))).toBe(true);
  });

  it('says what is not supported yet, at its spec line', () => {
    let error: unknown;
    try {
      lowerTrain(parse(spec('cross_entropy(logits, next(tokens)) + warmup_cosine(warmup = 2) * mse(logits, teacher.logits)')), 'S', { batch: 2 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LowerError);
    const d = (error as LowerError).diagnostic;
    expect(d.code).toBe('E0904');
    expect(d.message).toContain("'warmup_cosine' as a loss weight is not supported yet");
    expect(d.span.start.line).toBe(11);
  });

  it('rejects a loss that is not a scalar', () => {
    expect(() => lowerTrain(parse(spec('logits')), 'S', { batch: 2 })).toThrow(/the loss must be a float scalar, found f32\[2, 3, 3\]/);
  });
});
