// Selection rules and tensor slicing against hand-computed values.

import { describe, expect, it } from 'vitest';
import type { AxisGroup } from '../../../jobs/inherit/layout/axes.ts';
import { mergeLayers, normScorer } from '../../../jobs/inherit/select/choose.ts';
import { InheritError } from '../../../jobs/inherit/layout/layout.ts';
import { chooseHeads, explicitHeads, explicitKeep, keepEnds, kvHeadsOf } from '../../../jobs/inherit/select/select.ts';
import { selectAxes, topK, type Dense } from '../../../jobs/inherit/tensor-ops.ts';
import { mergeTensorLayers } from '../../../jobs/inherit/spec/validate.ts';

describe('selection rules', () => {
  it('keep_ends spaces the middle evenly', () => {
    expect(keepEnds(8, 4, 1, 1)).toEqual([0, 2, 5, 7]); // middle 1..6, picks at centres 1+1, 1+4
    expect(keepEnds(10, 5, 2, 2)).toEqual([0, 1, 5, 8, 9]); // one middle pick: 2 + floor(0.5·6)
    expect(keepEnds(4, 4, 1, 1)).toEqual([0, 1, 2, 3]);
    expect(() => keepEnds(4, 2, 2, 1)).toThrow('more than the child');
  });

  it('topK keeps the best in index order, ties to the lower index', () => {
    expect(topK([0.1, 0.9, 0.5, 0.9], 2)).toEqual([1, 3]);
    expect(topK([1, 1, 1, 1], 2)).toEqual([0, 1]);
  });

  it('chooseHeads: within groups when kv heads stay, whole groups when the group size stays', () => {
    // 8 heads over 4 kv heads (groups of 2): keep the better head of each group.
    expect(chooseHeads({ heads: 8, kv: 4 }, { heads: 4, kv: 4 }, [1, 2, 4, 3, 0, 9, 5, 5], [0, 0, 0, 0])).toEqual({ q: [1, 2, 5, 6], kv: [0, 1, 2, 3] });
    // → 4 heads over 2 kv heads: the two groups with the largest q + kv score sums (3+0.5, 7+0, 9+0, 10+0.1).
    expect(chooseHeads({ heads: 8, kv: 4 }, { heads: 4, kv: 2 }, [1, 2, 4, 3, 0, 9, 5, 5], [0.5, 0, 0, 0.1])).toEqual({ q: [4, 5, 6, 7], kv: [2, 3] });
    expect(() => chooseHeads({ heads: 8, kv: 4 }, { heads: 3, kv: 3 }, new Float64Array(8), new Float64Array(4))).toThrow('cannot select');
    expect(kvHeadsOf([1, 2, 7], { heads: 8, kv: 4 })).toEqual([0, 1, 3]);
  });

  it('selectAxes gathers rows and columns in the listed order', () => {
    const t = { shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i) };
    expect(
      Array.from(
        selectAxes(t, [
          [2, 0],
          [1, 3],
        ]).data,
      ),
    ).toEqual([9, 11, 1, 3]);
    expect(selectAxes(t, [null, [0]]).shape).toEqual([3, 1]);
    const c = { shape: [2, 2, 2, 2], data: Float32Array.from({ length: 16 }, (_, i) => i) };
    expect(Array.from(selectAxes(c, [[1], null, null, [0]]).data)).toEqual([8, 10, 12, 14]);
  });
});

describe('the worked example of docs/inheritance.md', () => {
  const t = (shape: number[], data: number[]): Dense => ({ shape, data: Float32Array.from(data) });
  const W: Record<string, Dense> = {
    gate: t([4, 2], [1, 0, 0, 2, 1, 1, 0, 0]),
    up: t([4, 2], [1, 1, 0, 1, 0, 0, 3, 0]),
    down: t([2, 4], [1, 0, 1, 0, 0, 1, 1, 1]),
  };
  const ffn: AxisGroup = {
    key: 'mlp:ffn',
    kind: 'ffn',
    module: 'mlp',
    units: 4,
    members: [
      { path: 'gate', axis: 0, offset: 0, unit: 1 },
      { path: 'up', axis: 0, offset: 0, unit: 1 },
      { path: 'down', axis: 1, offset: 0, unit: 1 },
    ],
  };
  const read = async (p: string) => W[p]!;

  it('l1 and l2 over gate rows, up rows and down columns; ties to the lower index', async () => {
    const l1 = (await normScorer(1, read)(ffn)).scores;
    const l2 = (await normScorer(2, read)(ffn)).scores;
    expect(Array.from(l1)).toEqual([4, 4, 4, 4]);
    expect(Array.from(l2).map((x) => x * x)).toEqual([4, 6, 4, 10].map((x) => expect.closeTo(x, 12)));
    expect(topK(l2, 2)).toEqual([1, 3]);
    expect(topK(l1, 2)).toEqual([0, 1]);
  });

  it('heads: the best of each group, or whole groups by KV + query scores; lists keep groups', () => {
    const q = [0.5, 0.9, 0.7, 0.2];
    const kv = [1.0, 0.1];
    expect(chooseHeads({ heads: 4, kv: 2 }, { heads: 2, kv: 2 }, q, kv)).toEqual({ q: [1, 2], kv: [0, 1] });
    expect(chooseHeads({ heads: 4, kv: 2 }, { heads: 2, kv: 1 }, q, kv)).toEqual({ q: [0, 1], kv: [0] });
    expect(explicitHeads([0, 3], { heads: 4, kv: 2 }, { heads: 2, kv: 2 })).toEqual({ q: [0, 3], kv: [0, 1] });
    expect(() => explicitHeads([0, 1], { heads: 4, kv: 2 }, { heads: 2, kv: 2 })).toThrow(InheritError);
    expect(() => explicitKeep([3, 0], 4, 2, 'head')).toThrow('write [0, 3]');
    expect(explicitKeep([3, 0], 4, 2, 'token', false)).toEqual([3, 0]); // vocabulary lists keep their order
  });
});

describe('refusals are one reason each', () => {
  it('says a problem of several layers once, naming them, or "every layer"', () => {
    const p = (module: string, text: string) => ({ field: 'ffn', module, text });
    const merged = mergeLayers([p('layers.0.mlp', 'too wide'), p('layers.2.mlp', 'too wide'), p('layers.3.mlp', 'other'), p('', 'vocab')], 4);
    expect(merged.map((m) => m.text)).toEqual(['layers.N.mlp (layers 0, 2): too wide', 'layers.3.mlp: other', 'vocab']);
    expect(
      mergeLayers(
        [0, 1].map((i) => p(`h.${i}.mlp`, 'x')),
        2,
      ).map((m) => m.text),
    ).toEqual(['h.N.mlp (every layer): x']);
    expect(mergeTensorLayers(["'layers.0.a.weight' is [2] but [3]", "'layers.1.a.weight' is [2] but [3]", "'norm.weight' is [1]"], 2)).toEqual([
      "'layers.N.a.weight' is [2] but [3] (in every layer)",
      "'norm.weight' is [1]",
    ]);
  });
});
