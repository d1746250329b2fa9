// What a command may touch of the outside world; tests pass their own to capture output.

import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Machine } from '../jobs/resources.ts';
import { decodeUtf8, readUtf8Sync, Utf8Error } from '../runtime/text/utf8.ts';
import { WorkProgress } from '../runtime/train/progress.ts';
import { atomicWrite, writeAll } from '../runtime/weights/safetensors-writer.ts';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (colors, progress redraws). */
  isTty: boolean;
  cwd: string;
  /** Standard input, read whole (the file `-`). Absent: the process's own. */
  stdin?: () => string;
  /** Free memory and disk, for the estimates `init` and `train` check. Absent: this machine's. */
  machine?: Machine;
  /** Milliseconds of work before a job's progress line appears (default 2000; tests pass 0). */
  progressAfterMs?: number;
}

const readProcessStdin = (): string => decodeUtf8(readFileSync(0), STDIN_NAME);

export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  isTty: Boolean(process.stderr.isTTY),
  cwd: process.cwd(),
  stdin: readProcessStdin,
};

/** Exit codes: 0 ok, 1 the input has errors, 2 usage error. */
export const EXIT = { ok: 0, inputError: 1, usage: 2 } as const;

export type Command = (args: string[], io: Io) => Promise<number>;

/** Thrown for bad command lines; main prints it with the command's usage and exits 2. */
export class UsageError extends Error {}

/** The file argument that means standard input, as Unix tools have it. */
export const STDIN_ARG = '-';
/** The name diagnostics give standard input. */
export const STDIN_NAME = '<stdin>';

/**
 * A reader relative to the working directory; undefined for missing files and folders. Text that
 * is not UTF-8 throws a Utf8Error (a known failure naming the byte), never a U+FFFD that `fmt` or
 * `convert` would write back.
 */
export function fileReader(cwd: string): (path: string) => string | undefined {
  return (path) => {
    const full = isAbsolute(path) ? path : resolve(cwd, path);
    try {
      if (!statSync(full).isFile()) return undefined;
      return readUtf8Sync(full, path);
    } catch (error) {
      if (error instanceof Utf8Error) throw error;
      return undefined;
    }
  };
}

/**
 * One spec argument: its text and the name diagnostics give it — the path exactly as the user
 * wrote it, or `<stdin>` for `-`. Undefined when it cannot be read.
 */
export function readInput(file: string, io: Io): { name: string; text: string } | undefined {
  if (file === STDIN_ARG) {
    try {
      return { name: STDIN_NAME, text: (io.stdin ?? readProcessStdin)() };
    } catch (error) {
      if (error instanceof Utf8Error) throw error;
      return undefined;
    }
  }
  const text = fileReader(io.cwd)(file);
  return text === undefined ? undefined : { name: file, text };
}

/**
 * Why a FILE argument that readInput could not read cannot be read, for the message: 'no such
 * file', 'it is a directory', 'permission denied', …
 */
export function whyUnreadable(file: string, io: Io): string {
  if (file === STDIN_ARG) return 'standard input cannot be read';
  const full = isAbsolute(file) ? file : resolve(io.cwd, file);
  try {
    if (statSync(full).isDirectory()) return 'it is a directory, not a file';
    readFileSync(full);
    return 'it could not be read';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return READ_ERRORS[code ?? ''] ?? `${(error as Error).message}`;
  }
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'a part of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'too many levels of symbolic links (a link loop)',
  ENAMETOOLONG: 'the name is too long',
};

/** Writes a text file whole or not at all (temp file, fsync, rename): a user's spec is never left half-written. */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  await atomicWrite(path, (handle) => writeAll(handle, new TextEncoder().encode(text)));
}

/**
 * The progress line of a long job (init, inherit, export, sample) on this Io's stderr: nothing for
 * the first ~2 s, then the training line's rules (runtime/train/progress.ts). None when `quiet`
 * (`--json`: stdout is for machines, stderr stays clean).
 */
export function workProgress(io: Io, label: string, unit: string, quiet = false): WorkProgress | undefined {
  if (quiet) return undefined;
  return new WorkProgress({ write: (text: string) => io.err(text), isTTY: io.isTty }, label, unit, {
    ...(io.progressAfterMs === undefined ? {} : { afterMs: io.progressAfterMs }),
  });
}
