// Deciding which units every group keeps: compare each child group with its parent group (after
// layer renumbering and block copies), and where the child is smaller — or an explicit list is
// given — score the parent's units and keep the best, the same ones on every tensor of the group.

import { moduleGroups, residualGroup, vocabGroup, type AxisGroup, type GroupKind } from '../layout/axes.ts';
import { channelSpaces } from '../layout/channels.ts';
import { InheritError, layerStack, paramMap, residualWidth, type ModelLayout } from '../layout/layout.ts';
import { parentPathFn, type PathMap, type UnitChoice } from '../write/plan.ts';
import { chooseHeads, explicitHeads, explicitKeep } from './select.ts';
import { accumulateUnitNorms, topK, type Dense } from '../tensor-ops.ts';

/** One score per unit of a group (and per KV head for a heads group). */
export interface GroupScores {
  readonly scores: Float64Array;
  readonly kvScores?: Float64Array;
}

export type Scorer = (group: AxisGroup) => Promise<GroupScores>;

export type UnitRule =
  | { readonly kind: 'metric'; readonly name: string; readonly score: Scorer }
  | { readonly kind: 'indices'; readonly keep: readonly number[] };

export interface ChooseInputs {
  readonly parent: ModelLayout;
  readonly child: ModelLayout;
  readonly map: PathMap;
  readonly rules: Partial<Record<Exclude<GroupKind, 'vocab'>, UnitRule>>;
  /** newToOld from vocabulary compression (child id → parent id), or an explicit id list. */
  readonly vocab?: readonly number[];
}

export interface Choices {
  readonly groups: Map<string, AxisGroup>;
  readonly choices: Map<string, UnitChoice>;
}

/** l1 / l2 norm of each unit over every tensor of the group (and of each KV head). */
export function normScorer(p: 1 | 2, read: (path: string) => Promise<Dense>): Scorer {
  return async (g) => {
    const scores = new Float64Array(g.units);
    const kvScores = g.kv === undefined ? undefined : new Float64Array(g.kv.units);
    const sum = async (members: AxisGroup['members'], units: number, into: Float64Array) => {
      for (const x of members) accumulateUnitNorms(await read(x.path), x.axis, x.offset, x.unit, units, p, into);
      if (p === 2) for (let i = 0; i < into.length; i++) into[i] = Math.sqrt(into[i] as number);
    };
    await sum(g.members, g.units, scores);
    if (g.kv !== undefined && kvScores !== undefined) await sum(g.kv.members, g.kv.units, kvScores);
    return kvScores === undefined ? { scores } : { scores, kvScores };
  };
}

/**
 * The child's unit count for every parent group it maps onto (after layer renumbering and block
 * copies), keyed by the parent group's key; `dim` for the residual width. Metrics that need the
 * target before scoring (learned masks train to it) read this.
 */
export function groupTargets(parent: ModelLayout, child: ModelLayout, map: PathMap): Map<string, number> {
  const out = new Map<string, number>();
  const toParent = parentPathFn(child, map);
  const parentModules = new Map(parent.modules.map((m) => [m.path, m]));
  const pParams = paramMap(parent);
  const cParams = paramMap(child);
  for (const cm of child.modules) {
    const pm = parentModules.get(toParent(cm.path));
    if (pm === undefined || pm.kind !== cm.kind) continue;
    const pgs = new Map(moduleGroups(parent, pm, pParams).map((g) => [g.kind, g]));
    for (const cg of moduleGroups(child, cm, cParams)) {
      const pg = pgs.get(cg.kind);
      if (pg !== undefined) out.set(pg.key, cg.units);
    }
  }
  for (const [pg, cg] of spacePairs(parent, child, toParent)) out.set(pg.key, cg.units);
  const cw = residualWidth(child);
  if (cw !== undefined) out.set('dim', cw);
  return out;
}

/** Each child channel space with the parent space it maps onto (by owner layer, after block copies). */
export function spacePairs(parent: ModelLayout, child: ModelLayout, toParent: (path: string) => string): [AxisGroup, AxisGroup][] {
  const ps = new Map(channelSpaces(parent).map((g) => [g.module, g]));
  const out: [AxisGroup, AxisGroup][] = [];
  for (const cg of channelSpaces(child)) {
    const pg = ps.get(toParent(cg.module));
    if (pg !== undefined) out.push([pg, cg]);
  }
  return out;
}

