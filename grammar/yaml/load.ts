// The YAML front end: text → screened → parsed with positions → validated against the schema →
// the same AST the .scion parser produces. Never throws on any input; every problem is a
// diagnostic with the YAML line:column.

import { parseAllDocuments, type Document } from 'yaml';
import type { Program } from '../ast.ts';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { diag } from '../diagnostics/make.ts';
import { buildProgram } from './build.ts';
import { YAML_LIMITS, screenDocument, screenText } from './limits.ts';
import { screenNumbers } from './numbers.ts';
import { Locator } from './positions.ts';
import { validateDocument } from './validate.ts';

export interface LoadResult {
  program: Program;
  diagnostics: Diagnostic[];
}

/**
 * Reads a spec in the YAML form.
 *
 * @example
 * const { program, diagnostics } = loadYaml('scion: 1\ndecls:\n  - let: x\n    value: 2k\n', 'x.yaml');
 * // program.decls[0] is { kind: 'binding', name: { name: 'x', … }, value: { kind: 'num', text: '2k', … } }
 */
export function loadYaml(text: string, file: string): LoadResult {
  const loc = new Locator(file, text);
  const empty = (diagnostics: Diagnostic[]): LoadResult => ({ program: { file, imports: [], decls: [] }, diagnostics });

  const screened = screenText(text, loc);
  if (screened.length > 0) return empty(screened);

  let docs: Document[];
  try {
    // Duplicate keys are found by screenDocument in one pass: the reader's uniqueKeys is quadratic.
    const parsed = parseAllDocuments(text, { schema: 'core', version: '1.2', uniqueKeys: false, prettyErrors: false });
    docs = Array.isArray(parsed) ? parsed : [];
  } catch (error) {
    // The screen keeps inputs within the reader's limits; anything it still throws is reported.
    if (!(error instanceof RangeError)) throw error;
    return empty([diag('E0203', loc.span(0, 0), 'the document nests too deeply to read')]);
  }
  if (docs.length > 1) {
    const second = docs[1]!;
    const at = second.range?.[0] ?? 0;
    return empty([
      diag('E0205', loc.span(at, at), `a YAML spec is one document; a second one starts here (${docs.length} in all)`, {
        suggestion: 'put each spec in its own file',
      }),
    ]);
  }
  const doc = docs[0];
  if (doc === undefined) return empty([diag('E0210', loc.span(0, 0), `the YAML spec is empty; it must start with \`scion: 1\``)]);

  const syntax = [...doc.errors, ...doc.warnings].map((e) => {
    const [start, end] = e.pos;
    const code = e.code === 'TAG_RESOLVE_FAILED' ? 'E0206' : 'E0201';
    return diag(code, loc.span(start, end), e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''));
  });
  if (syntax.length > 0) return empty(syntax);

  const screenedDoc = screenDocument(doc, loc);
  if (screenedDoc.length > 0) return empty(screenedDoc);
  const numbers = screenNumbers(doc, loc);
  if (numbers.length > 0) return empty(numbers);

  const data: unknown = doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
  const diagnostics = validateDocument(doc, data, loc);
  const ctx = { doc, loc, diags: [] as Diagnostic[], budget: YAML_LIMITS.maxNodes };
  const program = buildProgram(ctx);
  diagnostics.push(...ctx.diags);
  diagnostics.sort((a, b) => a.span.start.offset - b.span.start.offset);
  return { program, diagnostics };
}
