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
  const syntax = [...parsed.diagnostics, ...resolved.diagnostics];
  const checks = withoutFollowOns(checkDecls(resolved.decls, opts), syntax, resolved.decls);
  return {
    diagnostics: [...syntax, ...checks],
    sources: resolved.sources,
    program: parsed.program,
    decls: resolved.decls,
  };
}

/**
 * The checks of a declaration that has a syntax error in it (lexing, parsing or the YAML form:
 * E01xx, E02xx) are dropped: they read a partial tree, and report what is not there — a model
 * cut off by a nesting limit "has no output", a call cut off by a stray character "is missing an
 * argument". A declaration's region runs from its start to the next declaration of its file (a
 * truncated declaration's own span stops where the parse gave up, before the error).
 */
function withoutFollowOns(checks: Diagnostic[], syntax: readonly Diagnostic[], decls: readonly Decl[]): Diagnostic[] {
  const errors = syntax.filter((d) => d.severity === 'error' && /^E0[12]/.test(d.code));
  if (errors.length === 0) return checks;
  const starts = new Map<string, number[]>();
  for (const d of decls) {
    const list = starts.get(d.span.file) ?? [];
    list.push(d.span.start.offset);
    starts.set(d.span.file, list);
  }
  for (const list of starts.values()) list.sort((a, b) => a - b);
  const region = (file: string, offset: number): string => {
    const list = starts.get(file) ?? [];
    let i = -1;
    for (let lo = 0, hi = list.length - 1; lo <= hi; ) {
      const mid = (lo + hi) >> 1;
      if (list[mid]! <= offset) {
        i = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return `${file}\0${i}`;
  };
  const damaged = new Set(errors.map((d) => region(d.span.file, d.span.start.offset)));
  return checks.filter((d) => !damaged.has(region(d.span.file, d.span.start.offset)));
}
