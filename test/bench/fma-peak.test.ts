// bench/cpu-matmul.ts's FMA peak (cores × clock × f32 flops per cycle) from /proc/cpuinfo text,
// against products worked by hand: the flag picks 64, 32 or 16 flops per cycle, cpufreq's maximum
// wins over the "cpu MHz" lines, and text without a clock is refused with the reason.

import { describe, expect, it } from 'vitest';
import { fmaPeak } from '../../bench/cpu-matmul.ts';

const cpuinfo = (flags: string, mhz: number[]): string =>
  mhz.map((m, i) => `processor\t: ${i}\nmodel name\t: AMD EPYC\ncpu MHz\t\t: ${m.toFixed(3)}\nflags\t\t: fpu sse sse2 ${flags}\n`).join('\n');

describe('fmaPeak', () => {
  it('uses 64 flops/cycle with avx512f, the highest cpu MHz line, and the cores given', () => {
    const p = fmaPeak(cpuinfo('avx avx2 fma avx512f avx512dq', [2096.037, 2000]), null, 2);
    if (typeof p === 'string') throw new Error(p);
    // 2 × 2.096037 × 64 = 268.3 GFLOP/s
    expect(p.gflops).toBeCloseTo(268.292736, 5);
    expect([p.cores, p.flopsPerCycle]).toEqual([2, 64]);
    expect(p.basis).toBe('2 cores × 2.096 GHz (/proc/cpuinfo cpu MHz) × 64 f32 flops/cycle (avx512f, assuming two FMA ports per core)');
  });
  it('uses 32 with avx2 and fma, 16 without both, and cpufreq max (kHz) over cpu MHz', () => {
    const avx2 = fmaPeak(cpuinfo('avx avx2 fma', [1800]), '3500000\n', 4);
    expect(typeof avx2 !== 'string' && [avx2.gflops, avx2.ghz, avx2.flopsPerCycle]).toEqual([4 * 3.5 * 32, 3.5, 32]);
    const sse = fmaPeak(cpuinfo('avx avx2', [3000]), null, 1);
    expect(typeof sse !== 'string' && [sse.gflops, sse.flopsPerCycle]).toEqual([48, 16]);
  });
  it('says why when there is no clock or no cpuinfo', () => {
    expect(fmaPeak('flags\t: avx2 fma\n', null, 2)).toBe('no clock in /proc/cpuinfo or cpufreq');
    expect(fmaPeak(null, null, 2)).toBe('no /proc/cpuinfo here');
  });
});
