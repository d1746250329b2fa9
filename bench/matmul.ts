// f32 square matmul, GFLOP/s: Scion's autotuned kernel against TF.js webgpu on the same Dawn
// device, and against onnxruntime-node on the CPU (a ratio below 1 there: it shows how far the
// software GPU is from real CPU BLAS). Medians after warm-up, measured in alternating rounds,
// GPU work awaited, compile excluded (the warm-up compiles).

import { fitsVec4 } from '../compiler/codegen/wgsl/matmul.ts';
import { createStorageF32, uploadF32 } from '../runtime/webgpu/buffers.ts';
import { FileTuneStore } from '../runtime/webgpu/tune-store-file.ts';
import { ortSquareMatmul } from './peers/onnxruntime-cpu.ts';
import { tfjsSquareMatmul } from './peers/tfjs-webgpu.ts';
import { prepareMatmul, tuneMatmul } from './scion-matmul.ts';
import { interleavedMsPerRun } from './timing.ts';
import { result, type Benchmark, type BenchContext, type BenchResult } from './types.ts';

const SIZES = [256, 512, 1024, 2048] as const;

/** Inputs in [-0.5, 0.5) from a fixed LCG, so every backend multiplies the same matrices. */
function inputs(n: number, seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: n * n }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  });
}

const gflops = (n: number, ms: number): number => (2 * n ** 3) / (ms * 1e6);

async function runMatmul(ctx: BenchContext): Promise<BenchResult[]> {
  const { gpu, cache } = ctx;
  if (gpu === null || cache === null) throw new Error('matmul benchmark needs a device');
  const store = new FileTuneStore();
  const tuned = await tuneMatmul(gpu, cache, store, fitsVec4({ batch: 1, m: 512, n: 512, k: 512 }));
  ctx.log(`matmul: variant ${tuned.choice} (${tuned.fresh ? `tuned now on ${tuned.workload}` : `cached in ${store.path}`})`);
  const rows: BenchResult[] = [];
  for (const n of SIZES) {
    const a = inputs(n, 1);
    const b = inputs(n, 2);
    const dims = { batch: 1, m: n, n, k: n };
    const buffers = { a: await uploadF32(gpu, a, 'a'), b: await uploadF32(gpu, b, 'b'), c: await createStorageF32(gpu, n * n, 'c') };
    const ours = await prepareMatmul(gpu, cache, tuned.spec, dims, buffers);
    const tf = await tfjsSquareMatmul(gpu, n, a, b);
    const ort = await ortSquareMatmul(n, a, b);
    if (typeof tf === 'string') ctx.log(`matmul-f32-${n}: TF.js peer skipped: ${tf}`);
    if (typeof ort === 'string') ctx.log(`matmul-f32-${n}: onnxruntime peer skipped: ${ort}`);
    const contenders: Record<string, (runs: number) => Promise<void>> = { ours: (runs) => ours.run(runs) };
    if (typeof tf !== 'string') contenders['tf'] = (runs) => tf.batch(runs);
    if (typeof ort !== 'string') {
      contenders['ort'] = async (runs) => {
        for (let i = 0; i < runs; i++) await ort.run();
      };
    }
    const ms = await interleavedMsPerRun(contenders);
    ours.destroy();
    for (const buffer of Object.values(buffers)) buffer.destroy();
    if (typeof tf !== 'string') tf.release();
    if (typeof ort !== 'string') await ort.release();
    const oursG = gflops(n, ms['ours']!);
    const tfG = ms['tf'] === undefined ? null : gflops(n, ms['tf']);
    const ortG = ms['ort'] === undefined ? null : gflops(n, ms['ort']);
    ctx.log(`matmul-f32-${n}: ours ${oursG.toFixed(2)}, tfjs-webgpu ${tfG?.toFixed(2) ?? '-'}, onnxruntime-cpu ${ortG?.toFixed(2) ?? '-'} GFLOP/s`);
    rows.push(result(`matmul-f32-${n}`, 'GFLOP/s', oursG, tfG, 'tfjs-webgpu', true));
    rows.push(result(`matmul-f32-${n}`, 'GFLOP/s', oursG, ortG, 'onnxruntime-cpu', true));
  }
  return rows;
}

export const benchmarks: Benchmark[] = [
  {
    name: 'matmul',
    description: 'f32 square matmul 256..2048, GFLOP/s, vs TF.js webgpu (same device) and onnxruntime CPU',
    needsGpu: true,
    run: runMatmul,
  },
];
