// Training checkpoints: one safetensors file per saved step (runtime/weights writes it atomically:
// temp file, fsync, rename), holding parameters, optimizer buffers and EMA weights as F32 tensors
// and everything else — step, optimizer counters, RNG and data position, the metrics so far — as
// JSON in the header metadata, with a CRC-32 of the tensor bytes and one of that JSON, so a damaged
// file — or one whose step or data position was edited by hand — is refused rather than resumed.
// `latestCheckpoint` returns the newest file that passes every check, so a crash mid-write (which
// leaves only a temp file) or a damaged newest file falls back to the one before.

import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../weights/index.ts';
import { removeStaleTemps } from '../weights/safetensors-writer.ts';
import type { OptimizerKind, OptimizerState } from './optimizers.ts';
import { sortedNames, type NamedTensors } from './tensors.ts';

export interface Checkpoint {
  /** Optimizer updates completed. */
  step: number;
  params: NamedTensors;
  optimizer?: OptimizerState;
  ema?: NamedTensors;
  /** PRNG state of the run (e.g. a PrngState); anything JSON.stringify keeps. */
  rng?: unknown;
  /** Data position (e.g. a BatcherState); anything JSON.stringify keeps. */
  data?: unknown;
  /** The metrics records written so far (metrics.jsonl is rebuilt from them on resume). */
  metrics: unknown[];
}

export const CHECKPOINT_FORMAT = 'scion-checkpoint';
/** 2: the state metadata has its own CRC-32 (`state_crc32`). Version 1 files (tensors' CRC only) still read. */
export const CHECKPOINT_VERSION = 2;
const READABLE_VERSIONS = ['1', '2'];

const NAME = /^step-(\d{8,})\.safetensors$/;

