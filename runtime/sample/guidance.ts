// Classifier-free guidance: one call on the doubled batch [x; x] with labels [y; null], then
// ε = ε_u + s·(ε_c − ε_u). The variance output v is the conditional half's own (DiT's
// forward_with_cfg guides the ε channels only).

import type { Denoiser, DenoiserOutput } from './types.ts';

/**
 * @param inner a denoiser for batch 2B
 * @param scale guidance scale s (1 = the conditional model alone)
 * @param nullClass the label of the null (unconditional) class: `classes` in DiT's LabelEmbedder
 */
export function guided(inner: Denoiser, scale: number, nullClass: number): Denoiser {
  return async (x, t, labels, step): Promise<DenoiserOutput> => {
    const b = labels.length;
    const n = x.length;
    const xx = new Float64Array(2 * n);
    xx.set(x, 0);
    xx.set(x, n);
    const yy = new Int32Array(2 * b);
    yy.set(labels, 0);
    yy.fill(nullClass, b);
    const out = await inner(xx, t, yy, step);
    const eps = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const c = out.eps[k] as number;
      const u = out.eps[n + k] as number;
      eps[k] = u + scale * (c - u);
    }
    return out.v === undefined ? { eps } : { eps, v: out.v.slice(0, n) };
  };
}
