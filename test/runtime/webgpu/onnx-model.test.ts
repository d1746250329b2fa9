// The hand-written ONNX writer produces a model onnxruntime accepts and computes correctly.

import { describe, expect, it } from 'vitest';
import { ortSquareMatmul } from '../../../bench/peers/onnxruntime-cpu.ts';
import { referenceMatmul } from './reference.ts';
import { randomF32 } from './gpu-fixture.ts';

describe('onnx-model matmul on onnxruntime CPU', () => {
  it('computes C = A·B like the JS reference', async () => {
    const n = 5;
    const a = randomF32(n * n, 11);
    const b = randomF32(n * n, 12);
    const peer = await ortSquareMatmul(n, a, b);
    if (typeof peer === 'string') throw new Error(peer); // installed as a devDependency: must load
    const got = await peer.check();
    await peer.release();
    const ref = referenceMatmul({ batch: 1, m: n, n, k: n }, a, b, undefined, 'none');
    got.forEach((v, i) => expect(Math.abs(v - ref.values[i]!)).toBeLessThan(1e-5));
  });
});
