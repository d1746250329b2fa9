// bench/reproduce/ba-lora.ts's run pool: results come back in the items' order, and no more than
// `jobs` pieces of work are in flight at once.

import { describe, expect, it } from 'vitest';
import { pool } from '../../bench/reproduce/ba-lora.ts';

describe('pool', () => {
  it('keeps the order of the items and at most `jobs` in flight', async () => {
    let inFlight = 0;
    let most = 0;
    // Later items finish sooner, so completion order differs from item order.
    const delays = [30, 20, 10, 5, 1];
    const out = await pool(delays, 2, async (ms) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, ms));
      inFlight--;
      return ms * 2;
    });
    expect(out).toEqual([60, 40, 20, 10, 2]);
    expect(most).toBe(2);
  });

  it('runs one at a time with jobs = 1, and gives an empty list for no items', async () => {
    const order: number[] = [];
    await pool([3, 1, 2], 1, async (x) => {
      order.push(x);
      await new Promise((r) => setTimeout(r, x));
    });
    expect(order).toEqual([3, 1, 2]);
    expect(await pool([], 4, async (x: number) => x)).toEqual([]);
  });
});
