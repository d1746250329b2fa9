// The example spec's adapters (specs/ba-lora.scion) lower to the adapters they declare: LoRA on
// the q/v projections of a classifier with the main job's TinyLlama dims (specs/default.scion).

import { describe, expect, it } from 'vitest';
import { lowerAdapted } from '../../../compiler/adapters/index.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import { parseSpec } from '../lower/helpers.ts';

describe.each(['Genre', 'GenrePlain'])('specs/ba-lora.scion adapter %s', (name) => {
  it('adapts every q_proj and v_proj of GenreClassifier with rank 8, alpha 16, PiSSA', () => {
    const am = lowerAdapted(parseSpec('ba-lora.scion'), name, { dims: { batch: 2 }, train: true });
    expect(() => verifyGraph(am.graph)).not.toThrow();
    expect(am.adapter).toMatchObject({ on: 'GenreClassifier', rank: 8, alpha: 16, dropout: 0.05, init: { kind: 'pissa', niter: 16 } });
    const depth = 4;
    expect(am.sites.length).toBe(2 * depth);
    expect(am.sites.map((s) => s.module).filter((m) => /^layers\.\d+\.self_attn\.[qv]_proj$/.test(m)).length).toBe(2 * depth);
    // q_proj 128 → 128 and v_proj 128 → 2 kv heads × (128 / 4 heads = 32) = 64.
    const v = am.sites.find((s) => s.module === 'layers.1.self_attn.v_proj');
    expect(v).toMatchObject({ inFeatures: 128, outFeatures: 64 });
    const trainable = am.params.filter((p) => p.trainable);
    expect(trainable.length).toBe(4 * depth);
    // A is [8, in], B is [out, 8]: per layer 8·(128 + 128) for q and 8·(128 + 64) for v.
    expect(trainable.reduce((n, p) => n + p.shape[0]! * p.shape[1]!, 0)).toBe(depth * 8 * (128 + 128 + 128 + 64));
    expect(am.inputs.map((i) => i.name)).toEqual(['tokens', 'dropout_key']);
    expect(am.graph.outputs.map((o) => o.name)).toEqual(['logits', 'base.logits']);
    expect(am.baseTaps.get('features')).not.toBe(am.taps.get('features'));
    // Everything before the first adapted Linear is shared with the base model (hash-consing).
    expect(am.baseTaps.get('embed_tokens')).toBe(am.taps.get('embed_tokens'));
  });
});
