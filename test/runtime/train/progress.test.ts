import { describe, expect, it } from 'vitest';
import { formatDuration, formatProgress, ProgressLine, type ProgressInfo } from '../../../runtime/train/progress.ts';

const info = (step: number): ProgressInfo => ({ step, steps: 2000, loss: 3.45214, lr: 3e-4, itemsPerSec: 1234, unit: 'tok', etaSec: 252 });

describe('progress line', () => {
  it('formats step, loss, lr, throughput and ETA', () => {
    expect(formatProgress(info(120))).toBe('step 120/2000  loss 3.4521  lr 3.00e-4  1.23k tok/s  ETA 4m12s');
    expect([42, 252, 3720].map(formatDuration)).toEqual(['42s', '4m12s', '1h02m']);
  });

  it('prints one line every interval when not a TTY', () => {
    const out: string[] = [];
    let now = 0;
    const line = new ProgressLine({ write: (t) => out.push(t), isTTY: false }, { intervalMs: 5000, now: () => now });
    for (let step = 1; step <= 12; step++) {
      line.update(info(step));
      now += 1000; // one step per second: lines at steps 1, 6, 11
    }
    line.finish(); // the final state (step 12) is always shown
    expect(out.map((t) => t.split('  ')[0])).toEqual(['step 1/2000', 'step 6/2000', 'step 11/2000', 'step 12/2000']);
    expect(out.every((t) => t.endsWith('\n') && !t.includes('\r'))).toBe(true);
  });

  it('redraws in place on a TTY and ends with a newline', () => {
    const out: string[] = [];
    let now = 0;
    const line = new ProgressLine({ write: (t) => out.push(t), isTTY: true }, { now: () => now });
    line.update(info(1));
    now += 200;
    line.update(info(2));
    line.log('resuming');
    line.finish();
    expect(out[0]).toBe(`\r${formatProgress(info(1))}\x1b[K`);
    expect(out[1]).toBe(`\r${formatProgress(info(2))}\x1b[K`);
    expect(out.slice(2)).toEqual(['\r\x1b[K', 'resuming\n', formatProgress(info(2)), '\n']);
  });
});
