// Naming presets: Scion paths ↔ checkpoint names and layouts, both ways, through real
// safetensors files written with the family's names.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkpointPlan,
  fromCheckpoint,
  MappingError,
  namingPreset,
  readConfig,
  toCheckpoint,
  writeConfig,
  type HostTensor,
} from '../../../compiler/presets/index.ts';
import { openSafetensors, writeSafetensors } from '../../../runtime/weights/index.ts';
import { lower, parseSpec, randoms } from '../lower/helpers.ts';
import { lowerModel, type LoweredModel } from '../../../compiler/lower/lower-model.ts';

const GPT2 = `
model G(vocab = 13, dim = 8, depth = 2, heads = 2, ctx = 4) preset gpt2 {
  input tokens: i32[batch, ctx]
  input positions: i32[batch, ctx]
  h = Embedding(tokens, vocab, dim) as wte + Embedding(positions, ctx, dim) as wpe
  repeat i in 0..depth {
    h = h + Attention(LayerNorm(h) as h[i].ln_1, heads, causal = true, bias = true) as h[i].attn
    h = h + MLP(LayerNorm(h) as h[i].ln_2, dim * 4) as h[i].mlp
  }
  output logits = Linear(LayerNorm(h) as ln_f, vocab, bias = false) as lm_head
}`;

function randomParams(m: LoweredModel): Map<string, HostTensor> {
  return new Map(
    m.params.map((p, k) => [
      p.path,
      {
        shape: p.shape,
        data: randoms(
          p.shape.reduce((a, b) => a * b, 1),
          100 + k,
        ),
      },
    ]),
  );
}

async function roundTrip(m: LoweredModel, names: (hf: Map<string, HostTensor>) => void): Promise<void> {
  const params = randomParams(m);
  const hf = toCheckpoint(checkpointPlan(m), params);
  names(hf);
  const file = join(mkdtempSync(join(tmpdir(), 'scion-presets-')), 'model.safetensors');
  await writeSafetensors(file, new Map([...hf].map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.shape, data: t.data }])));
  const reader = await openSafetensors(file);
  const back = await fromCheckpoint(
    namingPreset(m.instance.preset),
    checkpointPlan(m),
    (n) => reader.tensors.get(n)?.shape,
    [...reader.tensors.keys()],
    async (n) => ({ shape: reader.tensors.get(n)?.shape ?? [], data: (await reader.read(n)) as Float32Array }),
  );
  await reader.close();
  expect([...back.keys()].sort()).toEqual([...params.keys()].sort());
  for (const [k, t] of params) {
    expect(back.get(k)?.shape).toEqual(t.shape);
    expect(Array.from(back.get(k)?.data ?? [])).toEqual(Array.from(t.data));
  }
}

describe('llama preset', () => {
  it('uses HF names and [out, in] layouts, and round-trips through a safetensors file', async () => {
    const m = lowerModel(parseSpec('default.scion'), 'TinyLlama');
    await roundTrip(m, (hf) => {
      expect(hf.get('model.embed_tokens.weight')?.shape).toEqual([4096, 128]);
      expect(hf.get('model.layers.1.self_attn.k_proj.weight')?.shape).toEqual([64, 128]);
      expect(hf.get('model.layers.0.mlp.down_proj.weight')?.shape).toEqual([128, 344]);
      expect(hf.get('model.norm.weight')?.shape).toEqual([128]);
      expect(hf.get('lm_head.weight')?.shape).toEqual([4096, 128]);
      expect(hf.size).toBe(m.params.length);
    });
  });

  it('names every missing, extra and mis-shaped tensor before reading any', async () => {
    const m = lowerModel(parseSpec('default.scion'), 'TinyLlama');
    const hf = toCheckpoint(checkpointPlan(m), randomParams(m));
    hf.delete('model.norm.weight');
    hf.set('model.layers.9.mlp.up_proj.weight', { shape: [1], data: new Float32Array(1) });
    hf.set('lm_head.weight', { shape: [128, 4096], data: new Float32Array(4096 * 128) });
    let reads = 0;
    const err = await fromCheckpoint(
      namingPreset('llama'),
      checkpointPlan(m),
      (n) => hf.get(n)?.shape,
      [...hf.keys()],
      async (n) => (reads++, hf.get(n) as HostTensor),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MappingError);
    const problems = (err as MappingError).problems;
    expect(problems).toContain("missing tensor 'model.norm.weight' [128] (for 'norm.weight')");
    expect(problems).toContain("'lm_head.weight' is [128, 4096], expected [4096, 128] (for 'lm_head.weight')");
    expect(problems.some((p) => p.startsWith("unexpected tensor 'model.layers.9.mlp.up_proj.weight'"))).toBe(true);
    expect(reads).toBe(0);
  });

  it('writes a config.json that reads back into the model parameters', () => {
    const m = lowerModel(parseSpec('tiny-lm.scion'), 'Tiny');
    const cfg = writeConfig('llama', m);
    expect(cfg).toMatchObject({
      model_type: 'llama',
      vocab_size: 2048,
      hidden_size: 128,
      intermediate_size: 384,
      num_hidden_layers: 4,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 128,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
    });
    expect(readConfig('llama', cfg, ['vocab', 'dim', 'depth', 'heads', 'kv_heads', 'ffn', 'ctx'])).toEqual({
      vocab: 2048,
      dim: 128,
      depth: 4,
      heads: 4,
      kv_heads: 2,
      ffn: 384,
      ctx: 128,
    });
  });
});

