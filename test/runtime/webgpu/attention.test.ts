// The fused attention kernel (compiler/codegen/wgsl/render-attention.ts) against a plain
// float64 JavaScript attention (full score matrix, max-subtracted softmax): odd lengths, causal
// and not, grouped-query heads, more keys than queries (causal offset), and a batch of two.

import { describe, expect, it } from 'vitest';
import { attentionUnsupported, renderAttention } from '../../../compiler/codegen/wgsl/render-attention.ts';
import type { AttentionShape } from '../../../compiler/kernel/kernel-graph.ts';
import { BUFFER_USAGE, MAP_MODE } from '../../../runtime/webgpu/gpu-constants.ts';
import { gpuForTests, randomF32 } from './gpu-fixture.ts';

/** out[b, h, i, :] = Σ_j softmax_j(scale · q_i·k_j, masked) v_j — the textbook form. */
function reference(s: AttentionShape, q: Float32Array, k: Float32Array, v: Float32Array): Float64Array {
  const { batch, heads, kvHeads, queries: sq, keys: sk, headDim: d, valueDim: dv } = s;
  const out = new Float64Array(batch * heads * sq * dv);
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < heads; h++) {
      const kvh = b * kvHeads + Math.floor(h / (heads / kvHeads));
      for (let i = 0; i < sq; i++) {
        const row = (b * heads + h) * sq + i;
        const scores: number[] = [];
        for (let j = 0; j < sk; j++) {
          if (s.causal && j > i + sk - sq) continue;
          let dot = 0;
          for (let c = 0; c < d; c++) dot += (q[row * d + c] as number) * (k[(kvh * sk + j) * d + c] as number);
          scores[j] = dot * s.scale;
        }
        const max = Math.max(...scores.filter((x) => x !== undefined));
        let sum = 0;
        for (const x of scores) if (x !== undefined) sum += Math.exp(x - max);
        scores.forEach((x, j) => {
          const p = Math.exp(x - max) / sum;
          for (let c = 0; c < dv; c++) out[row * dv + c] = (out[row * dv + c] as number) + p * (v[(kvh * sk + j) * dv + c] as number);
        });
      }
    }
  return out;
}

const base = { batch: 1, heads: 2, kvHeads: 2, headDim: 8, valueDim: 8, scale: 1 / Math.sqrt(8) };
/** v and out as projections see them: [B, S, heads, width] instead of [B, heads, S, width]. */
interface Case {
  name: string;
  shape: AttentionShape;
  seqMajor?: boolean;
}

const CASES: Case[] = [
  { name: 'S=7, not causal', shape: { ...base, queries: 7, keys: 7, causal: false } },
  { name: 'S=7, causal', shape: { ...base, queries: 7, keys: 7, causal: true } },
  { name: 'GQA 4 heads on 2, S=13, causal, batch 2', shape: { ...base, batch: 2, heads: 4, kvHeads: 2, queries: 13, keys: 13, causal: true } },
  { name: 'Sq=5 of Sk=9, causal offset, Dv=6 ≠ D=4', shape: { ...base, headDim: 4, valueDim: 6, queries: 5, keys: 9, causal: true, scale: 0.5 } },
  { name: 'S=67 (two workgroups of rows), MQA', shape: { ...base, heads: 3, kvHeads: 1, queries: 67, keys: 67, causal: false } },
  {
    name: 'strided v [B, Sk, KVH, Dv] and out [B, Sq, H, Dv], GQA, causal, batch 2',
    shape: { ...base, batch: 2, heads: 4, kvHeads: 2, queries: 11, keys: 11, causal: true },
    seqMajor: true,
  },
];

/** [B, heads, S, W] data to [B, S, heads, W], or back (`inverse`). */
function swapHeadSeq(x: Float32Array, b: number, heads: number, len: number, w: number, inverse = false): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < b; i++)
    for (let h = 0; h < heads; h++)
      for (let s = 0; s < len; s++)
        for (let c = 0; c < w; c++) {
          const packed = ((i * heads + h) * len + s) * w + c;
          const seqMajor = ((i * len + s) * heads + h) * w + c;
          if (inverse) y[packed] = x[seqMajor] as number;
          else y[seqMajor] = x[packed] as number;
        }
  return y;
}

describe('fused attention: shapes it refuses', () => {
  it('names the reason: heads not a multiple of kv heads, causal with more queries than keys', () => {
    expect(attentionUnsupported({ ...base, heads: 3, kvHeads: 2, queries: 4, keys: 4, causal: false })).toMatch(/multiple/);
    expect(attentionUnsupported({ ...base, queries: 5, keys: 4, causal: true })).toMatch(/more queries than keys/);
    expect(attentionUnsupported({ ...base, queries: 5, keys: 4, causal: false })).toBeNull();
  });
});

