// Compositions (softmax, norms, losses, attention) against independent JS references, plus
// finite-difference checks of their gradients (built only from primitive VJPs).

import { describe, expect, it } from 'vitest';
import { grad } from '../../../compiler/autodiff/grad.ts';
import { eliminateDead } from '../../../compiler/passes/eliminate-dead.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { applyRope, attention, ropeTables } from '../../../compiler/ir/compose-attention.ts';
import { crossEntropy, groupNorm, klDiv, layerNorm, logSoftmax, rmsNorm, softmax, topk, upsampleNearest } from '../../../compiler/ir/compose.ts';
import type { Node } from '../../../compiler/ir/graph.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { fdCheck, feedsOf, lookup, maxRelErr } from '../ops/harness.ts';
import type { CaseInput } from '../ops/op-cases.ts';
import * as ref from './reference.ts';

interface ComposeCase {
  name: string;
  inputs: Record<string, CaseInput>;
  build: (b: GraphBuilder, x: (n: string) => Node) => Node;
  want: () => number[];
  fd: string[];
}

const f = (shape: number[], seed: number, scale = 1): CaseInput => ({
  shape,
  values: ref.det(
    shape.reduce((p, d) => p * d, 1),
    seed,
    scale,
  ),
});
const ids = (shape: number[], values: number[]): CaseInput => ({ shape, values, dtype: 'i32' });
const v = (c: Record<string, CaseInput>, k: string): number[] => c[k]?.values ?? [];

const SM = { x: f([3, 5], 1, 3) };
const LN = { x: f([2, 3, 4], 2, 2), w: f([4], 3), b: f([4], 4) };
const GN = { x: f([2, 4, 2, 2], 5, 2), w: f([4], 6), b: f([4], 7) };
const CE = { logits: f([4, 5], 8, 2), labels: ids([4], [3, -100, 0, 4]) };
const KL = { s: f([2, 3, 4], 9, 2), t: f([2, 3, 4], 10, 2) };
// B=1, H=4 query heads, KV=2, T=5, D=4.
const AT = { q: f([1, 4, 5, 4], 11), k: f([1, 2, 5, 4], 12), v: f([1, 2, 5, 4], 13) };

const CASES: ComposeCase[] = [
  { name: 'softmax', inputs: SM, build: (b, x) => softmax(b, x('x')), want: () => ref.softmaxRef(v(SM, 'x'), 5), fd: ['x'] },
  { name: 'log_softmax', inputs: SM, build: (b, x) => logSoftmax(b, x('x')), want: () => ref.logSoftmaxRef(v(SM, 'x'), 5), fd: ['x'] },
  {
    name: 'layer_norm',
    inputs: LN,
    build: (b, x) => layerNorm(b, x('x'), { weight: x('w'), bias: x('b'), eps: 1e-6 }),
    want: () => ref.layerNormRef(v(LN, 'x'), 4, v(LN, 'w'), v(LN, 'b'), 1e-6),
    fd: ['x', 'w', 'b'],
  },
  {
    name: 'rms_norm',
    inputs: LN,
    build: (b, x) => rmsNorm(b, x('x'), { weight: x('w'), eps: 1e-5 }),
    want: () => ref.rmsNormRef(v(LN, 'x'), 4, v(LN, 'w'), 1e-5),
    fd: ['x', 'w'],
  },
  {
    name: 'group_norm (2 groups)',
    inputs: GN,
    build: (b, x) => groupNorm(b, x('x'), 2, { weight: x('w'), bias: x('b'), eps: 1e-5 }),
    want: () => ref.groupNormRef(v(GN, 'x'), 2, 4, 4, 2, v(GN, 'w'), v(GN, 'b'), 1e-5),
    fd: ['x', 'w', 'b'],
  },
  {
    name: 'cross_entropy, ignore_index -100',
    inputs: CE,
    build: (b, x) => crossEntropy(b, x('logits'), x('labels'), { ignoreIndex: -100 }),
    want: () => [ref.crossEntropyRef(v(CE, 'logits'), 5, v(CE, 'labels'), -100)],
    fd: ['logits'],
  },
  {
    name: 'KL with temperature 2 (T² scaled)',
    inputs: KL,
    build: (b, x) => klDiv(b, x('s'), x('t'), { temperature: 2 }),
    want: () => [ref.klRef(v(KL, 's'), v(KL, 't'), 4, 2)],
    fd: ['s', 't'],
  },
  {
    name: 'llama attention: RoPE (rotate_half) + GQA + causal',
    inputs: AT,
    build: (b, x) => {
      const { cos, sin } = ropeTables(b, 5, 4, { base: 10000 });
      return attention(b, applyRope(b, x('q'), cos, sin), applyRope(b, x('k'), cos, sin), x('v'), { causal: true });
    },
    want: () => ref.llamaAttentionRef(v(AT, 'q'), v(AT, 'k'), v(AT, 'v'), 1, 4, 2, 5, 4, 10000),
    fd: ['q', 'k', 'v'],
  },
];

