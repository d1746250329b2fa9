// The parameter tensors each library layer creates, relative to its `as` path. The checker joins
// them onto the unrolled `as` paths (`layers.0.self_attn` + `q_proj.weight`) to know every
// parameter path of a model, so `except` and adapter `targets` patterns can be checked before any
// weight is read. Names follow the PyTorch modules the presets map to (llama, DiT, diffusers UNet).
//
// Minimal on purpose: only names, no shapes (the compiler owns shapes). A tensor guarded by `if`
// exists only when that bool argument of the call is true (its default comes from signatures.ts);
// tensors that depend on shapes (a ResBlock's shortcut conv) are listed as always present.

import { LIBRARY, type LibraryName } from './signatures.ts';

export interface ParamTensor {
  /** Dotted path below the layer's `as` path. */
  readonly path: string;
  /** A bool argument of the call that must be true for this tensor to exist. */
  readonly if?: string;
}

const p = (path: string, cond?: string): ParamTensor => (cond === undefined ? { path } : { path, if: cond });
/** A linear sub-module `name` with a weight and (when `cond` holds, or always) a bias. */
const lin = (name: string, cond?: string): ParamTensor[] => [p(`${name}.weight`), p(`${name}.bias`, cond)];
const norm = (name: string): ParamTensor[] => [p(`${name}.weight`), p(`${name}.bias`)];

/** A library callable that creates parameters (context 'layer'). */
export type LayerName = { [K in LibraryName]: (typeof LIBRARY)[K]['context'] extends 'layer' ? K : never }[LibraryName];

// Typed as a Record over LayerName, so tsc names a layer added to the library without an entry.
export const PARAM_NAMES: Record<LayerName, readonly ParamTensor[]> = {
  Embedding: [p('weight')],
  Linear: [p('weight'), p('bias', 'bias')],
  RMSNorm: [p('weight')],
  LayerNorm: [p('weight', 'affine'), p('bias', 'affine')],
  GroupNorm: [p('weight', 'affine'), p('bias', 'affine')],
  Attention: ['q_proj', 'k_proj', 'v_proj', 'o_proj'].flatMap((m) => lin(m, 'bias')),
  LinearAttention: [...lin('qkv', 'bias'), ...lin('proj', 'bias'), ...lin('dwc')],
  SwiGLU: [p('gate_proj.weight'), p('up_proj.weight'), p('down_proj.weight')],
  MLP: [...lin('fc1', 'bias'), ...lin('fc2', 'bias')],
  Conv2d: [p('weight'), p('bias', 'bias')],
  DepthwiseConv2d: [p('weight'), p('bias', 'bias')],
  CondConv2d: [p('weight'), ...lin('routing')],
  ResBlock: [...norm('norm1'), ...lin('conv1'), ...lin('time_emb_proj'), ...norm('norm2'), ...lin('conv2'), ...lin('conv_shortcut')],
  TimestepEmbedding: [...lin('linear_1'), ...lin('linear_2')],
  LabelEmbedding: [p('embedding_table.weight')],
  PatchEmbed: lin('proj'),
  AttnBlock: [...norm('group_norm'), ...lin('to_q'), ...lin('to_k'), ...lin('to_v'), ...lin('to_out')],
  DiTBlock: [...lin('attn.qkv'), ...lin('attn.proj'), ...lin('mlp.fc1'), ...lin('mlp.fc2'), ...lin('adaLN_modulation')],
  DiTFinal: [...lin('linear'), ...lin('adaLN_modulation')],
  LoRA: [p('lora_A.weight'), p('lora_B.weight')],
};

/** Library layers missing from PARAM_NAMES (empty when the table is complete). */
export function missingParamNames(): string[] {
  return (Object.keys(LIBRARY) as LibraryName[]).filter((k) => LIBRARY[k].context === 'layer' && !Object.hasOwn(PARAM_NAMES, k));
}

export function isLayerName(name: string): name is LayerName {
  return Object.hasOwn(PARAM_NAMES, name);
}

/** The tensors of a layer (empty for a name that is not a library layer). */
export function paramTensors(name: string): readonly ParamTensor[] {
  return isLayerName(name) ? PARAM_NAMES[name] : [];
}
