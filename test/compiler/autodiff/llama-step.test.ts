// A tiny llama training step on the CPU interpreter: forward + autodiff gradients in f32 must run
// well under a second, and a plain SGD step along the gradient must lower the loss.

import { describe, expect, it } from 'vitest';
import { grad, gradName } from '../../../compiler/autodiff/grad.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { applyRope, attention, ropeTables } from '../../../compiler/ir/compose-attention.ts';
import { crossEntropy, linear, rmsNorm } from '../../../compiler/ir/compose.ts';
import type { Graph, Node } from '../../../compiler/ir/graph.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { tensor, type Tensor } from '../../../runtime/cpu/tensor.ts';

const CFG = { vocab: 256, dim: 64, depth: 2, heads: 4, kvHeads: 2, ffn: 172, batch: 4, ctx: 32 };

function tinyLlama(): Graph {
  const { vocab, dim, depth, heads, kvHeads, ffn, batch, ctx } = CFG;
  const hd = dim / heads;
  const b = new GraphBuilder();
  const tokens = b.input('tokens', [batch, ctx], 'i32');
  const labels = b.input('labels', [batch, ctx], 'i32');
  const p = (name: string, shape: number[]): Node => b.param(name, shape);
  const { cos, sin } = ropeTables(b, ctx, hd);
  // [B, T, H·D] → [B, H, T, D]
  const heads4 = (x: Node, n: number): Node => b.permute(b.reshape(x, [batch, ctx, n, hd]), [0, 2, 1, 3]);
  let h = b.gather(p('embed_tokens.weight', [vocab, dim]), tokens, 0); // [B, T, C]
  for (let i = 0; i < depth; i++) {
    const pre = `layers.${i}`;
    const x = rmsNorm(b, h, { weight: p(`${pre}.input_layernorm.weight`, [dim]) });
    const q = applyRope(b, heads4(linear(b, x, p(`${pre}.self_attn.q_proj.weight`, [dim, dim])), heads), cos, sin);
    const k = applyRope(b, heads4(linear(b, x, p(`${pre}.self_attn.k_proj.weight`, [kvHeads * hd, dim])), kvHeads), cos, sin);
    const v = heads4(linear(b, x, p(`${pre}.self_attn.v_proj.weight`, [kvHeads * hd, dim])), kvHeads);
    const a = b.reshape(b.permute(attention(b, q, k, v, { causal: true }), [0, 2, 1, 3]), [batch, ctx, dim]);
    h = b.add(h, linear(b, a, p(`${pre}.self_attn.o_proj.weight`, [dim, dim])));
    const y = rmsNorm(b, h, { weight: p(`${pre}.post_attention_layernorm.weight`, [dim]) });
    const gate = b.silu(linear(b, y, p(`${pre}.mlp.gate_proj.weight`, [ffn, dim])));
    const up = linear(b, y, p(`${pre}.mlp.up_proj.weight`, [ffn, dim]));
    h = b.add(h, linear(b, b.mul(gate, up), p(`${pre}.mlp.down_proj.weight`, [dim, ffn])));
  }
  const logits = linear(b, rmsNorm(b, h, { weight: p('norm.weight', [dim]) }), p('lm_head.weight', [vocab, dim]));
  b.output('loss', crossEntropy(b, logits, labels, { ignoreIndex: -100 }));
  return b.build();
}

function initFeeds(g: Graph): Map<string, Tensor> {
  const feeds = new Map<string, Tensor>();
  let seed = 1;
  for (const n of g.nodes) {
    if (n.op !== 'param') continue;
    const size = n.shape.reduce((a, d) => a * d, 1);
    const name = n.attrs['name'] as string;
    // The head starts tiny so the first prediction is near uniform.
    const scale = name === 'lm_head.weight' ? 0.005 : 0.08;
    const norm = name.endsWith('norm.weight');
    feeds.set(
      name,
      tensor(
        Array.from({ length: size }, (_v, i) => (norm ? 1 : scale * Math.sin(seed * 7.1 + i * 1.37))),
        n.shape,
      ),
    );
    seed++;
  }
  const toks = Array.from({ length: CFG.batch * CFG.ctx }, (_v, i) => (i * 37 + 11) % CFG.vocab);
  feeds.set('tokens', tensor(toks, [CFG.batch, CFG.ctx], 'i32'));
  // Next-token labels; the last position of each row is ignored.
  feeds.set(
    'labels',
    tensor(
      toks.map((_t, i) => ((i + 1) % CFG.ctx === 0 ? -100 : (toks[i + 1] as number))),
      [CFG.batch, CFG.ctx],
      'i32',
    ),
  );
  return feeds;
}

describe('tiny llama training step on the CPU', () => {
  const fwd = tinyLlama();
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
