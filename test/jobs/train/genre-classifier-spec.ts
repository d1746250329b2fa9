// The tiny genre classifier the adapter tests train: a llama parent P (`scion init` writes its
// weights to parent/model.safetensors) and a classifier C that inherits every weight but the new
// genre head. Each test appends its own adapters and train blocks.

const BODY = `
  input tokens: i32[batch, ctx]
  h = Embedding(tokens, vocab, dim) as embed_tokens
  repeat i in 0..depth {
    h = h + Attention(RMSNorm(h) as layers[i].input_layernorm, heads, kv_heads = kv_heads, rope = true, causal = true) as layers[i].self_attn
    h = h + SwiGLU(RMSNorm(h) as layers[i].post_attention_layernorm, ffn) as layers[i].mlp
  }`;

/** P, C and the inheritance between them, at `depth` blocks, followed by `rest`. */
export function genreClassifierSpec(depth: number, rest: string): string {
  const dims = `vocab = 320, dim = 16, depth = ${depth}, heads = 2, kv_heads = 1, ffn = 32, ctx = 16`;
  return `
model P(${dims}) preset llama {${BODY}
  output logits = Linear(RMSNorm(h) as norm, vocab, bias = false) as lm_head
}
model C(${dims}, genres = 15) preset llama {${BODY}
  features = mean(RMSNorm(h) as norm, axis = 1)
  output logits = Linear(features, genres) as score
}
inherit C from P at "parent/model.safetensors" {
  except = ["score.*"]
}
${rest}`;
}
