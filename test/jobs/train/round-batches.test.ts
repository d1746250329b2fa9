// RoundBatches: round 1 visits every example once per epoch; at a round boundary the frozen model
// scores the fixed partition once and later batches come only from the drawn batches; a state
// saved mid-round resumes on the same batches without rescoring.

import { describe, expect, it } from 'vitest';
import { RoundBatches, roundStarts } from '../../../jobs/train/round-batches.ts';

async function take(r: RoundBatches, from: number, n: number): Promise<Int32Array[]> {
  const out: Int32Array[] = [];
  for (let k = from; k < from + n; k++) out.push(await r.next(k));
  return out;
}

describe('roundStarts', () => {
  it('splits the micro-batches evenly, earlier rounds taking the remainder', () => {
    expect(roundStarts(10, 3)).toEqual([0, 4, 7]);
    expect(roundStarts(9, 3)).toEqual([0, 3, 6]);
    expect(roundStarts(5, 1)).toEqual([0]);
  });
});

describe('RoundBatches', () => {
  it('visits every example exactly once per epoch in round 1', async () => {
    const r = new RoundBatches({ count: 20, batch: 4, seed: 3, total: 10 });
    const epoch = (await take(r, 0, 5)).flatMap((b) => [...b]);
    expect([...epoch].sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    const next = (await take(r, 5, 5)).flatMap((b) => [...b]);
    expect([...next].sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    expect(next).not.toEqual(epoch); // a fresh order each epoch
  });

  it('scores the partition once at the boundary and then trains only on the drawn batches', async () => {
    const scored: number[] = [];
    // Batch 2 of the partition has an overwhelming loss: with sample 0.25 of 4 batches it is the one drawn.
    const r = new RoundBatches({
      count: 16,
      batch: 4,
      seed: 1,
      total: 8,
      rounds: { count: 2, sample: 0.25, temperature: 1 },
      score: async (parts, round) => {
        scored.push(round);
        return parts.map((_, k) => (k === 2 ? 100 : 0));
      },
    });
    const part = r.partition();
    expect(part).toHaveLength(4);
    expect(new Set(part.flatMap((b) => [...b])).size).toBe(16);
    await take(r, 0, 4);
    expect(scored).toEqual([]);
    const later = await take(r, 4, 4);
    expect(scored).toEqual([1]);
    for (const b of later) expect([...b]).toEqual([...(part[2] as Int32Array)]);
  });

  it('resumes mid-round from its state on the same batches, without rescoring', async () => {
    let scores = 0;
    const make = (): RoundBatches =>
      new RoundBatches({
        count: 24,
        batch: 4,
        seed: 9,
        total: 12,
        rounds: { count: 2, sample: 0.5, temperature: 1 },
        score: async (parts) => {
          scores++;
          return parts.map((_, k) => k * 0.3);
        },
      });
    const a = make();
    const straight = (await take(a, 0, 12)).map((b) => [...b]);
    const b = make();
    await take(b, 0, 8);
    const saved = JSON.parse(JSON.stringify(b.getState())) as unknown;
    const c = make();
    c.setState(saved);
    const resumed = (await take(c, 8, 4)).map((x) => [...x]);
    expect(resumed).toEqual(straight.slice(8));
    expect(scores).toBe(2); // a and b scored once each; c restored the drawn batches
    expect(c.round).toBe(1);
  });
});
