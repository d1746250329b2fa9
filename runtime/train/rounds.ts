// Multiple-round training (PanGu-π Pro, research/seeds.md §1.5): after a round, the frozen model's
// loss on every training batch decides which batches the next round sees. A fraction of the
// batches is drawn without replacement with probability ∝ softmax(loss / τ), like
// torch.multinomial(p, n0, replacement=False): each draw is proportional to p over the batches
// not drawn yet. Hard batches (high loss) are favoured.

import type { Prng } from '../data/prng.ts';

/** softmax(loss / τ) via log-sum-exp, so large losses do not overflow. */
export function batchProbabilities(losses: ArrayLike<number>, temperature = 1): Float64Array {
  if (!(temperature > 0)) throw new RangeError(`temperature must be > 0, got ${temperature}`);
  if (losses.length === 0) return new Float64Array(0);
  const logits = Float64Array.from(losses, (l) => {
    if (!Number.isFinite(l)) throw new RangeError(`batch loss ${l} is not finite`);
    return l / temperature;
  });
  const max = logits.reduce((a, b) => Math.max(a, b), -Infinity);
  let sum = 0;
  for (const z of logits) sum += Math.exp(z - max);
  const logSum = max + Math.log(sum);
  return logits.map((z) => Math.exp(z - logSum));
}

/** How many of n batches a fraction keeps: round(fraction·n), clamped to [0, n]. */
export function sampleCount(n: number, fraction: number): number {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`sample fraction must be in [0, 1], got ${fraction}`);
  return Math.min(n, Math.max(0, Math.round(fraction * n)));
}

export interface RoundSampleOptions {
  /** Fraction of the batches to draw (the paper recommends 0.5). */
  fraction: number;
  /** τ in softmax(loss / τ); default 1, as in the paper. */
  temperature?: number;
  rng: Prng;
}

/**
 * Indices of the batches for the next round, in the order they were drawn.
 *
 * Uses the Gumbel-top-k trick: with g_i standard Gumbel noise, the k largest of loss_i/τ + g_i are
 * distributed exactly as k successive draws without replacement from softmax(loss/τ), in one pass
 * and without forming probabilities that could underflow.
 *
 * @example
 * const next = sampleBatches(frozenLosses, { fraction: 0.5, rng: new Prng(seed) });
 */
export function sampleBatches(losses: ArrayLike<number>, options: RoundSampleOptions): Int32Array {
  const temperature = options.temperature ?? 1;
  if (!(temperature > 0)) throw new RangeError(`temperature must be > 0, got ${temperature}`);
  const k = sampleCount(losses.length, options.fraction);
  const keys = new Float64Array(losses.length);
  for (let i = 0; i < losses.length; i++) {
    const l = losses[i]!;
    if (!Number.isFinite(l)) throw new RangeError(`batch ${i} has loss ${l}, not finite`);
    const u = (options.rng.nextU32() + 0.5) / 4294967296; // (0, 1): both logs stay finite
    keys[i] = l / temperature - Math.log(-Math.log(u));
  }
  const order = Int32Array.from({ length: losses.length }, (_, i) => i);
  // Ties (probability ~0) fall back to the index so the result never depends on sort stability.
  order.sort((a, b) => keys[b]! - keys[a]! || a - b);
  return order.slice(0, k);
}
