// bench/reproduce/pangu-tokenizer.ts's measurements: the share of a token stream a compact
// vocabulary keeps, and the embedding share of specs/tiny-lm.scion's child at its own and at the
// parent's vocabulary, against counts worked out by hand from the spec's sizes.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { embeddingShare, keptShare, vocabOf } from '../../bench/reproduce/pangu-tokenizer.ts';

const TINY = 'specs/tiny-lm.scion';
const TEXT = readFileSync(TINY, 'utf8');

describe('keptShare', () => {
  it('counts occurrences, not distinct ids', () => {
    // ids 0 and 2 kept, 1 and 3 dropped; the stream has 0 ×3, 1 ×1, 2 ×1, 3 ×1 → 4 of 6 kept.
    expect(keptShare([0, -1, 1, -1], [0, 0, 1, 2, 3, 0])).toBeCloseTo(4 / 6, 12);
  });

  it('refuses an empty stream', () => {
    expect(() => keptShare([0], [])).toThrow(/no tokens/);
  });
});

describe('embeddingShare of tiny-lm.scion', () => {
  // Tiny: dim 128, depth 4, 4 heads over 2 KV heads (head 32), SwiGLU 384, no biases.
  const d = 128;
  const perLayer = 2 * d + (d * d + d * 64 + d * 64 + d * d) + 3 * d * 384;
  const body = 4 * perLayer + d; // the layers and the final norm

  it('is the embedding and the head (V×d each) over all parameters', () => {
    expect(vocabOf(TEXT, TINY, 'Tiny')).toBe(2048);
    const s = embeddingShare(TEXT, TINY, 'Tiny');
    expect(s.embeddingParams).toBe(2 * 2048 * d);
    expect(s.params).toBe(body + 2 * 2048 * d);
    expect(s.share).toBeCloseTo((2 * 2048 * d) / (body + 2 * 2048 * d), 12);
  });

  it('at another vocabulary, only the two vocab-sized tables change', () => {
    const s = embeddingShare(TEXT, TINY, 'Tiny', 4096);
    expect(s.embeddingParams).toBe(2 * 4096 * d);
    expect(s.params).toBe(body + 2 * 4096 * d);
  });
});
