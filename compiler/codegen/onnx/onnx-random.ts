// random_uniform / random_normal in ONNX, bit for bit: the reference's counter-based hash
// (runtime/cpu/kernels-source.ts: lowbias32 over seed, counter, stream and element index) in
// int64 arithmetic on values in [0, 2³²). Opset 17 has no bitwise ops, so xor goes through the
// 32 bits (x // 2^k mod 2, [..., 32]) and u32 multiplication splits the constant into 16-bit
// halves so no product exceeds 2⁴⁹. That is ~1,300 int64 operations a value (four xors over 32 bit
// columns; 96% of a LoRA-dropout step in ONNX Runtime): `scion export --onnx`
// keeps it so the model stands alone, but --device cpu computes draws from input keys on the host
// and feeds them (backends/cpu/host-draws.ts).

import type { OnnxCtx } from './onnx-rules.ts';

const I64 = 7;
const POW2 = Array.from({ length: 32 }, (_v, k) => 2 ** k);

/** A u32 as its 32 bits (lowest first) along a new last axis. */
function bitsOf(c: OnnxCtx, x: string): string {
  const col = c.op('Unsqueeze', [x, c.i64([-1])]);
  return c.op('Mod', [c.op('Div', [col, c.i64(POW2)]), c.i64([2], [])]);
}

/** a ^ b for u32 values held in int64 (broadcasting). */
function xor(c: OnnxCtx, a: string, b: string): string {
  const ba = bitsOf(c, a);
  const bb = bitsOf(c, b);
  // bit xor = a + b − 2ab
  const x = c.op('Sub', [c.op('Add', [ba, bb]), c.op('Mul', [c.op('Mul', [ba, bb]), c.i64([2], [])])]);
  return c.op('ReduceSum', [c.op('Mul', [x, c.i64(POW2)]), c.i64([-1])], { keepdims: { int: 0 } });
}

const shr = (c: OnnxCtx, x: string, k: number): string => c.op('Div', [x, c.i64([2 ** k], [])]);

/** Math.imul(x, k) >>> 0 for a u32 x and a u32 constant k. */
function imul(c: OnnxCtx, x: string, k: number): string {
  const lo = k % 65536;
  const hi = Math.floor(k / 65536);
  const hiPart = c.op('Mul', [c.op('Mod', [c.op('Mul', [x, c.i64([hi], [])]), c.i64([65536], [])]), c.i64([65536], [])]);
  return c.op('Mod', [c.op('Add', [c.op('Mul', [x, c.i64([lo], [])]), hiPart]), c.i64([2 ** 32], [])]);
}

/** lowbias32, as `mix` in kernels-source.ts. */
function mix(c: OnnxCtx, x0: string): string {
  let x = xor(c, x0, shr(c, x0, 16));
  x = imul(c, x, 0x7feb352d);
  x = xor(c, x, shr(c, x, 15));
  x = imul(c, x, 0x846ca68b);
  return xor(c, x, shr(c, x, 16));
}

/** The uniforms at element indices 0 … count−1 (24 random bits each, as f64). */
function uniforms(c: OnnxCtx, count: number): string {
  // key = i32[2] (seed, counter) → u32 in int64 (Mod by 2³² maps negatives as JS's >>> 0 does).
  const key = c.op('Mod', [c.op('Cast', [c.ins[0] as string], { to: { int: I64 } }), c.i64([2 ** 32], [])]);
  const seed = c.op('Gather', [key, c.i64([0], [])], { axis: { int: 0 } });
  const counter = c.op('Gather', [key, c.i64([1], [])], { axis: { int: 0 } });
  const stream = c.node.attrs['stream'] as number;
  let s = mix(c, xor(c, seed, c.i64([0x9e3779b9], [])));
  s = mix(c, xor(c, s, counter));
  s = mix(c, xor(c, s, c.i64([stream >>> 0], [])));
  const index = c.op('Range', [c.i64([0], []), c.i64([count], []), c.i64([1], [])]);
  const bits = mix(c, xor(c, s, index));
  const top24 = c.op('Cast', [shr(c, bits, 8)], { to: { int: 11 } });
  return c.op('Mul', [top24, c.f64(2 ** -24)]);
}

export function emitRandom(c: OnnxCtx, kind: 'uniform' | 'normal'): string {
  const shape = c.node.shape;
  const n = shape.reduce((p, d) => p * d, 1);
  let out: string;
  if (kind === 'uniform') out = uniforms(c, n);
  else {
    // Box-Muller on the uniforms of indices 2i and 2i+1, in f64 as the reference computes it.
    const pairs = c.op('Reshape', [uniforms(c, 2 * n), c.i64([n, 2])]);
    const u1 = c.op('Sub', [c.f64(1), c.op('Gather', [pairs, c.i64([0], [])], { axis: { int: 1 } })]);
    const u2 = c.op('Gather', [pairs, c.i64([1], [])], { axis: { int: 1 } });
    const r = c.op('Sqrt', [c.op('Mul', [c.f64(-2), c.op('Log', [u1])])]);
    out = c.op('Mul', [r, c.op('Cos', [c.op('Mul', [u2, c.f64(2 * Math.PI)])])]);
  }
  return c.op('Reshape', [c.op('Cast', [out], { to: { int: 1 } }), c.i64(shape)]);
}
