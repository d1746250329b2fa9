// The lowered DiT forward pass against a direct transcription of facebookresearch/DiT models.py
// (patchify conv, 2-D sin-cos pos embed, timestep/label embedders, adaLN-Zero block, final layer,
// unpatchify), written here independently of the layer library, with random nonzero weights.

import { describe, expect, it } from 'vitest';
import { lower, maxRelErr, randomWeights, run } from './helpers.ts';

const SPEC = `
model D(size = 4, channels = 1, patch = 2, dim = 8, depth = 1, heads = 2, classes = 3) preset dit {
  input x: f32[batch, channels, size, size]
  input t: f32[batch]
  input y: i32[batch]
  h = pos_embed_2d(PatchEmbed(x, patch, dim) as x_embedder)
  c = TimestepEmbedding(t, dim) as t_embedder + LabelEmbedding(y, classes, dim) as y_embedder
  repeat i in 0..depth {
    h = DiTBlock(h, c, heads) as blocks[i]
  }
  out = DiTFinal(h, c, patch, channels * 2) as final_layer
  output img = unpatchify(out, patch, channels * 2)
}`;

type V = number[];
const lin = (x: V, w: Float32Array, b: Float32Array | undefined, out: number): V =>
  Array.from({ length: out }, (_, o) => x.reduce((s, v, i) => s + v * (w[o * x.length + i] as number), b?.[o] ?? 0));
const silu = (v: number): number => v / (1 + Math.exp(-v));
const gelu = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
const ln = (x: V): V => {
  const mu = x.reduce((a, b) => a + b, 0) / x.length;
  const va = x.reduce((a, b) => a + (b - mu) ** 2, 0) / x.length;
  return x.map((v) => (v - mu) / Math.sqrt(va + 1e-6));
};

/** numpy get_2d_sincos_pos_embed(D, grid): meshgrid(w, h); emb_h from grid[0], emb_w from grid[1]. */
function posEmbed(d: number, g: number): V[] {
  const oneD = (dd: number, pos: number): V => {
    const om = Array.from({ length: dd / 2 }, (_, k) => 1 / 10000 ** (k / (dd / 2)));
    return [...om.map((o) => Math.sin(pos * o)), ...om.map((o) => Math.cos(pos * o))];
  };
  const out: V[] = [];
  for (let i = 0; i < g; i++) for (let j = 0; j < g; j++) out.push([...oneD(d / 2, j), ...oneD(d / 2, i)]);
  return out;
}

