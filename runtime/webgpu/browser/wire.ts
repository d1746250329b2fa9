// Tensors as JSON-safe data, for crossing into and out of a page (fetch, postMessage, a test
// driver's evaluate). Values travel as the little-endian bytes of a Float32Array in base64: the
// arenas hold every dtype as f32 anyway (i32 and bool exact up to 2^24), and unlike a JSON number
// list this keeps NaN and ±Infinity, which a comparison with the CPU reference must see.

import type { DType } from '../../../compiler/ir/graph.ts';
import type { Tensor } from '../../cpu/tensor.ts';

export interface WireTensor {
  dtype: DType;
  shape: number[];
  /** base64 of the values as f32 bytes (little-endian), row-major. */
  f32: string;
}

// btoa/atob take "binary strings"; a chunk keeps String.fromCharCode's argument list short.
const CHUNK = 0x8000;

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(binary);
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// Every platform Scion runs on (x86, ARM, browsers' WebAssembly hosts) is little-endian; a
// big-endian host would silently scramble values, so refuse it loudly instead.
if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error('wire: big-endian hosts are not supported');

/** Encodes a host tensor (any dtype) for the wire. */
export function toWire(t: Tensor): WireTensor {
  const values = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
  return { dtype: t.dtype, shape: [...t.shape], f32: bytesToBase64(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)) };
}

/** Decodes a wire tensor into the host form the runtimes use (Int32Array, Uint8Array or Float32Array). */
export function fromWire(w: WireTensor): Tensor {
  const bytes = base64ToBytes(w.f32);
  if (bytes.length % 4 !== 0) throw new Error(`wire: ${bytes.length} bytes are not a whole number of f32 values`);
  const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const count = w.shape.reduce((a, d) => a * d, 1);
  if (values.length !== count) throw new Error(`wire: ${values.length} values do not fill shape [${w.shape.join(',')}]`);
  const shape = [...w.shape];
  if (w.dtype === 'i32') return { dtype: 'i32', shape, data: Int32Array.from(values) };
  if (w.dtype === 'bool') return { dtype: 'bool', shape, data: Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0)) };
  return { dtype: w.dtype, shape, data: values };
}
