// A tiny llama training step on the CPU interpreter: forward + autodiff gradients in f32 give a
// near-uniform initial loss, and a plain SGD step along the gradient must lower the loss.

import { describe, expect, it } from 'vitest';
import { grad, gradName } from '../../../compiler/autodiff/grad.ts';
import type { Graph } from '../../../compiler/ir/graph.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { llamaFeeds, tinyLlama } from '../ir/tiny-llama.ts';

const CFG = { vocab: 256, dim: 64, depth: 2, heads: 4, kvHeads: 2, ffn: 172, batch: 4, ctx: 32 };

// The head starts tiny so the first prediction is near uniform.
const initFeeds = (g: Graph): Map<string, Tensor> => llamaFeeds(g, CFG, (name) => (name === 'lm_head.weight' ? 0.005 : 0.08));

describe('tiny llama training step on the CPU', () => {
  const fwd = tinyLlama(CFG);
  const g = grad(fwd, 'loss');
  const feeds = initFeeds(fwd);

  // Speed is measured in bench/, not asserted here (timed unit tests are flaky on shared machines).
  it('runs forward + backward in f32 with a near-uniform initial loss', () => {
    verifyGraph(g);
    const out = runGraph(g, feeds, { dtype: 'f32' });
    const loss = out.get('loss')?.data[0] as number;
    // Small random weights: the prediction is near uniform, so the loss is near ln(vocab).
    expect(Math.abs(loss - Math.log(CFG.vocab))).toBeLessThan(0.1);
  });

  it('lowers the loss after one SGD step along the gradient', () => {
    const out = runGraph(g, feeds, { dtype: 'f32' });
    const before = out.get('loss')?.data[0] as number;
    const next = new Map(feeds);
    for (const [name, t] of feeds) {
      const gr = out.get(gradName(name));
      if (!gr) continue;
      for (const x of gr.data) expect(Number.isFinite(x)).toBe(true);
      next.set(name, { ...t, data: Float32Array.from(t.data, (x, i) => x - 0.1 * (gr.data[i] as number)) });
    }
    const after = runGraph(fwd, next, { dtype: 'f32' }).get('loss')?.data[0] as number;
    expect(after).toBeLessThan(before - 1e-3);
  });
});