const probe = await gpuForTests();

/** Runs case `c` fused on the device, `rows` query rows per thread: its output and the reference's. */
async function runFused(c: Case, rows: number): Promise<{ got: Float32Array; want: Float64Array }> {
  const gpu = probe.gpu;
  if (gpu === null) throw new Error('unreachable');
  const s = c.shape;
  const nq = s.batch * s.heads * s.queries * s.headDim;
  const nk = s.batch * s.kvHeads * s.keys * s.headDim;
  const nv = s.batch * s.kvHeads * s.keys * s.valueDim;
  const no = s.batch * s.heads * s.queries * s.valueDim;
  // q, k and v in arena 0, out in arena 1 (two bindings, as the executor would bind them)
  const q = randomF32(nq, 1).map((x) => x * 2);
  const k = randomF32(nk, 2).map((x) => x * 2);
  const v = randomF32(nv, 3);
  const seqStrides = (heads: number, len: number, w: number) => ({ batch: heads * len * w, head: w, seq: heads * w });
  const vAt = { arena: 0, offset: nq + nk, ...(c.seqMajor ? { strides: seqStrides(s.kvHeads, s.keys, s.valueDim) } : {}) };
  const outAt = { arena: 1, offset: 3, ...(c.seqMajor ? { strides: seqStrides(s.heads, s.queries, s.valueDim) } : {}) };
  const prog = renderAttention(0, s, { q: { arena: 0, offset: 0 }, k: { arena: 0, offset: nq }, v: vAt, out: outAt }, rows);
  expect(prog.threads).toBe(s.batch * s.heads * Math.ceil(s.queries / rows));
  const { device } = gpu;
  const usage = BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST;
  const a0 = device.createBuffer({ size: (nq + nk + nv) * 4, usage });
  const a1 = device.createBuffer({ size: (no + 3) * 4, usage });
  const staging = device.createBuffer({ size: no * 4, usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST });
  try {
    device.queue.writeBuffer(a0, 0, q);
    device.queue.writeBuffer(a0, nq * 4, k);
    device.queue.writeBuffer(a0, (nq + nk) * 4, c.seqMajor ? swapHeadSeq(v, s.batch, s.kvHeads, s.keys, s.valueDim) : v);
    const module = device.createShaderModule({ code: prog.code });
    const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const bind = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: a0 } },
        { binding: 1, resource: { buffer: a1 } },
      ],
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(Math.ceil(prog.threads / prog.workgroupSize));
    pass.end();
    enc.copyBufferToBuffer(a1, 12, staging, 0, no * 4);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(MAP_MODE.READ);
    const raw = new Float32Array(staging.getMappedRange().slice(0));
    return { got: c.seqMajor ? swapHeadSeq(raw, s.batch, s.heads, s.queries, s.valueDim, true) : raw, want: reference(s, q, k, v) };
  } finally {
    staging.destroy();
    a0.destroy();
    a1.destroy();
  }
}

describe.skipIf(probe.gpu === null)('fused attention on WebGPU vs plain JavaScript', () => {
  for (const c of CASES) {
    // 4 query rows per thread (what software adapters compile), and 3: rows past the end on most cases
    for (const rows of [1, 3, 4]) {
      it(`${c.name}, ${rows} query row(s) per thread: within 1e-5 of max |value|`, async () => {
        const { got, want } = await runFused(c, rows);
        let scale = 0;
        let err = 0;
        for (let i = 0; i < want.length; i++) {
          scale = Math.max(scale, Math.abs(want[i] as number));
          err = Math.max(err, Math.abs((got[i] as number) - (want[i] as number)));
        }
        expect(scale).toBeGreaterThan(0.05);
        expect(err, `max error ${err} against max |value| ${scale}`).toBeLessThanOrEqual(1e-5 * Math.max(scale, 1));
      }, 120_000);
    }
  }

  it('gives the same bits at 1, 3 and 4 query rows per thread (each row sums the same keys in the same order)', async () => {
    for (const c of CASES.filter((x) => x.shape.causal)) {
      const one = (await runFused(c, 1)).got;
      for (const rows of [3, 4]) expect(Array.from((await runFused(c, rows)).got), `${c.name}, ${rows} rows`).toEqual(Array.from(one));
    }
  }, 240_000);
});
