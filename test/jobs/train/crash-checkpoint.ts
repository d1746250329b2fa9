// A checkpoint writer that "crashes" the run once the file of a chosen step is written: the resume
// tests of every backend install it with
//   vi.mock('…/runtime/train/checkpoint.ts', async (real) => (await import('./crash-checkpoint.ts')).crashingCheckpoints(await real()));
// and set `crash.afterStep`. Only a type import of the real module here, so the mock's factory can
// load this file without loading the module it replaces.

import type * as Checkpoint from '../../../runtime/train/checkpoint.ts';

/** The step whose checkpoint write "crashes" the run once its file is written. */
export const crash: { afterStep: number | undefined } = { afterStep: undefined };

export function crashingCheckpoints(real: typeof Checkpoint): typeof Checkpoint {
  return {
    ...real,
    writeCheckpoint: async (...args: Parameters<typeof real.writeCheckpoint>) => {
      const path = await real.writeCheckpoint(...args);
      if (args[1].step === crash.afterStep) throw new Error(`simulated crash after step ${crash.afterStep}`);
      return path;
    },
  };
}
