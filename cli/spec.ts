// Reading a spec for a command: parse, resolve imports, check, and print the diagnostics when it
// has errors; and printing a lowering error the same way. Every command that takes a spec uses
// these, so a broken spec reads the same whatever the command.

import type { Program } from '../grammar/ast.ts';
import { checkSource } from '../grammar/check/check-source.ts';
import { countSeverities, renderDiagnostics } from '../grammar/diagnostics/render.ts';
import { LowerError } from '../grammar/eval/errors.ts';
import { EXIT, fileReader, readInput, whyUnreadable, type Io } from './io.ts';

/** Parses, resolves and checks a spec; prints diagnostics and returns undefined on errors. */
export function loadSpec(file: string, io: Io, cmd: string): Program | undefined {
  const input = readInput(file, io);
  if (input === undefined) {
    io.err(`scion ${cmd}: cannot read '${file}': ${whyUnreadable(file, io)}\n`);
    return undefined;
  }
  const name = input.name;
  const r = checkSource(input.text, name, fileReader(io.cwd));
  if (countSeverities(r.diagnostics).errors > 0) {
    io.err(
      renderDiagnostics(
        r.diagnostics.filter((d) => d.severity === 'error'),
        r.sources,
        { color: false },
      ),
    );
    return undefined;
  }
  return { file: name, imports: [], decls: r.decls };
}

/** Prints a lowering diagnostic like the checker's; rethrows anything else (bugs). */
export function reportLowerError(error: unknown, io: Io): number {
  if (!(error instanceof LowerError)) throw error;
  io.err(renderDiagnostics([error.diagnostic], new Map(), { color: false }));
  return EXIT.inputError;
}
