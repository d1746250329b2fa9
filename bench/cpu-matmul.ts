// f32 square matmul GFLOP/s of the CPU path (`--device cpu`: a Scion graph `matmul(x, w)` exported
// to ONNX and run by ONNX Runtime through backends/cpu, host copies in and out included) at
// 256..2048, against the machine's FMA peak (the goal: at least 50% of it), and beside it
// the same product in a bare onnxruntime-node session (bench/peers/onnxruntime-cpu.ts), which
// shows what the backend's copies cost and how much of the gap is ONNX Runtime's own (or the
// machine's load). The two alternate in rounds, after a warm-up each; medians.
//
// The peak is measured (bench/fma-peak.ts: an FMA loop on every core, compiled for this CPU) where a
// C compiler is at hand, and is the ratio's denominator; the figure computed from /proc/cpuinfo is
// printed beside it. Under a hypervisor that figure uses the nominal clock, not the boost clock the
// cores run at (on this project's machines it is about half the measured one), so shares of it
// overstate the real share.
// Run alone with `npx tsx bench/cpu-matmul.ts`.

import { pathToFileURL } from 'node:url';
import { CPU } from '../backends/cpu/index.ts';
import { parseGraph } from '../compiler/ir/text.ts';
import type { Tensor } from '../runtime/cpu/tensor.ts';
import { fmaPeak, measuredFmaPeak } from './fma-peak.ts';
import { ortSquareMatmul } from './peers/onnxruntime-cpu.ts';
import { DEFAULT_TIMING, interleavedMsPerRun } from './timing.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

const SIZES = [256, 512, 1024, 2048] as const;

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

/** The ratio's denominator: the measured peak where it can be had, else the computed one (and why). */
function peakOfMachine(log: (line: string) => void): { gflops: number | null; name: string } {
  const computed = fmaPeak();
  const computedWords = typeof computed === 'string' ? `none computed (${computed})` : `${computed.gflops.toFixed(1)} GFLOP/s computed = ${computed.basis}`;
  // Best of 5: a busy neighbour lowers the figure, and a low peak would overstate every share.
  const measured = measuredFmaPeak(undefined, 5);
  if (typeof measured !== 'string') {
    log(`cpu-matmul: FMA peak ${measured.gflops.toFixed(1)} GFLOP/s measured (${measured.basis}); ${computedWords}`);
    return { gflops: measured.gflops, name: 'FMA peak, measured' };
  }
  log(`cpu-matmul: no measured FMA peak: ${measured}; ${computedWords}`);
  return typeof computed === 'string'
    ? { gflops: null, name: `FMA peak: ${computed}` }
    : { gflops: computed.gflops, name: 'FMA peak, computed from /proc/cpuinfo (nominal clock: the share is an upper bound)' };
}

async function measure(log: (line: string) => void): Promise<BenchResult[]> {
  const peak = peakOfMachine(log);
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
    const share = peak.gflops === null ? '' : `, ${((100 * g) / peak.gflops).toFixed(1)}% of the ${peak.gflops.toFixed(1)} GFLOP/s peak`;
    log(`cpu-matmul-f32-${n}: ${ms.ours.toFixed(2)} ms, ${g.toFixed(1)} GFLOP/s${share}; bare onnxruntime-node session ${bare?.toFixed(1) ?? '-'} GFLOP/s`);
    rows.push(result(`cpu-matmul-f32-${n}`, 'GFLOP/s', g, peak.gflops, peak.name, true));
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
