// The common shape of a benchmark (bench/*.ts) and of one measured row. `scion bench` runs the
// selected benchmarks in one process, on one WebGPU device, and prints ratios measured in that run
// (research/baselines.md: compare ratios from one run, not absolute figures across runs).

import type { GpuDevice } from '../runtime/webgpu/device.ts';
import type { PipelineCache } from '../runtime/webgpu/pipeline-cache.ts';

/** One measured comparison: ours against one peer on the same workload. */
export interface BenchResult {
  /** Workload, e.g. "matmul-f32-1024". */
  name: string;
  /** Unit of ours and peer, e.g. "GFLOP/s" or "ms". */
  unit: string;
  ours: number;
  /** Null when the peer could not run here (the row says why in peerName). */
  peer: number | null;
  peerName: string;
  /** How many times better ours is: ours/peer for throughput, peer/ours for times. */
  ratio: number | null;
}

export interface BenchContext {
  /** The shared device, or null (with the reason) when there is none. */
  gpu: GpuDevice | null;
  noGpuReason: string;
  cache: PipelineCache | null;
  /** Progress notes (stderr), so --json output stays clean. */
  log(message: string): void;
}

export interface Benchmark {
  /** What `scion bench NAME` selects. */
  name: string;
  description: string;
  /** Without a device such a benchmark is reported as skipped, not run. */
  needsGpu: boolean;
  run(ctx: BenchContext): Promise<BenchResult[]>;
}

/** A result row; `higherIsBetter` says which way the ratio points. */
export function result(name: string, unit: string, ours: number, peer: number | null, peerName: string, higherIsBetter: boolean): BenchResult {
  const ratio = peer === null || peer === 0 || ours === 0 ? null : higherIsBetter ? ours / peer : peer / ours;
  return { name, unit, ours, peer, peerName, ratio };
}
