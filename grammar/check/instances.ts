// The checker's run of the language's one evaluator over a model instance
// (grammar/eval/instantiate.ts): the same parameters, repeat unrolling, `require` verdicts,
// dimensions and parameter paths that the compiler lowers from, reported as diagnostics in the
// checker's words. Problems only an instance shows (a failed `require`, a path used twice, a bad
// path index) are always reported; any other problem only when the declarations involved are
// otherwise clean, since the declaration checks have already said it in their own words.

import type { Decl, Expr, RequireStmt, Span } from '../ast.ts';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { noteAt } from '../diagnostics/make.ts';
import { LowerError } from '../eval/errors.ts';
import { type ModelInstance as EvalInstance, instantiateIn, type Reporter } from '../eval/instantiate.ts';
import type { CheckContext } from './context.ts';
import { describeValue, notConstText } from './eval.ts';
import { declIndex, type ModelInstance, reportNotConst } from './models.ts';

const cache = new WeakMap<CheckContext, Map<string, EvalInstance | null>>();

/** Codes only an instance can show; the declaration checks never report them. */
const INSTANCE_CODES: ReadonlySet<string> = new Set(['E0608', 'E0609']);

/** The evaluated instance (memoized per check run), reporting its problems the first time. */
export function evaluateInstance(ctx: CheckContext, inst: ModelInstance): EvalInstance | undefined {
  let memo = cache.get(ctx);
  if (memo === undefined) cache.set(ctx, (memo = new Map()));
  const hit = memo.get(inst.name);
  if (hit !== undefined) return hit ?? undefined;
  const pending: Diagnostic[] = [];
  const failed = new Set<RequireStmt>();
  const reporter: Reporter = {
    require(s, r, env) {
      if (failed.has(s)) return; // the first failing iteration speaks for the others
      failed.add(s);
      if (!r.ok) {
        // A parameter without a value is already reported where it is declared.
        if (r.err.why !== 'name' || !inst.decl.params.some((p) => p.name.name === (r.err as { name: string }).name))
          reportNotConst(ctx, s.cond, 'a `require` condition', notConstText(r.err));
        return;
      }
      if (typeof r.value !== 'boolean') {
        ctx.report('E0506', s.cond.span, `a \`require\` condition must be true or false, found ${describeValue(r.value)}`, {
          suggestion: 'compare it, e.g. `dim % heads == 0`',
        });
        return;
      }
      const values = [...namesIn(s.cond, new Set())].flatMap((n) => {
        const b = env.get(n);
        return b?.kind === 'const' ? [`${n} = ${describeValue(b.value)}`] : [];
      });
      const notes = [];
      if (values.length > 0) notes.push({ message: `with ${values.join(', ')}` });
      if (inst.derived !== undefined) notes.push(noteAt(`for model \`${inst.name}\`, declared here`, inst.derived.name.span));
      const what = s.message ? s.message.value : 'the condition is false';
      ctx.report('E0501', s.span, `requirement failed${inst.derived ? ` for \`${inst.name}\`` : ''}: ${what}`, { notes });
    },
    error(d) {
      if (INSTANCE_CODES.has(d.code)) ctx.add(d);
      else pending.push(d);
    },
  };
  let run: EvalInstance | undefined;
  try {
    run = instantiateIn(declIndex(ctx), inst.source, { reporter, anyDims: true });
  } catch (e) {
    if (!(e instanceof LowerError)) throw e;
    pending.push(e.diagnostic);
  }
  const owners = [inst.decl, inst.derived].filter((d) => d !== undefined);
  for (const d of pending) {
    const at = ctx.decls.find((x) => contains(x.span, d.span));
    if (![...owners, at].some((x) => x !== undefined && hasErrors(ctx, x))) ctx.add(d);
  }
  memo.set(inst.name, run ?? null);
  return run;
}

function contains(outer: Span, inner: Span): boolean {
  return outer.file === inner.file && outer.start.offset <= inner.start.offset && inner.end.offset <= outer.end.offset;
}

function hasErrors(ctx: CheckContext, decl: Decl): boolean {
  return ctx.diagnostics.some((d) => d.severity === 'error' && contains(decl.span, d.span));
}

function namesIn(e: Expr, out: Set<string>): Set<string> {
  switch (e.kind) {
    case 'ref': {
      const f = e.path[0];
      if (f?.kind === 'name' && e.path.length === 1) out.add(f.name);
      break;
    }
    case 'binary':
      namesIn(e.left, out);
      namesIn(e.right, out);
      break;
    case 'unary':
      namesIn(e.arg, out);
      break;
    default:
      break;
  }
  return out;
}
