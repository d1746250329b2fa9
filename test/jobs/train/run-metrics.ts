// What a finished run folder's metrics.jsonl says, for tests that compare runs (each update's
// training loss, in order), and a backend that makes a run diverge on cue.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../../../backends/backend.ts';

/** The `train` records' losses of the run in `runDir`. */
export const trainLosses = (runDir: string): number[] =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; loss?: number })
    .filter((m) => m.kind === 'train' && m.loss !== undefined)
    .map((m) => m.loss as number);

/**
 * `backend` whose resident graphs write NaN into parameter `param` just before their `run`-th
 * enqueue (counted over every resident graph it compiles): the loss is NaN from that step on, as a
 * diverging run's would be. For the tests of a NaN stop on each backend with a resident step.
 */
export function nanBeforeRun(backend: Backend, run: number, param: { path: string; shape: readonly number[] }): Backend {
  const resident = backend.resident;
  if (resident === undefined) throw new Error(`nanBeforeRun: backend ${backend.name} has no resident step`);
  let runs = 0;
  return {
    ...backend,
    resident: async (graph, carry) => {
      const g = await resident(graph, carry);
      const size = param.shape.reduce((a, b) => a * b, 1);
      return {
        ...g,
        enqueue: async (feeds, watch) => {
          if (++runs === run) g.write(new Map([[param.path, { dtype: 'f32', shape: param.shape, data: new Float32Array(size).fill(Number.NaN) }]]));
          return g.enqueue(feeds, watch);
        },
      };
    },
  };
}
