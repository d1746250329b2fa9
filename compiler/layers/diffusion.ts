// Diffusion-transformer layers, following facebookresearch/DiT (models.py) line by line, and the
// LiT linear attention (ReLU kernel, ε in the denominator, 5×5 depthwise conv on v over the token
// grid added to the output, as in FLatten-Transformer which LiT builds on).

import type { GraphBuilder } from '../ir/builder.ts';
import type { Node } from '../ir/graph.ts';
import { fmt, lastDim, type CallCtx, type LayerRule } from './context.ts';
import { layerNorm } from '../ir/compose.ts';
import { conv, linear, mergeHeads, sdpa } from './nn.ts';

/**
 * DiT TimestepEmbedder: freqs_i = exp(−ln(10000)·i/half), emb = [cos(t·f), sin(t·f)] (cos first),
 * then Linear(freq_dim, dim), SiLU, Linear(dim, dim). t: [B] → [B, dim].
 */
export const TimestepEmbedding: LayerRule = (c) => {
  const b = c.b;
  let t = c.tensor('t');
  if (t.shape.length !== 1) c.fail(`timesteps must be [B], found ${fmt(t.shape)}`);
  t = b.cast(t, 'f32');
  const freqDim = c.int('freq_dim');
  if (freqDim % 2 !== 0) c.fail(`freq_dim must be even, found ${freqDim}`);
  const half = freqDim / 2;
  const freqs = Array.from({ length: half }, (_, i) => Math.fround(Math.exp((-Math.log(10000) * Math.fround(i)) / half)));
  const args = b.mul(b.reshape(t, [t.shape[0] ?? 1, 1]), b.constant(freqs, [half])); // [B, half]
  const emb = b.concat([b.cos(args), b.sin(args)], 1); // [B, freq_dim]
  const dim = c.int('dim');
  const h = linear(c, 'linear_1', emb, dim, true, 'timestep_mlp');
  return linear(c, 'linear_2', b.silu(h), dim, true, 'timestep_mlp');
};

/** DiT LabelEmbedder: a [classes (+1 null class when dropout > 0), dim] table. Eval-mode lookup. */
export const LabelEmbedding: LayerRule = (c) => {
  const labels = c.tensor('labels');
  if (labels.dtype !== 'i32') c.fail(`labels must be i32, found ${labels.dtype}`);
  const rows = c.int('classes') + (c.num('dropout') > 0 ? 1 : 0);
  const w = c.param('embedding_table.weight', [rows, c.int('dim')], { kind: 'embedding' });
  return c.b.gather(w, labels, 0);
};

/** Patchify [B, C, H, W] → [B, (H/p)·(W/p), dim] with a conv of kernel = stride = p, row-major tokens. */
export const PatchEmbed: LayerRule = (c) => {
  const x = c.tensor('x');
  const p = c.int('patch');
  if (x.shape.length !== 4 || (x.shape[2] ?? 0) % p !== 0 || (x.shape[3] ?? 0) % p !== 0)
    c.fail(`needs [B, C, H, W] with H and W divisible by ${p}, found ${fmt(x.shape)}`);
  const dim = c.int('dim');
  const y = conv(c, 'proj', x, { out: dim, kernel: p, stride: p, padding: 0, groups: 1, bias: true }, 'patch'); // [B, dim, h, w]
  const [bsz, , h, w] = y.shape as [number, number, number, number];
  return c.b.permute(c.b.reshape(y, [bsz, dim, h * w]), [0, 2, 1]);
};

/** DiT modulate: x·(1 + scale) + shift with scale, shift [B, D] broadcast over tokens. */
function modulate(b: GraphBuilder, x: Node, shift: Node, scale: Node): Node {
  const [bsz, d] = shift.shape as [number, number];
  return b.add(b.mul(x, b.add(b.reshape(scale, [bsz, 1, d]), 1)), b.reshape(shift, [bsz, 1, d]));
}

/** The k-th of n equal chunks of [B, n·D] along axis 1. */
function chunk(b: GraphBuilder, x: Node, n: number, k: number): Node {
  const w = (x.shape[1] ?? 0) / n;
  return b.sliceAxis(x, 1, k * w, (k + 1) * w);
}

/** [B, N, 3·D] from one fused projection → q, k, v as [B, H, N, hd] (timm's qkv layout). */
function splitQkv(b: GraphBuilder, qkv: Node, heads: number): [Node, Node, Node] {
  const [bsz, n, d3] = qkv.shape as [number, number, number];
  const hd = d3 / 3 / heads;
  const r = b.permute(b.reshape(qkv, [bsz, n, 3, heads, hd]), [2, 0, 3, 1, 4]); // [3, B, H, N, hd]
  const part = (k: number): Node => b.reshape(b.sliceAxis(r, 0, k, k + 1), [bsz, heads, n, hd]);
  return [part(0), part(1), part(2)];
}

function checkTokens(c: CallCtx, x: Node, heads: number): void {
  if (x.shape.length !== 3) c.fail(`needs tokens [B, N, D], found ${fmt(x.shape)}`);
  if (heads < 1 || lastDim(x) % heads !== 0) c.fail(`the width ${lastDim(x)} does not split into ${heads} heads`);
}

/** timm Attention as in DiT: fused qkv with bias, softmax attention, proj. */
function softmaxAttention(c: CallCtx, prefix: string, x: Node, heads: number): Node {
  const d = lastDim(x);
  const [q, k, v] = splitQkv(c.b, linear(c, `${prefix}.qkv`, x, 3 * d, true), heads);
  return linear(c, `${prefix}.proj`, mergeHeads(c.b, sdpa(c.b, q, k, v, false)), d, true);
}

