// Imports: `import "x.scion"` is resolved relative to the importing file, each file is parsed
// once (a file reached twice through different imports is one file), and the declarations of
// all files are merged in dependency order, each keeping its own file's spans. Missing files,
// cycles and duplicate imports are diagnostics at the import. File access is injected, so the
// same code runs in Node, in a browser and in tests.

import type { Decl, Import, Program } from './ast.ts';
import type { Diagnostic } from './diagnostics/diagnostic.ts';
import { diag, noteAt } from './diagnostics/make.ts';

/** Reads a file by path; undefined when it does not exist. */
export type ReadFile = (path: string) => string | undefined;
/** A front end: text → program and its diagnostics (never throws). */
export type ParseFn = (text: string, file: string) => { program: Program; diagnostics: Diagnostic[] };

export interface Resolved {
  /** Every file's program, imported files before their importers, the root last. */
  programs: Program[];
  /** All declarations, in the same order. */
  decls: Decl[];
  /** Parse and import diagnostics of every file. */
  diagnostics: Diagnostic[];
  /** The text of every file read (for rendering). */
  sources: Map<string, string>;
}

/** More files than this through imports is a runaway; the rest are not read. */
export const MAX_IMPORTED_FILES = 200;

/** `a/b/../c.scion` → `a/c.scion`; keeps a leading `/` and leading `..`s. */
export function normalizePath(path: string): string {
  const abs = path.startsWith('/');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (part !== '..' || !abs) out.push(part);
  }
  const joined = out.join('/');
  return abs ? `/${joined}` : joined === '' ? '.' : joined;
}

/** The path of `target` written in a file at `from`. */
export function resolvePath(from: string, target: string): string {
  if (target.startsWith('/')) return normalizePath(target);
  const slash = from.lastIndexOf('/');
  return normalizePath(slash < 0 ? target : `${from.slice(0, slash)}/${target}`);
}

/**
 * Loads every file `root` imports, transitively.
 *
 * @example resolveImports(parseProgram(text, 'specs/ba-lora.scion').program, text, readFile, parseProgram).decls
 */
export function resolveImports(root: Program, rootText: string, readFile: ReadFile, parse: ParseFn): Resolved {
  const rootFile = normalizePath(root.file);
  const sources = new Map<string, string>([[root.file, rootText]]);
  const programs: Program[] = [];
  const diagnostics: Diagnostic[] = [];
  const loaded = new Map<string, Program>([[rootFile, root]]);
  const done = new Set<string>();

  const visit = (program: Program, file: string, stack: string[]): void => {
    const here = new Map<string, Import>();
    for (const imp of program.imports) {
      const target = resolvePath(file, imp.path.value);
      const first = here.get(target);
      if (first !== undefined) {
        diagnostics.push(
          diag('E0332', imp.path.span, `"${imp.path.value}" is already imported by this file`, {
            notes: [noteAt('first imported here', first.span)],
            suggestion: 'remove this import',
          }),
        );
        continue;
      }
      here.set(target, imp);
      const cycleAt = stack.indexOf(target);
      if (cycleAt >= 0) {
        const chain = [...stack.slice(cycleAt), target].join(' → ');
        diagnostics.push(diag('E0331', imp.path.span, `import cycle: ${chain}`, { suggestion: 'move the shared declarations into a file that both import' }));
        continue;
      }
      if (done.has(target) || loaded.has(target)) continue;
      if (loaded.size >= MAX_IMPORTED_FILES) {
        diagnostics.push(diag('E0330', imp.path.span, `too many imported files (more than ${MAX_IMPORTED_FILES}); "${imp.path.value}" was not read`));
        continue;
      }
      const text = readFile(target);
      if (text === undefined) {
        diagnostics.push(
          diag('E0330', imp.path.span, `cannot find "${imp.path.value}" (looked for ${target})`, {
            suggestion: 'import paths are relative to the importing file',
          }),
        );
        continue;
      }
      sources.set(target, text);
      const parsed = parse(text, target);
      diagnostics.push(...parsed.diagnostics);
      loaded.set(target, parsed.program);
      visit(parsed.program, target, [...stack, target]);
    }
    done.add(file);
    programs.push(program);
  };
  visit(root, rootFile, [rootFile]);
  return { programs, decls: programs.flatMap((p) => p.decls), diagnostics, sources };
}
