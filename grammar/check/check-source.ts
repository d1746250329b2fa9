// The library entry point of `scion check`: text of one file → every diagnostic of it and of the
// files it imports (parse, import and check diagnostics together), plus the sources to render
// them with. The CLI and the tests call this; nothing here touches the file system directly.

import type { Decl, Program } from '../ast.ts';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { loadSource, type SpecForm } from '../load.ts';
import { resolveImports, type ParseFn, type ReadFile } from '../resolve.ts';
import { checkDecls, type CheckOptions } from './index.ts';

export interface CheckResult {
  diagnostics: Diagnostic[];
  /** Text of every file involved, by the file name used in spans. */
  sources: Map<string, string>;
  /** The root file's program (partial after syntax errors). */
  program: Program;
  /** Declarations of all files, imports first. */
  decls: Decl[];
}

/** The front end for a file name: YAML for .yaml/.yml, the .scion language otherwise. */
export const parseSource: ParseFn = loadSource;

/**
 * Parses, resolves imports and checks one spec.
 *
 * @example
 * const r = checkSource(text, 'specs/tiny-lm.scion', (p) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined));
 * r.diagnostics.filter((d) => d.severity === 'error').length // 0
 */
export function checkSource(text: string, file: string, readFile: ReadFile, opts: CheckOptions & { form?: SpecForm; parse?: ParseFn } = {}): CheckResult {
  // The root's form: its extension's, unless the caller says (standard input has no extension).
  // `parse` (default parseSource) reads files by their extension: a caller may pass one that
  // remembers unchanged files (the language server does).
  const parse = opts.parse ?? parseSource;
  const parsed = opts.form === undefined ? parse(text, file) : loadSource(text, file, opts.form);
  const resolved = resolveImports(parsed.program, text, readFile, parse);
  const checks = checkDecls(resolved.decls, opts);
  return {
    diagnostics: [...parsed.diagnostics, ...resolved.diagnostics, ...checks],
    sources: resolved.sources,
    program: parsed.program,
    decls: resolved.decls,
  };
}
