// A ModelLayout from a lowered spec model: parameters (paths, shapes) and every layer call with a
// path, with its constant arguments and where its tensor arguments' channels come from (concat
// segments and the layers that produced them). Only compiler *types* are used; the walk is over data.

import type { InstExpr } from '../../../grammar/eval/instantiate.ts';
import type { LoweredModel } from '../../../compiler/lower/lower-model.ts';
import type { ModelLayout, ModuleEntry } from './layout.ts';

/** Concat segments along channels, each the producers summed into it. */
type Flow = string[][];

const UNKNOWN: Flow = [['$?']];

/** Segment-wise union of two flows that are added (same segmentation), else unknown. */
function sum(a: Flow | undefined, b: Flow | undefined): Flow | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a.length !== b.length) return UNKNOWN;
  return a.map((seg, i) => [...new Set([...seg, ...(b[i] as string[])])]);
}

export function layoutOf(m: LoweredModel): ModelLayout {
  const modules: ModuleEntry[] = [];
  const seen = new Set<string>();
  const env = new Map<string, Flow>();
  const visit = (e: InstExpr): Flow | undefined => {
    switch (e.kind) {
      case 'const':
        return undefined;
      case 'var':
        return env.get(e.id) ?? [[`$input:${e.id}`]];
      case 'tap':
        return visit(e.value);
      case 'neg':
        return visit(e.arg);
      case 'binary': {
        const l = visit(e.left);
        const r = visit(e.right);
        return e.op === '+' || e.op === '-' ? sum(l, r) : (l ?? r);
      }
      case 'call': {
        const args: Record<string, number | string | boolean> = {};
        const from: Record<string, Flow> = {};
        for (const [k, v] of Object.entries(e.args)) {
          if (v.kind === 'const' && (typeof v.value === 'number' || typeof v.value === 'string' || typeof v.value === 'boolean')) args[k] = v.value;
          const f = visit(v);
          if (f !== undefined) from[k] = f;
        }
        const rest = e.rest.map(visit);
        if (e.path !== undefined) {
          if (!seen.has(e.path)) {
            seen.add(e.path);
            modules.push({ path: e.path, kind: e.callee, args, from });
          }
          return [[e.path]];
        }
        // Functions: concat along channels joins segments; anything else keeps its first tensor's channels.
        if (e.callee === 'concat') return args['axis'] === 1 && rest.every((f) => f !== undefined) ? rest.flatMap((f) => f as Flow) : UNKNOWN;
        return Object.values(from)[0] ?? rest.find((f) => f !== undefined);
      }
    }
  };
  const outputs: string[][] = [];
  for (const s of m.instance.stmts) {
    const f = visit(s.value) ?? UNKNOWN;
    env.set(s.id, f);
    if (s.kind === 'output') outputs.push(...f);
  }
  return { params: m.params.map((p) => ({ path: p.path, shape: p.shape })), modules, outputs };
}
