// A tiny llama (the same as test/compiler/autodiff/llama-step.test.ts builds) for the WebGPU
// tests and `scion compile`'s measurements: built with the IR builder and compose.ts.

import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { applyRope, attention, ropeTables } from '../../../compiler/ir/compose-attention.ts';
import { crossEntropy, linear, rmsNorm } from '../../../compiler/ir/compose.ts';
import type { Graph, Node } from '../../../compiler/ir/graph.ts';
import { tensor, type Tensor } from '../../../runtime/cpu/tensor.ts';

export const LLAMA = { vocab: 64, dim: 32, depth: 2, heads: 4, kvHeads: 2, ffn: 48, batch: 2, ctx: 8 };

export function tinyLlama(cfg = LLAMA): Graph {
  const { vocab, dim, depth, heads, kvHeads, ffn, batch, ctx } = cfg;
  const hd = dim / heads;
  const b = new GraphBuilder();
  const tokens = b.input('tokens', [batch, ctx], 'i32');
  const labels = b.input('labels', [batch, ctx], 'i32');
  const p = (name: string, shape: number[]): Node => b.param(name, shape);
  const { cos, sin } = ropeTables(b, ctx, hd);
  const heads4 = (x: Node, n: number): Node => b.permute(b.reshape(x, [batch, ctx, n, hd]), [0, 2, 1, 3]); // [B, H, T, D]
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

/**
 * Deterministic params (norm weights 1, others small sines scaled by `scaleOf(name)`, 0.08 by
 * default) and next-token data.
 */
export function llamaFeeds(g: Graph, cfg = LLAMA, scaleOf: (name: string) => number = () => 0.08): Map<string, Tensor> {
  const feeds = new Map<string, Tensor>();
  let seed = 1;
  for (const n of g.nodes) {
    if (n.op !== 'param') continue;
    const size = n.shape.reduce((a, d) => a * d, 1);
    const name = n.attrs['name'] as string;
    const norm = name.endsWith('norm.weight');
    feeds.set(
      name,
      tensor(
        Array.from({ length: size }, (_v, i) => (norm ? 1 : scaleOf(name) * Math.sin(seed * 7.1 + i * 1.37))),
        n.shape,
      ),
    );
    seed++;
  }
  const toks = Array.from({ length: cfg.batch * cfg.ctx }, (_v, i) => (i * 37 + 11) % cfg.vocab);
  feeds.set('tokens', tensor(toks, [cfg.batch, cfg.ctx], 'i32'));
  feeds.set(
    'labels',
    tensor(
      toks.map((_t, i) => ((i + 1) % cfg.ctx === 0 ? -100 : (toks[i + 1] as number))),
      [cfg.batch, cfg.ctx],
      'i32',
    ),
  );
  return feeds;
}
