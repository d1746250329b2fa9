// The lowered llama forward pass against a straightforward JS transcription of Hugging Face's
// LlamaForCausalLM (RMSNorm, RoPE rotate_half θ = 10000, GQA repeat_kv, causal softmax attention,
// SwiGLU MLP, lm_head), written here independently of the layer library.

import { describe, expect, it } from 'vitest';
import { lower, maxRelErr, randomWeights, run, llamaSpec } from './helpers.ts';

const SPEC = `
${llamaSpec('L', 'vocab = 11, dim = 16, depth = 2, heads = 4, kv_heads = 2, ffn = 24, ctx = 5')}`;

type Mat = number[][]; // [rows][cols]

/** y[t] = W·x[t] for W [out, in] stored row-major. */
function linear(x: Mat, w: Float32Array, out: number): Mat {
  return x.map((row) => Array.from({ length: out }, (_, o) => row.reduce((s, v, i) => s + v * (w[o * row.length + i] as number), 0)));
}

function rmsNorm(x: Mat, g: Float32Array): Mat {
  return x.map((row) => {
    const ms = row.reduce((s, v) => s + v * v, 0) / row.length;
    const r = 1 / Math.sqrt(ms + 1e-5);
    return row.map((v, i) => v * r * (g[i] as number));
  });
}

/** HF apply_rotary_pos_emb on one head's [T, hd] block. */
function rope(x: Mat): Mat {
  return x.map((row, pos) => {
    const hd = row.length;
    const half = hd / 2;
    return row.map((v, j) => {
      const i = j % half;
      const angle = pos / 10000 ** ((2 * i) / hd);
      const rot = j < half ? -(row[j + half] as number) : (row[j - half] as number);
      return v * Math.cos(angle) + rot * Math.sin(angle);
    });
  });
}

function reference(
  w: Map<string, Float32Array>,
  tokens: number[][],
  c: { vocab: number; dim: number; depth: number; heads: number; kv: number; ffn: number },
): number[][][] {
  const hd = c.dim / c.heads;
  const get = (k: string): Float32Array => w.get(k) as Float32Array;
  return tokens.map((seq) => {
    const emb = get('embed_tokens.weight');
    let h: Mat = seq.map((t) => Array.from(emb.subarray(t * c.dim, (t + 1) * c.dim)));
    for (let l = 0; l < c.depth; l++) {
      const p = `layers.${l}`;
      const a = rmsNorm(h, get(`${p}.input_layernorm.weight`));
      const q = linear(a, get(`${p}.self_attn.q_proj.weight`), c.heads * hd);
      const k = linear(a, get(`${p}.self_attn.k_proj.weight`), c.kv * hd);
      const v = linear(a, get(`${p}.self_attn.v_proj.weight`), c.kv * hd);
      const head = (m: Mat, n: number): Mat => m.map((r) => r.slice(n * hd, (n + 1) * hd));
      const o: Mat = seq.map(() => []);
      for (let hh = 0; hh < c.heads; hh++) {
        const kvh = Math.floor(hh / (c.heads / c.kv)); // repeat_kv
        const qh = rope(head(q, hh));
        const kh = rope(head(k, kvh));
        const vh = head(v, kvh);
        qh.forEach((qi, i) => {
          const s = kh.slice(0, i + 1).map((kj) => qi.reduce((acc, x, d) => acc + x * (kj[d] as number), 0) / Math.sqrt(hd));
          const m = Math.max(...s);
          const e = s.map((x) => Math.exp(x - m));
          const z = e.reduce((x, y) => x + y, 0);
          const out = Array.from({ length: hd }, (_, d) => e.reduce((acc, ej, j) => acc + (ej / z) * ((vh[j] as number[])[d] as number), 0));
          (o[i] as number[]).push(...out);
        });
      }
      const attn = linear(o, get(`${p}.self_attn.o_proj.weight`), c.dim);
      h = h.map((r, t) => r.map((x, d) => x + ((attn[t] as number[])[d] as number)));
      const m = rmsNorm(h, get(`${p}.post_attention_layernorm.weight`));
      const g = linear(m, get(`${p}.mlp.gate_proj.weight`), c.ffn);
      const u = linear(m, get(`${p}.mlp.up_proj.weight`), c.ffn);
      const act = g.map((r, t) => r.map((x, j) => (x / (1 + Math.exp(-x))) * ((u[t] as number[])[j] as number)));
      const down = linear(act, get(`${p}.mlp.down_proj.weight`), c.dim);
      h = h.map((r, t) => r.map((x, d) => x + ((down[t] as number[])[d] as number)));
    }
    return linear(rmsNorm(h, get('norm.weight')), get('lm_head.weight'), c.vocab);
  });
}

describe('llama forward', () => {
  it('matches a direct transcription of HF llama (GQA, RoPE, causal) to 1e-4', () => {
    const m = lower(SPEC, 'L', { dims: { batch: 2 } });
    const w = randomWeights(m, 3, 0.4);
    // Norm gains near 1 as in trained models, but not exactly 1 so the gain is exercised.
    for (const [k, v] of w)
      if (k.endsWith('layernorm.weight') || k === 'norm.weight')
        w.set(
          k,
          v.map((x) => 1 + x),
        );
    const tokens = [
      [1, 5, 10, 3, 0],
      [7, 7, 2, 9, 4],
    ];
    const out = run(m, w, { tokens: { dtype: 'i32', shape: [2, 5], data: Int32Array.from(tokens.flat()) } }, 'f32');
    const logits = out.get('logits');
    expect(logits?.shape).toEqual([2, 5, 11]);
    const want = reference(w, tokens, { vocab: 11, dim: 16, depth: 2, heads: 4, kv: 2, ffn: 24 }).flat(2);
    expect(maxRelErr(logits?.data ?? [], want)).toBeLessThan(1e-4);
  });

  it('is causal: changing a later token leaves earlier logits unchanged', () => {
    const m = lower(SPEC, 'L');
    const w = randomWeights(m, 5);
    const a = run(m, w, { tokens: { dtype: 'i32', shape: [1, 5], data: Int32Array.from([1, 2, 3, 4, 5]) } }).get('logits')?.data ?? [];
    const b = run(m, w, { tokens: { dtype: 'i32', shape: [1, 5], data: Int32Array.from([1, 2, 3, 4, 9]) } }).get('logits')?.data ?? [];
    expect(Array.from(a).slice(0, 44)).toEqual(Array.from(b).slice(0, 44));
    expect(Array.from(a).slice(44)).not.toEqual(Array.from(b).slice(44));
  });
});