function reference(w: Map<string, Float32Array>, x: number[][][], ts: number[], ys: number[]): number[] {
  const W = (k: string): Float32Array => w.get(k) as Float32Array;
  const D = 8,
    p = 2,
    H = 2,
    hd = 4,
    g = 2,
    C = 1;
  const out: number[] = [];
  x.forEach((img, bi) => {
    // patchify: token (i, j) = conv over img[2i..2i+1][2j..2j+1]
    const pe = posEmbed(D, g);
    let tok: V[] = [];
    for (let i = 0; i < g; i++)
      for (let j = 0; j < g; j++) {
        const patch = [img[2 * i]?.[2 * j], img[2 * i]?.[2 * j + 1], img[2 * i + 1]?.[2 * j], img[2 * i + 1]?.[2 * j + 1]] as number[];
        tok.push(lin(patch, W('x_embedder.proj.weight'), W('x_embedder.proj.bias'), D).map((v, k) => v + (pe[i * g + j]?.[k] as number)));
      }
    const half = 128;
    const f = Array.from({ length: half }, (_, k) => Math.exp((-Math.log(10000) * k) / half));
    const temb0 = [...f.map((fr) => Math.cos((ts[bi] as number) * fr)), ...f.map((fr) => Math.sin((ts[bi] as number) * fr))];
    const temb = lin(
      lin(temb0, W('t_embedder.linear_1.weight'), W('t_embedder.linear_1.bias'), D).map(silu),
      W('t_embedder.linear_2.weight'),
      W('t_embedder.linear_2.bias'),
      D,
    );
    const yemb = Array.from(W('y_embedder.embedding_table.weight').subarray((ys[bi] as number) * D, ((ys[bi] as number) + 1) * D));
    const c = temb.map((v, k) => v + (yemb[k] as number));
    const mod = lin(c.map(silu), W('blocks.0.adaLN_modulation.weight'), W('blocks.0.adaLN_modulation.bias'), 6 * D);
    const part = (k: number): V => mod.slice(k * D, (k + 1) * D);
    const modulate = (v: V, sh: V, sc: V): V => v.map((a, k) => a * (1 + (sc[k] as number)) + (sh[k] as number));
    const h1 = tok.map((r) => modulate(ln(r), part(0), part(1)));
    const qkv = h1.map((r) => lin(r, W('blocks.0.attn.qkv.weight'), W('blocks.0.attn.qkv.bias'), 3 * D));
    const att = h1.map(() => [] as number[]);
    for (let hh = 0; hh < H; hh++) {
      const sl = (r: V, which: number): V => r.slice(which * D + hh * hd, which * D + (hh + 1) * hd);
      qkv.forEach((qi, i) => {
        const s = qkv.map((kj) => sl(qi, 0).reduce((a, v, d) => a + v * (sl(kj, 1)[d] as number), 0) / Math.sqrt(hd));
        const m = Math.max(...s);
        const e = s.map((v) => Math.exp(v - m));
        const z = e.reduce((a, b) => a + b, 0);
        (att[i] as number[]).push(...Array.from({ length: hd }, (_, d) => e.reduce((a, ej, j) => a + (ej / z) * (sl(qkv[j] as V, 2)[d] as number), 0)));
      });
    }
    tok = tok.map((r, i) => {
      const a = lin(att[i] as V, W('blocks.0.attn.proj.weight'), W('blocks.0.attn.proj.bias'), D);
      return r.map((v, k) => v + (part(2)[k] as number) * (a[k] as number));
    });
    tok = tok.map((r) => {
      const hmid = lin(modulate(ln(r), part(3), part(4)), W('blocks.0.mlp.fc1.weight'), W('blocks.0.mlp.fc1.bias'), 4 * D).map(gelu);
      const m2 = lin(hmid, W('blocks.0.mlp.fc2.weight'), W('blocks.0.mlp.fc2.bias'), D);
      return r.map((v, k) => v + (part(5)[k] as number) * (m2[k] as number));
    });
    const fm = lin(c.map(silu), W('final_layer.adaLN_modulation.weight'), W('final_layer.adaLN_modulation.bias'), 2 * D);
    const fin = tok.map((r) => lin(modulate(ln(r), fm.slice(0, D), fm.slice(D)), W('final_layer.linear.weight'), W('final_layer.linear.bias'), p * p * 2 * C));
    // unpatchify: nhwpqc → nchpwq
    for (let ch = 0; ch < 2 * C; ch++)
      for (let row = 0; row < g * p; row++)
        for (let col = 0; col < g * p; col++) {
          const tokIdx = Math.floor(row / p) * g + Math.floor(col / p);
          out.push((fin[tokIdx] as V)[((row % p) * p + (col % p)) * 2 * C + ch] as number);
        }
  });
  return out;
}

describe('DiT forward', () => {
  it('matches a direct transcription of DiT models.py to 1e-4', () => {
    const m = lower(SPEC, 'D', { dims: { batch: 2 } });
    const w = randomWeights(m, 7, 0.4);
    const xs = [
      [
        [0.1, -0.3, 0.5, 0.2],
        [0.9, -0.1, 0.3, 0.7],
        [-0.5, 0.4, 0.0, 0.8],
        [0.6, -0.9, 0.2, -0.2],
      ],
      [
        [0.3, 0.1, -0.4, 0.5],
        [-0.7, 0.2, 0.8, 0.1],
        [0.4, 0.4, -0.6, 0.3],
        [0.0, 0.9, -0.1, -0.8],
      ],
    ];
    const out = run(
      m,
      w,
      {
        x: { dtype: 'f32', shape: [2, 1, 4, 4], data: Float32Array.from(xs.flat(2)) },
        t: { dtype: 'f32', shape: [2], data: Float32Array.from([17, 640]) },
        y: { dtype: 'i32', shape: [2], data: Int32Array.from([2, 0]) },
      },
      'f32',
    ).get('img');
    expect(out?.shape).toEqual([2, 2, 4, 4]);
    expect(maxRelErr(out?.data ?? [], reference(w, xs, [17, 640], [2, 0]))).toBeLessThan(1e-4);
  });
});
