// A job that writes a folder of results (`scion train --out`, `scion inherit -o`) holds it alone:
// the folder is made, locked (runtime/train/run-lock.ts: a second run is refused naming the pid
// that holds it; a dead run's lock is taken over), cleared of the temp files a killed writer left,
// and released when the work ends, however it ends.

import { mkdir } from 'node:fs/promises';
import { acquireRunLock, removeStaleTemps } from '../runtime/train/index.ts';

/**
 * Runs `work` holding the lock on folder `dir` (made when missing) for `command` (`scion
 * inherit`); throws RunLocked, before any work, when a live process holds it.
 *
 * @example await inRunFolder('runs/child', 'scion inherit', console.error, () => writeChild(...));
 */
export async function inRunFolder<T>(dir: string, command: string, log: (line: string) => void, work: () => Promise<T>): Promise<T> {
  await mkdir(dir, { recursive: true });
  const lock = await acquireRunLock(dir, command);
  try {
    for (const pid of lock.tookOver) log(`took over the run folder's lock from process ${pid}, which is no longer running`);
    // Under the lock, any temp file here is a killed writer's.
    for (const name of await removeStaleTemps(dir)) log(`removed ${name}, left by an interrupted write`);
    return await work();
  } finally {
    await lock.release();
  }
}
