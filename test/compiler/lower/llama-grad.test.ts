// Gradients of a tiny llama's next-token loss through grad() against central finite differences
// on a few parameter entries (f64 CPU runs).

import { describe, expect, it } from 'vitest';
import { grad, gradName } from '../../../compiler/autodiff/grad.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { crossEntropy } from '../../../compiler/ir/compose.ts';
import type { Graph, Node } from '../../../compiler/ir/graph.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { lower, randomWeights, llamaSpec } from './helpers.ts';

const SPEC = `
${llamaSpec('L', 'vocab = 7, dim = 8, depth = 1, heads = 2, kv_heads = 1, ffn = 12, ctx = 4')}`;

/** The forward graph plus `loss` = cross_entropy(logits, tokens shifted left, ignore −100). */
function withLoss(g: Graph): Graph {
  const { builder: b, nodes } = GraphBuilder.from(g);
  const tokens = nodes.find((n) => n.op === 'input') as Node;
  const logits = nodes[g.outputs[0]?.node ?? -1] as Node;
  const [bs, t] = tokens.shape as [number, number];
  const targets = b.concat([b.sliceAxis(tokens, 1, 1, t), b.full(-100, [bs, 1], 'i32')], 1);
  b.output('loss', crossEntropy(b, logits, targets, { ignoreIndex: -100 }));
  return b.build();
}

describe('llama gradients', () => {
  it('match central finite differences', () => {
    const m = lower(SPEC, 'L', { dims: { batch: 2 } });
    const w = randomWeights(m, 11, 0.5);
    const names = [
      'layers.0.self_attn.q_proj.weight',
      'layers.0.self_attn.k_proj.weight',
      'layers.0.mlp.gate_proj.weight',
      'layers.0.input_layernorm.weight',
      'embed_tokens.weight',
      'lm_head.weight',
    ];
    const g = grad(withLoss(m.graph), 'loss', names);
    const feed = (ws: Map<string, Float32Array | Float64Array>): Map<string, Tensor> => {
      const f = new Map<string, Tensor>([['tokens', { dtype: 'i32', shape: [2, 4], data: Int32Array.from([1, 4, 6, 2, 3, 3, 0, 5]) }]]);
      for (const p of m.params) f.set(p.path, { dtype: 'f32', shape: p.shape, data: ws.get(p.path) as Float64Array });
      return f;
    };
    const w64 = new Map([...w].map(([k, v]) => [k, Float64Array.from(v)]));
    const out = runGraph(g, feed(w64), { dtype: 'f64' });
    const lossAt = (ws: Map<string, Float64Array>): number => runGraph(g, feed(ws), { dtype: 'f64', outputs: ['loss'] }).get('loss')?.data[0] as number;
    const eps = 1e-5;
    for (const name of names) {
      const analytic = out.get(gradName(name))?.data as Float64Array;
      const size = (w64.get(name) as Float64Array).length;
      for (const k of [0, 5, 13].map((i) => i % size)) {
        const plus = new Map(w64);
        const minus = new Map(w64);
        const a = Float64Array.from(w64.get(name) as Float64Array);
        const bb = Float64Array.from(a);
        a[k] = (a[k] as number) + eps;
        bb[k] = (bb[k] as number) - eps;
        plus.set(name, a);
        minus.set(name, bb);
        const numeric = (lossAt(plus) - lossAt(minus)) / (2 * eps);
        expect(Math.abs((analytic[k] as number) - numeric), `${name}[${k}]`).toBeLessThan(1e-6 + 1e-4 * Math.abs(numeric));
      }
    }
  });
});
