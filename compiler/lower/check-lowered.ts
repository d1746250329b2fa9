// What a clean spec still gets from lowering, beyond the checker: sizes only lowering knows
// (check-sizes.ts) and loss operands whose shapes cannot match (check-losses.ts). `scion check`,
// the language server and the playground all report this one list, so an editor shows exactly
// what `check` prints.

import type { Program } from '../../grammar/ast.ts';
import type { Diagnostic } from '../../grammar/diagnostics/diagnostic.ts';
import { checkLosses } from './check-losses.ts';
import { checkSizes } from './check-sizes.ts';

/** The lowering pre-flight of a spec the checker passed (its imports' declarations included). */
export function checkLowered(program: Program): Diagnostic[] {
  return [...checkSizes(program), ...checkLosses(program)];
}