/**
 * Linear attention with a ReLU kernel, per head: O = φ(Q)(φ(K)ᵀV) / (φ(Q)·Σⱼφ(Kⱼ)ᵀ + ε), plus a
 * depthwise k×k conv of V on the √N×√N token grid (weights [hd, 1, k, k] shared by the heads).
 */
export function linearAttention(c: CallCtx, prefix: string, x: Node, heads: number, eps: number, kernel: number, bias: boolean): Node {
  checkTokens(c, x, heads);
  const b = c.b;
  const [bsz, n, d] = x.shape as [number, number, number];
  const g = Math.round(Math.sqrt(n));
  if (g * g !== n) c.fail(`the depthwise conv needs a square token grid, found ${n} tokens`);
  const pre = (s: string): string => (prefix === '' ? s : `${prefix}.${s}`);
  const [q0, k0, v] = splitQkv(b, linear(c, pre('qkv'), x, 3 * d, bias), heads); // [B, H, N, hd]
  const hd = d / heads;
  const q = b.relu(q0);
  const k = b.relu(k0);
  const kv = b.matmul(b.transpose(k), v); // [B, H, hd, hd]
  const kSum = b.sum(k, 2, true); // [B, H, 1, hd]
  const denom = b.add(b.matmul(q, b.transpose(kSum)), eps); // [B, H, N, 1]
  let o = b.div(b.matmul(q, kv), denom); // [B, H, N, hd]
  const grid = b.permute(b.reshape(v, [bsz * heads, g, g, hd]), [0, 3, 1, 2]); // [B·H, hd, g, g]
  const dw = conv(c, pre('dwc'), grid, { out: hd, kernel, stride: 1, padding: Math.floor(kernel / 2), groups: hd, bias: true });
  o = b.add(o, b.reshape(b.permute(dw, [0, 2, 3, 1]), [bsz, heads, n, hd]));
  return linear(c, pre('proj'), mergeHeads(b, o), d, bias);
}

export const LinearAttention: LayerRule = (c) => linearAttention(c, '', c.tensor('x'), c.int('heads'), c.num('eps'), c.int('dwc'), c.bool('bias'));

function condition(c: CallCtx, x: Node): Node {
  const cv = c.tensor('c');
  if (cv.shape.length !== 2 || cv.shape[0] !== x.shape[0] || cv.shape[1] !== lastDim(x))
    c.fail(`the condition must be [B, D] = [${x.shape[0]}, ${lastDim(x)}], found ${fmt(cv.shape)}`);
  return cv;
}

/**
 * DiT block (adaLN-Zero): (shift, scale, gate)×2 = Linear(SiLU(c)) chunked in that order;
 * x += gate_msa·Attn(modulate(LN(x), shift_msa, scale_msa)); x += gate_mlp·MLP(modulate(LN(x), …)),
 * LN without affine, eps 1e-6; MLP fc1 → GELU-tanh → fc2 with hidden = int(D·mlp_ratio).
 */
export const DiTBlock: LayerRule = (c) => {
  const b = c.b;
  const x = c.tensor('x'); // [B, N, D]
  const heads = c.int('heads');
  checkTokens(c, x, heads);
  const d = lastDim(x);
  const mod = linear(c, 'adaLN_modulation', b.silu(condition(c, x)), 6 * d, true, 'adaln'); // [B, 6D]
  const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = [0, 1, 2, 3, 4, 5].map((k) => chunk(b, mod, 6, k)) as [Node, Node, Node, Node, Node, Node];
  const gate = (gv: Node): Node => b.reshape(gv, [x.shape[0] ?? 1, 1, d]);

  const kind = c.str('attention');
  const h1 = modulate(b, layerNorm(b, x, { eps: 1e-6 }), shiftMsa, scaleMsa);
  let a: Node;
  if (kind === 'softmax') a = softmaxAttention(c, 'attn', h1, heads);
  else if (kind === 'linear') a = linearAttention(c, 'attn', h1, c.int('attn_heads') > 0 ? c.int('attn_heads') : heads, 1e-6, 5, true);
  else return c.fail(`attention must be "softmax" or "linear", found "${kind}"`);
  const x1 = b.add(x, b.mul(gate(gateMsa), a));

  const h2 = modulate(b, layerNorm(b, x1, { eps: 1e-6 }), shiftMlp, scaleMlp);
  const hidden = Math.trunc(d * c.num('mlp_ratio'));
  const m = linear(c, 'mlp.fc2', b.geluTanh(linear(c, 'mlp.fc1', h2, hidden, true)), d, true);
  return b.add(x1, b.mul(gate(gateMlp), m));
};

/** DiT FinalLayer: (shift, scale) = Linear(SiLU(c)); Linear(modulate(LN(x), shift, scale)) → p²·C. */
export const DiTFinal: LayerRule = (c) => {
  const b = c.b;
  const x = c.tensor('x');
  if (x.shape.length !== 3) c.fail(`needs tokens [B, N, D], found ${fmt(x.shape)}`);
  const d = lastDim(x);
  const mod = linear(c, 'adaLN_modulation', b.silu(condition(c, x)), 2 * d, true, 'adaln');
  const h = modulate(b, layerNorm(b, x, { eps: 1e-6 }), chunk(b, mod, 2, 0), chunk(b, mod, 2, 1));
  const p = c.int('patch');
  return linear(c, 'linear', h, p * p * c.int('channels'), true, 'final');
};
