// `scion inherit` end to end: files written, config.json and provenance.json contents, tied
// heads staying tied, replay on a sibling checkpoint, and user errors as exit-1 messages.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { openSafetensors } from '../../../runtime/weights/index.ts';
import { LLAMA, PARENT, parse, randomWeights, readModel, tmp, writeModel } from './helpers.ts';
import { captureIo } from '../../cli/capture-io.ts';

const SPEC = `${LLAMA('P', PARENT)}
model C = P(depth = 2, ffn = 8)
inherit C from P at "parent.safetensors" {
  layers = [0, 3]
  ffn = [1, 2, 3, 5, 8, 13, 21, 23]
}
`;

async function setup(omit: string[] = []): Promise<{ dir: string; sibling: string }> {
  const dir = tmp();
  writeFileSync(join(dir, 'spec.scion'), SPEC);
  const parent = lowerModel(parse(SPEC), 'P');
  await writeModel(join(dir, 'parent.safetensors'), parent, randomWeights(parent, 4), omit);
  await writeModel(join(dir, 'sibling.safetensors'), parent, randomWeights(parent, 5), omit);
  return { dir, sibling: join(dir, 'sibling.safetensors') };
}

describe('scion inherit', () => {
  it('writes the child, an HF config and provenance with kept indices; replay on a sibling equals inheriting from it', async () => {
    const { dir, sibling } = await setup();
    const io = captureIo(dir);
    expect(await main(['inherit', 'spec.scion', '-o', 'child', '--json'], io)).toBe(0);
    const report = JSON.parse(io.stdout) as { files: string[]; layers: number[]; inherited: number };
    expect(report.layers).toEqual([0, 3]);
    const config = JSON.parse(readFileSync(join(dir, 'child/config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ model_type: 'llama', num_hidden_layers: 2, intermediate_size: 8, hidden_size: 16 });
    const prov = JSON.parse(readFileSync(join(dir, 'child/provenance.json'), 'utf8')) as {
      tensors: Record<string, { parent: string; keep: (number[] | null)[] }>;
    };
    expect(prov.tensors['model.layers.1.mlp.down_proj.weight']).toMatchObject({
      parent: 'model.layers.3.mlp.down_proj.weight',
      keep: [null, [1, 2, 3, 5, 8, 13, 21, 23]],
    });

    // Replay on the sibling, then inherit from the sibling through the spec: the same bytes.
    const r1 = captureIo(dir);
    expect(await main(['inherit', '--replay', 'child/provenance.json', '--parent', sibling, '-o', 'replayed'], r1)).toBe(0);
    const r2 = captureIo(dir);
    expect(await main(['inherit', 'spec.scion', '--parent', sibling, '-o', 'direct'], r2)).toBe(0);
    expect(readFileSync(join(dir, 'replayed/model.safetensors'))).toEqual(readFileSync(join(dir, 'direct/model.safetensors')));
    expect(readFileSync(join(dir, 'replayed/model.safetensors'))).not.toEqual(readFileSync(join(dir, 'child/model.safetensors')));
  });

  it('keeps a tied head tied: the parent has no lm_head, nor does the child, and config says so', async () => {
    const { dir } = await setup(['lm_head.weight']);
    const io = captureIo(dir);
    expect(await main(['inherit', 'spec.scion', '-o', 'child'], io)).toBe(0);
    const r = await openSafetensors(join(dir, 'child/model.safetensors'));
    expect(r.tensors.has('lm_head.weight')).toBe(false);
    await r.close();
    expect(JSON.parse(readFileSync(join(dir, 'child/config.json'), 'utf8')).tie_word_embeddings).toBe(true);
    const child = lowerModel(parse(SPEC), 'C');
    const w = await readModel(join(dir, 'child/model.safetensors'), child);
    expect(Array.from(w.get('lm_head.weight')!.data)).toEqual(Array.from(w.get('embed_tokens.weight')!.data));
  });

  it('refuses a sibling of another shape, and a spec naming a missing layer, with exit 1', async () => {
    const { dir } = await setup();
    expect(await main(['inherit', 'spec.scion', '-o', 'child'], captureIo(dir))).toBe(0);
    const other = tmp();
    const text = LLAMA('P', { ...PARENT, ffn: 20 });
    const small = lowerModel(parse(text), 'P');
    await writeModel(join(other, 'p.safetensors'), small, randomWeights(small, 1));
    const io = captureIo(dir);
    expect(await main(['inherit', '--replay', 'child/provenance.json', '--parent', join(other, 'p.safetensors'), '-o', 'x'], io)).toBe(1);
    expect(io.stderr).toContain("'model.layers.0.mlp.gate_proj.weight' is [20, 16], the recorded parent's was [24, 16]");
    writeFileSync(join(dir, 'bad.scion'), SPEC.replace('[0, 3]', '[0, 4]'));
    const io2 = captureIo(dir);
    expect(await main(['inherit', 'bad.scion', '-o', 'y'], io2)).toBe(1);
    expect(io2.stderr).toContain('layer 4');
  });
});
