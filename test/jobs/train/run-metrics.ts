// What a finished run folder's metrics.jsonl says, for tests that compare runs: each update's
// training loss, in order.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The `train` records' losses of the run in `runDir`. */
export const trainLosses = (runDir: string): number[] =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; loss?: number })
    .filter((m) => m.kind === 'train' && m.loss !== undefined)
    .map((m) => m.loss as number);
