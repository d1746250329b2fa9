// Data-driven importance on a tiny llama parent, each metric against an independent computation:
// taylor against finite differences of a hand-written loss and products with the gradients;
// activation against the FFN hidden recomputed in the test from the post-attention norm's tap;
// block influence against cosines of the residual taps; drop-one against a separately lowered
// model without the layer; learned masks' first straight-through step against finite differences.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Node } from '../../../compiler/ir/graph.ts';
import { lowerModel, type LoweredModel } from '../../../compiler/lower/lower-model.ts';
import type { HostTensor } from '../../../compiler/presets/index.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { allModuleGroups } from '../../../jobs/inherit/layout/axes.ts';
import type { CalibBatch } from '../../../jobs/inherit/score/calib.ts';
import { CalibRunner, createDataScoring, taylorImportance } from '../../../jobs/inherit/score/data-scoring.ts';
import { layoutOf } from '../../../jobs/inherit/layout/layout-from-model.ts';
import { trainMasks } from '../../../jobs/inherit/score/learned-mask.ts';
import { LLAMA, PARENT, parse, randoms, randomWeights } from './helpers.ts';

const TEXT = `${LLAMA('P', PARENT)}\nmodel Q = P(depth = 3)\n`;
const program = parse(TEXT);
const parent = lowerModel(program, 'P');
const W = randomWeights(parent, 3);
const CTX = 5;
const BATCHES: CalibBatch[] = [0, 1].map((k) => {
  const ids = Array.from(randoms(CTX + 1, 100 + k, 1), (v) => Math.floor((v + 1) * 6.4) % PARENT.vocab);
  return { tokens: Int32Array.from(ids.slice(0, CTX)), targets: Int32Array.from(ids.slice(1)) };
});

const read = async (p: string) => W.get(p)!;
const runner = () => new CalibRunner({ parent, read, batches: async () => BATCHES });

/** Runs `m` with weights and tokens, returning the named outputs (taps added as outputs). */
function run(m: LoweredModel, w: ReadonlyMap<string, HostTensor>, tokens: Int32Array, taps: string[] = []): Map<string, Tensor> {
  const { builder: b, nodes } = GraphBuilder.from(m.graph);
  for (const t of taps) b.output(`tap:${t}`, nodes[m.taps.get(t)!] as Node);
  const feeds = new Map<string, Tensor>(m.params.map((p) => [p.path, { dtype: 'f32', shape: p.shape, data: w.get(p.path)!.data }]));
  feeds.set('tokens', { dtype: 'i32', shape: [1, CTX], data: tokens });
  return runGraph(b.build(), feeds, { dtype: 'f32' });
}

/** Mean next-token cross-entropy computed here from logits (f64). */
function ce(logits: ArrayLike<number>, targets: Int32Array): number {
  let s = 0;
  for (let t = 0; t < targets.length; t++) {
    const row = Array.from({ length: PARENT.vocab }, (_, v) => logits[t * PARENT.vocab + v] as number);
    const mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
    s += lse - row[targets[t]!]!;
  }
  return s / targets.length;
}

const meanLoss = (m: LoweredModel, w: ReadonlyMap<string, HostTensor>) =>
  BATCHES.reduce((a, b) => a + ce(run(m, w, b.tokens).get('logits')!.data, b.targets), 0) / BATCHES.length;

describe('taylor', () => {
  it('is Σ|w·∂L/∂w| with gradients that match finite differences, summed over gate rows, up rows and down columns', async () => {
    const imp = await taylorImportance(runner(), BATCHES);
    // Gradient spot checks by central differences of the loss computed in this test.
    const key = 'layers.1.mlp.up_proj.weight';
    for (const i of [0, 37, 200]) {
      const w = W.get(key)!.data[i]!;
      const at = (v: number) => {
        const d = Float32Array.from(W.get(key)!.data);
        d[i] = v;
        return BATCHES.map((b) => ce(run(parent, new Map(W).set(key, { shape: W.get(key)!.shape, data: d }), b.tokens).get('logits')!.data, b.targets));
      };
      const eps = 1e-2;
      const plus = at(w + eps),
        minus = at(w - eps);
      const expected = plus.reduce((a, p, k) => a + Math.abs((w * (p - minus[k]!)) / (2 * eps)), 0);
      expect(imp.get(key)![i]).toBeCloseTo(expected, 3);
    }
    // The group score is the per-neuron sum of those products over the three tensors.
    const scoring = createDataScoring({ parent, read, batches: async () => BATCHES });
    const g = allModuleGroups(layoutOf(parent)).get('layers.1.mlp:ffn')!;
    const rule = scoring.unitRule(
      'ffn',
      { kind: 'metric', metric: 'taylor', calib: undefined, steps: 0, penalty: 0, span: parent.instance.decl.span },
      new Map(),
    );
    if (rule.kind !== 'metric') throw new Error('expected a metric rule');
    const { scores } = await rule.score(g);
    const D = PARENT.dim,
      F = PARENT.ffn;
    for (let j = 0; j < F; j++) {
      let s = 0;
      for (let c = 0; c < D; c++)
        s +=
          imp.get('layers.1.mlp.gate_proj.weight')![j * D + c]! +
          imp.get('layers.1.mlp.up_proj.weight')![j * D + c]! +
          imp.get('layers.1.mlp.down_proj.weight')![c * F + j]!;
      expect(scores[j]).toBeCloseTo(s, 4);
    }
  });
});

