import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSafetensors, writeSafetensors } from '../../../runtime/weights/index.ts';
import { halfBitsToNumber, numberToHalfBits } from '../../../runtime/weights/dtypes.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scion-st-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Builds a safetensors file by hand (no writer involved): header text, then raw data bytes. */
function handBuilt(header: string, data: number[]): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors reader', () => {
  it('reads a hand-built file with F32, F16, BF16, I32, I64, U8 and BOOL tensors', async () => {
    // F32 [2]: 1.5 = 0x3fc00000, -2 = 0xc0000000 (little-endian bytes below).
    // F16 [2]: 1 = 0x3c00, -0.5 = 0xb800.  BF16 [1]: 3.140625 = 0x4049.
    // I32 [1]: -7.  I64 [1]: 2^40.  U8 [3]: 0, 128, 255.  BOOL [2]: 1, 0.
    const header = JSON.stringify({
      __metadata__: { format: 'pt' },
      f32: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      f16: { dtype: 'F16', shape: [2], data_offsets: [8, 12] },
      bf16: { dtype: 'BF16', shape: [1], data_offsets: [12, 14] },
      i32: { dtype: 'I32', shape: [1], data_offsets: [14, 18] },
      i64: { dtype: 'I64', shape: [1], data_offsets: [18, 26] },
      u8: { dtype: 'U8', shape: [3], data_offsets: [26, 29] },
      bool: { dtype: 'BOOL', shape: [2], data_offsets: [29, 31] },
    });
    const data = [
      0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x3c, 0x00, 0xb8, 0x49, 0x40, 0xf9, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 128, 255, 1, 0,
    ];
    const path = join(dir, 'hand.safetensors');
    await writeFile(path, handBuilt(header, data));
    const f = await openSafetensors(path);
    expect(f.metadata).toEqual({ format: 'pt' });
    expect([...f.tensors.keys()]).toEqual(['f32', 'f16', 'bf16', 'i32', 'i64', 'u8', 'bool']);
    expect(f.tensors.get('f16')).toEqual({ dtype: 'F16', shape: [2], byteLength: 4 });
    expect([...(await f.read('f32'))]).toEqual([1.5, -2]);
    expect([...(await f.read('f16'))]).toEqual([1, -0.5]);
    expect([...(await f.read('bf16'))]).toEqual([3.140625]);
    expect(await f.read('i32')).toEqual(new Int32Array([-7]));
    expect(await f.read('i64')).toEqual(new BigInt64Array([2n ** 40n]));
    expect(await f.read('u8')).toEqual(new Uint8Array([0, 128, 255]));
    expect(await f.read('bool')).toEqual(new Uint8Array([1, 0]));
    await expect(f.read('nope')).rejects.toThrow(`${path}: tensor 'nope': no such tensor in this file`);
    await f.close();
  });

  it('reads a row range of the first axis without the rest', async () => {
    const path = join(dir, 'rows.safetensors');
    const values = Float32Array.from({ length: 12 }, (_, i) => i);
    await writeSafetensors(path, { emb: { dtype: 'F32', shape: [4, 3], data: values } });
    const f = await openSafetensors(path);
    expect([...(await f.readRows('emb', 1, 3))]).toEqual([3, 4, 5, 6, 7, 8]);
    expect((await f.readRows('emb', 2, 2)).length).toBe(0);
    await expect(f.readRows('emb', 3, 5)).rejects.toThrow(RangeError);
    await f.close();
  });
});

