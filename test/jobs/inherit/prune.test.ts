// `prune` blocks through `scion inherit`: the pruned child is the family at smaller sizes (found
// by overriding the model's parameters), equal to the parent with the dropped units zeroed; and
// pruneStep, the gradual schedule's step, zeroes the lowest-norm alive units of each group.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { layoutOf } from '../../../jobs/inherit/layout/layout-from-model.ts';
import { pruneStep } from '../../../jobs/inherit/prune/prune-step.ts';
import { LLAMA, PARENT, logits, parse, randomWeights, readModel, tmp, writeModel } from './helpers.ts';
import { captureIo } from '../../cli/capture-io.ts';

const SPEC = `${LLAMA('P', PARENT)}
prune P to S {
  ffn = l2(ratio = 0.5)
  layers = [0, 1, 3]
}
prune P to H {
  heads = 0.5
  dim = l1(ratio = 0.5)
}
`;

const TOKENS = [1, 5, 12, 3, 0];
const ffnNorm = (w: Map<string, { data: Float32Array }>, l: number, j: number) => {
  let s = 0;
  const g = w.get(`layers.${l}.mlp.gate_proj.weight`)!.data,
    u = w.get(`layers.${l}.mlp.up_proj.weight`)!.data,
    d = w.get(`layers.${l}.mlp.down_proj.weight`)!.data;
  for (let i = 0; i < PARENT.dim; i++) s += g[j * PARENT.dim + i]! ** 2 + u[j * PARENT.dim + i]! ** 2 + d[i * PARENT.ffn + j]! ** 2;
  return s;
};

describe('prune blocks', () => {
  it('scion inherit on `prune P to S` writes P at half the FFN and 3 layers, equal to the parent with those units inert', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'spec.scion'), SPEC);
    const program = parse(SPEC);
    const parent = lowerModel(program, 'P');
    const w = randomWeights(parent, 9);
    await writeModel(join(dir, 'p.safetensors'), parent, w);
    const io = captureIo(dir);
    expect(await main(['inherit', 'spec.scion', '--child', 'S', '--parent', 'p.safetensors', '-o', 'out', '--json'], io), io.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'out/config.json'), 'utf8'))).toMatchObject({
      intermediate_size: 12,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      num_hidden_layers: 3,
      hidden_size: 16,
    });

    // Identity: the child equals the parent with layer 2 inert and the dropped neurons' down columns zeroed.
    const child = lowerModel(program, 'P', { overrides: { ffn: 12, depth: 3 } });
    const cw = await readModel(join(dir, 'out/model.safetensors'), child);
    const prov = JSON.parse(readFileSync(join(dir, 'out/provenance.json'), 'utf8')) as { tensors: Record<string, { keep: (number[] | null)[] }> };
    const inert = new Map(w);
    const zeroCols = (key: string, cols: number, keep: number[]) => {
      const d = Float32Array.from(w.get(key)!.data);
      for (let i = 0; i < d.length; i++) if (!keep.includes(i % cols)) d[i] = 0;
      inert.set(key, { shape: w.get(key)!.shape, data: d });
    };
    for (const [cl, pl] of [
      [0, 0],
      [1, 1],
      [2, 3],
    ] as const) {
      const keptFfn = prov.tensors[`model.layers.${cl}.mlp.down_proj.weight`]!.keep[1]!;
      const dropped = Array.from({ length: PARENT.ffn }, (_, j) => j).filter((j) => !keptFfn.includes(j));
      expect(Math.max(...dropped.map((j) => ffnNorm(w, pl, j)))).toBeLessThanOrEqual(Math.min(...keptFfn.map((j) => ffnNorm(w, pl, j))));
      zeroCols(`layers.${pl}.mlp.down_proj.weight`, PARENT.ffn, keptFfn);
    }
    for (const k of ['layers.2.self_attn.o_proj.weight', 'layers.2.mlp.down_proj.weight'])
      inert.set(k, { shape: w.get(k)!.shape, data: new Float32Array(w.get(k)!.data.length) });
    const a = logits(child, cw, TOKENS),
      b = logits(parent, inert, TOKENS);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 5);

    // Heads follow whole KV groups (4 over 2 → 2 over 1), and the residual width with them.
    const h = captureIo(dir);
    expect(await main(['inherit', 'spec.scion', '--child', 'H', '--parent', 'p.safetensors', '-o', 'h'], h), h.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'h/config.json'), 'utf8'))).toMatchObject({
      num_attention_heads: 2,
      num_key_value_heads: 1,
      hidden_size: 8,
      intermediate_size: 24,
    });
  });

  it('refuses a prune without --parent (usage) and a size the model cannot take (input error)', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'spec.scion'), SPEC.replace('l2(ratio = 0.5)', '40'));
    const parent = lowerModel(parse(SPEC), 'P');
    await writeModel(join(dir, 'p.safetensors'), parent, randomWeights(parent, 1));
    const u = captureIo(dir);
    expect(await main(['inherit', 'spec.scion', '--child', 'S', '-o', 'out'], u)).toBe(2);
    expect(u.stderr).toContain('--parent');
    const io = captureIo(dir);
    expect(await main(['inherit', 'spec.scion', '--child', 'S', '--parent', 'p.safetensors', '-o', 'out'], io)).toBe(1);
    expect(io.stderr).toContain('40 of 24');
  });

  it('pruneStep zeroes the lowest-l2 half of the alive neurons, then half of the rest', () => {
    const m = lowerModel(parse(LLAMA('P', PARENT)), 'P');
    const w = randomWeights(m, 5);
    const before = new Map([...w].map(([k, t]) => [k, { shape: t.shape, data: Float32Array.from(t.data) }]));
    const plan = { layout: layoutOf(m), kinds: ['ffn'] as const, metric: 'l2' as const };
    const first = pruneStep(w, plan, 0.5);
    expect([...first.keys()]).toEqual([0, 1, 2, 3].map((l) => `layers.${l}.mlp:ffn`));
    for (let l = 0; l < PARENT.depth; l++) {
      const gone = first.get(`layers.${l}.mlp:ffn`)!;
      expect(gone).toHaveLength(12);
      const order = Array.from({ length: PARENT.ffn }, (_, j) => j).sort((x, y) => ffnNorm(before, l, x) - ffnNorm(before, l, y));
      expect([...gone].sort((x, y) => x - y)).toEqual(order.slice(0, 12).sort((x, y) => x - y));
      for (const j of gone) expect(ffnNorm(w, l, j)).toBe(0);
    }
    const second = pruneStep(w, plan, 0.5);
    for (let l = 0; l < PARENT.depth; l++) {
      const gone = second.get(`layers.${l}.mlp:ffn`)!;
      expect(gone).toHaveLength(6);
      expect(gone.some((j) => first.get(`layers.${l}.mlp:ffn`)!.includes(j))).toBe(false);
    }
  });
});
