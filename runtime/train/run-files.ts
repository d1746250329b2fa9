// The files a run leaves next to its checkpoints: metrics.jsonl (one JSON object per training step
// or evaluation, appended as they happen, so a crash loses at most the last line) and summary.json
// (written once at the end, or when the run stops on an error). Both are replaced whole (temp
// file, fsync, rename), never left half-written.

import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite, writeAll } from '../weights/safetensors-writer.ts';

// Temp files a killed writer left: removed by the next run (runtime/weights, beside atomicWrite).
export { removeStaleTemps } from '../weights/safetensors-writer.ts';

export type MetricRecord = { kind: 'train' | 'eval'; step: number } & Record<string, number | string>;

export class MetricsLog {
  private constructor(private readonly handle: FileHandle | undefined) {}

  /**
   * Opens `runDir/metrics.jsonl` holding exactly `existing` (the records of the checkpoint a run
   * resumes from; lines a crashed run wrote after it are dropped). Without a runDir, logs nowhere.
   */
  static async open(runDir: string | undefined, existing: readonly unknown[]): Promise<MetricsLog> {
    if (runDir === undefined) return new MetricsLog(undefined);
    await mkdir(runDir, { recursive: true });
    const path = join(runDir, 'metrics.jsonl');
    await writeAtomic(path, existing.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return new MetricsLog(await open(path, 'a'));
  }

  async append(record: MetricRecord): Promise<void> {
    await this.handle?.write(`${JSON.stringify(record)}\n`);
  }

  async close(): Promise<void> {
    await this.handle?.close();
  }
}

export interface RunSummary {
  status: 'completed' | 'diverged' | 'failed';
  steps: number;
  stepsDone: number;
  finalLoss: number | null;
  /** The last evaluation's metrics, if any. */
  lastEval: Record<string, number> | null;
  elapsedSec: number;
  lastCheckpoint: string | null;
  resumedFrom: string | null;
  error?: string;
}

export async function writeSummary(runDir: string | undefined, summary: RunSummary): Promise<void> {
  if (runDir === undefined) return;
  await mkdir(runDir, { recursive: true });
  await writeAtomic(join(runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
}

/** Replaces `path` with `text` whole or not at all. */
export async function writeAtomic(path: string, text: string): Promise<void> {
  await atomicWrite(path, (handle) => writeAll(handle, new TextEncoder().encode(text)));
}