describe('gpt2 preset', () => {
  it('fuses q, k, v into a transposed Conv1D c_attn [in, 3·out] and round-trips', async () => {
    const m = lower(GPT2, 'G');
    const params = randomParams(m);
    const hf = toCheckpoint(checkpointPlan(m), params);
    const cAttn = hf.get('transformer.h.1.attn.c_attn.weight');
    expect(cAttn?.shape).toEqual([8, 24]);
    // c_attn[i][j] = [q; k; v][j][i]: column block 0 is q's rows, block 2 is v's.
    const q = params.get('h.1.attn.q_proj.weight')?.data as Float32Array;
    const v = params.get('h.1.attn.v_proj.weight')?.data as Float32Array;
    for (const [i, j] of [
      [0, 0],
      [3, 5],
      [7, 7],
    ] as const) {
      expect(cAttn?.data[i * 24 + j]).toBe(q[j * 8 + i]);
      expect(cAttn?.data[i * 24 + 16 + j]).toBe(v[j * 8 + i]);
    }
    const bias = hf.get('transformer.h.1.attn.c_attn.bias');
    expect(Array.from(bias?.data.subarray(8, 16) ?? [])).toEqual(Array.from(params.get('h.1.attn.k_proj.bias')?.data ?? []));
    expect(hf.get('transformer.h.0.mlp.c_fc.weight')?.shape).toEqual([8, 32]);
    expect(hf.get('transformer.h.0.attn.c_proj.weight')?.shape).toEqual([8, 8]);
    expect(hf.get('transformer.ln_f.bias')?.shape).toEqual([8]);
    await roundTrip(m, () => undefined);
    expect(writeConfig('gpt2', m)).toMatchObject({ n_embd: 8, n_layer: 2, n_head: 2, n_positions: 4, vocab_size: 13, n_inner: 32 });
  });

  it('reads hub files without the transformer. prefix and with the head tied to wte', async () => {
    const m = lower(GPT2, 'G');
    const params = randomParams(m);
    params.set('lm_head.weight', params.get('wte.weight') as HostTensor);
    const hf = new Map(
      [...toCheckpoint(checkpointPlan(m), params)].filter(([k]) => k !== 'lm_head.weight').map(([k, t]) => [k.replace(/^transformer\./, ''), t]),
    );
    hf.set('h.0.attn.bias', { shape: [1, 1, 4, 4], data: new Float32Array(16) }); // the causal-mask buffer
    const back = await fromCheckpoint(
      namingPreset('gpt2'),
      checkpointPlan(m),
      (n) => hf.get(n)?.shape,
      [...hf.keys()],
      async (n) => hf.get(n) as HostTensor,
    );
    expect(Array.from(back.get('lm_head.weight')?.data ?? [])).toEqual(Array.from(params.get('wte.weight')?.data ?? []));
    expect(Array.from(back.get('h.1.attn.v_proj.weight')?.data ?? [])).toEqual(Array.from(params.get('h.1.attn.v_proj.weight')?.data ?? []));
  });
});

describe('dit and unet presets', () => {
  it('uses DiT module names (Sequential indices) and round-trips', async () => {
    const m = lowerModel(parseSpec('lit.scion'), 'LiT');
    await roundTrip(m, (hf) => {
      for (const n of [
        'x_embedder.proj.weight',
        't_embedder.mlp.0.weight',
        't_embedder.mlp.2.bias',
        'y_embedder.embedding_table.weight',
        'blocks.3.attn.qkv.weight',
        'blocks.3.attn.dwc.weight',
        'blocks.0.adaLN_modulation.1.weight',
        'final_layer.adaLN_modulation.1.bias',
        'final_layer.linear.weight',
      ])
        expect(hf.has(n), n).toBe(true);
      expect(hf.get('x_embedder.proj.weight')?.shape).toEqual([128, 1, 4, 4]);
      expect(hf.get('y_embedder.embedding_table.weight')?.shape).toEqual([11, 128]);
    });
    expect(writeConfig('dit', lowerModel(parseSpec('lit.scion'), 'DiT'))).toMatchObject({
      input_size: 28,
      in_channels: 1,
      patch_size: 4,
      hidden_size: 128,
      depth: 4,
      num_heads: 4,
      num_classes: 10,
      learn_sigma: true,
    });
  });

  it('maps the UNet to diffusers names and round-trips', async () => {
    const m = lowerModel(parseSpec('a-sdm.scion'), 'UNet');
    await roundTrip(m, (hf) => {
      for (const n of [
        'down_blocks.1.resnets.0.conv_shortcut.weight',
        'down_blocks.0.downsamplers.0.conv.weight',
        'mid_block.attentions.0.to_out.0.weight',
        'mid_block.attentions.0.group_norm.bias',
        'up_blocks.0.upsamplers.0.conv.bias',
        'conv_norm_out.weight',
        'class_embedding.weight',
        'time_embedding.linear_1.weight',
      ])
        expect(hf.has(n), n).toBe(true);
    });
  });
});
