// A ModelLayout from a lowered spec model: parameters (paths, shapes) and every layer call with a
// path, with its constant arguments. Only compiler *types* are used; the walk is over data.

import type { InstExpr } from '../../compiler/lower/instantiate.ts';
import type { LoweredModel } from '../../compiler/lower/lower-model.ts';
import type { ModelLayout, ModuleEntry } from './layout.ts';

export function layoutOf(m: LoweredModel): ModelLayout {
  const modules: ModuleEntry[] = [];
  const seen = new Set<string>();
  const visit = (e: InstExpr): void => {
    if (e.kind === 'call') {
      if (e.path !== undefined && !seen.has(e.path)) {
        seen.add(e.path);
        const args: Record<string, number | string | boolean> = {};
        for (const [k, v] of Object.entries(e.args)) {
          if (v.kind === 'const' && (typeof v.value === 'number' || typeof v.value === 'string' || typeof v.value === 'boolean')) args[k] = v.value;
        }
        modules.push({ path: e.path, kind: e.callee, args });
      }
      for (const a of [...Object.values(e.args), ...e.rest]) visit(a);
    } else if (e.kind === 'binary') {
      visit(e.left);
      visit(e.right);
    } else if (e.kind === 'neg') visit(e.arg);
    else if (e.kind === 'tap') visit(e.value);
  };
  for (const s of m.instance.stmts) visit(s.value);
  return { params: m.params.map((p) => ({ path: p.path, shape: p.shape })), modules };
}
