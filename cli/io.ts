// What a command may touch of the outside world; tests pass their own to capture output.

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (colors, progress redraws). */
  isTty: boolean;
  cwd: string;
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  isTty: Boolean(process.stderr.isTTY),
  cwd: process.cwd(),
};

/** Exit codes: 0 ok, 1 the input has errors, 2 usage error. */
export const EXIT = { ok: 0, inputError: 1, usage: 2 } as const;

export type Command = (args: string[], io: Io) => Promise<number>;

/** Thrown for bad command lines; main prints it with the command's usage and exits 2. */
export class UsageError extends Error {}