describe.each(CASES.map((c) => [c.name, c] as const))('%s', (_n, c) => {
  const b = new GraphBuilder();
  const nodes = new Map<string, Node>();
  for (const [k, t] of Object.entries(c.inputs)) nodes.set(k, b.input(k, t.shape, t.dtype ?? 'f32'));
  b.output('y', c.build(b, lookup(nodes)));
  const g = b.build();
  it('matches the JS reference (f64 1e-12, f32 1e-5)', () => {
    const want = c.want();
    expect(maxRelErr(runGraph(g, feedsOf(c.inputs), { dtype: 'f64' }).get('y')?.data ?? [], want)).toBeLessThan(1e-12);
    expect(maxRelErr(runGraph(g, feedsOf(c.inputs), { dtype: 'f32' }).get('y')?.data ?? [], want)).toBeLessThan(1e-5);
  });
  it('has gradients that match finite differences', () => {
    const params: Record<string, CaseInput> = {};
    const inputs: Record<string, CaseInput> = {};
    for (const [k, t] of Object.entries(c.inputs)) (c.fd.includes(k) ? params : inputs)[k] = t;
    for (const r of fdCheck(params, inputs, c.build)) expect(r.relErr, r.name).toBeLessThan(1e-6);
  });
});

describe('small compositions', () => {
  it('upsample_nearest repeats pixels; topk returns sorted values with indices', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [1, 1, 2, 2]);
    const r = b.input('r', [1, 4]);
    const k = topk(b, r, 2);
    b.output('up', upsampleNearest(b, x, 2));
    b.output('tv', k.values);
    b.output('ti', k.indices);
    const out = runGraph(b.build(), feedsOf({ x: { shape: [1, 1, 2, 2], values: [1, 2, 3, 4] }, r: { shape: [1, 4], values: [0.5, 9, -1, 3] } }), {
      dtype: 'f32',
    });
    expect([...(out.get('up')?.data ?? [])]).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    expect([...(out.get('tv')?.data ?? [])]).toEqual([9, 3]);
    expect([...(out.get('ti')?.data ?? [])]).toEqual([1, 3]);
  });
});

describe('cross_entropy gradient', () => {
  // The log_softmax VJP sees take_along_axis's scatter into zeros and scatters into −p·Σsrc
  // instead: the gradient is (softmax − one-hot)·valid/count, computed from the saved output.
  const b = new GraphBuilder();
  const logits = b.param('logits', CE.logits.shape);
  b.output('loss', crossEntropy(b, logits, b.input('labels', CE.labels.shape, 'i32'), { ignoreIndex: -100 }));
  // What ONNX export and the WGSL pipeline see: take_along_axis's own VJP is left dead.
  const g = eliminateDead(grad(b.build(), 'loss'));
  const loss = g.outputs.find((o) => o.name === 'loss')?.node ?? -1;

  it('makes 3 full-size values in the backward (exp, scale, scatter), no zeros and no full-size reduction', () => {
    const full = (n: { shape: readonly number[] }): boolean => n.shape.join(',') === CE.logits.shape.join(',');
    const backward = g.nodes.filter((n) => n.id > loss);
    expect(backward.filter(full).map((n) => n.op)).toEqual(['exp', 'mul', 'scatter_add_along_axis']);
    expect(backward.some((n) => n.op === 'reduce_sum' && full(g.nodes[n.inputs[0] as number] as Node))).toBe(false);
  });

  it('is (softmax − one-hot)·valid/count', () => {
    const labels = v(CE, 'labels');
    const valid = labels.filter((l) => l !== -100).length;
    const p = ref.softmaxRef(v(CE, 'logits'), 5);
    const want = p.map((q, k) => {
      const l = labels[Math.floor(k / 5)] as number;
      return l === -100 ? 0 : (q - (k % 5 === l ? 1 : 0)) / valid;
    });
    const got = runGraph(g, feedsOf(CE), { dtype: 'f64' }).get('grad:logits')?.data ?? [];
    expect(maxRelErr(got, want)).toBeLessThan(1e-12);
  });
});
