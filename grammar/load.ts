// One entry point for reading a spec of either form: the file's extension picks the front end.
// Both produce the same AST (grammar/ast.ts).

import type { Program } from './ast.ts';
import type { Diagnostic } from './diagnostics/diagnostic.ts';
import { parseProgram } from './dsl/parse.ts';
import { loadYaml } from './yaml/load.ts';

export type SpecForm = 'scion' | 'yaml';

/** The form of a spec file by its extension: `.yaml`/`.yml` are YAML, everything else .scion. */
export function formOf(file: string): SpecForm {
  return /\.ya?ml$/i.test(file) ? 'yaml' : 'scion';
}

/**
 * Reads a spec in the form its file name says (.scion, .yaml or .yml), or in `form` where the
 * name has none to say (standard input).
 *
 * @example loadSource('scion: 1\n', 'empty.yaml').program.decls // []
 */
export function loadSource(text: string, file: string, form: SpecForm = formOf(file)): { program: Program; diagnostics: Diagnostic[] } {
  return form === 'yaml' ? loadYaml(text, file) : parseProgram(text, file);
}