describe('safetensors writer', () => {
  it('writes the exact bytes of the format: length, sorted padded header, data', async () => {
    const path = join(dir, 'exact.safetensors');
    // Given out of order: the file must list 'a' before 'b' and put metadata first.
    await writeSafetensors(
      path,
      {
        b: { dtype: 'I32', shape: [1], data: new Int32Array([258]) },
        a: { dtype: 'U8', shape: [2], data: new Uint8Array([7, 9]) },
      },
      { k: 'v' },
    );
    const bytes = new Uint8Array(await readFile(path));
    const json = '{"__metadata__":{"k":"v"},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"I32","shape":[1],"data_offsets":[2,6]}}';
    const padded = Math.ceil(json.length / 8) * 8;
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true))).toBe(padded);
    expect(new TextDecoder().decode(bytes.subarray(8, 8 + padded))).toBe(json.padEnd(padded, ' '));
    expect([...bytes.subarray(8 + padded)]).toEqual([7, 9, 2, 1, 0, 0]);
  });

  it('round-trips every dtype, converts f32 to F16/BF16 with round-to-nearest-even, and is deterministic', async () => {
    const f32 = new Float32Array([0.1, -3.75, 1e-8, 70000, 0]);
    const tensors = {
      'w.f32': { dtype: 'F32' as const, shape: [5], data: f32 },
      'w.f16': { dtype: 'F16' as const, shape: [5], data: f32 },
      'w.bf16': { dtype: 'BF16' as const, shape: [1, 5], data: () => f32 },
      ids: { dtype: 'I64' as const, shape: [2], data: new BigInt64Array([-1n, 5n]) },
      empty: { dtype: 'F32' as const, shape: [0, 4], data: new Float32Array(0) },
    };
    const p1 = join(dir, 'rt1.safetensors');
    const p2 = join(dir, 'rt2.safetensors');
    await writeSafetensors(p1, tensors);
    await writeSafetensors(p2, tensors);
    expect(Buffer.compare(await readFile(p1), await readFile(p2))).toBe(0);
    const f = await openSafetensors(p1);
    expect(await f.read('w.f32')).toEqual(f32);
    // F16: 0.1 → 0x2e66 = 0.0999755859375; 1e-8 underflows past the smallest subnormal 2^-24 → 0;
    // 70000 overflows the max half 65504 → Infinity; -3.75 is exact.
    expect([...(await f.read('w.f16'))]).toEqual([0.0999755859375, -3.75, 0, Infinity, 0]);
    // BF16 keeps 8 mantissa bits: 0.1 → 0x3dcd = 0.10009765625, 70000 → 0x4789 = 70144.
    const bf = await f.read('w.bf16');
    expect(bf[0]).toBe(0.10009765625);
    expect(bf[1]).toBe(-3.75);
    expect(bf[3]).toBe(70144);
    expect(f.tensors.get('w.bf16')!.shape).toEqual([1, 5]);
    expect(await f.read('ids')).toEqual(new BigInt64Array([-1n, 5n]));
    expect((await f.read('empty')).length).toBe(0);
    await f.close();
  });

  it('half conversion matches IEEE bit patterns', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [2 ** -24, 0x0001],
      [2 ** -14, 0x0400],
      [0.1, 0x2e66],
      [1 + 2 ** -11, 0x3c00] /* tie → even */,
      [1 + 3 * 2 ** -11, 0x3c02] /* tie → even (up) */,
      [-0, 0x8000],
      [Infinity, 0x7c00],
      [65520, 0x7c00] /* rounds past max → inf */,
    ];
    for (const [value, bits] of cases) expect([value, numberToHalfBits(value)]).toEqual([value, bits]);
    expect(halfBitsToNumber(0x3555)).toBeCloseTo(1 / 3, 3);
    expect(Number.isNaN(halfBitsToNumber(0x7e00))).toBe(true);
  });

  it('is atomic: leaves no temp file, and a failing write keeps the previous file intact', async () => {
    const path = join(dir, 'atomic.safetensors');
    await writeSafetensors(path, { x: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } });
    const before = await readFile(path);
    await expect(
      writeSafetensors(path, {
        x: { dtype: 'F32', shape: [1], data: new Float32Array([2]) },
        y: {
          dtype: 'F32',
          shape: [2],
          data: () => {
            throw new Error('producer failed');
          },
        },
      }),
    ).rejects.toThrow('producer failed');
    expect(Buffer.compare(await readFile(path), before)).toBe(0);
    await expect(writeSafetensors(path, { z: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).rejects.toThrow(
      "tensor 'z' has 2 values, shape [3] needs 3",
    );
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
