// An Io that records what a command prints, for CLI tests; `stdin` is what `-` reads.

import type { Io } from '../../cli/io.ts';

export function captureIo(cwd: string, stdin?: string): Io & { stdout: string; stderr: string } {
  const io: Io & { stdout: string; stderr: string } = {
    stdout: '',
    stderr: '',
    isTty: false,
    cwd,
    // No progress lines unless a test asks (a slow shared machine would otherwise add them).
    progressAfterMs: Number.POSITIVE_INFINITY,
    out: (t) => void (io.stdout += t),
    err: (t) => void (io.stderr += t),
  };
  if (stdin !== undefined) io.stdin = () => stdin;
  return io;
}
