import { describe, expect, it } from 'vitest';
import { formatDuration, formatProgress, formatWork, ProgressLine, WorkProgress, type ProgressInfo } from '../../../runtime/train/progress.ts';

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

describe('work progress (init, inherit, export, sample)', () => {
  it('formats done/total, elapsed, ETA and the current item', () => {
    // 12 of 48 in 3 s: 36 left at 4 per second is 9 s.
    expect(formatWork('inherit', 12, 48, 'tensors', 3, 'layers.3.mlp.down_proj.weight')).toBe(
      'inherit: 12/48 tensors  3s  ETA 9s  layers.3.mlp.down_proj.weight',
    );
    expect(formatWork('sample', 50, 50, 'steps', 61)).toBe('sample: 50/50 steps  1m01s');
    expect(formatWork('init', 1, 2, 'tensors', 0, 'x'.repeat(70))).toBe(`init: 1/2 tensors  0s  ETA 0s  ${'x'.repeat(59)}…`);
  });

  it('says nothing for the first 2 s, then follows the line rules; finish shows the last state', () => {
    const out: string[] = [];
    let now = 0;
    const p = new WorkProgress({ write: (t) => out.push(t), isTTY: false }, 'init', 'tensors', { now: () => now });
    for (let i = 1; i <= 10; i++) {
      p.update(i, 10);
      now += 500; // 0.5 s per tensor: silent through tensor 4 (1.5 s), a line at 5 (2 s), the next 5 s later would be past the end
    }
    p.finish();
    expect(out).toEqual(['init: 5/10 tensors  2s  ETA 2s\n', 'init: 10/10 tensors  5s\n']);
  });

  it('quick work prints nothing at all, finish included', () => {
    const out: string[] = [];
    let now = 0;
    const p = new WorkProgress({ write: (t) => out.push(t), isTTY: true }, 'export', 'tensors', { now: () => now });
    for (let i = 1; i <= 3; i++) {
      p.update(i, 3);
      now += 600;
    }
    p.finish();
    expect(out).toEqual([]);
  });

  it('the threshold is injectable: 0 shows the first update at once', () => {
    const out: string[] = [];
    const p = new WorkProgress({ write: (t) => out.push(t), isTTY: true }, 'sample', 'steps', { afterMs: 0, now: () => 0 });
    p.update(1, 4);
    p.finish();
    expect(out).toEqual(['\rsample: 1/4 steps  0s  ETA 0s\x1b[K', '\n']);
  });
});