const NOUN: Record<GroupKind, string> = { dim: 'residual channel', heads: 'head', ffn: 'neuron', channels: 'channel group', vocab: 'token' };

/** Picks units for one group pair; returns choices keyed like buildPlan expects. */
async function decide(key: string, pg: AxisGroup, childUnits: number, rule: UnitRule | undefined, out: Map<string, UnitChoice>): Promise<void> {
  if (rule === undefined) {
    if (childUnits === pg.units) return;
    throw new InheritError([
      `the child has ${childUnits} ${NOUN[pg.kind]}s where the parent has ${pg.units}; declare how to choose them (\`${pg.kind} = l2\`, \`taylor(calib)\`, or an index list)`,
    ]);
  }
  if (rule.kind === 'indices') {
    out.set(key, { keep: explicitKeep(rule.keep, pg.units, childUnits, NOUN[pg.kind]) });
    return;
  }
  if (childUnits === pg.units) return; // nothing to choose: keep all, in order
  if (childUnits > pg.units)
    throw new InheritError([`the child has ${childUnits} ${NOUN[pg.kind]}s, more than the parent's ${pg.units}: inheritance only selects`]);
  const { scores } = await rule.score(pg);
  out.set(key, { keep: topK(scores, childUnits), scores: Array.from(scores) });
}

/**
 * Chooses the kept units of every group.
 *
 * @example
 * const { groups, choices } = await chooseUnits({ parent, child, map: { layers: [0, 2] }, rules: { ffn: { kind: 'metric', name: 'l2', score: normScorer(2, read) } } });
 */
export async function chooseUnits(inp: ChooseInputs): Promise<Choices> {
  const groups = new Map<string, AxisGroup>();
  const choices = new Map<string, UnitChoice>();
  const problems: Problem[] = [];
  // Runs one group's decision; a refusal is kept with its field and the child module it is about.
  const attempt = async (field: string, module: string, f: () => Promise<void>) => {
    try {
      await f();
    } catch (error) {
      if (!(error instanceof InheritError)) throw error;
      for (const text of error.problems) problems.push({ field, module, text });
    }
  };
  const toParent = parentPathFn(inp.child, inp.map);
  const parentModules = new Map(inp.parent.modules.map((m) => [m.path, m]));
  const pParams = paramMap(inp.parent);
  const cParams = paramMap(inp.child);

  for (const cm of inp.child.modules) {
    const cgs = moduleGroups(inp.child, cm, cParams);
    if (cgs.length === 0) continue;
    const pm = parentModules.get(toParent(cm.path));
    if (pm === undefined || pm.kind !== cm.kind) continue; // reported by buildPlan as missing tensors
    const pgs = new Map(moduleGroups(inp.parent, pm, pParams).map((g) => [g.kind, g]));
    for (const cg of cgs) {
      const pg = pgs.get(cg.kind);
      if (pg === undefined || cg.kind === 'vocab' || cg.kind === 'dim') continue;
      groups.set(pg.key, pg);
      const rule = inp.rules[cg.kind];
      if (cg.kind !== 'heads') {
        await attempt(cg.kind, cm.path, () => decide(pg.key, pg, cg.units, rule, choices));
        continue;
      }
      await attempt('heads', cm.path, async () => {
        const parent = { heads: pg.units, kv: pg.kv?.units ?? pg.units };
        const child = { heads: cg.units, kv: cg.kv?.units ?? cg.units };
        const pw = pg.members[0]?.unit ?? 1;
        const cw = cg.members[0]?.unit ?? 1;
        if (pw !== cw)
          throw new InheritError([
            `the child's head width ${cw} differs from the parent's ${pw}: heads are kept whole, so dim / heads must stay the same (give the child dim = ${pw * child.heads} for ${child.heads} heads)`,
          ]);
        if (rule === undefined && parent.heads === child.heads && parent.kv === child.kv) return;
        if (rule === undefined)
          throw new InheritError([
            `the child has ${child.heads} heads over ${child.kv} KV heads where the parent has ${parent.heads} over ${parent.kv}; declare how to choose them (\`heads = l2\`, \`taylor(calib)\`, or an index list)`,
          ]);
        let q: number[];
        let kv: number[];
        let scores: number[] | undefined;
        if (rule.kind === 'indices') {
          ({ q, kv } = explicitHeads(explicitKeep(rule.keep, parent.heads, child.heads, 'head'), parent, child));
        } else {
          if (parent.heads === child.heads && parent.kv === child.kv) return;
          const s = await rule.score(pg);
          ({ q, kv } = chooseHeads(parent, child, s.scores, s.kvScores ?? new Float64Array(parent.kv)));
          scores = Array.from(s.scores);
        }
        choices.set(pg.key, scores === undefined ? { keep: q } : { keep: q, scores });
        if (pg.kv !== undefined) choices.set(`${pg.key}/kv`, { keep: kv });
      });
    }
  }

  // UNet channel spaces: a unit is one GroupNorm group's channels in parent and child alike.
  for (const [pg, cg] of spacePairs(inp.parent, inp.child, toParent)) {
    groups.set(pg.key, pg);
    await attempt('channels', cg.module, async () => {
      const pu = pg.members[0]?.unit ?? 1;
      const cu = cg.members[0]?.unit ?? 1;
      // The same channels, whatever their grouping: nothing to choose, all are kept in order.
      if (pg.units * pu === cg.units * cu && inp.rules.channels?.kind !== 'indices') return;
      if (pu !== cu)
        throw new InheritError([
          `the parent's channels go in GroupNorm groups of ${pu} and the child's of ${cu}; keep the channels per group (scale \`groups\` with the width)`,
        ]);
      await decide(pg.key, pg, cg.units, inp.rules.channels, choices);
    });
  }

  const pw = residualWidth(inp.parent);
  const cw = residualWidth(inp.child);
  if (pw !== undefined && cw !== undefined && (pw !== cw || inp.rules.dim?.kind === 'indices')) {
    await attempt('dim', '', async () => {
      const g = residualGroup(inp.parent, pParams);
      groups.set(g.key, g);
      await decide(g.key, g, cw, inp.rules.dim, choices);
    });
  }

  const pv = vocabGroup(inp.parent, pParams);
  const cv = vocabGroup(inp.child, cParams);
  if (pv !== undefined && cv !== undefined) {
    await attempt('vocab', '', async () => {
      if (inp.vocab === undefined) {
        if (pv.units !== cv.units)
          throw new InheritError([`the child's vocabulary has ${cv.units} tokens and the parent's ${pv.units}; declare \`vocab = compress(…)\` to remap it`]);
        return;
      }
      groups.set(pv.key, pv);
      choices.set(pv.key, { keep: explicitKeep(inp.vocab!, pv.units, cv.units, 'token', false) });
    });
  }
  if (problems.length > 0) {
    const merged = mergeLayers(problems, layerStack(inp.child)?.depth);
    throw new InheritError(
      merged.map((p) => p.text),
      merged.map((p) => p.field),
    );
  }
  return { groups, choices };
}

