// Every layer rule creates exactly the parameter names grammar/library/param-names.ts lists (the
// one source of names), given the bool arguments that guard optional tensors.

import { describe, expect, it } from 'vitest';
import { PARAM_NAMES } from '../../../grammar/library/param-names.ts';
import { lower } from '../lower/helpers.ts';

/** One call per layer, with inputs of fitting shapes; `extra` are tensors only some shapes create. */
const CALLS: Record<keyof typeof PARAM_NAMES, { call: string; input: 'tokens' | 'seq' | 'img' | 'vec' | 'labels'; absent?: string[] }> = {
  Embedding: { call: 'Embedding(ids, 10, 8)', input: 'tokens' },
  Linear: { call: 'Linear(seq, 4)', input: 'seq' },
  RMSNorm: { call: 'RMSNorm(seq)', input: 'seq' },
  LayerNorm: { call: 'LayerNorm(seq)', input: 'seq' },
  GroupNorm: { call: 'GroupNorm(img, groups = 2)', input: 'img' },
  Attention: { call: 'Attention(seq, 2, bias = true)', input: 'seq' },
  LinearAttention: { call: 'LinearAttention(seq, 2)', input: 'seq' },
  SwiGLU: { call: 'SwiGLU(seq, 12)', input: 'seq' },
  MLP: { call: 'MLP(seq, 12)', input: 'seq' },
  Conv2d: { call: 'Conv2d(img, 6)', input: 'img' },
  DepthwiseConv2d: { call: 'DepthwiseConv2d(img)', input: 'img' },
  CondConv2d: { call: 'CondConv2d(img, 6)', input: 'img' },
  ResBlock: { call: 'ResBlock(img, 8, vec, groups = 2)', input: 'img' },
  TimestepEmbedding: { call: 'TimestepEmbedding(t, 8)', input: 'vec' },
  LabelEmbedding: { call: 'LabelEmbedding(y, 3, 8)', input: 'labels' },
  PatchEmbed: { call: 'PatchEmbed(img, 2, 8)', input: 'img' },
  AttnBlock: { call: 'AttnBlock(img, 2, groups = 2)', input: 'img' },
  DiTBlock: { call: 'DiTBlock(seq, vec, 2)', input: 'seq' },
  DiTFinal: { call: 'DiTFinal(seq, vec, 2, 3)', input: 'seq' },
  LoRA: { call: 'LoRA(seq, 6, 2)', input: 'seq' },
};

const SPEC = (call: string): string => `
model M() {
  input ids: i32[2, 4]
  input seq: f32[2, 4, 8]
  input img: f32[2, 4, 4, 4]
  input vec: f32[2, 8]
  input t: f32[2]
  input y: i32[2]
  output out = ${call} as layer
}`;

describe('layer rules create the parameter names of param-names.ts', () => {
  it.each(Object.keys(CALLS) as (keyof typeof PARAM_NAMES)[])('%s', (name) => {
    const m = lower(SPEC(CALLS[name].call), 'M');
    const made = m.params.map((p) => p.path.replace(/^layer\./, '')).sort();
    // Guarded tensors exist here (bias defaults or is set true); ResBlock's shortcut exists because 4 → 8 channels.
    const listed = PARAM_NAMES[name].map((p) => p.path).sort();
    expect(made).toEqual(listed);
  });

  it('a ResBlock that keeps its width has no shortcut conv, and LinearAttention in a DiTBlock adds attn.dwc', () => {
    const same = lower(SPEC('ResBlock(img, 4, vec, groups = 2)'), 'M').params.map((p) => p.path);
    expect(same).not.toContain('layer.conv_shortcut.weight');
    const lit = lower(SPEC('DiTBlock(seq, vec, 2, attention = "linear")'), 'M').params.map((p) => p.path);
    expect(lit).toContain('layer.attn.dwc.weight');
    expect(lit).toContain('layer.attn.qkv.weight');
  });
});
