// What the diffusion rows of docs/results.md compute besides the runs: a judged share with its
// binomial interval as the rows print it (the interval itself, Wilson's, is tested by hand in
// results-table.test.ts) and a resumed run's training time over its sittings (unet-digits.ts).

import { describe, expect, it } from 'vitest';
import { formatShare } from '../../bench/reproduce/common.ts';
import { sittingsOf } from '../../bench/reproduce/unet-digits.ts';

describe('formatShare', () => {
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
