// f32 ↔ f16 (IEEE binary16) on the host, for arenas stored as f16 (compiler/codegen/wgsl/
// f16-storage.ts): uploads round to nearest, ties to even, as a GPU's f32→f16 conversion does;
// overflow gives ±inf, tiny values f16 subnormals or ±0. Node 20 has no Float16Array.

const F32 = new Float32Array(1);
const BITS = new Uint32Array(F32.buffer);

/** The f16 bit pattern nearest to `v` (rounded to f32 first). */
export function f16Bits(v: number): number {
  F32[0] = v;
  const x = BITS[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // subnormal: the 24-bit significand shifted down to units of 2^-24
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    let h = full >>> shift;
    if (rem > half || (rem === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // a carry out of the mantissa bumps the exponent, which is exactly right (up to inf)
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

/** The value of f16 bit pattern `h`. */
export function f16Value(h: number): number {
  const s = (h & 0x8000) !== 0 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m !== 0 ? NaN : s * Infinity;
  return s * (1024 + m) * 2 ** (e - 25);
}

/** f16 words of `data`, padded with a zero to an even count (4-byte writes). */
export function toF16(data: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(Math.ceil(data.length / 2) * 2);
  for (let i = 0; i < data.length; i++) out[i] = f16Bits(data[i] as number);
  return out;
}

/** The first `count` f16 words of `words` as f32. */
export function fromF16(words: Uint16Array, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = f16Value(words[i] as number);
  return out;
}
