// An Io that records what a command prints, for CLI tests.

import type { Io } from '../../../cli/io.ts';

export function captureIo(cwd: string): Io & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', isTty: false, cwd, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}
