// f32 square matmul GFLOP/s of the CPU path (`--device cpu`: a Scion graph `matmul(x, w)` exported
// to ONNX and run by ONNX Runtime through backends/cpu, host copies in and out included) at
// 256..2048, against the machine's FMA peak (the goal: at least 50% of it), and beside it
// the same product in a bare onnxruntime-node session (bench/peers/onnxruntime-cpu.ts), which
// shows what the backend's copies cost and how much of the gap is ONNX Runtime's own (or the
// machine's load). The two alternate in rounds, after a warm-up each; medians.
//
// Peak = cores × clock × f32 flops per cycle per core. Cores: availableParallelism() (what the
// backend's thread pool uses). Clock: cpufreq's cpuinfo_max_freq where the kernel exposes it,
// else the highest "cpu MHz" of /proc/cpuinfo (under a hypervisor that is the nominal clock, not a
// boost clock). Flops per cycle from /proc/cpuinfo's flags, ASSUMING two FMA ports per core:
// avx512f 2 × 16 lanes × 2 = 64, avx2 + fma 2 × 8 × 2 = 32, else 16 (SSE: 2 × 4 lanes × 2 ops).
// A core with one 512-bit FMA port (some Xeons) or Zen 4's double-pumped AVX-512 reaches half the
// avx512f figure, so the ratio printed is then a lower bound of the true one.
// Run alone with `npx tsx bench/cpu-matmul.ts`.

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { CPU } from '../backends/cpu/index.ts';
import { parseGraph } from '../compiler/ir/text.ts';
import type { Tensor } from '../runtime/cpu/tensor.ts';
import { ortSquareMatmul } from './peers/onnxruntime-cpu.ts';
import { DEFAULT_TIMING, interleavedMsPerRun } from './timing.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

const SIZES = [256, 512, 1024, 2048] as const;

export interface FmaPeak {
  gflops: number;
  cores: number;
  ghz: number;
  flopsPerCycle: number;
  /** How each factor was found, and the assumption behind flops per cycle. */
  basis: string;
}

/** A file's text, or null where it is not there (null, not undefined: fmaPeak's defaults). */
const readText = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/** The machine's f32 FMA peak from /proc/cpuinfo (and cpufreq), or the reason it cannot be had; null: no such file. */
export function fmaPeak(
  cpuinfo = readText('/proc/cpuinfo'),
  maxKhz = readText('/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq'),
  cores = availableParallelism(),
): FmaPeak | string {
  if (cpuinfo === null) return 'no /proc/cpuinfo here';
  const flags = new Set(/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.trim().split(/\s+/) ?? []);
  const mhz = [...cpuinfo.matchAll(/^cpu MHz\s*:\s*([\d.]+)/gm)].map((m) => Number(m[1]));
  const khz = maxKhz === null ? Number.NaN : Number(maxKhz.trim());
  const [ghz, clock] =
    Number.isFinite(khz) && khz > 0 ? [khz / 1e6, 'cpufreq max'] : mhz.length > 0 ? [Math.max(...mhz) / 1e3, '/proc/cpuinfo cpu MHz'] : [0, ''];
  if (ghz === 0) return 'no clock in /proc/cpuinfo or cpufreq';
  const [flopsPerCycle, isa] = flags.has('avx512f') ? [64, 'avx512f'] : flags.has('avx2') && flags.has('fma') ? [32, 'avx2+fma'] : [16, 'no avx2+fma'];
  return {
    gflops: cores * ghz * flopsPerCycle,
    cores,
    ghz,
    flopsPerCycle,
    basis: `${cores} cores × ${ghz.toFixed(3)} GHz (${clock}) × ${flopsPerCycle} f32 flops/cycle (${isa}, assuming two FMA ports per core)`,
  };
}

/** Inputs in [-0.5, 0.5) from a fixed LCG (as bench/matmul.ts). */
function inputs(n: number, seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: n * n }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  });
}

/** Median ms of one y = x·w [n, n] on the CPU backend and in a bare session, or the reason it cannot run. */
async function timeMatmul(n: number): Promise<{ ours: number; bare: number | null } | string> {
  const graph = parseGraph(`%0: f32[${n},${n}] = input {name="x"}
%1: f32[${n},${n}] = param {name="w", trainable=false}
%2: f32[${n},${n}] = matmul %0, %1
output "y" = %2
`);
  const b = await CPU.open(graph, true);
  if ('reason' in b) return b.reason;
  const x = inputs(n, 1);
  const w = inputs(n, 2);
  const bare = await ortSquareMatmul(n, x, w);
  try {
    await b.write(graph, new Map([['w', { dtype: 'f32', shape: [n, n], data: w } satisfies Tensor]]));
    const feeds = new Map([['x', { dtype: 'f32', shape: [n, n], data: x } satisfies Tensor]]);
    await b.run(graph, feeds); // session creation and first-run allocation, not timed
    const contenders: Record<string, (runs: number) => Promise<void>> = {
      ours: async (runs) => {
        for (let r = 0; r < runs; r++) await b.run(graph, feeds);
      },
    };
    if (typeof bare !== 'string') {
      contenders['bare'] = async (runs) => {
        for (let r = 0; r < runs; r++) await bare.run();
      };
    }
    const ms = await interleavedMsPerRun(contenders, 4, { ...DEFAULT_TIMING, budgetMs: 3000 });
    return { ours: ms['ours'] as number, bare: ms['bare'] ?? null };
  } finally {
    b.dispose();
    if (typeof bare !== 'string') await bare.release();
  }
}

async function measure(log: (line: string) => void): Promise<BenchResult[]> {
  const peak = fmaPeak();
  if (typeof peak === 'string') log(`cpu-matmul: no FMA peak: ${peak}`);
  else log(`cpu-matmul: FMA peak ${peak.gflops.toFixed(1)} GFLOP/s = ${peak.basis}`);
  const rows: BenchResult[] = [];
  for (const n of SIZES) {
    const ms = await timeMatmul(n);
    if (typeof ms === 'string') {
      log(`cpu-matmul-f32-${n}: the CPU backend cannot run it: ${ms}`);
      continue;
    }
    const gflops = (t: number): number => (2 * n ** 3) / (t * 1e6);
    const g = gflops(ms.ours);
    const bare = ms.bare === null ? null : gflops(ms.bare);
    const share = typeof peak === 'string' ? '' : `, ${((100 * g) / peak.gflops).toFixed(1)}% of the ${peak.gflops.toFixed(1)} GFLOP/s peak`;
    log(`cpu-matmul-f32-${n}: ${ms.ours.toFixed(2)} ms, ${g.toFixed(1)} GFLOP/s${share}; bare onnxruntime-node session ${bare?.toFixed(1) ?? '-'} GFLOP/s`);
    const [peakGflops, peakName] = typeof peak === 'string' ? [null, `FMA peak: ${peak}`] : [peak.gflops, 'FMA peak'];
    rows.push(result(`cpu-matmul-f32-${n}`, 'GFLOP/s', g, peakGflops, peakName, true));
    rows.push(result(`cpu-matmul-f32-${n}`, 'GFLOP/s', g, bare, 'onnxruntime-node, bare session', true));
  }
  return rows;
}

export const benchmarks: Benchmark[] = [
  {
    name: 'cpu-matmul',
    description: '--device cpu (ONNX Runtime) f32 square matmul 256..2048, GFLOP/s against the FMA peak (ratio = share of peak)',
    needsGpu: false,
    run: (ctx) => measure((line) => ctx.log(line)),
  },
];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await measure((line) => console.log(line));
}
