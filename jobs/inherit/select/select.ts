// Static selection rules: which parent layers a child keeps, and which units of a group given
// their scores — including grouped-query attention, where KV heads are shared by query heads.

import { InheritError } from '../layout/layout.ts';
import { topK } from '../tensor-ops.ts';

/**
 * `keep_ends(first, last)`: the first `first` and last `last` parent layers, and the middle of the
 * child filled with parent layers spaced evenly over the parent's middle (deterministic: the k-th
 * of m picks is the centre of the k-th of m equal slices, so there are no ties to break).
 *
 * @example keepEnds(8, 4, 1, 1) // [0, 2, 5, 7]
 */
export function keepEnds(parentDepth: number, childDepth: number, first: number, last: number): number[] {
  const problems: string[] = [];
  if (first < 0 || last < 0) problems.push(`keep_ends needs first, last ≥ 0, got ${first} and ${last}`);
  if (first + last > childDepth) problems.push(`keep_ends keeps first + last = ${first + last} layers, more than the child's depth ${childDepth}`);
  if (childDepth > parentDepth) problems.push(`the child has depth ${childDepth}, more than the parent's ${parentDepth}; inheritance can only drop layers`);
  if (problems.length > 0) throw new InheritError(problems);
  const middle = parentDepth - first - last; // parent layers between the ends
  const picks = childDepth - first - last;
  const out: number[] = [];
  for (let i = 0; i < first; i++) out.push(i);
  for (let k = 0; k < picks; k++) out.push(first + Math.floor(((k + 0.5) * middle) / picks));
  for (let i = parentDepth - last; i < parentDepth; i++) out.push(i);
  return out;
}

/**
 * Validates an explicit list of kept indices against the parent's count and the child's. With
 * `ascending` (layers and units: a list names which parent units stay, in the parent's order) an
 * unsorted list is refused rather than silently permuting the child; vocabulary lists keep their
 * order, since it gives the child's token ids.
 */
export function explicitKeep(keep: readonly number[], parentUnits: number, childUnits: number, what: string, ascending = true): number[] {
  const problems: string[] = [];
  const seen = new Set<number>();
  for (const i of keep) {
    if (!Number.isInteger(i) || i < 0 || i >= parentUnits) problems.push(`${what} ${i} is out of range: the parent has ${what}s 0..${parentUnits - 1}`);
    else if (seen.has(i)) problems.push(`${what} ${i} is listed twice`);
    seen.add(i);
  }
  if (keep.length !== childUnits) problems.push(`${keep.length} ${what}s are kept but the child has ${childUnits}`);
  if (ascending && problems.length === 0 && keep.some((v, i) => i > 0 && v < (keep[i - 1] as number)))
    problems.push(
      `the kept ${what}s must be listed in ascending order (the child keeps them in the parent's order): write [${[...keep].sort((a, b) => a - b).join(', ')}]`,
    );
  if (problems.length > 0) throw new InheritError(problems);
  return [...keep];
}

export interface HeadChoice {
  /** Kept query heads (parent indices, ascending). */
  readonly q: number[];
  /** Kept KV heads (parent indices, ascending). */
  readonly kv: number[];
}

/**
 * Chooses attention heads. With as many KV heads as the parent, the child keeps its best query
 * heads within every KV group; with the parent's group size, it keeps whole KV groups (a KV head
 * and all its query heads), ranked by the sum of their scores. Any other shape cannot be sliced.
 * `qScores` has one score per parent query head, `kvScores` one per parent KV head.
 */
export function chooseHeads(
  parent: { heads: number; kv: number },
  child: { heads: number; kv: number },
  qScores: ArrayLike<number>,
  kvScores: ArrayLike<number>,
): HeadChoice {
  const g = parent.heads / parent.kv;
  const gc = child.heads / child.kv;
  if (!Number.isInteger(g) || !Number.isInteger(gc))
    throw new InheritError([`heads must group evenly over kv heads (parent ${parent.heads}/${parent.kv}, child ${child.heads}/${child.kv})`]);
  if (child.kv === parent.kv && gc <= g) {
    const q: number[] = [];
    for (let kv = 0; kv < parent.kv; kv++) {
      const local = Array.from({ length: g }, (_, j) => qScores[kv * g + j] as number);
      for (const j of topK(local, gc)) q.push(kv * g + j);
    }
    return { q, kv: Array.from({ length: parent.kv }, (_, i) => i) };
  }
  if (gc === g && child.kv <= parent.kv) {
    const groupScores = Array.from({ length: parent.kv }, (_, kv) => {
      let s = kvScores[kv] as number;
      for (let j = 0; j < g; j++) s += qScores[kv * g + j] as number;
      return s;
    });
    const kv = topK(groupScores, child.kv);
    return { q: kv.flatMap((k) => Array.from({ length: g }, (_, j) => k * g + j)), kv };
  }
  throw new InheritError([
    `cannot select ${child.heads} heads with ${child.kv} kv heads from ${parent.heads} heads with ${parent.kv} kv heads: keep the parent's ${parent.kv} kv heads (choosing query heads within each group) or its group size of ${g} query heads per kv head (choosing whole groups)`,
  ]);
}

/**
 * An explicit head list (ascending, validated by explicitKeep) with the KV heads it reads. Child
 * query head i reads child KV head ⌊i / gc⌋ (gc = child heads / child KV heads), so the list must
 * keep exactly gc query heads of every KV group it touches, and touch as many groups as the child
 * has KV heads; then kept head i reads the KV head its parent head read.
 */
export function explicitHeads(q: readonly number[], parent: { heads: number; kv: number }, child: { heads: number; kv: number }): HeadChoice {
  const g = parent.heads / parent.kv;
  const gc = child.heads / child.kv;
  const byKv = new Map<number, number[]>();
  for (const h of q) byKv.set(Math.floor(h / g), [...(byKv.get(Math.floor(h / g)) ?? []), h]);
  const kv = [...byKv.keys()].sort((a, b) => a - b);
  const uneven = kv.filter((k) => byKv.get(k)!.length !== gc);
  if (kv.length !== child.kv || uneven.length > 0) {
    const groups = kv.map((k) => `KV head ${k} ← heads ${byKv.get(k)!.join(', ')}`).join('; ');
    throw new InheritError([
      `heads [${q.join(', ')}] split the parent's KV groups (${groups}): the child has ${child.kv} KV head${child.kv === 1 ? '' : 's'} read by ${gc} query head${gc === 1 ? '' : 's'} each, so keep exactly ${gc} head${gc === 1 ? '' : 's'} of each of ${child.kv} KV group${child.kv === 1 ? '' : 's'} (${g === 1 ? 'parent KV head k is read by head k' : `parent KV head k is read by heads ${g}k..${g}k+${g - 1}`})`,
    ]);
  }
  return { q: [...q], kv };
}

/** Query heads → the KV heads they read (ascending). */
export function kvHeadsOf(q: readonly number[], parent: { heads: number; kv: number }): number[] {
  const g = parent.heads / parent.kv;
  return [...new Set(q.map((h) => Math.floor(h / g)))].sort((a, b) => a - b);
}
