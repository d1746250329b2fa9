// Head lists keep every query head with its KV head (issue 20): a kept query head must read, in
// the child, the KV head its parent head read. Checked two ways against independent expectations:
// functionally (a parent whose dropped heads and channels are exactly zero computes the same
// logits as its child on the CPU reference), and structurally over every head list of small
// parents (the tensor plan's q/o and k/v rows, layer by layer).

import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../../compiler/presets/index.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import type { AxisGroup } from '../../../jobs/inherit/layout/axes.ts';
import { chooseUnits } from '../../../jobs/inherit/select/choose.ts';
import { InheritError } from '../../../jobs/inherit/layout/layout.ts';
import { layoutOf } from '../../../jobs/inherit/layout/layout-from-model.ts';
import { buildPlan } from '../../../jobs/inherit/write/plan.ts';
import { InheritRefusal } from '../../../jobs/inherit/spec/validate.ts';
import { inheritFrom, logits, parse, randomWeights, randoms } from './helpers.ts';

// No norms, so residual channels that are zero in the parent change nothing (an RMSNorm would
// rescale by the width); everything else as in a llama block.
const FAMILY = (params: string) => `
model P(${params}) {
  input tokens: i32[batch, ctx]
  h = Embedding(tokens, vocab, dim) as embed_tokens
  repeat i in 0..depth {
    h = h + Attention(h, heads, kv_heads = kv_heads, rope = true, causal = true) as layers[i].self_attn
    h = h + SwiGLU(h, ffn) as layers[i].mlp
  }
  output logits = Linear(h, vocab, bias = false) as lm_head
}
`;

const spec = (parent: string, child: string, fields: string) =>
  `${FAMILY(`vocab = 11, dim = 16, depth = 2, ${parent}, ffn = 12, ctx = 10`)}\nmodel C = P(${child})\ninherit C from P at "parent.safetensors" {\n${fields}\n}\n`;

/** Random parent weights with residual channels ≥ keepDim and the o_proj columns of `dropHeads` zeroed. */
function zeroedParent(text: string, keepDim: number, headWidth: number, dropHeads: readonly number[]): Map<string, HostTensor> {
  const parent = lowerModel(parse(text), 'P');
  const w = randomWeights(parent, 3);
  const zero = (path: string, f: (r: number, c: number) => boolean) => {
    const t = w.get(path)!;
    const [rows, cols] = t.shape as [number, number];
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (f(r, c)) (t.data as Float32Array)[r * cols + c] = 0;
  };
  zero('embed_tokens.weight', (_, c) => c >= keepDim); // [vocab, dim]
  for (let i = 0; i < 2; i++) {
    // o_proj [dim, heads·hd]: dropped heads write nothing, and nothing is written past keepDim.
    zero(`layers.${i}.self_attn.o_proj.weight`, (r, c) => r >= keepDim || dropHeads.includes(Math.floor(c / headWidth)));
    zero(`layers.${i}.mlp.down_proj.weight`, (r) => r >= keepDim); // [dim, ffn]
  }
  return w;
}

const TOKENS = [1, 4, 9, 2, 7, 10, 0, 3, 5, 8];

async function childMatchesParent(parentArgs: string, childArgs: string, heads: string, dropHeads: number[], headWidth: number) {
  const text = spec(parentArgs, childArgs, `  dim = [0, 1, 2, 3, 4, 5, 6, 7]\n  heads = ${heads}`);
  const r = await inheritFrom(text, zeroedParent(text, 8, headWidth, dropHeads));
  const a = logits(r.parent, r.parentW, TOKENS);
  const b = logits(r.child, r.childW, TOKENS);
  let scale = 0;
  for (const v of a) scale = Math.max(scale, Math.abs(v));
  expect(scale).toBeGreaterThan(0.1); // the comparison is not between zeros
  for (let i = 0; i < a.length; i++) expect(Math.abs((a[i] as number) - (b[i] as number))).toBeLessThan(1e-5 * (1 + scale));
}

