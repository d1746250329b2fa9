// The transfer plan in Scion space: for every child parameter, the parent parameter it comes from
// and the indices kept on each axis (or that it is initialized fresh). Built from the layouts and
// the unit choices of each group, before any weight is read; every problem is collected and
// reported at once (missing parents, shapes that the selection does not produce).

import { matchesPath, normalizePath } from '../../../grammar/check/patterns.ts';
import type { AxisGroup, AxisMember } from '../layout/axes.ts';
import { InheritError, layerStack, paramMap, type ModelLayout } from '../layout/layout.ts';
import { expandUnits } from '../tensor-ops.ts';

/** The parent units a group keeps (ascending or in a chosen order) and their scores, if scored. */
export interface UnitChoice {
  readonly keep: readonly number[];
  readonly scores?: readonly number[];
}

export interface PathMap {
  /** Child layer j ← parent layer layers[j] of the model's stack. */
  readonly layers?: readonly number[];
  /** Child block prefix → parent block prefix (A-SDM block copy; `down[1].res[0]` form allowed). */
  readonly blocks?: ReadonlyMap<string, string>;
}

/** childPath → the parent path it is copied from (blocks first, then layer renumbering). */
export function parentPathFn(child: ModelLayout, map: PathMap): (path: string) => string {
  const blocks = [...(map.blocks ?? new Map<string, string>())].map(([c, p]) => [normalizePath(c), normalizePath(p)] as const);
  blocks.sort((a, b) => b[0].length - a[0].length); // longest prefix wins
  const stack = layerStack(child);
  const layers = map.layers;
  return (path) => {
    for (const [c, p] of blocks) if (path === c || path.startsWith(`${c}.`)) return p + path.slice(c.length);
    if (layers !== undefined && stack !== undefined) {
      const m = new RegExp(`^${stack.name}\\.(\\d+)(\\..*)?$`).exec(path);
      if (m !== null) {
        const j = Number(m[1]);
        const pl = layers[j];
        if (pl === undefined) throw new InheritError([`child layer ${j} has no parent layer: ${layers.length} layers are selected`]);
        return `${stack.name}.${pl}${m[2] ?? ''}`;
      }
    }
    return path;
  };
}

export type TensorSource =
  | {
      readonly kind: 'parent';
      readonly parent: string;
      readonly keep: readonly (readonly number[] | null)[];
      readonly scores: readonly (readonly number[] | null)[];
    }
  | { readonly kind: 'init'; readonly reason: string };

export interface TensorPlan {
  readonly child: string;
  readonly shape: readonly number[];
  readonly source: TensorSource;
}

export interface PlanInputs {
  readonly parent: ModelLayout;
  readonly child: ModelLayout;
  readonly map: PathMap;
  /** Parent groups with a choice, keyed by group key; a heads group's KV choice is under `${key}/kv`. */
  readonly groups: ReadonlyMap<string, AxisGroup>;
  readonly choices: ReadonlyMap<string, UnitChoice>;
  /** Child parameter patterns that are initialized instead of inherited. */
  readonly except?: readonly string[];
}

interface Slot {
  member: AxisMember;
  choice: UnitChoice;
}

/** For each parent (path, axis): the group spans on it and the units each keeps. */
function slotsByAxis(groups: ReadonlyMap<string, AxisGroup>, choices: ReadonlyMap<string, UnitChoice>): Map<string, Slot[]> {
  const out = new Map<string, Slot[]>();
  const add = (members: readonly AxisMember[], choice: UnitChoice | undefined) => {
    if (choice === undefined) return;
    for (const member of members) {
      const k = `${member.path}#${member.axis}`;
      const list = out.get(k) ?? [];
      list.push({ member, choice });
      out.set(k, list);
    }
  };
  for (const [key, g] of groups) {
    add(g.members, choices.get(key));
    if (g.kv !== undefined) add(g.kv.members, choices.get(`${key}/kv`));
  }
  return out;
}

/** Builds the plan, or throws InheritError naming every child tensor that cannot be produced. */
export function buildPlan(inp: PlanInputs): TensorPlan[] {
  const parentParams = paramMap(inp.parent);
  const toParent = parentPathFn(inp.child, inp.map);
  const slots = slotsByAxis(inp.groups, inp.choices);
  const problems: string[] = [];
  const plan: TensorPlan[] = [];
  for (const c of inp.child.params) {
    const pattern = inp.except?.find((e) => matchesPath(e, c.path));
    if (pattern !== undefined) {
      plan.push({ child: c.path, shape: c.shape, source: { kind: 'init', reason: `except "${pattern}"` } });
      continue;
    }
    const parentPath = toParent(c.path);
    const p = parentParams.get(parentPath);
    if (p === undefined) {
      problems.push(`'${c.path}' [${c.shape.join(', ')}] has no parent tensor '${parentPath}'; add it to \`except\` to initialize it instead`);
      continue;
    }
    if (p.shape.length !== c.shape.length) {
      problems.push(`'${c.path}' is [${c.shape.join(', ')}] but its parent '${parentPath}' is [${p.shape.join(', ')}]`);
      continue;
    }
    const keep: (number[] | null)[] = [];
    const scores: (number[] | null)[] = [];
    p.shape.forEach((n, axis) => {
      const s = slots.get(`${parentPath}#${axis}`);
      if (s === undefined) {
        keep.push(null);
        scores.push(null);
        return;
      }
      // Spans in offset order; anything on the axis outside every span is kept whole.
      const sorted = [...s].sort((a, b) => a.member.offset - b.member.offset);
      const idx: number[] = [];
      const sc: number[] = [];
      let cursor = 0;
      for (const { member, choice } of sorted) {
        for (let i = cursor; i < member.offset; i++) idx.push(i);
        idx.push(...expandUnits(choice.keep, member.unit, member.offset));
        if (choice.scores !== undefined) for (const u of choice.keep) for (let j = 0; j < member.unit; j++) sc.push(choice.scores[u] as number);
        cursor = member.offset + spanLength(inp.groups, member, p.shape[axis] as number);
      }
      for (let i = cursor; i < n; i++) idx.push(i);
      const whole = idx.length === n && idx.every((v, i) => v === i);
      keep.push(whole ? null : idx);
      scores.push(sc.length === idx.length && !whole ? sc : null);
    });
    const produced = p.shape.map((n, a) => keep[a]?.length ?? n);
    if (produced.some((d, a) => d !== c.shape[a])) {
      problems.push(`'${c.path}' is [${c.shape.join(', ')}] but the selection gives [${produced.join(', ')}] from '${parentPath}' [${p.shape.join(', ')}]`);
      continue;
    }
    plan.push({ child: c.path, shape: c.shape, source: { kind: 'parent', parent: parentPath, keep, scores } });
  }
  if (problems.length > 0) throw new InheritError(problems);
  return plan;
}

/** How many elements a member's span covers on its axis: the owning group's units × unit. */
function spanLength(groups: ReadonlyMap<string, AxisGroup>, member: AxisMember, axisSize: number): number {
  for (const g of groups.values()) {
    if (g.members.includes(member)) return g.units * member.unit;
    if (g.kv?.members.includes(member)) return g.kv.units * member.unit;
  }
  return axisSize - member.offset;
}
