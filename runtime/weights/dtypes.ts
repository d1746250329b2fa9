// Safetensors dtypes: byte sizes, the typed array each one reads into, and the f16/bf16 <-> f32
// conversions. Floating-point tensors of every width read as Float32Array (the runtime computes
// in f32); F64 keeps its precision. All data is little-endian, as the format prescribes; the
// typed-array views below assume a little-endian host (x86, ARM), which Node everywhere is.

export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** What `read` returns per dtype. */
export type TensorArray = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | BigInt64Array;

interface DtypeInfo {
  /** Bytes per element on disk. */
  size: number;
  /** One-line meaning, for `scion inspect`. */
  doc: string;
}

export const DTYPES: Record<Dtype, DtypeInfo> = {
  F64: { size: 8, doc: 'IEEE double; read as Float64Array' },
  F32: { size: 4, doc: 'IEEE single; read as Float32Array' },
  F16: { size: 2, doc: 'IEEE half; converted to Float32Array on read' },
  BF16: { size: 2, doc: 'bfloat16 (top half of an f32); converted to Float32Array on read' },
  I64: { size: 8, doc: 'signed 64-bit; read as BigInt64Array' },
  I32: { size: 4, doc: 'signed 32-bit; read as Int32Array' },
  I16: { size: 2, doc: 'signed 16-bit; read as Int16Array' },
  I8: { size: 1, doc: 'signed 8-bit; read as Int8Array' },
  U8: { size: 1, doc: 'unsigned 8-bit; read as Uint8Array' },
  BOOL: { size: 1, doc: 'one byte per value, 0 or 1; read as Uint8Array' },
};

export function isDtype(name: string): name is Dtype {
  return Object.hasOwn(DTYPES, name);
}

/** Decodes little-endian raw bytes of `dtype` into its typed array. `bytes` is owned (may be reused). */
export function decodeTensor(dtype: Dtype, bytes: Uint8Array): TensorArray {
  // Copy into a fresh, aligned buffer when the view is not aligned for the element size.
  const size = DTYPES[dtype].size;
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const { buffer, byteOffset } = aligned;
  const n = bytes.byteLength / size;
  switch (dtype) {
    case 'F64':
      return new Float64Array(buffer, byteOffset, n);
    case 'F32':
      return new Float32Array(buffer, byteOffset, n);
    case 'F16':
      return halfToF32(new Uint16Array(buffer, byteOffset, n));
    case 'BF16':
      return bf16ToF32(new Uint16Array(buffer, byteOffset, n));
    case 'I64':
      return new BigInt64Array(buffer, byteOffset, n);
    case 'I32':
      return new Int32Array(buffer, byteOffset, n);
    case 'I16':
      return new Int16Array(buffer, byteOffset, n);
    case 'I8':
      return new Int8Array(buffer, byteOffset, n);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buffer, byteOffset, n);
  }
}

/** Encodes values into the little-endian bytes of `dtype` (f32 data may be written as F16/BF16). */
export function encodeTensor(dtype: Dtype, data: TensorArray): Uint8Array {
  const bytesOf = (view: ArrayBufferView): Uint8Array => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  if ((dtype === 'F16' || dtype === 'BF16') && data instanceof Float32Array) {
    return bytesOf(dtype === 'F16' ? f32ToHalf(data) : f32ToBf16(data));
  }
  const expected = arrayKind(dtype);
  if (!(data instanceof expected)) {
    throw new Error(`encodeTensor: ${dtype} needs a ${expected.name}, got a ${data.constructor.name}`);
  }
  return bytesOf(data);
}

function arrayKind(dtype: Dtype): { new (n: number): TensorArray; readonly name: string } {
  switch (dtype) {
    case 'F64':
      return Float64Array;
    case 'F32':
    case 'F16':
    case 'BF16':
      return Float32Array;
    case 'I64':
      return BigInt64Array;
    case 'I32':
      return Int32Array;
    case 'I16':
      return Int16Array;
    case 'I8':
      return Int8Array;
    case 'U8':
    case 'BOOL':
      return Uint8Array;
  }
}

// ---- half precision ----

const F32_SCRATCH = new Float32Array(1);
const U32_SCRATCH = new Uint32Array(F32_SCRATCH.buffer);

/** One IEEE half (as its 16 bits) to a number; exact (every half is an f32). */
export function halfBitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** A number to the nearest IEEE half bits, ties to even; overflow goes to ±Infinity. */
export function numberToHalfBits(value: number): number {
  F32_SCRATCH[0] = value;
  const x = U32_SCRATCH[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // underflows to zero
    // Subnormal: shift the full mantissa (with its hidden bit) into place, round to nearest even.
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rest > half || (rest === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) r++; // may carry into the exponent: correct
  return sign | r;
}

const HALF_TABLE = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = halfBitsToNumber(h);
  return table;
})();

export function halfToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = HALF_TABLE[bits[i]!]!;
  return out;
}

export function f32ToHalf(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = numberToHalfBits(values[i]!);
  return out;
}

/** bf16 is the top 16 bits of an f32, so widening is a shift. */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i]! << 16;
  return new Float32Array(out.buffer);
}

/** Narrowing rounds to nearest even on the dropped 16 bits; NaN stays a (quiet) NaN. */
export function f32ToBf16(values: Float32Array): Uint16Array {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = words[i]!;
    if ((x & 0x7fffffff) > 0x7f800000) {
      out[i] = (x >>> 16) | 0x40;
      continue;
    }
    out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}
