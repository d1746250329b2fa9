// bench/fma-peak.ts's FMA peak (cores × clock × f32 flops per cycle) from /proc/cpuinfo text,
// against products worked by hand: the flag picks 64, 32 or 16 flops per cycle, cpufreq's maximum
// wins over the "cpu MHz" lines, and text without a clock is refused with the reason.

import { describe, expect, it } from 'vitest';
import { fmaPeak, measuredFmaPeak, parsePeakLine } from '../../bench/fma-peak.ts';

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

describe('measuredFmaPeak', () => {
  it("reads the loop's one output line and nothing else", () => {
    expect(parsePeakLine('491.302 2')).toEqual({ gflops: 491.302, threads: 2 });
    expect(parsePeakLine('  12 1\n')).toEqual({ gflops: 12, threads: 1 });
    for (const bad of ['', 'nan 2', '491.3', '0 2', '491.3 0', 'Segmentation fault', '1e3 2']) expect(parsePeakLine(bad)).toBeNull();
  });
  it('says why when there is no compiler or the build fails', () => {
    expect(measuredFmaPeak(1, 1, 10, 'scion-no-such-cc')).toBe('no C compiler (scion-no-such-cc) to build the FMA loop');
    expect(measuredFmaPeak(1, 1, 10, 'false')).toMatch(/^false could not build the FMA loop/);
  });
  it('measures a single core within what its computed figure allows', () => {
    const measured = measuredFmaPeak(1, 1, 50);
    if (typeof measured === 'string') {
      // Machines without a C compiler get the reason, never a number.
      expect(measured).toMatch(/^no C compiler/);
      return;
    }
    const computed = fmaPeak(undefined, undefined, 1);
    expect(measured.threads).toBe(1);
    expect(measured.gflops).toBeGreaterThan(0.5);
    // One core cannot issue more than its flops per cycle at a boost clock of at most 6 GHz.
    if (typeof computed !== 'string') expect(measured.gflops).toBeLessThan(computed.flopsPerCycle * 6);
  });
});
