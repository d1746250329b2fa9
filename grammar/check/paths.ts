// Parameter paths of a model instance, read from the evaluator's unrolled instance
// (grammar/check/instances.ts): every layer path with repeats unrolled (`layers[i].mlp` →
// `layers.0.mlp`, `layers.1.mlp`, …; a layer without `as` gets the compiler's `<callee>_<n>`), and
// below each the tensors its layer creates (grammar/library/param-names.ts, or a user layer's
// `param`s and inner layers). Named non-layer values (`softmax(x) as p`) are listed without tensors.

import type { Span } from '../ast.ts';
import { LowerError } from '../eval/errors.ts';
import type { Binding, InstCall, InstExpr } from '../eval/instantiate.ts';
import { instantiateLayerBody } from '../eval/instantiate.ts';
import { isLayerName, paramTensors } from '../library/param-names.ts';
import type { CheckContext } from './context.ts';
import { evaluateInstance } from './instances.ts';
import { declIndex, type ModelInstance } from './models.ts';

export interface ModulePath {
  /** `layers.0.self_attn` */
  path: string;
  /** the `as` path as written (the call, for an automatic path) */
  span: Span;
  /** full tensor paths: `layers.0.self_attn.q_proj.weight` */
  tensors: string[];
}

const cache = new WeakMap<CheckContext, Map<string, ModulePath[]>>();

/** The module paths of an instance. Its problems (E0608, E0609, …) are reported by the evaluation. */
export function modulePaths(ctx: CheckContext, inst: ModelInstance): ModulePath[] {
  let memo = cache.get(ctx);
  if (memo === undefined) cache.set(ctx, (memo = new Map()));
  const hit = memo.get(inst.name);
  if (hit !== undefined) return hit;
  const run = evaluateInstance(ctx, inst);
  const out: ModulePath[] = (run?.modules ?? []).map((m) => ({
    path: m.path,
    span: m.pathSpan ?? m.span,
    tensors: callTensors(ctx, m.call, m.path, new Set()),
  }));
  const taps: ModulePath[] = [];
  const visit = (e: InstExpr): void => {
    if (e.kind === 'tap') taps.push({ path: e.path, span: e.span, tensors: [] });
    if (e.kind === 'call') for (const a of [...Object.values(e.args), ...e.rest]) visit(a);
    else if (e.kind === 'binary') [e.left, e.right].forEach(visit);
    else if (e.kind === 'neg' || e.kind === 'tap') visit(e.kind === 'neg' ? e.arg : e.value);
  };
  for (const s of run?.stmts ?? []) visit(s.value);
  out.push(...taps);
  memo.set(inst.name, out);
  return out;
}

/** Every tensor path of an instance, flattened. */
export function tensorPaths(ctx: CheckContext, inst: ModelInstance): string[] {
  return modulePaths(ctx, inst).flatMap((m) => m.tensors);
}

/** The tensors a layer call creates under its path. */
function callTensors(ctx: CheckContext, call: InstCall, path: string, seen: ReadonlySet<string>): string[] {
  if (call.user === undefined) {
    if (!isLayerName(call.callee)) return [];
    // A tensor behind a flag (`bias = false`) exists unless the flag is the constant false.
    const on = (flag: string): boolean => {
      const a = call.args[flag];
      return !(a?.kind === 'const' && a.value === false);
    };
    return paramTensors(call.callee)
      .filter((t) => t.if === undefined || on(t.if))
      .map((t) => `${path}.${t.path}`);
  }
  const own = call.user.body.flatMap((s) => (s.kind === 'param' ? [`${path}.${s.name.name}`] : []));
  if (seen.has(call.callee)) return own;
  const env = new Map<string, Binding>();
  for (const [k, a] of Object.entries(call.args)) env.set(k, a.kind === 'const' ? { kind: 'const', value: a.value } : { kind: 'tensor', id: '?' });
  try {
    const body = instantiateLayerBody(call.user, env, declIndex(ctx).layers, path);
    const inner = new Set(seen).add(call.callee);
    return [...body.params.map((p) => `${path}.${p.name}`), ...body.modules.flatMap((m) => callTensors(ctx, m.call, m.path, inner))];
  } catch (e) {
    if (!(e instanceof LowerError)) throw e;
    return own; // the layer's own checks report what is wrong with its body
  }
}
