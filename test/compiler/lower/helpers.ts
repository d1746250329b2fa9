// Shared by the lowering tests: parse a spec, lower a model, fill it with small random weights
// and run it on the CPU reference.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Program } from '../../../grammar/ast.ts';
import { parseProgram } from '../../../grammar/dsl/parse.ts';
import { lowerModel, type LoweredModel, type LowerOptions } from '../../../compiler/lower/lower-model.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';

export const SPECS = join(import.meta.dirname, '../../../specs');

export function parse(text: string, file = 'test.scion'): Program {
  const { program, diagnostics } = parseProgram(text, file);
  if (diagnostics.length > 0) throw new Error(diagnostics.map((d) => `${d.code} ${d.message}`).join('\n'));
  return program;
}

export function parseSpec(name: string): Program {
  return parse(readFileSync(join(SPECS, name), 'utf8'), `specs/${name}`);
}

export function lower(text: string, model: string, opts: LowerOptions = {}): LoweredModel {
  return lowerModel(parse(text), model, opts);
}

/** Deterministic uniform(−scale, scale) values (mulberry32). */
export function randoms(n: number, seed: number, scale = 0.5): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[k] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

export const numel = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);

/** Random weights for every parameter, keyed by path. */
export function randomWeights(m: LoweredModel, seed = 1, scale = 0.3): Map<string, Float32Array> {
  return new Map(m.params.map((p, k) => [p.path, randoms(numel(p.shape), seed * 1000 + k, scale)]));
}

export function run(
  m: LoweredModel,
  weights: ReadonlyMap<string, Float32Array>,
  inputs: Record<string, Tensor>,
  dtype: 'f32' | 'f64' = 'f64',
): Map<string, Tensor> {
  const feed = new Map<string, Tensor>();
  for (const p of m.params) {
    const w = weights.get(p.path);
    if (w === undefined) throw new Error(`no weight for ${p.path}`);
    feed.set(p.path, { dtype: 'f32', shape: p.shape, data: w });
  }
  for (const [k, v] of Object.entries(inputs)) feed.set(k, v);
  return runGraph(m.graph, feed, { dtype });
}

/** max |a − b| / max(|b|, 1e-3) over all elements. */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let k = 0; k < a.length; k++) {
    const d = Math.abs((a[k] as number) - (b[k] as number)) / Math.max(Math.abs(b[k] as number), 1e-3);
    worst = Math.max(worst, d);
  }
  return worst;
}

/** The llama family as the specs write it (GQA attention with RoPE, SwiGLU, RMSNorm), under `name(params)`. */
export function llamaSpec(name: string, params: string): string {
  return `model ${name}(${params}) preset llama {
  input tokens: i32[batch, ctx]
  h = Embedding(tokens, vocab, dim) as embed_tokens
  repeat i in 0..depth {
    h = h + Attention(RMSNorm(h) as layers[i].input_layernorm, heads, kv_heads = kv_heads, rope = true, causal = true) as layers[i].self_attn
    h = h + SwiGLU(RMSNorm(h) as layers[i].post_attention_layernorm, ffn) as layers[i].mlp
  }
  output logits = Linear(RMSNorm(h) as norm, vocab, bias = false) as lm_head
}`;
}
