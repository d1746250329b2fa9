// The naming presets of the known families. Scion paths are the `as` paths of the spec plus the
// layer's own parameter names (grammar/library/param-names.ts); the right-hand sides are the exact
// tensor names of the reference checkpoints:
//   llama — Hugging Face LlamaForCausalLM / LlamaForSequenceClassification (same layouts as Scion);
//   gpt2  — Hugging Face GPT2LMHeadModel: Conv1D weights are [in, out], q/k/v fused in c_attn;
//   dit   — facebookresearch/DiT's own module names (fused qkv, Sequential indices);
//   unet  — diffusers' UNet2DConditionModel names for the blocks a small Scion UNet uses.

import type { Preset } from '../../grammar/ast.ts';
import type { NamingPreset, PresetRule } from './mapping.ts';

const r = (scion: string | readonly string[], hf: string, extra: Omit<PresetRule, 'scion' | 'hf'> = {}): PresetRule => ({ scion, hf, ...extra });

/** A weight-and-bias pair under two prefixes. */
const wb = (scion: string, hf: string): PresetRule[] => [r(`${scion}.weight`, `${hf}.weight`), r(`${scion}.bias`, `${hf}.bias`)];

const LLAMA: NamingPreset = {
  name: 'llama',
  rules: [
    // Heads sit at the top level in HF; everything else lives under `model.`.
    r('lm_head.weight', 'lm_head.weight', { readFallbacks: ['model.embed_tokens.weight'] }),
    r('score.{rest...}', 'score.{rest...}'),
    r('{rest...}', 'model.{rest...}'),
  ],
  buffers: [/\.rotary_emb\.inv_freq$/],
};

/** GPT-2's hub files store the body without the `transformer.` prefix; accept both when reading. */
function gpt2(scion: string | readonly string[], hf: string, extra: Omit<PresetRule, 'scion' | 'hf'> = {}): PresetRule {
  return r(scion, `transformer.${hf}`, { ...extra, readFallbacks: [hf, ...(extra.readFallbacks ?? [])] });
}
const qkv = (what: 'weight' | 'bias'): string[] => ['q_proj', 'k_proj', 'v_proj'].map((m) => `h.{n}.attn.${m}.${what}`);

const GPT2: NamingPreset = {
  name: 'gpt2',
  rules: [
    gpt2('wte.weight', 'wte.weight'),
    gpt2('wpe.weight', 'wpe.weight'),
    gpt2(qkv('weight'), 'h.{n}.attn.c_attn.weight', { axis: 0, transpose: true }),
    gpt2(qkv('bias'), 'h.{n}.attn.c_attn.bias', { axis: 0 }),
    gpt2('h.{n}.attn.o_proj.weight', 'h.{n}.attn.c_proj.weight', { transpose: true }),
    gpt2('h.{n}.attn.o_proj.bias', 'h.{n}.attn.c_proj.bias'),
    gpt2('h.{n}.mlp.fc1.weight', 'h.{n}.mlp.c_fc.weight', { transpose: true }),
    gpt2('h.{n}.mlp.fc1.bias', 'h.{n}.mlp.c_fc.bias'),
    gpt2('h.{n}.mlp.fc2.weight', 'h.{n}.mlp.c_proj.weight', { transpose: true }),
    gpt2('h.{n}.mlp.fc2.bias', 'h.{n}.mlp.c_proj.bias'),
    gpt2('h.{n}.{norm}.{wb}', 'h.{n}.{norm}.{wb}'),
    gpt2('ln_f.{wb}', 'ln_f.{wb}'),
    // GPT-2 ties the head to wte; save_pretrained drops the copy.
    r('lm_head.weight', 'lm_head.weight', { readFallbacks: ['transformer.wte.weight', 'wte.weight'] }),
  ],
  buffers: [/(^|\.)attn\.(masked_)?bias$/],
};

const DIT: NamingPreset = {
  name: 'dit',
  rules: [
    ...wb('x_embedder.proj', 'x_embedder.proj'),
    ...wb('t_embedder.linear_1', 't_embedder.mlp.0'),
    ...wb('t_embedder.linear_2', 't_embedder.mlp.2'),
    r('y_embedder.embedding_table.weight', 'y_embedder.embedding_table.weight'),
    ...wb('blocks.{n}.adaLN_modulation', 'blocks.{n}.adaLN_modulation.1'),
    ...wb('final_layer.adaLN_modulation', 'final_layer.adaLN_modulation.1'),
    // attn.qkv, attn.proj, attn.dwc (LiT), mlp.fc1, mlp.fc2, final_layer.linear: same names.
    r('{rest...}', '{rest...}'),
  ],
  buffers: [/^pos_embed$/],
};

const UNET: NamingPreset = {
  name: 'unet',
  rules: [
    ...wb('time_embedding.linear_1', 'time_embedding.linear_1'),
    ...wb('time_embedding.linear_2', 'time_embedding.linear_2'),
    r('class_embedding.embedding_table.weight', 'class_embedding.weight'),
    r('down.{b}.res.{k}.{rest...}', 'down_blocks.{b}.resnets.{k}.{rest...}'),
    r('down.{b}.downsample.{wb}', 'down_blocks.{b}.downsamplers.0.conv.{wb}'),
    r('mid.res.{k}.{rest...}', 'mid_block.resnets.{k}.{rest...}'),
    r('mid.attn.to_out.{wb}', 'mid_block.attentions.0.to_out.0.{wb}'),
    r('mid.attn.{rest...}', 'mid_block.attentions.0.{rest...}'),
    r('up.{b}.res.{k}.{rest...}', 'up_blocks.{b}.resnets.{k}.{rest...}'),
    r('up.{b}.upsample.{wb}', 'up_blocks.{b}.upsamplers.0.conv.{wb}'),
    r('norm_out.{wb}', 'conv_norm_out.{wb}'),
    // conv_in, conv_out and Scion-only blocks (mid.condconv) keep their names.
    r('{rest...}', '{rest...}'),
  ],
};

export const NAMING_PRESETS: Record<Preset, NamingPreset> = { llama: LLAMA, gpt2: GPT2, dit: DIT, unet: UNET };

/** Scion paths as they are, for models without a preset (a checkpoint written by Scion itself). */
export const IDENTITY_PRESET: NamingPreset = { name: 'scion', rules: [r('{rest...}', '{rest...}')] };
