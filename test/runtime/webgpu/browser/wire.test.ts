// The wire form of tensors that crosses into and out of a page: f32 bytes in base64, checked
// against hand-computed encodings, with the values JSON numbers would lose.

import { describe, expect, it } from 'vitest';
import { fromWire, toWire } from '../../../../runtime/webgpu/browser/wire.ts';

describe('wire tensors', () => {
  it('encodes f32 values as their little-endian bytes in base64', () => {
    // 1.0f = 0x3F800000 → bytes 00 00 80 3F; -2.0f = 0xC0000000 → 00 00 00 C0.
    expect(toWire({ dtype: 'f32', shape: [2], data: Float32Array.of(1, -2) })).toEqual({ dtype: 'f32', shape: [2], f32: 'AACAPwAAAMA=' });
  });

  it('keeps NaN and ±Infinity, which a JSON number list turns into null', () => {
    const w = JSON.parse(JSON.stringify(toWire({ dtype: 'f32', shape: [2, 2], data: Float32Array.of(NaN, Infinity, -Infinity, 0.5) })));
    const t = fromWire(w);
    expect(t.shape).toEqual([2, 2]);
    expect([...t.data]).toEqual([NaN, Infinity, -Infinity, 0.5]);
  });

  it('rounds f64 host values to f32, as the device arenas do', () => {
    const t = fromWire(toWire({ dtype: 'f32', shape: [1], data: Float64Array.of(0.1) }));
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.data[0]).toBe(Math.fround(0.1));
    expect(t.data[0]).not.toBe(0.1);
  });

  it('brings i32 and bool back in their host arrays', () => {
    const ids = fromWire(toWire({ dtype: 'i32', shape: [3], data: Int32Array.of(-3, 7, 16_777_216) }));
    expect(ids.data).toBeInstanceOf(Int32Array);
    expect([...ids.data]).toEqual([-3, 7, 16_777_216]);
    const mask = fromWire(toWire({ dtype: 'bool', shape: [3], data: Uint8Array.of(0, 1, 1) }));
    expect(mask.data).toBeInstanceOf(Uint8Array);
    expect([...mask.data]).toEqual([0, 1, 1]);
  });

  it('encodes only the viewed part of a typed array', () => {
    const whole = Float32Array.of(9, 1, -2, 9);
    expect(toWire({ dtype: 'f32', shape: [2], data: whole.subarray(1, 3) }).f32).toBe('AACAPwAAAMA=');
  });

  it('refuses values that do not fill the shape', () => {
    expect(() => fromWire({ dtype: 'f32', shape: [3], f32: 'AACAPwAAAMA=' })).toThrow('wire: 2 values do not fill shape [3]');
    expect(() => fromWire({ dtype: 'f32', shape: [1], f32: 'AACA' })).toThrow('wire: 3 bytes are not a whole number of f32 values');
  });
});
