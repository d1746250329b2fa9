// The size pre-flight of `scion check`: sizes only lowering knows — a layer weight of 100000 ×
// 100000 from dimensions that are each fine, a model past 2^40 parameters — reported by `check`
// at their line, as `explain` and `init` would refuse them, instead of passing `check` and failing
// later. The evaluator, ParamRegistry and lowering make the diagnostics (E0509, E0510, and E0511
// for an intermediate value such as attention scores); this only lowers each model of a clean
// spec and keeps those three. Any other lowering error is `explain`'s to
// report: `check` has not reported it before and does not start here.

import type { Program } from '../../grammar/ast.ts';
import type { Diagnostic } from '../../grammar/diagnostics/diagnostic.ts';
import { LowerError } from '../../grammar/eval/errors.ts';
import { lowerModel } from './lower-model.ts';

const SIZE_CODES: ReadonlySet<string> = new Set(['E0509', 'E0510', 'E0511']);

/** E0509/E0510/E0511 of each plain or derived model of `program`, at batch 1. */
export function checkSizes(program: Program): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const d of program.decls) {
    if (d.kind !== 'model' && d.kind !== 'derived') continue;
    try {
      lowerModel(program, d.name.name, { dims: { batch: 1 } });
    } catch (e) {
      if (e instanceof LowerError && SIZE_CODES.has(e.diagnostic.code)) out.push(e.diagnostic);
      else if (!(e instanceof Error)) throw e;
    }
  }
  return out;
}
