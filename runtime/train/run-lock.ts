// One run writes to a run folder at a time. `acquireRunLock` creates `DIR/.scion-lock` exclusively
// and whole (written aside, then hard-linked into place), holding the owner's pid, host and start
// time; a second run finds it and is refused, naming the owner. A lock whose process is gone on
// this host (a killed run) is stale and taken over: renamed aside — only one taker's rename can
// succeed — then read back, so a lock a live run made in the meantime is put back rather than
// stolen.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { link, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isLiveProcess } from '../weights/safetensors-writer.ts';

export const LOCK_FILE = '.scion-lock';

interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command: string;
}

/** The run folder is held by another live process. */
export class RunLocked extends Error {
  constructor(
    readonly dir: string,
    readonly owner: LockInfo,
  ) {
    super(
      `the run folder '${dir}' is in use by process ${owner.pid}${owner.host === hostname() ? '' : ` on ${owner.host}`} (${owner.command}, started ${owner.started}): ` +
        `wait for it to finish or stop it, or choose another --out (if that process is not a Scion run, delete ${join(dir, LOCK_FILE)})`,
    );
    this.name = 'RunLocked';
  }
}

export interface RunLock {
  readonly path: string;
  /** Stale locks taken over on the way (their pids), for the log. */
  readonly tookOver: readonly number[];
  /** Removes the lock if it is still ours. */
  release(): Promise<void>;
}

async function readLock(path: string): Promise<LockInfo | undefined> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as Partial<LockInfo>;
    if (!Number.isSafeInteger(v.pid) || typeof v.host !== 'string') return undefined;
    return { pid: v.pid as number, host: v.host, started: String(v.started ?? '?'), command: String(v.command ?? 'scion') };
  } catch {
    return undefined; // unreadable or half-written: a writer that died before finishing it
  }
}

/** A lock held by a live process (or one on another host, which cannot be checked). */
const held = (l: LockInfo | undefined): LockInfo | undefined => (l !== undefined && (l.host !== hostname() || isLiveProcess(l.pid)) ? l : undefined);

/**
 * Takes the lock on run folder `dir` (which must exist) for this process; throws RunLocked when a
 * live process holds it.
 *
 * @example
 * const lock = await acquireRunLock('runs/tiny', 'scion train');
 * try { await run(); } finally { await lock.release(); }
 */
export async function acquireRunLock(dir: string, command: string): Promise<RunLock> {
  const path = join(dir, LOCK_FILE);
  const me: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command };
  const tookOver: number[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await createWhole(path, `${JSON.stringify(me)}\n`)) return { path, tookOver, release: () => release(path) };
    const owner = await readLock(path);
    const holder = held(owner);
    if (holder !== undefined) throw new RunLocked(dir, holder);
    // Stale: move it aside. Whoever loses the race gets ENOENT and simply tries again.
    const aside = `${path}.${process.pid}.stale`;
    try {
      await rename(path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const moved = held(await readLock(aside));
    if (moved !== undefined) {
      // A live run locked the folder between our read and our rename: give its lock back.
      await rename(aside, path);
      throw new RunLocked(dir, moved);
    }
    await unlink(aside).catch(() => undefined);
    if (owner !== undefined) tookOver.push(owner.pid);
  }
  throw new Error(`could not take the lock ${path} after 5 attempts`);
}

/**
 * Creates `path` holding `text`, or returns false when it exists. The text is written to a file of
 * our own first and hard-linked into place (link fails when the name exists), so no other run
 * ever reads a lock half-written by a live one and mistakes it for a dead run's. Where the file
 * system has no hard links, an exclusive create, written at once, does the same less strictly.
 */
async function createWhole(path: string, text: string): Promise<boolean> {
  // Named like atomicWrite's temp files, so removeStaleTemps clears one a killed process left.
  const mine = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(mine, text, { flush: true });
  try {
    await link(mine, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
  } finally {
    await unlink(mine).catch(() => undefined);
  }
  try {
    const handle = await open(path, 'wx');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function release(path: string): Promise<void> {
  const owner = await readLock(path);
  if (owner?.pid === process.pid && owner.host === hostname()) await unlink(path).catch(() => undefined);
}
