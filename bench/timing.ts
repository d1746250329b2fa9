// Steady-state timing: warm up (compiles, caches), then time batches until enough wall time has
// passed, and report the median per-run time. Every batch's GPU work is awaited inside `batch`.

import { median } from '../runtime/webgpu/autotune.ts';

export interface TimingOptions {
  /** Runs per timed batch are raised until a batch takes at least this long (ms). */
  minBatchMs: number;
  /** Timed wall time per contender (ms), split over the rounds; each round takes >= 1 sample. */
  budgetMs: number;
  /** Rounds for a single contender (medianMsPerRun), i.e. at least this many samples. */
  minSamples: number;
}

export const DEFAULT_TIMING: TimingOptions = { minBatchMs: 40, budgetMs: 1500, minSamples: 3 };

/**
 * Median ms per run of `batch(n)`, which must perform n runs and resolve when their work is done.
 * Batching keeps the per-await cost (and polling granularity) out of short kernels' figures.
 */
export async function medianMsPerRun(batch: (runs: number) => Promise<void>, options: TimingOptions = DEFAULT_TIMING): Promise<number> {
  // one contender: each "round" takes at least one sample, so minSamples rounds give minSamples
  return (await interleavedMsPerRun({ only: batch }, options.minSamples, options)).only;
}

/**
 * Median ms per run of each contender, measured in alternating rounds (A, B, C, A, B, C, ...)
 * after one warm-up each, so a load change on a shared machine hits all contenders alike rather
 * than whichever ran last. `batch(n)` performs n runs and resolves when their work is done.
 */
export async function interleavedMsPerRun<K extends string>(
  contenders: Record<K, (runs: number) => Promise<void>>,
  rounds = 3,
  options: TimingOptions = DEFAULT_TIMING,
): Promise<Record<K, number>> {
  const names = Object.keys(contenders) as K[];
  const runsOf = {} as Record<K, number>;
  const samples = {} as Record<K, number[]>;
  for (const name of names) {
    const batch = contenders[name];
    let runs = 1;
    let start = performance.now();
    await batch(1); // warm-up: compiles, uploads, caches
    let took = performance.now() - start;
    // calibrate: grow the batch until one takes minBatchMs (a slow kernel stays at 1)
    while (took < options.minBatchMs && runs < 1024) {
      runs *= Math.min(8, Math.max(2, Math.ceil(options.minBatchMs / Math.max(took, 0.05))));
      start = performance.now();
      await batch(runs);
      took = performance.now() - start;
    }
    runsOf[name] = runs;
    samples[name] = [];
  }
  const perRoundMs = options.budgetMs / rounds;
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const begin = performance.now();
      do {
        const start = performance.now();
        await contenders[name](runsOf[name]);
        samples[name].push((performance.now() - start) / runsOf[name]);
      } while (performance.now() - begin < perRoundMs && samples[name].length < 25);
    }
  }
  const result = {} as Record<K, number>;
  for (const name of names) result[name] = median(samples[name]);
  return result;
}
