// specs/tiny-lm.scion end to end: `scion init` draws the Llama parent, a parent tokenizer is
// written beside it (GPT-2's BPE compressed to the parent's 4096 ids), and `scion inherit` builds
// Tiny with keep_ends layers, l2 width, taylor heads, activation FFN and a compressed vocabulary,
// on one short calibration batch. The child must load with Tiny's lowering, give finite logits,
// and provenance.json must account for every child tensor.

import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { loadBrown } from '../../../runtime/data/index.ts';
import { compressVocab, gpt2Tokenizer, writeTokenizerJson } from '../../../runtime/tokenizer/index.ts';
import { openSafetensors } from '../../../runtime/weights/index.ts';
import { logits, parse, readModel, tmp } from './helpers.ts';
import { captureIo } from '../../cli/capture-io.ts';

const SPEC = resolve(import.meta.dirname, '../../../specs/tiny-lm.scion');

describe('specs/tiny-lm.scion inherits end to end', () => {
  it('init → inherit Tiny → loads with Tiny, finite logits, provenance for every tensor', async () => {
    const dir = tmp();
    const parentDir = join(dir, 'runs/parent');
    mkdirSync(parentDir, { recursive: true });
    const init = captureIo(dir);
    expect(await main(['init', SPEC, '--model', 'Llama', '--seed', '3', '-o', 'runs/parent/model.safetensors'], init), init.stderr).toBe(0);
    const docs = loadBrown('train')
      .slice(0, 30)
      .map((d) => d.text);
    await writeTokenizerJson(join(parentDir, 'tokenizer.json'), compressVocab(gpt2Tokenizer(), docs, { size: 4096 }).tokenizer);

    const io = captureIo(dir);
    const code = await main(
      ['inherit', SPEC, '--child', 'Tiny', '--parent', 'runs/parent/model.safetensors', '--calib-batches', '1', '--calib-seq', '12', '-o', 'out', '--json'],
      io,
    );
    expect(code, io.stderr).toBe(0);
    const report = JSON.parse(io.stdout) as { layers: number[]; vocab: { size: number } };
    expect(report.layers).toEqual([0, 2, 5, 7]); // keep_ends(1, 1) of 8 → 4
    expect(report.vocab.size).toBe(2048);

    const program = parse(readFileSync(SPEC, 'utf8'));
    const tiny = lowerModel(program, 'Tiny');
    const w = await readModel(join(dir, 'out/model.safetensors'), tiny);
    for (const p of tiny.params) expect(w.get(p.path)?.shape, p.path).toEqual(p.shape);
    const out = logits(
      tiny,
      w,
      Array.from({ length: 128 }, (_, i) => (i * 37) % 2048),
    );
    expect(out.length).toBe(128 * 2048);
    expect(out.every((v) => Number.isFinite(v))).toBe(true);

    const prov = JSON.parse(readFileSync(join(dir, 'out/provenance.json'), 'utf8')) as {
      tensors: Record<string, { parent?: string; keep?: (number[] | null)[]; scores?: unknown[] }>;
    };
    const file = await openSafetensors(join(dir, 'out/model.safetensors'));
    const names = [...file.tensors.keys()];
    await file.close();
    for (const n of names) expect(prov.tensors[n], n).toBeDefined();
    // Taylor chose whole KV groups of heads; activation chose 384 of 688 neurons, scored.
    const q = prov.tensors['model.layers.1.self_attn.q_proj.weight']!;
    expect(q.parent).toBe('model.layers.2.self_attn.q_proj.weight');
    expect(q.keep![0]).toHaveLength(4 * 32);
    const gate = prov.tensors['model.layers.0.mlp.gate_proj.weight']!;
    expect(gate.keep![0]).toHaveLength(384);
    expect(gate.scores![0]).not.toBeNull();
    expect(JSON.parse(readFileSync(join(dir, 'out/config.json'), 'utf8'))).toMatchObject({
      num_hidden_layers: 4,
      hidden_size: 128,
      intermediate_size: 384,
      vocab_size: 2048,
    });
  }, 120_000);
});
