// `scion inherit` with `dim = learned_mask(calib, steps = 3)` on a tiny llama: masks on the
// residual width are trained on Brown calibration text (encoded with a small byte-level tokenizer
// written beside the parent), the child keeps the 8 channels with the highest σ(s), and every
// tensor with the residual width takes exactly those channels from the parent.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { loadBrown } from '../../../runtime/data/index.ts';
import { compressVocab, gpt2Tokenizer, writeTokenizerJson } from '../../../runtime/tokenizer/index.ts';
import { LLAMA, parse, randomWeights, readModel, tmp, writeModel } from './helpers.ts';
import { captureIo } from '../../cli/capture-io.ts';

const VOCAB = 260; // the 256 byte tokens (always kept by compressVocab) and 4 merges
const SPEC = `${LLAMA('P', { vocab: VOCAB, dim: 16, depth: 2, heads: 4, kv: 2, ffn: 24 })}
model C = P(heads = 2, kv_heads = 1, dim = 8)
let calib = brown(split = "calib", batches = 2)
inherit C from P at "parent.safetensors" {
  heads = [0, 1]
  dim = learned_mask(calib, steps = 3)
}
`;

type Prov = { tensors: Record<string, { parent?: string; keep?: (number[] | null)[]; scores?: (number[] | null)[] }> };

describe('scion inherit with a learned residual-width mask', () => {
  it('keeps the top σ(s) channels on every residual tensor, deterministically', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'spec.scion'), SPEC);
    const program = parse(SPEC);
    const parent = lowerModel(program, 'P');
    const parentW = randomWeights(parent, 6);
    await writeModel(join(dir, 'parent.safetensors'), parent, parentW);
    const docs = loadBrown('calib')
      .slice(0, 5)
      .map((d) => d.text);
    await writeTokenizerJson(join(dir, 'tokenizer.json'), compressVocab(gpt2Tokenizer(), docs, { size: VOCAB }).tokenizer);

    const runs: Prov[] = [];
    for (const out of ['a', 'b']) {
      const io = captureIo(dir);
      expect(await main(['inherit', 'spec.scion', '-o', out, '--json'], io), io.stderr).toBe(0);
      runs.push(JSON.parse((await import('node:fs')).readFileSync(join(dir, out, 'provenance.json'), 'utf8')) as Prov);
    }
    const emb = runs[0]!.tensors['model.embed_tokens.weight']!;
    const keep = emb.keep![1]!;
    const scores = emb.scores![1]!;
    // Provenance records the kept channels' scores: σ(s) after 3 Adam steps of lr 0.1 from s = 0
    // lies within σ(±0.3) (Adam moves a logit by at most ≈ lr a step), and training moved them.
    expect(keep).toHaveLength(8);
    expect(new Set(keep).size).toBe(8);
    expect(scores).toHaveLength(8);
    for (const v of scores) expect(Math.abs(v - 0.5)).toBeLessThanOrEqual(1 / (1 + Math.exp(-0.3)) - 0.5 + 1e-6);
    expect(scores.some((v) => Math.abs(v - 0.5) > 0.01)).toBe(true);
    // Deterministic: a second run keeps the same channels with the same scores.
    expect(runs[1]!.tensors['model.embed_tokens.weight']).toEqual(emb);

    // The child's residual tensors are the parent's at those channels.
    const child = lowerModel(program, 'C');
    const w = await readModel(join(dir, 'a', 'model.safetensors'), child);
    const pe = parentW.get('embed_tokens.weight')!.data;
    expect(Array.from(w.get('embed_tokens.weight')!.data)).toEqual(Array.from({ length: VOCAB * 8 }, (_, i) => pe[Math.floor(i / 8) * 16 + keep[i % 8]!]!));
    const pn = parentW.get('norm.weight')!.data;
    expect(Array.from(w.get('norm.weight')!.data)).toEqual(keep.map((c) => pn[c]!));
    const pd = parentW.get('layers.1.mlp.down_proj.weight')!.data; // [16, 24] → [8, 24]
    expect(Array.from(w.get('layers.1.mlp.down_proj.weight')!.data)).toEqual(
      Array.from({ length: 8 * 24 }, (_, i) => pd[keep[Math.floor(i / 24)]! * 24 + (i % 24)]!),
    );
  }, 60_000);
});