async function refusal(parentArgs: string, childArgs: string, heads: string): Promise<string[]> {
  try {
    await inheritFrom(spec(parentArgs, childArgs, `  dim = [0, 1, 2, 3, 4, 5, 6, 7]\n  heads = ${heads}`));
  } catch (error) {
    if (!(error instanceof InheritRefusal)) throw error;
    return error.diagnostics.map((d) => `${d.code} ${d.message}`);
  }
  return [];
}

describe('head lists and grouped KV heads', () => {
  it('heads = [0, 3] of 4 heads over 2 KV heads: the child computes the parent when heads 1 and 2 are zero', async () => {
    // Child head 1 is parent head 3, which reads parent KV head 1 — the child's KV head 1.
    await childMatchesParent('heads = 4, kv_heads = 2', 'dim = 8, heads = 2, kv_heads = 2', '[0, 3]', [1, 2], 4);
  });

  it('keeps whole groups and heads within groups: [0, 1, 4, 5] and [1, 3, 5, 7] of 8 heads over 2 KV heads', async () => {
    await childMatchesParent('heads = 8, kv_heads = 2', 'dim = 8, heads = 4, kv_heads = 2', '[0, 1, 4, 5]', [2, 3, 6, 7], 2);
    await childMatchesParent('heads = 8, kv_heads = 4', 'dim = 8, heads = 4, kv_heads = 4', '[1, 3, 5, 7]', [0, 2, 4, 6], 2);
  });

  it("refuses the issue's lists, [3, 0] and [0, 2, 1, 3], instead of rewiring attention", async () => {
    expect(await refusal('heads = 4, kv_heads = 2', 'dim = 8, heads = 2, kv_heads = 2', '[3, 0]')).toEqual([
      "E0805 layers.N.self_attn (every layer): the kept heads must be listed in ascending order (the child keeps them in the parent's order): write [0, 3]",
    ]);
    const text = spec('heads = 4, kv_heads = 2', 'heads = 4, kv_heads = 2', '  heads = [0, 2, 1, 3]');
    await expect(inheritFrom(text)).rejects.toThrow('write [0, 1, 2, 3]');
  });

  it('refuses a list that splits a KV group, naming the heads of each group', async () => {
    expect(await refusal('heads = 8, kv_heads = 2', 'dim = 8, heads = 4, kv_heads = 2', '[0, 1, 2, 4]')).toEqual([
      "E0805 layers.N.self_attn (every layer): heads [0, 1, 2, 4] split the parent's KV groups (KV head 0 ← heads 0, 1, 2; KV head 1 ← heads 4): the child has 2 KV heads read by 2 query heads each, so keep exactly 2 heads of each of 2 KV groups (parent KV head k is read by heads 4k..4k+3)",
    ]);
  });
});

/** Every ordered list of `k` distinct indices below `n`. */
function orderedLists(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  return orderedLists(n, k - 1).flatMap((l) =>
    Array.from({ length: n }, (_, i) => i)
      .filter((i) => !l.includes(i))
      .map((i) => [...l, i]),
  );
}