describe('activation', () => {
  it('scores FFN neurons by mean |silu(x·Wgᵀ)·(x·Wuᵀ)| recomputed from the norm tap', async () => {
    const scoring = createDataScoring({ parent, read, batches: async () => BATCHES });
    const rule = scoring.unitRule(
      'ffn',
      { kind: 'metric', metric: 'activation', calib: undefined, steps: 0, penalty: 0, span: parent.instance.decl.span },
      new Map(),
    );
    if (rule.kind !== 'metric') throw new Error('expected a metric rule');
    const { scores } = await rule.score(allModuleGroups(layoutOf(parent)).get('layers.2.mlp:ffn')!);
    const D = PARENT.dim,
      F = PARENT.ffn;
    const wg = W.get('layers.2.mlp.gate_proj.weight')!.data,
      wu = W.get('layers.2.mlp.up_proj.weight')!.data;
    const expected = new Float64Array(F);
    for (const b of BATCHES) {
      const x = run(parent, W, b.tokens, ['layers.2.post_attention_layernorm']).get('tap:layers.2.post_attention_layernorm')!.data;
      for (let t = 0; t < CTX; t++)
        for (let j = 0; j < F; j++) {
          let g = 0,
            u = 0;
          for (let c = 0; c < D; c++) {
            g += (x[t * D + c] as number) * wg[j * D + c]!;
            u += (x[t * D + c] as number) * wu[j * D + c]!;
          }
          expected[j] = expected[j]! + Math.abs((g / (1 + Math.exp(-g))) * u) / (CTX * BATCHES.length);
        }
    }
    for (let j = 0; j < F; j++) expect(scores[j]).toBeCloseTo(expected[j]!, 4);
  });
});

describe('layer metrics', () => {
  it('block influence is 1 − mean cosine of the residual stream before and after each layer', async () => {
    const scoring = createDataScoring({ parent, read, batches: async () => BATCHES });
    const got = await scoring.layerScores('block_influence', undefined);
    const taps = ['embed_tokens', 'h@2', 'h@4', 'h@6', 'h@8']; // the stream entering layers 0..3 and leaving 3
    const cos = new Float64Array(PARENT.depth);
    for (const b of BATCHES) {
      const out = run(parent, W, b.tokens, taps);
      for (let l = 0; l < PARENT.depth; l++) {
        const x = out.get(`tap:${taps[l]}`)!.data,
          y = out.get(`tap:${taps[l + 1]}`)!.data;
        for (let t = 0; t < CTX; t++) {
          let xy = 0,
            xx = 0,
            yy = 0;
          for (let c = 0; c < PARENT.dim; c++) {
            const i = t * PARENT.dim + c;
            xy += (x[i] as number) * (y[i] as number);
            xx += (x[i] as number) ** 2;
            yy += (y[i] as number) ** 2;
          }
          cos[l] = cos[l]! + xy / Math.sqrt(xx * yy) / (CTX * BATCHES.length);
        }
      }
    }
    for (let l = 0; l < PARENT.depth; l++) expect(got[l]).toBeCloseTo(1 - cos[l]!, 5);
  });

  it('drop-one equals the loss of a separately lowered 3-layer model without the layer, minus the parent loss', async () => {
    const scoring = createDataScoring({ parent, read, batches: async () => BATCHES });
    const got = await scoring.layerScores('drop_one', undefined);
    const q = lowerModel(program, 'Q');
    const base = meanLoss(parent, W);
    for (let skip = 0; skip < PARENT.depth; skip++) {
      const w = new Map<string, HostTensor>();
      for (const p of q.params) {
        const m = /^layers\.(\d+)\.(.*)$/.exec(p.path);
        const from = m === null ? p.path : `layers.${Number(m[1]) < skip ? Number(m[1]) : Number(m[1]) + 1}.${m[2]}`;
        w.set(p.path, W.get(from)!);
      }
      expect(got[skip]).toBeCloseTo(meanLoss(q, w) - base, 4);
    }
  });
});

