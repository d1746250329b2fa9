// Which attentions become one fused kernel (compiler/kernel/fuse-attention.ts): the llama forward
// (causal, grouped-query, scale 1/√d) and the DiT forward (full, q/k/v sliced from one projection)
// do; a training graph, whose backward reads the probabilities, does not.

import { describe, expect, it } from 'vitest';
import { grad } from '../../../compiler/autodiff/grad.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Node } from '../../../compiler/ir/graph.ts';
import { lowerModel, type LoweredModel } from '../../../compiler/lower/lower-model.ts';
import { compileGraph } from '../../../compiler/pipeline.ts';
import { parseSpec } from '../lower/helpers.ts';

const LLAMA = { vocab: 32, dim: 16, depth: 2, heads: 4, kv_heads: 2, ffn: 24, ctx: 7 };
const DIT = { size: 8, patch: 2, dim: 16, depth: 1, heads: 2, classes: 4 };

const llama = (): LoweredModel => lowerModel(parseSpec('default.scion'), 'TinyLlama', { dims: { batch: 2 }, overrides: LLAMA });
const dit = (): LoweredModel => lowerModel(parseSpec('lit.scion'), 'DiT', { dims: { batch: 2 }, overrides: DIT });

describe('fused attention in the kernel graph', () => {
  it('llama forward: one causal GQA kernel per layer, two dispatches fewer, no kernel reads the scores', () => {
    const g = llama().graph;
    const fused = compileGraph(g);
    const plain = compileGraph(g, { fuseAttention: false });
    const att = fused.graph.kernels.filter((k) => k.attention !== undefined);
    expect(att.length).toBe(LLAMA.depth);
    for (const k of att) {
      const a = k.attention;
      expect(a && { ...a, q: 0, k: 0, v: 0, out: 0 }).toEqual({
        batch: 2,
        heads: 4,
        kvHeads: 2,
        queries: 7,
        keys: 7,
        headDim: 4,
        valueDim: 4,
        causal: true,
        scale: 0.5,
        q: 0,
        k: 0,
        v: 0,
        out: 0,
      });
      // k and v: one of two kv heads per pair of query heads; the feature axis contiguous
      expect(a?.q.strides).toEqual({ batch: 4 * 7 * 4, head: 7 * 4, seq: 4 });
    }
    expect(fused.graph.kernels.length).toBe(plain.graph.kernels.length - LLAMA.depth);
    // the [B, H, S, S] probabilities are no kernel's input or output any more
    const scores = fused.graph.buffers.filter((b) => b.shape.join() === '2,4,7,7').map((b) => b.id);
    expect(scores.length).toBeGreaterThan(0);
    for (const k of fused.graph.kernels) for (const b of [...k.inputs, ...k.outputs]) expect(scores).not.toContain(b);
    expect(fused.memory.peakBytes).toBeLessThanOrEqual(plain.memory.peakBytes);
  });

  it('DiT forward: q, k, v sliced from one qkv projection fuse as full (non-causal) attention', () => {
    const art = compileGraph(dit().graph);
    const att = art.graph.kernels.filter((k) => k.attention !== undefined);
    expect(att.length).toBe(DIT.depth);
    const a = att[0]?.attention;
    expect([a?.causal, a?.heads, a?.kvHeads, a?.queries, a?.headDim]).toEqual([false, 2, 2, 16, 8]);
    expect(a?.scale).toBeCloseTo(1 / Math.sqrt(8), 12);
    // q, k and v are slices of one buffer, the qkv projection permuted to [3, B, H, S, D] =
    // [3, 2, 2, 16, 8]: seq stride 8, head stride 16·8, batch stride 2·16·8, k and v at 1× and 2× 2·2·16·8
    expect(new Set([a?.q.buffer, a?.k.buffer, a?.v.buffer]).size).toBe(1);
    expect([a?.q.strides, a?.q.offset, a?.k.offset, a?.v.offset]).toEqual([{ batch: 256, head: 128, seq: 8 }, 0, 512, 1024]);
  });

  it('a training graph keeps attention unfused (the backward reads the probabilities)', () => {
    const m = llama();
    const { builder: b, nodes } = GraphBuilder.from(m.graph);
    const y = nodes[m.outputs[0]?.node as number] as Node;
    b.output('loss', b.sum(b.mul(y, y)));
    const art = compileGraph(grad(b.build(), 'loss'));
    expect(art.graph.kernels.filter((k) => k.attention !== undefined)).toEqual([]);
  });
});
