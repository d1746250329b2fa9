// The student of a `train` whose target names an adapter (`train Genre` with `adapter Genre on
// GenreClassifier`): the adapted model from compiler/adapters (LoRA beside every targeted Linear,
// and the same model with the adapter off sharing every node up to the first adapted Linear).
//
// What trains: the adapter's A and B, plus the parameters the model's `inherit` leaves out with
// `except` — they have no inherited value (the `score` head of a classifier on a language model),
// so freezing them at their random init would make the task unlearnable. Everything else the
// adapter freezes stays frozen.
//
// `base = <adapter.on> frozen` reads the adapted graph's base taps instead of inlining a second
// copy: the base shares the student's parameter nodes, so no `base.` weights are fed.

import type { Program } from '../../grammar/ast.ts';
import { matchesPath } from '../../grammar/check/patterns.ts';
import { adapterSpec, applyAdapter, type AdaptedModel } from '../adapters/index.ts';
import type { Graph } from '../ir/graph.ts';
import { lowerModel } from './lower-model.ts';

/** Whether `name` is an `adapter` declaration of the programs. */
export function isAdapterName(programs: Program | readonly Program[], name: string): boolean {
  return listOf(programs).some((p) => p.decls.some((d) => d.kind === 'adapter' && d.name.name === name));
}

function listOf(programs: Program | readonly Program[]): readonly Program[] {
  return Array.isArray(programs) ? (programs as readonly Program[]) : [programs as Program];
}

/** The `except` patterns of `inherit <model> from …`, or [] when the model is not inherited. */
export function inheritExcept(programs: Program | readonly Program[], model: string): string[] {
  for (const p of listOf(programs)) {
    for (const d of p.decls) {
      if (d.kind !== 'inherit' || d.child.name !== model) continue;
      const f = d.fields.find((x) => x.key === 'except');
      if (f === undefined || f.value.kind !== 'list') return [];
      return f.value.items.flatMap((i) => (i.kind === 'str' ? [i.value] : []));
    }
  }
  return [];
}

export interface AdaptedStudent {
  model: AdaptedModel;
  /** Paths of the adapted model's own parameters that train beside A and B (inherit `except`). */
  fresh: string[];
}

/**
 * Lowers adapter `name` for training: dropout on when `train`, the base path when `withBase`,
 * and the model's inherit-`except` parameters made trainable in the graph and the param list.
 *
 * @example lowerAdaptedStudent(programs, 'Genre', 16, true, true).fresh // ['score.weight', 'score.bias']
 */
export function lowerAdaptedStudent(programs: Program | readonly Program[], name: string, batch: number, train: boolean, withBase: boolean): AdaptedStudent {
  const decl = listOf(programs)
    .flatMap((p) => p.decls)
    .find((d) => d.kind === 'adapter' && d.name.name === name);
  if (decl?.kind !== 'adapter') throw new Error(`bug: lowerAdaptedStudent: no adapter '${name}'`);
  const spec = adapterSpec(decl);
  const base = lowerModel(programs, spec.on, { dims: { batch } });
  const am = applyAdapter(base, spec, { train, base: withBase });
  const except = inheritExcept(programs, spec.on);
  const fresh = base.params.filter((p) => except.some((pat) => matchesPath(pat, p.path))).map((p) => p.path);
  if (fresh.length === 0) return { model: am, fresh };
  const set = new Set(fresh);
  const graph: Graph = {
    nodes: am.graph.nodes.map((n) => (n.op === 'param' && set.has(n.attrs['name'] as string) ? { ...n, attrs: { ...n.attrs, trainable: true } } : n)),
    outputs: am.graph.outputs,
  };
  const params = am.params.map((p) => (set.has(p.path) ? { ...p, trainable: true } : p));
  return { model: { ...am, graph, params }, fresh };
}
