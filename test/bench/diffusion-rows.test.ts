// What the diffusion rows of docs/results.md compute besides the runs: the binomial interval
// (bench/reproduce/common.ts, Wilson's score interval against values computed by hand from its
// formula, z = 1.96) and a resumed run's training time over its sittings (unet-digits.ts).

import { describe, expect, it } from 'vitest';
import { formatShare, wilson95 } from '../../bench/reproduce/common.ts';
import { sittingsOf } from '../../bench/reproduce/unet-digits.ts';

describe('wilson95', () => {
  it('gives the textbook interval for 8 of 10', () => {
    // centre (0.8 + 1.96²/20) / (1 + 1.96²/10) = 0.71673; half-width 1.41602 · √(0.016 + 0.009604) = 0.22658
    const { lo, hi } = wilson95(8, 10);
    expect(lo).toBeCloseTo(0.4902, 4);
    expect(hi).toBeCloseTo(0.9433, 4);
  });

  it('stays inside [0, 1] and is not empty at 0 or n hits', () => {
    // 0 of 10: [0, 1.96²/10 / (1 + 1.96²/10)] = [0, 0.2775]
    expect(wilson95(0, 10).lo).toBeCloseTo(0, 12);
    expect(wilson95(0, 10).hi).toBeCloseTo(0.2775, 4);
    expect(wilson95(10, 10).lo).toBeCloseTo(0.7225, 4);
    expect(wilson95(10, 10).hi).toBeCloseTo(1, 12);
  });

  it('refuses counts that are not a proportion', () => {
    expect(() => wilson95(11, 10)).toThrow(/11 hits of 10/);
    expect(() => wilson95(1, 0)).toThrow(RangeError);
  });

  it('formats the share with its interval', () => {
    expect(formatShare(8, 10)).toBe('80.0% (8/10; 95% interval 49.0–94.3%)');
  });
});

describe('sittingsOf', () => {
  const line = (step: number, time: number): string => JSON.stringify({ kind: 'train', step, loss: 0.1, lr: 1e-3, time_s: time });

  it('sums the last step clock reading of each sitting (the clock restarts on --resume)', () => {
    const text = [line(1, 2), line(2, 4), line(3, 10), line(4, 3), line(5, 7), line(6, 1), line(7, 5), ''].join('\n');
    expect(sittingsOf(text)).toEqual({ sittings: 3, seconds: 10 + 7 + 5 });
  });

  it('reads one sitting as its last reading, and skips lines of other kinds', () => {
    const text = [line(1, 1.5), JSON.stringify({ kind: 'eval', step: 1, loss: 0.2 }), line(2, 3.25)].join('\n');
    expect(sittingsOf(text)).toEqual({ sittings: 1, seconds: 3.25 });
  });
});
