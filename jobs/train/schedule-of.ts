// A train declaration's learning-rate schedule as a function of the update: what `scion train`'s
// host loop and the playground's on-device loop both step by. Pure (no Node module).

import type { LrScheduleSpec } from '../../compiler/lower/lower-train-config.ts';
import { makeSchedule, type Schedule } from '../../runtime/train/schedules.ts';

export function scheduleOf(s: LrScheduleSpec, base: number, total: number): Schedule {
  switch (s.kind) {
    case 'constant':
      return makeSchedule({ kind: 'constant', value: base });
    // A --steps shorter than the warmup shortens the warmup with it.
    case 'linear':
      return makeSchedule({ kind: 'linear', base, warmup: Math.min(s.warmup, total), total, end: s.end });
    case 'warmup_cosine':
      return makeSchedule({ kind: 'warmup_cosine', base, warmup: Math.min(s.warmup, total), total, minLr: s.minLr });
  }
}
