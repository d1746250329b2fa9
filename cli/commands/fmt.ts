// `scion fmt FILE... [--write] [--check] [--json]`: print a .scion spec in canonical form, rewrite
// it in place, or test that it already is. A file with parse errors is never rewritten. FILE `-`
// is standard input (printed or checked, never rewritten).

import { isAbsolute, resolve } from 'node:path';
import { formatProgram } from '../../grammar/dsl/format.ts';
import { parseProgram } from '../../grammar/dsl/parse.ts';
import { renderDiagnostics, toJson, type JsonDiagnostic } from '../../grammar/diagnostics/render.ts';
import { command, commandSpec, usageError } from '../flags.ts';
import { EXIT, readInput, STDIN_ARG, UsageError, whyUnreadable, writeTextAtomic } from '../io.ts';

export const SPEC = commandSpec({
  name: 'fmt',
  about:
    'Prints the canonical form of one .scion file (2-space indent, one statement or field per line,\ncomments kept), or with --write/--check works on several. --json prints {"files": [{"file", "formatted", "diagnostics"}]}.',
  args: { name: 'FILE', min: 1, max: Infinity, stdin: true },
  flags: ['write', 'check', 'json'],
});

interface FileReport {
  file: string;
  /** Whether the file was already canonical; null when it has parse errors. */
  formatted: boolean | null;
  diagnostics: JsonDiagnostic[];
}

export const run = command(SPEC, async ({ flags: { write, check, json }, args: files }, io) => {
  if (write && check) throw usageError(SPEC, '--write and --check exclude each other');
  if (write && files.includes(STDIN_ARG)) throw usageError(SPEC, '--write cannot rewrite standard input; drop --write to print the result');
  if (!write && !check && files.length > 1) throw usageError(SPEC, 'printing takes one FILE; use --write or --check for several');

  const reports: FileReport[] = [];
  let failed = false;
  for (const file of files) {
    const input = readInput(file, io);
    if (input === undefined) throw new UsageError(`cannot read '${file}': ${whyUnreadable(file, io)}`);
    const { name, text } = input;
    const { program, diagnostics } = parseProgram(text, name);
    if (diagnostics.length > 0) {
      failed = true;
      reports.push({ file: name, formatted: null, diagnostics: toJson(diagnostics) });
      if (!json) io.err(renderDiagnostics(diagnostics, new Map([[name, text]])));
      continue;
    }
    const out = formatProgram(program);
    const formatted = out === text;
    reports.push({ file: name, formatted, diagnostics: [] });
    if (write && !formatted) await writeTextAtomic(isAbsolute(file) ? file : resolve(io.cwd, file), out);
    else if (check && !formatted) {
      failed = true;
      if (!json) io.out(`${name}: not formatted\n`);
    } else if (!write && !check && !json) io.out(out);
  }
  if (json) io.out(`${JSON.stringify({ files: reports }, null, 2)}\n`);
  return failed ? EXIT.inputError : EXIT.ok;
});
