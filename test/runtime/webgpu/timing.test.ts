// Benchmark timing: per-run figures from batched, interleaved measurement of known-speed fakes.

import { describe, expect, it } from 'vitest';
import { interleavedMsPerRun, medianMsPerRun } from '../../../bench/timing.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('bench timing', () => {
  it('reports ms per run, not per batch, for fast and slow contenders alike', async () => {
    const order: string[] = [];
    const ms = await interleavedMsPerRun(
      {
        fast: async (runs) => void (order.push('fast'), await sleep(2 * runs)),
        slow: async (runs) => void (order.push('slow'), await sleep(30 * runs)),
      },
      2,
      { minBatchMs: 20, budgetMs: 0, minSamples: 1 },
    );
    // timers fire late, never early: between the nominal time and a generous upper bound
    expect(ms.fast).toBeGreaterThanOrEqual(1.9);
    expect(ms.fast).toBeLessThan(6);
    expect(ms.slow).toBeGreaterThanOrEqual(29);
    expect(ms.slow).toBeLessThan(45);
    // after warm-up and calibration, the timed rounds alternate
    expect(order.slice(-4)).toEqual(['fast', 'slow', 'fast', 'slow']);
  });

  it('medianMsPerRun takes at least minSamples samples after one warm-up', async () => {
    let calls = 0;
    await medianMsPerRun(async () => void calls++, { minBatchMs: 0, budgetMs: 0, minSamples: 3 });
    expect(calls).toBe(4);
  });
});
