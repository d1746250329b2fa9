// The plan in checkpoint space: the Scion-space plan translated through the naming presets into
// one entry per child checkpoint tensor, in the checkpoint's own names and layouts (GPT-2's fused,
// transposed c_attn included). Selecting indices commutes with renaming, transposing and
// concatenating, so the child is produced by index-selecting parent checkpoint tensors directly,
// one at a time — and the same entries, written as provenance.json, replay on a sibling checkpoint
// without the spec.

import type { Init } from '../../../compiler/layers/init.ts';
import type { PlanEntry } from '../../../compiler/presets/mapping.ts';
import { InheritError } from '../layout/layout.ts';
import type { TensorPlan } from './plan.ts';

export interface InitPart {
  readonly path: string;
  readonly shape: readonly number[];
  readonly init: Init;
}

export type CheckpointSource =
  | {
      readonly kind: 'parent';
      /** The parent checkpoint tensor's name (as the preset names it; fallbacks resolved at run time). */
      readonly parent: string;
      readonly parentFallbacks: readonly string[];
      readonly keep: readonly (readonly number[] | null)[];
      readonly scores: readonly (readonly number[] | null)[];
    }
  | {
      readonly kind: 'init';
      readonly reason: string;
      readonly seed: number;
      /** The Scion parameters drawn, concatenated along `axis` and transposed like the preset says. */
      readonly parts: readonly InitPart[];
      readonly axis: number;
      readonly transpose: boolean;
    };

export interface CheckpointTensorPlan {
  readonly name: string;
  readonly shape: readonly number[];
  readonly source: CheckpointSource;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const same = (a: readonly number[] | null, b: readonly number[] | null): boolean =>
  a === b || (a !== null && b !== null && a.length === b.length && a.every((v, i) => v === b[i]));

/**
 * Translates a Scion-space plan. `initOf` gives the family init of a child parameter (for tensors
 * that are not inherited); `seed` is recorded so replays draw the same values.
 */
export function toCheckpointPlan(
  plan: readonly TensorPlan[],
  childEntries: readonly PlanEntry[],
  parentEntries: readonly PlanEntry[],
  initOf: (path: string) => Init,
  seed: number,
): CheckpointTensorPlan[] {
  const byChild = new Map(plan.map((t) => [t.child, t]));
  const parentOf = new Map<string, { entry: PlanEntry; part: number }>();
  for (const e of parentEntries) e.parts.forEach((p, k) => parentOf.set(p.path, { entry: e, part: k }));
  const problems: string[] = [];
  const out: CheckpointTensorPlan[] = [];
  for (const e of childEntries) {
    const parts = e.parts.map((p) => byChild.get(p.path));
    if (parts.some((t) => t === undefined)) throw new Error(`bug: child checkpoint tensor '${e.hf}' has a part missing from the plan`);
    const tps = parts as TensorPlan[];
    if (tps.every((t) => t.source.kind === 'init')) {
      const reason = tps[0]!.source.kind === 'init' ? tps[0]!.source.reason : '';
      out.push({
        name: e.hf,
        shape: e.shape,
        source: {
          kind: 'init',
          reason,
          seed,
          parts: e.parts.map((p) => ({ path: p.path, shape: p.shape, init: initOf(p.path) })),
          axis: e.axis,
          transpose: e.transpose,
        },
      });
      continue;
    }
    if (tps.some((t) => t.source.kind === 'init')) {
      problems.push(`'${e.hf}' fuses ${e.parts.map((p) => `'${p.path}'`).join(', ')}; inherit all of them or none (an \`except\` pattern splits it)`);
      continue;
    }
    const srcs = tps.map((t) => t.source as Extract<TensorPlan['source'], { kind: 'parent' }>);
    const first = parentOf.get(srcs[0]!.parent);
    if (first === undefined) throw new Error(`bug: parent parameter '${srcs[0]!.parent}' is in no checkpoint entry`);
    const pe = first.entry;
    const aligned = pe.parts.length === srcs.length && srcs.every((s, k) => pe.parts[k]?.path === s.parent);
    if (!aligned) {
      problems.push(`'${e.hf}' is made of ${srcs.map((s) => `'${s.parent}'`).join(', ')}, which the parent's '${pe.hf}' does not hold in that order`);
      continue;
    }
    const rank = pe.parts[0]!.shape.length;
    const keep: (number[] | null)[] = [];
    const scores: (number[] | null)[] = [];
    let ok = true;
    for (let a = 0; a < rank; a++) {
      if (srcs.length > 1 && a === pe.axis) {
        // The fused axis: each part's kept indices, shifted by the parent parts before it.
        const idx: number[] = [];
        const sc: number[] = [];
        let offset = 0;
        let allScored = true;
        srcs.forEach((s, k) => {
          const size = pe.parts[k]!.shape[a] as number;
          idx.push(...(s.keep[a] ?? range(size)).map((i) => i + offset));
          const ps = s.scores[a];
          if (ps === null || ps === undefined) allScored = false;
          else sc.push(...ps);
          offset += size;
        });
        const whole = idx.length === offset && idx.every((v, i) => v === i);
        keep.push(whole ? null : idx);
        scores.push(allScored && !whole ? sc : null);
      } else {
        const k0 = srcs[0]!.keep[a] ?? null;
        if (!srcs.every((s) => same(s.keep[a] ?? null, k0))) {
          problems.push(`'${e.hf}': its fused parts keep different indices on axis ${a}`);
          ok = false;
          break;
        }
        keep.push(k0 === null ? null : [...k0]);
        scores.push(srcs[0]!.scores[a] === null || srcs[0]!.scores[a] === undefined ? null : [...(srcs[0]!.scores[a] as number[])]);
      }
    }
    if (!ok) continue;
    if (pe.transpose && rank === 2) {
      keep.reverse();
      scores.reverse();
    }
    out.push({ name: e.hf, shape: e.shape, source: { kind: 'parent', parent: pe.hf, parentFallbacks: pe.readFallbacks, keep, scores } });
  }
  if (problems.length > 0) throw new InheritError(problems);
  return out;
}
