// What the diffusion rows of docs/results.md compute besides the runs: a judged share with its
// binomial interval as the rows print it (the interval itself, Wilson's, is tested by hand in
// results-table.test.ts) and a resumed run's training time over its sittings (common.ts, for --unet and --dit).

import { describe, expect, it } from 'vitest';
import { discordant, formatShare, type JudgedDraw, pairedDifference, sittingsOf } from '../../bench/reproduce/common.ts';

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

describe('paired shares of twin samples', () => {
  // Only what discordant reads: the requested labels and the judge's predictions.
  const drawn = (labels: number[], predictions: number[]): JudgedDraw =>
    ({ draw: { labels: Int32Array.from(labels) }, report: { predictions: Int32Array.from(predictions) } }) as unknown as JudgedDraw;

  it('counts the twins judged right in one draw only', () => {
    const a = drawn([0, 1, 2, 3, 4], [0, 1, 9, 9, 4]);
    const b = drawn([0, 1, 2, 3, 4], [0, 9, 2, 3, 9]);
    // a alone: twins 1 and 4; b alone: twins 2 and 3; both right: twin 0.
    expect(discordant(a, b)).toEqual({ aOnly: 2, bOnly: 2 });
  });

  it("gives McNemar's standard error of the difference, by hand", () => {
    // 100 twins, a right 90, b right 80; 15 right only in a, 5 only in b: se = √(20 − 10²/100) / 100.
    const { diff, se } = pairedDifference(90, 80, 100, 15, 5);
    expect(diff).toBeCloseTo(-0.1, 12);
    expect(se).toBeCloseTo(Math.sqrt(19) / 100, 12);
  });
});