describe('every kept query head reads the KV head its parent head read', () => {
  // (parent heads, parent KV heads) → (child heads, child KV heads); head width 4 throughout.
  const CASES: [number, number, number, number][] = [
    [4, 2, 2, 2],
    [4, 2, 2, 1],
    [4, 2, 4, 2],
    [4, 4, 2, 2],
    [6, 2, 4, 2],
    [6, 3, 2, 2],
    [6, 2, 3, 1],
  ];
  it.each(CASES)('%i heads over %i KV heads → %i over %i, every head list', async (ph, pk, ch, ck) => {
    const text = `${FAMILY(`vocab = 11, dim = ${4 * ph}, depth = 2, heads = ${ph}, kv_heads = ${pk}, ffn = 12, ctx = 5`)}\nmodel C = P(dim = ${4 * ch}, heads = ${ch}, kv_heads = ${ck})\n`;
    const program = parse(text);
    const pl = layoutOf(lowerModel(program, 'P'));
    const cl = layoutOf(lowerModel(program, 'C'));
    const g = ph / pk;
    const gc = ch / ck;
    const dim = Array.from({ length: 4 * ch }, (_, i) => i);
    let accepted = 0;
    for (const keep of orderedLists(ph, ch)) {
      // Expected independently: ascending, and exactly gc heads of each of ck KV groups.
      const groups = new Map<number, number>();
      for (const h of keep) groups.set(Math.floor(h / g), (groups.get(Math.floor(h / g)) ?? 0) + 1);
      const ok = keep.every((h, i) => i === 0 || h > keep[i - 1]!) && groups.size === ck && [...groups.values()].every((c) => c === gc);
      let plan: ReturnType<typeof buildPlan> | undefined;
      try {
        const rules = { heads: { kind: 'indices' as const, keep }, dim: { kind: 'indices' as const, keep: dim } };
        const { groups: gs, choices } = await chooseUnits({ parent: pl, child: cl, map: {}, rules });
        plan = buildPlan({ parent: pl, child: cl, map: {}, groups: gs, choices });
      } catch (error) {
        if (!(error instanceof InheritError)) throw error;
      }
      expect(plan !== undefined, `heads = [${keep.join(', ')}]`).toBe(ok);
      if (plan === undefined) continue;
      accepted++;
      expectWiring(plan, ch, g, gc, `heads = [${keep.join(', ')}]`);
    }
    expect(accepted).toBeGreaterThan(0);

    // Metrics: random scores per layer; a shape is accepted when it keeps the parent's KV heads
    // (choosing within groups) or its group size (choosing whole groups).
    const shapeOk = (ck === pk && gc <= g) || (gc === g && ck <= pk);
    for (let seed = 1; seed <= 5; seed++) {
      const score = async (grp: AxisGroup) => ({
        scores: Float64Array.from(randoms(grp.units, seed)),
        kvScores: Float64Array.from(randoms(grp.kv?.units ?? 0, seed + 99)),
      });
      let plan: ReturnType<typeof buildPlan> | undefined;
      try {
        const rules = { heads: { kind: 'metric' as const, name: 'random', score }, dim: { kind: 'indices' as const, keep: dim } };
        const { groups: gs, choices } = await chooseUnits({ parent: pl, child: cl, map: {}, rules });
        plan = buildPlan({ parent: pl, child: cl, map: {}, groups: gs, choices });
      } catch (error) {
        if (!(error instanceof InheritError)) throw error;
      }
      expect(plan !== undefined, `scores of seed ${seed}`).toBe(shapeOk);
      if (plan !== undefined) expectWiring(plan, ch, g, gc, `scores of seed ${seed}`);
    }
  });
});

/** In both layers of the plan: q/o keep the same heads, k/v the same KV heads, and each kept head its KV head. */
function expectWiring(plan: ReturnType<typeof buildPlan>, ch: number, g: number, gc: number, what: string): void {
  const rows = (path: string, axis: number): number[] => {
    const t = plan.find((x) => x.child === path)!;
    if (t.source.kind !== 'parent') throw new Error(`${path} is not inherited`);
    const k = t.source.keep[axis];
    const n = t.shape[axis] as number;
    // A whole axis (null) keeps every unit in order; else one entry per element, head width 4.
    const idx = k === null || k === undefined ? Array.from({ length: n }, (_, i) => i) : k;
    return Array.from({ length: n / 4 }, (_, u) => Math.floor((idx[u * 4] as number) / 4));
  };
  for (const layer of [0, 1]) {
    const p = `layers.${layer}.self_attn`;
    const q = rows(`${p}.q_proj.weight`, 0);
    expect(rows(`${p}.o_proj.weight`, 1)).toEqual(q);
    const k = rows(`${p}.k_proj.weight`, 0);
    expect(rows(`${p}.v_proj.weight`, 0)).toEqual(k);
    // Child head i reads child KV head ⌊i / gc⌋; its parent head read parent KV head ⌊q[i] / g⌋.
    for (let i = 0; i < ch; i++) expect(k[Math.floor(i / gc)], `layer ${layer} head ${i}, ${what}`).toBe(Math.floor(q[i]! / g));
  }
}
