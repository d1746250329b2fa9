// What the error boundary in cli/main.ts prints. A known failure — something the user can fix: a
// missing or unreadable file, a malformed checkpoint, a full disk, a job that cannot run as asked —
// is one line, `scion <cmd>: <what>`, naming the file and the fix, and exits 1. Anything else is a
// bug: a one-line summary and where to report it, with the stack only under SCION_DEBUG=1.

import { DeviceUnavailable } from '../backends/backend.ts';
import { MappingError } from '../compiler/presets/index.ts';
import { renderDiagnostics } from '../grammar/diagnostics/render.ts';
import { LowerError } from '../grammar/eval/errors.ts';
import { ExportError } from '../jobs/export/export-onnx.ts';
import { InheritError } from '../jobs/inherit/layout/layout.ts';
import { NotEnoughResources } from '../jobs/resources.ts';
import { JobError } from '../jobs/train/errors.ts';
import { PlaygroundError } from '../playground/errors.ts';
import { DataError } from '../runtime/data/user-files.ts';
import { Utf8Error } from '../runtime/text/utf8.ts';
import { TokenizerFormatError } from '../runtime/tokenizer/tokenizer-json.ts';
import { CheckpointError, NothingToResume, RunLocked, TrainingDiverged } from '../runtime/train/index.ts';
import { SafetensorsError } from '../runtime/weights/index.ts';

/** A failure the user can fix, said in full by `message` (the file and how to fix it). */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

/** The user errors of the layers below the CLI whose messages already name the file and the problem. */
const KNOWN: readonly (abstract new (...args: never[]) => Error)[] = [
  CommandError,
  SafetensorsError,
  CheckpointError,
  NothingToResume,
  RunLocked,
  JobError,
  MappingError,
  DeviceUnavailable,
  TrainingDiverged,
  DataError,
  TokenizerFormatError,
  Utf8Error,
  InheritError,
  ExportError,
  NotEnoughResources,
  PlaygroundError,
];

/** File-system error codes and what each means for the user: the problem, then the fix. */
const FS_ERRORS: Record<string, (path: string) => string> = {
  ENOENT: (p) => `'${p}' does not exist: check the path`,
  // A read on an open directory fails without a path.
  EISDIR: (p) => `${p === '' ? 'a directory was given' : `'${p}' is a directory`} where a file is expected: give a file's path`,
  ENOTDIR: (p) => `'${p}': a part of the path is not a directory: check the path`,
  EACCES: (p) => `'${p}': permission denied: check the permissions of the file and its folder`,
  EPERM: (p) => `'${p}': operation not permitted: check the permissions of the file and its folder`,
  ELOOP: (p) => `'${p}': too many levels of symbolic links (a link loop): check the links on the path`,
  ENOSPC: (p) => `no space left on the device${p === '' ? '' : ` writing '${p}'`}: free some disk space and run again`,
  EDQUOT: (p) => `disk quota exceeded${p === '' ? '' : ` writing '${p}'`}: free some space and run again`,
  EROFS: (p) => `'${p}' is on a read-only file system: write somewhere else`,
  ENAMETOOLONG: (p) => `'${p}': the name is too long: choose a shorter path`,
};

/** A Node file-system error (it carries `code`, `syscall` and usually `path`). */
function fsError(error: unknown): (NodeJS.ErrnoException & { code: string }) | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' && Object.hasOwn(FS_ERRORS, code) ? (error as NodeJS.ErrnoException & { code: string }) : undefined;
}

/**
 * The message of a known failure: one line without the `scion <cmd>: ` prefix, or — for a lowering
 * diagnostic — the rendered diagnostic, which ends with a newline and is printed as it is.
 * Undefined for anything else (a bug).
 */
export function knownFailure(error: unknown): string | undefined {
  if (error instanceof LowerError) return renderDiagnostics([error.diagnostic], new Map(), { color: false });
  if (KNOWN.some((k) => error instanceof k)) return (error as Error).message;
  const fs = fsError(error);
  if (fs !== undefined) return FS_ERRORS[fs.code]!(fs.path ?? '');
  // Until the evaluator bounds sizes where they are made (issue 19), a tensor too large for a typed
  // array surfaces here; it is the spec's sizes, not a bug, so say which and how to see them.
  if (error instanceof RangeError && /^(Invalid typed array length|Array buffer allocation failed)/.test(error.message))
    return `a tensor is too large to allocate (${error.message}): reduce the model's sizes; \`scion explain\` lists each layer's parameters and memory`;
  return undefined;
}

/** What the boundary prints for a bug: a summary and where to report it; the stack when `debug`. */
export function unexpectedFailure(cmd: string, error: unknown, debug: boolean): string {
  const summary = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error).split('\n')[0];
  const stack = debug && error instanceof Error && error.stack !== undefined ? `${error.stack}\n` : '';
  return (
    `scion ${cmd}: internal error: ${summary}\n` +
    `This is a bug in Scion: please report it on the project's issue tracker with the command line${debug ? ' and the stack below' : ' (run it again with SCION_DEBUG=1 for the stack)'}.\n` +
    stack
  );
}
