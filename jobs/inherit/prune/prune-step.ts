// Gradual pruning during training (iterative and learned-mask schedules): shapes stay fixed so the
// compiled training graph stays valid; a pruned unit is zeroed on every tensor of its dependency
// group (for heads, the query side: q rows and o columns; shared KV heads stay), so it adds
// nothing from then on. When training ends, a one-shot prune (prune.ts) with the surviving units as
// an index list produces the smaller model — the zeroed units are exactly the ones it drops.

import { moduleGroups, residualGroup, type AxisGroup } from '../layout/axes.ts';
import { channelSpaces } from '../layout/channels.ts';
import { paramMap, type ModelLayout } from '../layout/layout.ts';
import { accumulateUnitNorms, topK, zeroUnits, type Dense } from '../tensor-ops.ts';

export interface PruneStepPlan {
  readonly layout: ModelLayout;
  /** Which dependency groups are pruned. */
  readonly kinds: readonly ('dim' | 'heads' | 'ffn' | 'channels')[];
  /** Importance when the caller passes no scores: the group norm of the current weights. */
  readonly metric: 'l1' | 'l2';
}

/** The groups a plan prunes, keyed like provenance and chooseUnits ('dim', 'layers.0.mlp:ffn'). */
export function pruneGroups(plan: PruneStepPlan): AxisGroup[] {
  const params = paramMap(plan.layout);
  const out: AxisGroup[] = [];
  if (plan.kinds.includes('dim')) out.push(residualGroup(plan.layout, params));
  for (const m of plan.layout.modules)
    for (const g of moduleGroups(plan.layout, m, params)) if ((plan.kinds as readonly string[]).includes(g.kind)) out.push(g);
  if (plan.kinds.includes('channels')) out.push(...channelSpaces(plan.layout));
  return out;
}

function norms(g: AxisGroup, params: ReadonlyMap<string, Dense>, p: 1 | 2): Float64Array {
  const into = new Float64Array(g.units);
  for (const x of g.members) {
    const t = params.get(x.path);
    if (t === undefined) throw new Error(`pruneStep: no parameter '${x.path}'`);
    accumulateUnitNorms(t, x.axis, x.offset, x.unit, g.units, p, into);
  }
  return into;
}

/**
 * Zeroes, in place, `amount` (a fraction in (0, 1)) of each group's still-alive units — those with
 * the lowest scores (`scores` by group key, else the plan's norm). Returns the units zeroed now.
 *
 * @example
 * // every 100 steps: pruneStep(weights, { layout, kinds: ['ffn'], metric: 'l2' }, 0.1)
 */
export function pruneStep(
  params: ReadonlyMap<string, Dense>,
  plan: PruneStepPlan,
  amount: number,
  scores?: ReadonlyMap<string, ArrayLike<number>>,
): Map<string, number[]> {
  if (!(amount > 0 && amount < 1)) throw new RangeError(`pruneStep: amount ${amount} is not a fraction in (0, 1)`);
  const out = new Map<string, number[]>();
  for (const g of pruneGroups(plan)) {
    const n2 = norms(g, params, 2);
    const alive = Array.from({ length: g.units }, (_, u) => u).filter((u) => (n2[u] as number) > 0);
    const drop = Math.floor(alive.length * amount);
    if (drop === 0) continue;
    const s = scores?.get(g.key) ?? (plan.metric === 'l2' ? n2 : norms(g, params, 1));
    const keep = new Set(
      topK(
        alive.map((u) => s[u] as number),
        alive.length - drop,
      ).map((i) => alive[i] as number),
    );
    const gone = alive.filter((u) => !keep.has(u));
    for (const x of g.members) zeroUnits(params.get(x.path)!, x.axis, x.offset, x.unit, gone);
    out.set(g.key, gone);
  }
  return out;
}
