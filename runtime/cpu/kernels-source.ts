// Source kernels: named inputs and params (read from the feed map), literals, iota, and the
// counter-based random generator (a pure hash of seed, counter, stream and element index, so any
// backend reproduces the same numbers and no RNG state is carried between steps).

import type { Tensor } from './tensor.ts';
import { num, nums, offsets, size, stridesOf, type CpuKernel } from './kernel.ts';

export const feedKernel: CpuKernel = (c) => {
  const name = c.node.attrs['name'] as string;
  const t: Tensor | undefined = c.feeds.get(name);
  const what = c.node.op === 'param' ? 'parameter' : 'input';
  if (!t) throw new Error(`runGraph: missing ${what} '${name}' (${c.node.dtype}[${c.node.shape.join(',')}])`);
  if (t.shape.length !== c.node.shape.length || t.shape.some((d, i) => d !== c.node.shape[i])) {
    throw new Error(`runGraph: ${what} '${name}' has shape [${t.shape.join(',')}], the graph expects [${c.node.shape.join(',')}]`);
  }
  if (t.dtype !== c.node.dtype) throw new Error(`runGraph: ${what} '${name}' is ${t.dtype}, the graph expects ${c.node.dtype}`);
  const out = c.alloc(t.data.length);
  out.set(t.data);
  return out;
};

export const constantKernel: CpuKernel = (c) => {
  const data = nums(c.node, 'data');
  const out = c.alloc(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] as number;
  return out;
};

export const fullKernel: CpuKernel = (c) => c.alloc(size(c.node.shape)).fill(num(c.node, 'value'));

export const iotaKernel: CpuKernel = (c) => {
  const shape = c.node.shape;
  const axis = num(c.node, 'axis');
  // Offsets with stride 1 on `axis` and 0 elsewhere are exactly the index along axis.
  const idx = offsets(
    shape,
    stridesOf(shape).map((_s, i) => (i === axis ? 1 : 0)),
  );
  const out = c.alloc(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = idx[i] as number;
  return out;
};

/** lowbias32 (Chris Wellons' integer hash): good avalanche, u32 ops only, so WGSL can match it. */
function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

export function randomBits(seed: number, counter: number, stream: number, index: number): number {
  return mix(mix(mix(mix(seed ^ 0x9e3779b9) ^ counter) ^ stream) ^ index);
}

/** A uniform in [0, 1) with 24 random bits (exact in f32). */
export function uniformAt(seed: number, counter: number, stream: number, index: number): number {
  return (randomBits(seed, counter, stream, index) >>> 8) / 16777216;
}

export const randomUniformKernel: CpuKernel = (c) => {
  const key = c.ins[0] as Float32Array | Float64Array;
  const [seed, counter] = [key[0] as number, key[1] as number];
  const stream = num(c.node, 'stream');
  const out = c.alloc(size(c.node.shape));
  for (let i = 0; i < out.length; i++) out[i] = uniformAt(seed, counter, stream, i);
  return out;
};

export const randomNormalKernel: CpuKernel = (c) => {
  const key = c.ins[0] as Float32Array | Float64Array;
  const [seed, counter] = [key[0] as number, key[1] as number];
  const stream = num(c.node, 'stream');
  const out = c.alloc(size(c.node.shape));
  for (let i = 0; i < out.length; i++) {
    // Box-Muller on the element's two uniforms; u1 in (0, 1] so the log is finite.
    const u1 = 1 - uniformAt(seed, counter, stream, 2 * i);
    const u2 = uniformAt(seed, counter, stream, 2 * i + 1);
    out[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return out;
};
