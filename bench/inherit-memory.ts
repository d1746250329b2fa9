// Lazy checkpoint I/O at scale: stream a 2 GiB safetensors parent to a temp folder, read every
// tensor lazily, write a child keeping every other row of each tensor (an inheritance-like
// selection), and report throughput next to the disk's raw sequential read speed (plain fs reads
// of the same file, same cache state) and the peak RSS next to the file size. Heavy: run it by hand
// (`npx tsx bench/inherit-memory.ts`, or `scion bench inherit-memory`), never from tests.
// SCION_BENCH_INHERIT_GB changes the parent's size (default 2).

import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../runtime/weights/index.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

const ROWS = 4096;
const COLS = 4096; // one tensor = 64 MiB of f32

/** Peak RSS so far, sampled: maxRSS covers the whole process, so phases also sample their own. */
class RssSampler {
  peak = 0;
  private timer: NodeJS.Timeout | undefined;
  start(): void {
    this.peak = process.memoryUsage.rss();
    this.timer = setInterval(() => (this.peak = Math.max(this.peak, process.memoryUsage.rss())), 20);
  }
  stop(): number {
    clearInterval(this.timer);
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
    return this.peak;
  }
}

const MiB = 1024 * 1024;
const mbps = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);

async function rawSequentialRead(path: string): Promise<number> {
  const handle = await open(path, 'r');
  const buffer = new Uint8Array(16 * MiB);
  let total = 0;
  const t0 = performance.now();
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, total);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  const ms = performance.now() - t0;
  await handle.close();
  return mbps(total, ms);
}

async function runInheritMemory(log: (m: string) => void): Promise<BenchResult[]> {
  const gib = Number(process.env.SCION_BENCH_INHERIT_GB ?? '2');
  const count = Math.max(1, Math.round((gib * 1024) / 64));
  const dir = await mkdtemp(join(tmpdir(), 'scion-inherit-bench-'));
  try {
    const parentPath = join(dir, 'parent.safetensors');
    const childPath = join(dir, 'child.safetensors');

    // Parent: `count` tensors of [4096, 4096] f32, each produced only when the writer reaches it.
    const parent = new Map<string, TensorToWrite>();
    for (let t = 0; t < count; t++) {
      parent.set(`layers.${String(t).padStart(3, '0')}.weight`, {
        dtype: 'F32', shape: [ROWS, COLS],
        data: () => {
          const values = new Float32Array(ROWS * COLS);
          for (let r = 0; r < ROWS; r++) values.fill(t * ROWS + r, r * COLS, (r + 1) * COLS); // row r holds its own id
          return values;
        },
      });
    }
    log(`writing a ${count * 64} MiB parent to ${dir}`);
    const writeRss = new RssSampler();
    writeRss.start();
    let t0 = performance.now();
    await writeSafetensors(parentPath, parent, { format: 'pt' });
    const writeMs = performance.now() - t0;
    const writePeak = writeRss.stop();
    const parentBytes = (await stat(parentPath)).size;

    const raw = await rawSequentialRead(parentPath);
    log(`raw sequential read: ${raw.toFixed(0)} MiB/s`);

    // Lazy read of every tensor, alone.
    const readRss = new RssSampler();
    readRss.start();
    const reader = await openSafetensors(parentPath);
    t0 = performance.now();
    for (const name of reader.tensors.keys()) await reader.read(name);
    const readMs = performance.now() - t0;

    // Child: every other row of each tensor, read lazily and written streaming.
    const child = new Map<string, TensorToWrite>();
    for (const name of reader.tensors.keys()) {
      child.set(name, {
        dtype: 'F32', shape: [ROWS / 2, COLS],
        data: async () => {
          const full = (await reader.read(name)) as Float32Array; // [ROWS, COLS]
          const half = new Float32Array((ROWS / 2) * COLS); // [ROWS/2, COLS]
          for (let r = 0; r < ROWS / 2; r++) half.set(full.subarray(2 * r * COLS, (2 * r + 1) * COLS), r * COLS);
          return half;
        },
      });
    }
    t0 = performance.now();
    await writeSafetensors(childPath, child, { format: 'pt' });
    const inheritMs = performance.now() - t0;
    await reader.close();
    const readPeak = readRss.stop();

    // Spot check: child row 1 of tensor 0 is parent row 2, whose values are its id 2.
    const check = await openSafetensors(childPath);
    const first = check.tensors.keys().next().value!;
    const row = await check.readRows(first, 1, 2);
    await check.close();
    if (row[0] !== 2 || row[COLS - 1] !== 2) throw new Error(`inherit-memory: child row 1 holds ${row[0]}, expected 2`);

    const fileMiB = parentBytes / MiB;
    log(`parent ${fileMiB.toFixed(0)} MiB written in ${(writeMs / 1000).toFixed(1)} s (peak RSS ${(writePeak / MiB).toFixed(0)} MiB)`);
    log(`lazy read ${mbps(parentBytes, readMs).toFixed(0)} MiB/s, inherit (read + select + write half) ${mbps(parentBytes, inheritMs).toFixed(0)} MiB/s of parent, peak RSS ${(readPeak / MiB).toFixed(0)} MiB`);
    return [
      result(`lazy-read-${fileMiB.toFixed(0)}MiB`, 'MiB/s', mbps(parentBytes, readMs), raw, 'raw fs sequential read', true),
      result(`inherit-half-rows-${fileMiB.toFixed(0)}MiB`, 'MiB/s', mbps(parentBytes, inheritMs), raw, 'raw fs sequential read', true),
      result('write-parent-streamed', 'MiB/s', mbps(parentBytes, writeMs), raw, 'raw fs sequential read', true),
      // Ratio = file size / peak RSS: how many times smaller than the checkpoint the process stays.
      result('peak-rss-read-and-inherit', 'MiB', Math.max(readPeak, writePeak) / MiB, fileMiB, 'parent file size', false),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const benchmarks: Benchmark[] = [{
  name: 'inherit-memory',
  description: 'stream a 2 GiB safetensors parent, read it lazily, write a half-row child: MiB/s and peak RSS',
  needsGpu: false,
  run: (ctx) => runInheritMemory((m) => ctx.log(m)),
}];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await runInheritMemory((m) => process.stderr.write(`${m}\n`));
  for (const r of rows) {
    console.log(`${r.name.padEnd(28)} ${r.ours.toFixed(0).padStart(7)} ${r.unit.padEnd(6)} vs ${r.peerName} ${r.peer?.toFixed(0) ?? '-'} (×${r.ratio?.toFixed(2) ?? '-'})`);
  }
}
