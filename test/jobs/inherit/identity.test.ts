// The acceptance checks, run on the real lowering and the reference interpreter: a child
// keeping every layer and unit reproduces the parent's logits exactly; a child dropping layers
// equals the parent with those layers made inert (o_proj and down_proj zeroed, so each adds
// exactly 0 to the residual stream); a compressed-vocabulary child gives the parent's logits at
// the kept ids; a child with fewer FFN neurons or heads equals the parent with the dropped units'
// outputs zeroed.

import { describe, expect, it } from 'vitest';
import { LLAMA, PARENT, inheritFrom, logits, randomWeights } from './helpers.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';

const TOKENS = [1, 5, 12, 3, 0];

function inherit(child: string, fields: string): string {
  return `${LLAMA('P', PARENT)}\nmodel C = P(${child})\ninherit C from P at "parent.safetensors" {\n${fields}\n}\n`;
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

describe('inheritance identities on the reference interpreter', () => {
  it('a child that keeps everything reproduces the parent logits bit for bit', async () => {
    const r = await inheritFrom(inherit('depth = 4', ''));
    expect(Array.from(logits(r.child, r.childW, TOKENS))).toEqual(Array.from(logits(r.parent, r.parentW, TOKENS)));
    for (const t of Object.values(r.out.provenance.tensors)) expect(t.keep?.every((k) => k === null)).toBe(true);
  });

  it('a child keeping layers [0, 2, 3] equals the parent with layer 1 inert', async () => {
    const text = inherit('depth = 3', '  layers = [0, 2, 3]');
    const parent = lowerModel((await import('./helpers.ts')).parse(text), 'P');
    const w = randomWeights(parent, 2);
    const r = await inheritFrom(text, w);
    const inert = new Map(w);
    for (const k of ['layers.1.self_attn.o_proj.weight', 'layers.1.mlp.down_proj.weight'])
      inert.set(k, { shape: w.get(k)!.shape, data: new Float32Array(w.get(k)!.data.length) });
    expect(Array.from(logits(r.child, r.childW, TOKENS))).toEqual(Array.from(logits(r.parent, inert, TOKENS)));
    expect(r.out.provenance.layers).toEqual([0, 2, 3]);
    expect(r.out.provenance.tensors['model.layers.1.mlp.up_proj.weight']?.parent).toBe('model.layers.2.mlp.up_proj.weight');
  });

  it('keep_ends(1, 1) on depth 4 → 3 keeps [0, 2, 3] (the middle pick is the centre of layers 1..2)', async () => {
    const r = await inheritFrom(inherit('depth = 3', '  layers = keep_ends(first = 1, last = 1)'));
    expect(r.out.provenance.layers).toEqual([0, 2, 3]);
  });

  it('a compressed-vocabulary child gives the parent logits at the kept ids', async () => {
    const keep = [0, 1, 3, 5, 7, 12];
    const r = await inheritFrom(inherit('vocab = 6', `  vocab = [${keep.join(', ')}]`));
    const childTokens = [1, 3, 5, 2, 0]; // child ids → parent ids 1, 5, 12, 3, 0
    const parentTokens = childTokens.map((t) => keep[t]!);
    const pl = logits(r.parent, r.parentW, parentTokens);
    const cl = logits(r.child, r.childW, childTokens);
    const restricted = Array.from({ length: 5 }, (_, t) => keep.map((id) => pl[t * PARENT.vocab + id]!)).flat();
    expect(Array.from(cl)).toEqual(restricted);
  });

  it('fewer FFN neurons (l2) equals the parent with the dropped neurons zeroed in down_proj', async () => {
    const r = await inheritFrom(inherit('ffn = 16', '  ffn = l2'));
    const inert = new Map(r.parentW);
    for (let l = 0; l < PARENT.depth; l++) {
      const key = `layers.${l}.mlp.down_proj.weight`;
      const kept = r.out.provenance.tensors[`model.${key}`]!.keep![1]!;
      expect(kept).toHaveLength(16);
      // Independent check of the l2 choice: the norms of gate row + up row + down column.
      const norm = (j: number) => {
        let s = 0;
        const g = r.parentW.get(`layers.${l}.mlp.gate_proj.weight`)!.data,
          u = r.parentW.get(`layers.${l}.mlp.up_proj.weight`)!.data,
          d = r.parentW.get(key)!.data;
        for (let i = 0; i < PARENT.dim; i++) s += g[j * PARENT.dim + i]! ** 2 + u[j * PARENT.dim + i]! ** 2 + d[i * PARENT.ffn + j]! ** 2;
        return s;
      };
      const dropped = Array.from({ length: PARENT.ffn }, (_, j) => j).filter((j) => !kept.includes(j));
      expect(Math.max(...dropped.map(norm))).toBeLessThanOrEqual(Math.min(...kept.map(norm)));
      const d = Float32Array.from(r.parentW.get(key)!.data);
      for (let i = 0; i < PARENT.dim; i++) for (const j of dropped) d[i * PARENT.ffn + j] = 0;
      inert.set(key, { shape: [PARENT.dim, PARENT.ffn], data: d });
    }
    expect(maxAbs(logits(r.child, r.childW, TOKENS), logits(r.parent, inert, TOKENS))).toBeLessThan(1e-5);
  });

  it('heads and width together slice q/k/v/o by head and every residual tensor by channel', async () => {
    // 4 heads (width 4) over 2 kv heads → 2 heads over 2 kv heads, one per group; the head width
    // is dim / heads, so the residual shrinks to 8 channels with it (explicit lists: hand-checkable).
    const dims = [1, 3, 4, 6, 8, 9, 12, 15];
    const r = await inheritFrom(inherit('heads = 2, dim = 8', `  heads = [1, 2]\n  dim = [${dims.join(', ')}]`));
    const rows = (w: Float32Array, cols: number, keepRows: number[], keepCols: number[]) => keepRows.flatMap((i) => keepCols.map((j) => w[i * cols + j]!));
    const q = [4, 5, 6, 7, 8, 9, 10, 11]; // heads 1 and 2
    const kv = [0, 1, 2, 3, 4, 5, 6, 7]; // both kv heads (head 1 reads kv 0, head 2 reads kv 1)
    const get = (m: Map<string, { data: Float32Array }>, k: string) => m.get(k)!.data;
    for (let l = 0; l < PARENT.depth; l++) {
      const a = `layers.${l}.self_attn`;
      expect(Array.from(get(r.childW, `${a}.q_proj.weight`))).toEqual(rows(get(r.parentW, `${a}.q_proj.weight`), 16, q, dims));
      expect(Array.from(get(r.childW, `${a}.k_proj.weight`))).toEqual(rows(get(r.parentW, `${a}.k_proj.weight`), 16, kv, dims));
      expect(Array.from(get(r.childW, `${a}.o_proj.weight`))).toEqual(rows(get(r.parentW, `${a}.o_proj.weight`), 16, dims, q));
      expect(Array.from(get(r.childW, `layers.${l}.mlp.down_proj.weight`))).toEqual(
        rows(
          get(r.parentW, `layers.${l}.mlp.down_proj.weight`),
          24,
          dims,
          Array.from({ length: 24 }, (_, j) => j),
        ),
      );
      expect(Array.from(get(r.childW, `layers.${l}.input_layernorm.weight`))).toEqual(
        dims.map((d) => get(r.parentW, `layers.${l}.input_layernorm.weight`)[d]!),
      );
    }
    expect(Array.from(get(r.childW, 'embed_tokens.weight'))).toEqual(
      rows(
        get(r.parentW, 'embed_tokens.weight'),
        16,
        Array.from({ length: 13 }, (_, i) => i),
        dims,
      ),
    );
    expect(Array.from(get(r.childW, 'lm_head.weight'))).toEqual(
      rows(
        get(r.parentW, 'lm_head.weight'),
        16,
        Array.from({ length: 13 }, (_, i) => i),
        dims,
      ),
    );
  });

  it('whole KV groups follow their query heads (l2 ranks groups by summed scores)', async () => {
    // 4 heads over 2 kv heads → 2 heads over 1 kv head: the group size 2 is kept, one group chosen.
    const r = await inheritFrom(inherit('heads = 2, kv_heads = 1, dim = 8', '  heads = l2\n  dim = l2'));
    for (let l = 0; l < PARENT.depth; l++) {
      const t = r.out.provenance.tensors[`model.layers.${l}.self_attn.q_proj.weight`]!;
      const k = r.out.provenance.tensors[`model.layers.${l}.self_attn.k_proj.weight`]!;
      const group = k.keep![0]![0]! / 4; // the kv head kept
      expect(k.keep![0]).toEqual([0, 1, 2, 3].map((j) => group * 4 + j));
      expect(t.keep![0]).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((j) => group * 8 + j)); // its two query heads
    }
  });
});