interface Problem {
  readonly field: string;
  /** The child module the problem is about ('' for model-wide groups). */
  readonly module: string;
  readonly text: string;
}

/**
 * One reason per problem, not one per layer: the same problem in several layers of the stack
 * (`layers.3.mlp`) is said once, naming the layers — or "every layer" when it is all of them.
 */
export function mergeLayers(problems: readonly Problem[], depth: number | undefined): Problem[] {
  const merged = new Map<string, { p: Problem; stack: string; rest: string; layers: number[] }>();
  const out: (Problem | string)[] = [];
  for (const p of problems) {
    const m = /^(layers|blocks|h)\.(\d+)(\..*)?$/.exec(p.module);
    if (m === null) {
      out.push(p);
      continue;
    }
    const key = JSON.stringify([p.field, m[1], m[3] ?? '', p.text]);
    const hit = merged.get(key);
    if (hit === undefined) {
      merged.set(key, { p, stack: m[1]!, rest: m[3] ?? '', layers: [Number(m[2])] });
      out.push(key);
    } else hit.layers.push(Number(m[2]));
  }
  return out.map((x) => {
    if (typeof x !== 'string') return { ...x, text: x.module === '' ? x.text : `${x.module}: ${x.text}` };
    const { p, stack, rest, layers } = merged.get(x)!;
    if (layers.length === 1) return { ...p, text: `${stack}.${layers[0]}${rest}: ${p.text}` };
    const which = layers.length === depth ? 'every layer' : `layers ${layers.join(', ')}`;
    return { ...p, text: `${stack}.N${rest} (${which}): ${p.text}` };
  });
}
