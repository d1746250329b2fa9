// `scion check FILE... [--json]`: parse, resolve imports and check each spec; print every
// diagnostic (text with source excerpts, or one JSON object). Exit 0 when there are no errors
// (warnings allowed), 1 when there are, 2 for a bad command line.

import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { checkSource } from '../../grammar/check/check-source.ts';
import { preflightProgram } from '../../jobs/inherit/preflight.ts';
import type { Diagnostic } from '../../grammar/diagnostics/diagnostic.ts';
import { countSeverities, renderDiagnostics, toJson } from '../../grammar/diagnostics/render.ts';
import { EXIT, UsageError, type Command, type Io } from '../io.ts';

export { checkSource } from '../../grammar/check/check-source.ts';

const USAGE = 'usage: scion check FILE... [--json]';

/** A reader relative to the working directory; undefined for missing files and folders. */
export function fileReader(cwd: string): (path: string) => string | undefined {
  return (path) => {
    const full = isAbsolute(path) ? path : resolve(cwd, path);
    try {
      if (!statSync(full).isFile()) return undefined;
      return readFileSync(full, 'utf8');
    } catch {
      return undefined;
    }
  };
}

export const run: Command = async (args: string[], io: Io): Promise<number> => {
  let json = false;
  const files: string[] = [];
  for (const a of args) {
    if (a === '--json') json = true;
    else if (a === '--help' || a === '-h') {
      io.out(`${USAGE}\n\nChecks specs (.scion or .yaml) and the files they import; prints every error and warning.\n`);
      return EXIT.ok;
    } else if (a.startsWith('-')) throw new UsageError(`unknown option '${a}'\n${USAGE}`);
    else files.push(a);
  }
  if (files.length === 0) throw new UsageError(`no file given\n${USAGE}`);

  const read = fileReader(io.cwd);
  const all: Diagnostic[] = [];
  const sources = new Map<string, string>();
  const missing: string[] = [];
  for (const file of files) {
    const name = isAbsolute(file) ? relative(io.cwd, file) || file : file;
    const text = read(file);
    if (text === undefined) {
      missing.push(file);
      continue;
    }
    const r = checkSource(text, name, read);
    for (const [k, v] of r.sources) sources.set(k, v);
    all.push(...r.diagnostics);
    // Pre-flight against parent checkpoints that already exist (headers only), once the spec is clean.
    if (countSeverities(r.diagnostics).errors === 0) {
      all.push(...(await preflightProgram([{ file: name, imports: [], decls: r.decls }], { cwd: io.cwd })));
    }
  }
  if (missing.length > 0 && !json) {
    for (const m of missing) io.err(`scion check: cannot read '${m}'\n`);
  }
  const { errors, warnings } = countSeverities(all);
  if (json) {
    io.out(`${JSON.stringify({ files, missing, diagnostics: toJson(all), errors: errors + missing.length, warnings })}\n`);
  } else if (all.length > 0) {
    io.out(renderDiagnostics(all, sources, { color: io.isTty && process.env.NO_COLOR === undefined }));
  } else if (missing.length === 0) {
    io.out(`${files.join(', ')}: no problems\n`);
  }
  return errors > 0 || missing.length > 0 ? EXIT.inputError : EXIT.ok;
};
