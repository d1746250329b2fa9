// The benchmark modules `scion bench` knows, in run order. Each module exports
// `benchmarks: Benchmark[]` (bench/types.ts). A listed module that is not there yet is skipped
// with a note, so benchmarks can land one by one.

import type { Benchmark } from './types.ts';

export const BENCH_MODULES = [
  'matmul',
  'poll',
  'parse-check',
  'inherit-memory',
  'compile',
  'explain-depth',
  'large-inputs',
  'reference-forward',
  'reference-train-step',
  'onnx-train-step',
  'cpu-matmul',
  'onnx-webgpu',
  'onnx-svd',
  'train-tokens',
  'train-resident',
  'train-step',
  'subgroups',
  'attention',
  'critical-path',
] as const;

export interface LoadedBenchmarks {
  benchmarks: Benchmark[];
  /** Modules listed but absent, with the reason. */
  missing: string[];
}

export async function loadBenchmarks(): Promise<LoadedBenchmarks> {
  const benchmarks: Benchmark[] = [];
  const missing: string[] = [];
  for (const name of BENCH_MODULES) {
    let module: { benchmarks?: Benchmark[] };
    try {
      module = (await import(`./${name}.ts`)) as { benchmarks?: Benchmark[] };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String(error).includes(`${name}.ts`)) {
        missing.push(`bench/${name}.ts is not written yet`);
        continue;
      }
      throw error;
    }
    if (!Array.isArray(module.benchmarks)) throw new Error(`bench/${name}.ts must export 'benchmarks: Benchmark[]'`);
    benchmarks.push(...module.benchmarks);
  }
  return { benchmarks, missing };
}
