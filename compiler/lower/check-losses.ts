// The loss pre-flight of `scion check`: what only lowering knows about a `train`'s loss — operand
// shapes that cannot match once the models' dimensions are numbers (a 2048-wide student's logits
// distilled from a 4096-wide teacher's, an MSE of two features of different widths, targets that do
// not fit the logits) — reported by `check` at the loss term, as `scion train` would refuse it. The
// loss rules (LOSS_RULES, through lowerTrain) make the diagnostics; this only lowers each `train`
// of a clean spec at its own batch, without gradients or weights, and keeps the errors located
// inside its `loss`. Any other lowering error is `train`'s to report, as in check-sizes.ts.

import type { Program, Span, TrainDecl } from '../../grammar/ast.ts';
import type { Diagnostic } from '../../grammar/diagnostics/diagnostic.ts';
import { LowerError } from '../../grammar/eval/errors.ts';
import { bindingsOf, constExpr } from './lower-train-config.ts';
import { lowerTrain } from './lower-train.ts';

/** The loss errors of each `train` of `program` (E0901 from a loss rule, E0902, E0905, …). */
export function checkLosses(program: Program): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const d of program.decls) {
    if (d.kind !== 'train') continue;
    const loss = d.fields.find((f) => f.key === 'loss');
    if (loss === undefined) continue;
    try {
      lowerTrain(program, d.target.name, { batch: batchOf(d, program), grads: false });
    } catch (e) {
      if (e instanceof LowerError && within(loss.value.span, e.diagnostic.span)) out.push(e.diagnostic);
      else if (!(e instanceof Error)) throw e;
    }
  }
  return out;
}

/** The train's `batch` when it is a positive integer (so messages show the shapes `train` shows), else 1. */
function batchOf(d: TrainDecl, program: Program): number {
  const e = d.fields.find((f) => f.key === 'batch')?.value;
  if (e === undefined) return 8; // trainConfig's default
  try {
    const v = constExpr(e, bindingsOf(program));
    return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : 1;
  } catch {
    return 1;
  }
}

function within(outer: Span, inner: Span): boolean {
  return outer.file === inner.file && outer.start.offset <= inner.start.offset && inner.end.offset <= outer.end.offset;
}
