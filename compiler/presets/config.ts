// Hugging Face style `config.json` for the known families, written from a lowered model (sizes
// are read off parameter shapes and layer arguments, not guessed from parameter names) and read
// back into model-parameter overrides under the conventional Scion names (vocab, dim, depth, …).

import type { Preset } from '../../grammar/ast.ts';
import type { LoweredModel } from '../lower/lower-model.ts';
import type { InstCall, InstExpr } from '../../grammar/eval/instantiate.ts';
import type { Value } from '../lower/values.ts';

export type JsonConfig = Record<string, string | number | boolean | null | string[]>;

function shapeOf(m: LoweredModel, path: string): readonly number[] | undefined {
  return m.params.find((p) => p.path === path)?.shape;
}

/** The first call of `callee` in the model, for arguments that shapes do not show (heads). */
function firstCall(m: LoweredModel, callee: string): InstCall | undefined {
  let found: InstCall | undefined;
  const visit = (e: InstExpr): void => {
    if (found !== undefined) return;
    if (e.kind === 'call') {
      if (e.callee === callee) found = e;
      else for (const a of [...Object.values(e.args), ...e.rest]) visit(a);
    } else if (e.kind === 'binary') [e.left, e.right].forEach(visit);
    else if (e.kind === 'neg') visit(e.arg);
    else if (e.kind === 'tap') visit(e.value);
  };
  for (const s of m.instance.stmts) visit(s.value);
  return found;
}

function constArg(call: InstCall | undefined, name: string): Value | undefined {
  const a = call?.args[name];
  return a?.kind === 'const' ? a.value : undefined;
}

function countIndexed(m: LoweredModel, prefix: string): number {
  const ids = new Set<string>();
  for (const p of m.params) if (p.path.startsWith(`${prefix}.`)) ids.add(p.path.slice(prefix.length + 1).split('.')[0] ?? '');
  return ids.size;
}

const need = <T>(v: T | undefined, what: string): T => {
  if (v === undefined) throw new Error(`config.json: the model has no ${what}`);
  return v;
};

export function writeConfig(preset: Preset, m: LoweredModel): JsonConfig {
  const ctx = m.inputs[0]?.shape[1] ?? null;
  switch (preset) {
    case 'llama': {
      const [vocab, dim] = need(shapeOf(m, 'embed_tokens.weight'), 'embed_tokens') as [number, number];
      const attn = firstCall(m, 'Attention');
      const heads = Number(constArg(attn, 'heads'));
      const kv = constArg(attn, 'kv_heads');
      const ffn = need(shapeOf(m, 'layers.0.mlp.gate_proj.weight'), 'layers.0.mlp')[0] ?? 0;
      return {
        architectures: [m.params.some((p) => p.path.startsWith('score.')) ? 'LlamaForSequenceClassification' : 'LlamaForCausalLM'],
        model_type: 'llama',
        vocab_size: vocab,
        hidden_size: dim,
        intermediate_size: ffn,
        num_hidden_layers: countIndexed(m, 'layers'),
        num_attention_heads: heads,
        num_key_value_heads: typeof kv === 'number' ? kv : heads,
        head_dim: dim / heads,
        max_position_embeddings: ctx,
        rms_norm_eps: Number(constArg(firstCall(m, 'RMSNorm'), 'eps') ?? 1e-5),
        rope_theta: Number(constArg(attn, 'rope_theta') ?? 10000),
        hidden_act: 'silu',
        tie_word_embeddings: false,
        torch_dtype: 'float32',
      };
    }
    case 'gpt2': {
      const [vocab, dim] = need(shapeOf(m, 'wte.weight'), 'wte') as [number, number];
      const [positions] = need(shapeOf(m, 'wpe.weight'), 'wpe') as [number];
      return {
        architectures: ['GPT2LMHeadModel'],
        model_type: 'gpt2',
        vocab_size: vocab,
        n_embd: dim,
        n_positions: positions,
        n_ctx: positions,
        n_layer: countIndexed(m, 'h'),
        n_head: Number(constArg(firstCall(m, 'Attention'), 'heads')),
        n_inner: need(shapeOf(m, 'h.0.mlp.fc1.weight'), 'h.0.mlp')[0] ?? null,
        activation_function: 'gelu_new',
        layer_norm_epsilon: Number(constArg(firstCall(m, 'LayerNorm'), 'eps') ?? 1e-5),
        torch_dtype: 'float32',
      };
    }
    case 'dit': {
      const [dim, channels, patch] = need(shapeOf(m, 'x_embedder.proj.weight'), 'x_embedder') as [number, number, number];
      const block = firstCall(m, 'DiTBlock');
      const table = need(shapeOf(m, 'y_embedder.embedding_table.weight'), 'y_embedder')[0] ?? 0;
      const dropout = Number(constArg(firstCall(m, 'LabelEmbedding'), 'dropout') ?? 0.1);
      const outCh = (shapeOf(m, 'final_layer.linear.weight')?.[0] ?? 0) / (patch * patch);
      return {
        model_type: 'dit',
        input_size: m.inputs[0]?.shape[2] ?? null,
        in_channels: channels,
        patch_size: patch,
        hidden_size: dim,
        depth: countIndexed(m, 'blocks'),
        num_heads: Number(constArg(block, 'heads')),
        mlp_ratio: Number(constArg(block, 'mlp_ratio') ?? 4),
        attention: String(constArg(block, 'attention') ?? 'softmax'),
        class_dropout_prob: dropout,
        num_classes: dropout > 0 ? table - 1 : table,
        learn_sigma: outCh === 2 * channels,
      };
    }
    case 'unet': {
      const [base, channels] = need(shapeOf(m, 'conv_in.weight'), 'conv_in') as [number, number];
      return {
        model_type: 'unet',
        _class_name: 'UNet2DModel',
        sample_size: m.inputs[0]?.shape[2] ?? null,
        in_channels: channels,
        out_channels: shapeOf(m, 'conv_out.weight')?.[0] ?? channels,
        base_channels: base,
        norm_num_groups: Number(constArg(firstCall(m, 'ResBlock'), 'groups') ?? 32),
      };
    }
  }
}

/** config.json keys → conventional Scion model-parameter names, per family. */
const READ_KEYS: Record<Preset, Record<string, string>> = {
  llama: {
    vocab_size: 'vocab',
    hidden_size: 'dim',
    num_hidden_layers: 'depth',
    num_attention_heads: 'heads',
    num_key_value_heads: 'kv_heads',
    intermediate_size: 'ffn',
    max_position_embeddings: 'ctx',
  },
  gpt2: { vocab_size: 'vocab', n_embd: 'dim', n_layer: 'depth', n_head: 'heads', n_positions: 'ctx' },
  dit: { input_size: 'size', in_channels: 'channels', patch_size: 'patch', hidden_size: 'dim', depth: 'depth', num_heads: 'heads', num_classes: 'classes' },
  unet: { sample_size: 'size', in_channels: 'channels', base_channels: 'base', norm_num_groups: 'groups' },
};

/**
 * Reads a config.json into overrides for the parameters the model declares (others are skipped:
 * a spec may fix them). Example: readConfig('llama', cfg, ['vocab', 'dim']) → { vocab: 4096, dim: 256 }.
 */
export function readConfig(preset: Preset, config: Readonly<Record<string, unknown>>, declared: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, name] of Object.entries(READ_KEYS[preset])) {
    const v = config[key];
    if (typeof v === 'number' && declared.includes(name)) out[name] = v;
  }
  return out;
}
