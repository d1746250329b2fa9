// `scion fmt FILE... [--write] [--check] [--json]`: print a .scion spec in canonical form, rewrite
// it in place, or test that it already is. A file with parse errors is never rewritten.

import { readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { formatProgram } from '../../grammar/dsl/format.ts';
import { parseProgram } from '../../grammar/dsl/parse.ts';
import { renderDiagnostics, toJson, type JsonDiagnostic } from '../../grammar/diagnostics/render.ts';
import { EXIT, UsageError, type Command, type Io } from '../io.ts';

const HELP = `usage: scion fmt FILE... [--write] [--check] [--json]

Prints the canonical form of one .scion file (2-space indent, one statement or field per line,
comments kept).

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
    else if (a.startsWith('-')) throw new UsageError(`unknown option '${a}'\n\n${HELP}`);
    else files.push(a);
  }
  if (files.length === 0) throw new UsageError(`no file given\n\n${HELP}`);
  const write = flags.has('--write');
  const check = flags.has('--check');
  const json = flags.has('--json');
  if (write && check) throw new UsageError('--write and --check exclude each other');
  if (!write && !check && files.length > 1) throw new UsageError('printing takes one FILE; use --write or --check for several');

  const reports: FileReport[] = [];
  let failed = false;
  for (const file of files) {
    const path = isAbsolute(file) ? file : resolve(io.cwd, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read '${file}': ${(error as Error).message}`);
    }
    const { program, diagnostics } = parseProgram(text, file);
    if (diagnostics.length > 0) {
      failed = true;
      reports.push({ file, formatted: null, diagnostics: toJson(diagnostics) });
      if (!json) io.err(renderDiagnostics(diagnostics, new Map([[file, text]])));
      continue;
    }
    const out = formatProgram(program);
    const formatted = out === text;
    reports.push({ file, formatted, diagnostics: [] });
    if (write && !formatted) writeFileSync(path, out);
    else if (check && !formatted) {
      failed = true;
      if (!json) io.out(`${file}: not formatted\n`);
    } else if (!write && !check && !json) io.out(out);
  }
  if (json) io.out(`${JSON.stringify({ files: reports }, null, 2)}\n`);
  return failed ? EXIT.inputError : EXIT.ok;
};