describe('learned mask', () => {
  it('takes its first straight-through step along −∂L/∂m at the hard mask (finite differences), and is deterministic', async () => {
    const key = 'layers.0.mlp:ffn';
    const k = 12;
    const s1 = await trainMasks(runner(), [{ kind: 'ffn', steps: 1, penalty: 0, calib: undefined }], new Map([[key, k]]), BATCHES);
    expect([...s1.keys()]).toEqual([key]);
    // Batch 0 only (step 0); all logits start at 0, so the hard mask keeps neurons 0..k−1.
    const down = W.get('layers.0.mlp.down_proj.weight')!;
    const F = PARENT.ffn;
    const lossWithMask = (m: number[]) => {
      const d = Float32Array.from(down.data, (v, i) => v * m[i % F]!); // scaling column j = scaling neuron j
      return ce(
        run(parent, new Map(W).set('layers.0.mlp.down_proj.weight', { shape: down.shape, data: d }), BATCHES[0]!.tokens).get('logits')!.data,
        BATCHES[0]!.targets,
      );
    };
    const hard: number[] = Array.from({ length: F }, (_, j) => (j < k ? 1 : 0));
    let checked = 0;
    for (let j = 0; j < F; j++) {
      const eps = 1e-2;
      const up = [...hard],
        dn = [...hard];
      up[j] = hard[j]! + eps;
      dn[j] = hard[j]! - eps;
      const g = (lossWithMask(up) - lossWithMask(dn)) / (2 * eps);
      if (Math.abs(g) < 1e-3) continue;
      // Adam's first step moves each logit by lr = 0.1 against the gradient's sign.
      expect(s1.get(key)![j]).toBeCloseTo(1 / (1 + Math.exp(g > 0 ? 0.1 : -0.1)), 4); // up to Adam's ε;
      checked++;
    }
    expect(checked).toBeGreaterThan(F / 2);
    const again = await trainMasks(runner(), [{ kind: 'ffn', steps: 3, penalty: 1, calib: undefined }], new Map([[key, k]]), BATCHES);
    const twice = await trainMasks(runner(), [{ kind: 'ffn', steps: 3, penalty: 1, calib: undefined }], new Map([[key, k]]), BATCHES);
    expect(Array.from(again.get(key)!)).toEqual(Array.from(twice.get(key)!));
  });
  it('masks the residual width at every write into the stream: its first step follows finite differences of scaled embedding columns and o_proj/down_proj rows', async () => {
    const k = 10;
    const s1 = await trainMasks(runner(), [{ kind: 'dim', steps: 1, penalty: 0, calib: undefined }], new Map([['dim', k]]), BATCHES);
    expect([...s1.keys()]).toEqual(['dim']);
    const D = PARENT.dim;
    // Scaling channel c of every value written into the stream, through the weights alone:
    // embedding columns ([V, D]: index % D) and o_proj / down_proj rows ([D, in]: index / in).
    const lossWithMask = (m: number[]) => {
      const w = new Map(W);
      const scale = (path: string, channel: (i: number) => number) => {
        const t = W.get(path)!;
        w.set(path, { shape: t.shape, data: Float32Array.from(t.data, (v, i) => v * m[channel(i)]!) });
      };
      scale('embed_tokens.weight', (i) => i % D);
      for (let l = 0; l < PARENT.depth; l++) {
        for (const p of [`layers.${l}.self_attn.o_proj.weight`, `layers.${l}.mlp.down_proj.weight`]) {
          const inner = W.get(p)!.shape[1]!;
          scale(p, (i) => Math.floor(i / inner));
        }
      }
      return ce(run(parent, w, BATCHES[0]!.tokens).get('logits')!.data, BATCHES[0]!.targets);
    };
    const hard: number[] = Array.from({ length: D }, (_, j) => (j < k ? 1 : 0));
    let checked = 0;
    for (let j = 0; j < D; j++) {
      const eps = 1e-2;
      const up = [...hard],
        dn = [...hard];
      up[j] = hard[j]! + eps;
      dn[j] = hard[j]! - eps;
      const g = (lossWithMask(up) - lossWithMask(dn)) / (2 * eps);
      if (Math.abs(g) < 1e-3) continue;
      expect(s1.get('dim')![j]).toBeCloseTo(1 / (1 + Math.exp(g > 0 ? 0.1 : -0.1)), 4);
      checked++;
    }
    expect(checked).toBeGreaterThan(D / 2);
    const a = await trainMasks(runner(), [{ kind: 'dim', steps: 3, penalty: 1, calib: undefined }], new Map([['dim', k]]), BATCHES);
    const b = await trainMasks(runner(), [{ kind: 'dim', steps: 3, penalty: 1, calib: undefined }], new Map([['dim', k]]), BATCHES);
    expect(Array.from(a.get('dim')!)).toEqual(Array.from(b.get('dim')!));
    // Not a no-op: three steps move some logits beyond the first step's ±0.1.
    expect(Array.from(a.get('dim')!).some((v) => Math.abs(v - 0.5) > 0.03)).toBe(true);
  });
});