/** A file that is not a usable checkpoint (truncated, damaged, another format or version). */
export class CheckpointError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: not a valid checkpoint: ${reason}`);
    this.name = 'CheckpointError';
  }
}

/**
 * A resume was asked for and no checkpoint reads back intact: the run stops rather than starting
 * over at step 1 and overwriting what is there.
 */
export class NothingToResume extends Error {
  constructor(
    readonly dir: string,
    readonly skipped: readonly { path: string; reason: string }[],
  ) {
    super(
      skipped.length === 0
        ? `--resume: there is no checkpoint in '${dir}' to resume from: run without --resume to start over`
        : `--resume: none of the ${skipped.length} checkpoint${skipped.length === 1 ? '' : 's'} in '${dir}' is readable (newest: ${skipped[0]!.reason}): ` +
            'move them away and run without --resume to start over',
    );
    this.name = 'NothingToResume';
  }
}

export function checkpointPath(dir: string, step: number): string {
  return join(dir, `step-${String(step).padStart(8, '0')}.safetensors`);
}

/** Checkpoint files in `dir`, oldest first (by step); none if the folder does not exist. */
export async function listCheckpoints(dir: string): Promise<{ step: number; path: string }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .flatMap((name) => {
      const m = NAME.exec(name);
      return m === null ? [] : [{ step: Number(m[1]), path: join(dir, name) }];
    })
    .sort((a, b) => a.step - b.step);
}

/**
 * Writes `checkpoint` to `dir/step-NNNNNNNN.safetensors` atomically, then keeps only the newest
 * `keep` checkpoints and removes temp files a killed writer left behind. Returns the path.
 *
 * @example
 * await writeCheckpoint('runs/tiny/checkpoints', { step: 100, params, optimizer: opt.getState(), metrics: [] }, { keep: 3 });
 */
export async function writeCheckpoint(dir: string, checkpoint: Checkpoint, options: { keep?: number } = {}): Promise<string> {
  const keep = options.keep ?? 3;
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`checkpoint keep must be a positive integer, got ${keep}`);
  await mkdir(dir, { recursive: true });
  await removeStaleTemps(dir);
  const tensors = checkpointTensors(checkpoint);
  const state = JSON.stringify({
    step: checkpoint.step,
    optimizer: checkpoint.optimizer === undefined ? null : { kind: checkpoint.optimizer.kind, step: checkpoint.optimizer.step },
    rng: checkpoint.rng ?? null,
    data: checkpoint.data ?? null,
    metrics: checkpoint.metrics,
  });
  const metadata = {
    format: CHECKPOINT_FORMAT,
    version: String(CHECKPOINT_VERSION),
    crc32: checksum(tensors).toString(16),
    state,
    state_crc32: crc32(state).toString(16),
  };
  const path = checkpointPath(dir, checkpoint.step);
  await writeSafetensors(
    path,
    new Map([...tensors].map(([name, data]): [string, TensorToWrite] => [name, { dtype: 'F32', shape: [data.length], data }])),
    metadata,
  );
  const all = await listCheckpoints(dir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await unlink(old.path).catch(() => undefined);
  return path;
}

/** Reads and verifies one checkpoint; throws CheckpointError if it is not intact. */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let file;
  try {
    file = await openSafetensors(path);
  } catch (error) {
    throw new CheckpointError(path, (error as Error).message);
  }
  try {
    const meta = file.metadata;
    if (meta.format !== CHECKPOINT_FORMAT) throw new CheckpointError(path, `format is '${meta.format ?? '(none)'}', expected '${CHECKPOINT_FORMAT}'`);
    if (!READABLE_VERSIONS.includes(meta.version ?? ''))
      throw new CheckpointError(path, `version ${meta.version ?? '(none)'} is not one this Scion reads (${READABLE_VERSIONS.join(', ')})`);
    // The state first: it is small, and an edited step must not pass for a damaged tensor.
    if (meta.version !== '1' && (meta.state === undefined || crc32(meta.state).toString(16) !== meta.state_crc32))
      throw new CheckpointError(
        path,
        'the state metadata (step, optimizer counters, RNG, data position, metrics) does not match its CRC-32: it was edited or damaged',
      );
    const tensors: NamedTensors = new Map();
    for (const [name, summary] of file.tensors) {
      if (summary.dtype !== 'F32') throw new CheckpointError(path, `tensor '${name}' is ${summary.dtype}, expected F32`);
      tensors.set(name, (await file.read(name)) as Float32Array);
    }
    if (checksum(tensors).toString(16) !== meta.crc32) throw new CheckpointError(path, 'tensor data does not match its CRC-32');
    let state: { step: number; optimizer: { kind: OptimizerKind; step: number } | null; rng: unknown; data: unknown; metrics: unknown[] };
    try {
      state = JSON.parse(meta.state ?? '') as typeof state;
    } catch {
      throw new CheckpointError(path, 'the state metadata is not JSON');
    }
    if (!Number.isSafeInteger(state.step) || !Array.isArray(state.metrics)) throw new CheckpointError(path, 'the state metadata lacks step or metrics');
    const group = (prefix: string): NamedTensors => new Map([...tensors].filter(([n]) => n.startsWith(prefix)).map(([n, t]) => [n.slice(prefix.length), t]));
    const checkpoint: Checkpoint = { step: state.step, params: group('param/'), metrics: state.metrics };
    if (state.optimizer !== null) checkpoint.optimizer = { ...state.optimizer, tensors: group('optim/') };
    const ema = group('ema/');
    if (ema.size > 0) checkpoint.ema = ema;
    if (state.rng !== null) checkpoint.rng = state.rng;
    if (state.data !== null) checkpoint.data = state.data;
    return checkpoint;
  } finally {
    await file.close();
  }
}

/**
 * The newest checkpoint in `dir` that reads back intact, with the newer files that did not (and
 * why); undefined when there is none.
 */
export async function latestCheckpoint(
  dir: string,
): Promise<{ path: string; checkpoint: Checkpoint; skipped: { path: string; reason: string }[] } | undefined> {
  const r = await scanCheckpoints(dir);
  return r.found === undefined ? undefined : { ...r.found, skipped: r.skipped };
}

/** latestCheckpoint's search: the newest intact checkpoint, if any, and the newer ones that were not (newest first). */
export async function scanCheckpoints(
  dir: string,
): Promise<{ found: { path: string; checkpoint: Checkpoint } | undefined; skipped: { path: string; reason: string }[] }> {
  const skipped: { path: string; reason: string }[] = [];
  for (const { path } of (await listCheckpoints(dir)).reverse()) {
    try {
      return { found: { path, checkpoint: await readCheckpoint(path) }, skipped };
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      skipped.push({ path, reason: error.message });
    }
  }
  return { found: undefined, skipped };
}

function checkpointTensors(c: Checkpoint): NamedTensors {
  const out: NamedTensors = new Map();
  const add = (prefix: string, tensors: ReadonlyMap<string, Float32Array>) => {
    for (const [name, t] of tensors) out.set(prefix + name, t);
  };
  add('param/', c.params);
  if (c.optimizer !== undefined) add('optim/', c.optimizer.tensors);
  if (c.ema !== undefined) add('ema/', c.ema);
  return out;
}

/** CRC-32 over names and f32 bytes in sorted-name order (the order the writer stores them in). */
function checksum(tensors: NamedTensors): number {
  let crc = 0;
  for (const name of sortedNames(tensors)) {
    const t = tensors.get(name)!;
    crc = crc32(name, crc);
    crc = crc32(new Uint8Array(t.buffer, t.byteOffset, t.byteLength), crc);
  }
  return crc;
}
