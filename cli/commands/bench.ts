// `scion bench [NAME…] [--json] [--list]`: runs the benchmarks in bench/ in one process, on one
// WebGPU device, and prints each against its peer with the ratio measured in this run.

import { loadBenchmarks } from '../../bench/registry.ts';
import type { BenchContext, BenchResult, Benchmark } from '../../bench/types.ts';
import { acquireDevice, type GpuDevice, type NoDevice } from '../../runtime/webgpu/device.ts';
import { PipelineCache } from '../../runtime/webgpu/pipeline-cache.ts';
import { commandSpec, HELP, helpText, parseFlags, usageError } from '../flags.ts';
import { EXIT, type Command, type Io } from '../io.ts';

export const SPEC = commandSpec({
  name: 'bench',
  about: `Runs the named benchmarks (all by default) in one process on one WebGPU device and prints
ours, the peer's figure and the ratio (how many times better ours is; below 1 means worse).
--json prints {"results": [{"name", "unit", "ours", "peer", "peerName", "ratio"}], "skipped": [...]}.`,
  args: { name: 'NAME', min: 0, max: Infinity },
  flags: ['json', 'list'],
});

export interface Skipped {
  name: string;
  reason: string;
}

/** Pure: the result table as text, numbers to 3 significant digits. */
export function formatTable(results: readonly BenchResult[]): string {
  const fmt = (x: number | null): string => (x === null ? '-' : x >= 100 ? x.toFixed(0) : x.toPrecision(3));
  const rows = [
    ['benchmark', 'unit', 'ours', 'peer', 'peer name', 'ratio'],
    ...results.map((r) => [r.name, r.unit, fmt(r.ours), fmt(r.peer), r.peerName, r.ratio === null ? '-' : `${fmt(r.ratio)}×`]),
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  const numeric = [false, false, true, true, false, true];
  return (
    rows
      .map((row) =>
        row
          .map((cell, col) => (numeric[col] ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export interface BenchDeps {
  benchmarks: Benchmark[];
  /** Notes about benchmarks that could not be loaded. */
  missing: string[];
  acquire: () => Promise<GpuDevice | NoDevice>;
}

/** The command with its collaborators injected (tests pass fakes). */
export async function runBench(args: readonly string[], io: Io, deps: BenchDeps): Promise<number> {
  const parsed = parseFlags(args, SPEC);
  if (parsed === HELP) {
    io.out(helpText(SPEC));
    return EXIT.ok;
  }
  const { flags, args: names } = parsed;
  if (flags.list) {
    for (const b of deps.benchmarks) io.out(`${b.name.padEnd(16)} ${b.description}\n`);
    for (const note of deps.missing) io.out(`(${note})\n`);
    return EXIT.ok;
  }
  const known = new Map(deps.benchmarks.map((b) => [b.name, b]));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) throw usageError(SPEC, `no benchmark named ${unknown.map((n) => `'${n}'`).join(', ')}; available: ${[...known.keys()].join(', ')}`);
  const selected = names.length === 0 ? deps.benchmarks : names.map((n) => known.get(n)!);

  const skipped: Skipped[] = [];
  const results: BenchResult[] = [];
  let gpu: GpuDevice | null = null;
  let noGpuReason = '';
  if (selected.some((b) => b.needsGpu)) {
    const acquired = await deps.acquire();
    if (acquired.device === null) {
      noGpuReason = acquired.reason;
      io.err(`scion bench: no WebGPU device, GPU benchmarks skipped: ${noGpuReason}\n`);
    } else {
      gpu = acquired;
      io.err(`scion bench: device ${gpu.adapterInfo.description || gpu.adapterInfo.device}\n`);
    }
  }
  try {
    const ctx: BenchContext = { gpu, noGpuReason, cache: gpu === null ? null : new PipelineCache(gpu), log: (m) => io.err(`  ${m}\n`) };
    for (const bench of selected) {
      if (bench.needsGpu && gpu === null) {
        skipped.push({ name: bench.name, reason: noGpuReason });
        continue;
      }
      io.err(`scion bench: ${bench.name}…\n`);
      results.push(...(await bench.run(ctx)));
    }
  } finally {
    // Dawn keeps Node alive until its device is destroyed (research/baselines.md, lesson 7).
    gpu?.destroy();
  }
  if (flags.json) io.out(`${JSON.stringify({ results, skipped }, null, 2)}\n`);
  else {
    if (results.length > 0) io.out(formatTable(results));
    for (const s of skipped) io.out(`skipped ${s.name}: ${s.reason}\n`);
  }
  return EXIT.ok;
}

export const run: Command = async (args, io) => {
  const { benchmarks, missing } = await loadBenchmarks();
  return runBench(args, io, { benchmarks, missing, acquire: () => acquireDevice() });
};
