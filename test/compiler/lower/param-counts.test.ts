// Parameter counts of the example specs against closed forms derived here from the reference
// architectures (HF llama, DiT/LiT, diffusers-style UNet), independent of the layer library.

import { describe, expect, it } from 'vitest';
import { explainModel } from '../../../compiler/explain.ts';
import { parseSpec } from './helpers.ts';

function llama(V: number, d: number, L: number, h: number, kv: number, f: number): number {
  const hd = d / h;
  return V * d + L * (d * (h * hd) + 2 * d * (kv * hd) + h * hd * d + 3 * d * f + 2 * d) + d + d * V;
}

/** DiT with learned sigma (2C outputs), 256 timestep frequencies, a null class, MLP ratio 4. */
function dit(C: number, p: number, D: number, depth: number, classes: number, dwcHeadWidth = 0): number {
  const lin = (i: number, o: number): number => i * o + o;
  const block = lin(D, 6 * D) + lin(D, 3 * D) + lin(D, D) + lin(D, 4 * D) + lin(4 * D, D) + (dwcHeadWidth > 0 ? dwcHeadWidth * 25 + dwcHeadWidth : 0);
  return D * C * p * p + D + lin(256, D) + lin(D, D) + (classes + 1) * D + depth * block + lin(D, 2 * D) + lin(D, p * p * 2 * C);
}

function resBlock(i: number, o: number, t: number): number {
  return 2 * i + (o * i * 9 + o) + (t * o + o) + 2 * o + (o * o * 9 + o) + (i === o ? 0 : o * i + o);
}

function unet(C: number, base: number, classes: number, small: boolean): number {
  const t = base * 4;
  const conv3 = (i: number, o: number): number => o * i * 9 + o;
  let n = 256 * t + t + t * t + t + (classes + 1) * t + conv3(C, base);
  const b2 = base * 2;
  if (!small) {
    n += resBlock(base, base, t) * 2 + conv3(base, base) + resBlock(base, b2, t) + resBlock(b2, b2, t) + resBlock(b2, b2, t);
    n += 2 * b2 + 4 * (b2 * b2 + b2) + (4 * b2 * b2 * 9 + 4 * b2 + 4); // mid attention, CondConv (4 experts + routing)
    n += resBlock(2 * b2, b2, t) * 2 + conv3(b2, b2) + resBlock(b2 + base, base, t) + resBlock(2 * base, base, t);
  } else {
    n += resBlock(base, base, t) + conv3(base, base) + resBlock(base, b2, t) + resBlock(b2, b2, t);
    n += resBlock(2 * b2, b2, t) + conv3(b2, b2) + resBlock(b2 + base, base, t);
  }
  return n + 2 * base + conv3(base, C);
}

describe('parameter counts of specs/ equal closed forms', () => {
  const cases: [string, string, number][] = [
    ['tiny-lm.scion', 'Llama', llama(4096, 256, 8, 8, 4, 688)],
    ['tiny-lm.scion', 'Tiny', llama(2048, 128, 4, 4, 2, 384)],
    ['default.scion', 'TinyLlama', llama(4096, 128, 4, 4, 2, 344)],
    ['lit.scion', 'DiT', dit(1, 4, 128, 4, 10)],
    ['lit.scion', 'LiT', dit(1, 4, 128, 4, 10, 32)],
    ['a-sdm.scion', 'UNet', unet(1, 16, 10, false)],
    ['a-sdm.scion', 'SmallUNet', unet(1, 16, 10, true)],
  ];
  it.each(cases)('%s %s', (file, model, want) => {
    const r = explainModel(parseSpec(file), model);
    expect(r.params).toBe(want);
    expect(r.trainableParams).toBe(want);
  });

  it('reports the embedding and head share of a llama', () => {
    const r = explainModel(parseSpec('default.scion'), 'TinyLlama');
    expect(r.embeddingParams).toBe(2 * 4096 * 128);
    expect(r.layers.map((l) => l.path).slice(0, 3)).toEqual(['embed_tokens', 'layers.0.input_layernorm', 'layers.0.self_attn']);
  });

  it("counts a Linear layer's FLOPs as 2·tokens·in·out plus the bias add", () => {
    const r = explainModel(parseSpec('ba-lora.scion'), 'GenreClassifier', { dims: { batch: 3 } });
    const score = r.layers.find((l) => l.path === 'score');
    expect(score?.flops).toBe(2 * 3 * 128 * 15 + 3 * 15); // features are 128 wide
  });
});
