// The machine's f32 FMA peak, two ways. `measuredFmaPeak` compiles bench/peers/fma-peak.c for this
// CPU and runs it on every core: what the cores really issue at the clock they really run at.
// `fmaPeak` computes cores × clock × flops per cycle from /proc/cpuinfo, for where no C compiler is
// at hand; under a hypervisor its clock is the nominal one (boost clocks are hidden), and its flops
// per cycle ASSUME two FMA ports per core (avx512f 2 × 16 lanes × 2 = 64, avx2 + fma 2 × 8 × 2 = 32,
// else 16: SSE, 2 × 4 lanes × 2 ops). A core with one 512-bit FMA port (some Xeons) or Zen 4's
// double-pumped AVX-512 reaches half the avx512f figure. On this project's 2-core machines the
// computed figure is 268 GFLOP/s and the measured one about 490: the boost clock is ~3.8 GHz, not
// the 2.1 GHz /proc/cpuinfo reports.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./peers/fma-peak.c', import.meta.url));

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

export interface MeasuredPeak {
  gflops: number;
  threads: number;
  /** The command that built the loop and how the figure was taken. */
  basis: string;
}

/** One line of fma-peak's output, "<GFLOP/s> <threads>", or null if it is not one. */
export function parsePeakLine(line: string): { gflops: number; threads: number } | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s+(\d+)\s*$/.exec(line);
  if (m === null) return null;
  const gflops = Number(m[1]);
  const threads = Number(m[2]);
  return gflops > 0 && threads > 0 ? { gflops, threads } : null;
}

/**
 * The FMA loop's GFLOP/s on `threads` threads (default: every core), best of `runs` runs of `ms`
 * milliseconds, or why it could not be measured (no C compiler, a compile or run failure). The
 * best, not the median: the peak is what the cores can do, and a busy neighbour only lowers it.
 */
export function measuredFmaPeak(threads = availableParallelism(), runs = 3, ms = 300, cc = process.env['CC'] ?? 'cc'): MeasuredPeak | string {
  const dir = mkdtempSync(join(tmpdir(), 'scion-fma-'));
  const binary = join(dir, 'fma-peak');
  const flags = ['-O2', '-march=native', '-ffp-contract=fast', '-pthread'];
  try {
    try {
      execFileSync(cc, [...flags, SOURCE, '-o', binary], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
      return err.code === 'ENOENT'
        ? `no C compiler (${cc}) to build the FMA loop`
        : `${cc} could not build the FMA loop: ${String(err.stderr ?? err.message).split('\n')[0]}`;
    }
    let best = 0;
    for (let r = 0; r < runs; r++) {
      let out: string;
      try {
        out = execFileSync(binary, [String(threads), String(ms)], { encoding: 'utf8' });
      } catch (e) {
        return `the FMA loop failed to run: ${(e as Error).message.split('\n')[0]}`;
      }
      const parsed = parsePeakLine(out.trim());
      if (parsed === null) return `the FMA loop printed ${JSON.stringify(out.trim())}, not "<GFLOP/s> <threads>"`;
      best = Math.max(best, parsed.gflops);
    }
    return { gflops: best, threads, basis: `${cc} ${flags.join(' ')} bench/peers/fma-peak.c on ${threads} threads, best of ${runs} × ${ms} ms` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
