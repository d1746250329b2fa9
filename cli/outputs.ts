// Output paths are checked before any work starts, so a long run never ends in a crash on `-o`:
// a file's folder must exist, the file must not be a directory, an output folder must not be a
// file, and no command writes over one of its own inputs.

import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { CommandError } from './failures.ts';

/** `path` made absolute against `cwd`. */
export function absolute(cwd: string, path: string): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

function kindOf(path: string): 'file' | 'dir' | 'other' | 'missing' {
  try {
    const s = statSync(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

/**
 * Checks that `path` (absolute; `shown` is how the user wrote it) can be written as a file: its
 * folder exists and is a folder, and it is not itself a directory. Throws CommandError.
 *
 * @example checkOutputFile('/work/out/grid.png', 'out/grid.png') // throws when /work/out is missing
 */
export function checkOutputFile(path: string, shown: string): void {
  const parent = dirname(path);
  const p = kindOf(parent);
  if (p === 'missing') throw new CommandError(`cannot write '${shown}': the folder '${parent}' does not exist: create it first or choose another path`);
  if (p !== 'dir') throw new CommandError(`cannot write '${shown}': '${parent}' is not a folder: choose another path`);
  if (kindOf(path) === 'dir') throw new CommandError(`cannot write '${shown}': it is a directory: give the path of a file (in it or elsewhere)`);
}

/**
 * Checks that `path` (absolute) can be used as an output folder, made if missing: it is not a
 * file, and neither is the nearest existing folder above it. Throws CommandError.
 */
export function checkOutputDir(path: string, shown: string): void {
  let at = path;
  for (;;) {
    const k = kindOf(at);
    if (k === 'dir') return;
    if (k !== 'missing')
      throw new CommandError(
        at === path ? `cannot write into '${shown}': it is a file, not a folder: choose another path` : `cannot make the folder '${shown}': '${at}' is a file`,
      );
    const up = dirname(at);
    if (up === at) return;
    at = up;
  }
}

/** One path for one file: symbolic links and `..` resolved, also for a file not written yet. */
function canonical(path: string): string {
  if (existsSync(path)) return realpathSync(path);
  const parent = dirname(path);
  return parent === path ? path : join(canonical(parent), basename(path));
}

/**
 * Refuses an output that is one of the command's inputs (`scion convert a.scion -o a.scion`),
 * before anything is written. Inputs are absolute paths; undefined ones are skipped.
 */
export function refuseOwnInput(out: string, shown: string, inputs: readonly (string | undefined)[]): void {
  const target = canonical(out);
  for (const input of inputs) {
    if (input !== undefined && canonical(input) === target)
      throw new CommandError(`refusing to write '${shown}': it is also an input of this command (${input}): choose another output path`);
  }
}
