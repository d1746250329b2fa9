// `scion fmt FILE... [--write] [--check] [--json]`: print a .scion spec in canonical form, rewrite
// it in place, or test that it already is. A file with parse errors is never rewritten. FILE `-`
// is standard input (printed or checked, never rewritten).

import { isAbsolute, resolve } from 'node:path';
import { formatProgram } from '../../grammar/dsl/format.ts';
import { parseProgram } from '../../grammar/dsl/parse.ts';
import { renderDiagnostics, toJson, type JsonDiagnostic } from '../../grammar/diagnostics/render.ts';
import { EXIT, readInput, STDIN_ARG, UsageError, writeTextAtomic, type Command, type Io } from '../io.ts';

const HELP = `usage: scion fmt FILE... [--write] [--check] [--json]

Prints the canonical form of one .scion file (2-space indent, one statement or field per line,
comments kept). FILE - reads standard input.

  --write  rewrite each file in place (only those with no parse errors)
  --check  print the files that are not formatted; exit 1 if any
  --json   print {"files": [{"file", "formatted", "diagnostics"}]} instead of text
`;

interface FileReport {
  file: string;
  /** Whether the file was already canonical; null when it has parse errors. */
  formatted: boolean | null;
  diagnostics: JsonDiagnostic[];
}

export const run: Command = async (args: string[], io: Io): Promise<number> => {
  const flags = new Set<string>();
  const files: string[] = [];
  for (const a of args) {
    if (a === '--help' || a === '-h') {
      io.out(HELP);
      return EXIT.ok;
    }
    if (a === '--write' || a === '--check' || a === '--json') flags.add(a);
    else if (a.startsWith('-') && a !== STDIN_ARG) throw new UsageError(`unknown option '${a}'\n\n${HELP}`);
    else files.push(a);
  }
  if (files.length === 0) throw new UsageError(`no file given\n\n${HELP}`);
  const write = flags.has('--write');
  const check = flags.has('--check');
  const json = flags.has('--json');
  if (write && check) throw new UsageError('--write and --check exclude each other');
  if (write && files.includes(STDIN_ARG)) throw new UsageError('--write cannot rewrite standard input; drop --write to print the result');
  if (!write && !check && files.length > 1) throw new UsageError('printing takes one FILE; use --write or --check for several');

  const reports: FileReport[] = [];
  let failed = false;
  for (const file of files) {
    const input = readInput(file, io);
    if (input === undefined) throw new UsageError(`cannot read '${file}': no such file`);
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
};
